package flowweb_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/flowweb"
	"github.com/riscd/riscd/googlesim"
)

func TestRevoke(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.connect("", googlesim.Choice{})
	g := e.onlyGrant()
	csrf := e.index().csrf()
	p := e.post("/revoke", url.Values{"csrf": {csrf}}, http.Header{"Origin": {e.srv.URL}})
	if p.status != http.StatusOK || p.code() != "revoked" || !strings.Contains(p.body, "Google confirmed") {
		t.Fatalf("status %d code %q, want 200 revoked (confirmed)", p.status, p.code())
	}
	if !e.sim.IsRevoked(g.RefreshToken.Reveal()) || e.sim.Stats().Revocations != 1 {
		t.Error("googlesim did not revoke the grant")
	}
	after := e.onlyGrant()
	if after.Status != riscd.GrantRevoked || after.Reason != "user-revoked" || after.ChangedBy != "user" ||
		!after.RefreshToken.IsZero() || !after.AccessToken.IsZero() {
		t.Errorf("grant %+v, want revoked by the user with tokens discarded", after)
	}
	audit, _, _ := e.db.ListAudit(context.Background(), riscd.AuditQuery{})
	if len(audit) == 0 || audit[0].Action != "revoke" || audit[0].Outcome != "revoked; confirmed upstream" || len(audit[0].GrantIDs) != 1 {
		t.Errorf("newest audit %+v, want the confirmed revoke", audit)
	}
	idx := e.index()
	if len(idx.enabled()) != 0 || strings.Contains(idx.body, `id="revoke"`) {
		t.Error("the index still offers features or a revoke after revoking")
	}
	if p := e.post("/revoke", url.Values{"csrf": {csrf}}, nil); p.code() != "nothing_to_revoke" {
		t.Errorf("second revoke: code %q, want nothing_to_revoke", p.code())
	}
	e.assertLogClean(g.RefreshToken.Reveal(), g.AccessToken.Reveal(), csrf)
}

// revokeRecorder is a revoke endpoint that records what it got.
type revokeRecorder struct {
	mu          sync.Mutex
	status      int
	method      string
	contentType string
	form        url.Values
	basicAuth   bool
	user, pass  string
}

func (r *revokeRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	form, _ := url.ParseQuery(string(body))
	user, pass, basic := req.BasicAuth()
	r.mu.Lock()
	r.method, r.contentType, r.form, r.basicAuth = req.Method, req.Header.Get("Content-Type"), form, basic
	r.user, r.pass = user, pass
	status := r.status
	r.mu.Unlock()
	w.WriteHeader(status)
}

func TestRevokeRequestAndUnconfirmed(t *testing.T) {
	rec := &revokeRecorder{status: http.StatusBadRequest}
	rs := httptest.NewServer(rec)
	t.Cleanup(rs.Close)
	e := newEnv(t, envOptions{revokeURL: rs.URL + "/revoke"})
	e.connect("", googlesim.Choice{})
	g := e.onlyGrant()
	p := e.post("/revoke", url.Values{"csrf": {e.index().csrf()}}, nil)
	if p.status != http.StatusOK || p.code() != "revoked_unconfirmed" || !strings.Contains(p.body, "HTTP 400") {
		t.Errorf("status %d code %q, want 200 revoked_unconfirmed naming HTTP 400", p.status, p.code())
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.method != http.MethodPost || rec.contentType != "application/x-www-form-urlencoded" || !rec.basicAuth {
		t.Errorf("revoke request: %s %q basic=%v, want POST application/x-www-form-urlencoded with client auth", rec.method, rec.contentType, rec.basicAuth)
	}
	// RFC 7009 §2.1: the client authenticates as at the token endpoint,
	// here HTTP Basic with the form-urlencoded ID and secret (RFC 6749
	// §2.3.1).
	if user, _ := url.QueryUnescape(rec.user); user != e.sim.ClientID() || rec.pass != url.QueryEscape(e.sim.ClientSecret()) {
		t.Error("revoke request: the Basic credentials are not the client's")
	}
	if len(rec.form) != 1 || rec.form.Get("token") != g.RefreshToken.Reveal() {
		t.Errorf("revoke form has %d fields, want token=<refresh token> alone", len(rec.form))
	}
	if after := e.onlyGrant(); after.Status != riscd.GrantRevoked || !after.RefreshToken.IsZero() {
		t.Error("the local discard did not happen when Google did not confirm")
	}
}

func TestClear(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.connect("", googlesim.Choice{})
	g := e.onlyGrant()
	// Browsers send Origin: null under Referrer-Policy no-referrer.
	p := e.post("/clear", url.Values{"csrf": {e.index().csrf()}}, http.Header{"Origin": {"null"}})
	if p.status != http.StatusOK || p.code() != "signed_out" {
		t.Fatalf("status %d code %q, want 200 signed_out", p.status, p.code())
	}
	if c := setCookieHeader(t, p.header, "riscd_session"); c.MaxAge >= 0 {
		t.Error("the session cookie was not deleted")
	}
	st, _ := e.db.Stats(context.Background())
	if st.Sessions != 0 {
		t.Errorf("sessions = %d, want 0", st.Sessions)
	}
	if after := e.onlyGrant(); !reflectGrantEqual(after, g) || e.sim.Stats().Revocations != 0 {
		t.Error("clear touched the grant")
	}
	if idx := e.index(); strings.Contains(idx.body, `data-signed-in="true"`) {
		t.Error("the index still shows a signed-in user")
	}
}

func TestPostsNeedCSRF(t *testing.T) {
	for _, path := range []string{"/revoke", "/clear"} {
		for _, tc := range []struct {
			name   string
			form   func(csrf string) url.Values
			header http.Header
			noJar  bool
		}{
			{"no token", func(string) url.Values { return url.Values{} }, nil, false},
			{"wrong token", func(c string) url.Values { return url.Values{"csrf": {c + "x"}} }, nil, false},
			{"other origin", func(c string) url.Values { return url.Values{"csrf": {c}} }, http.Header{"Origin": {"https://evil.example.com"}}, false},
			{"no session", func(c string) url.Values { return url.Values{"csrf": {c}} }, nil, true},
		} {
			t.Run(path+" "+tc.name, func(t *testing.T) {
				e := newEnv(t, envOptions{})
				e.connect("", googlesim.Choice{})
				csrf := e.index().csrf()
				before := e.snapshot()
				if tc.noJar {
					e.browser = newBrowser(t)
				}
				p := e.post(path, tc.form(csrf), tc.header)
				if p.status != http.StatusForbidden || p.code() != "forbidden" {
					t.Errorf("status %d code %q, want 403 forbidden", p.status, p.code())
				}
				e.assertUnchanged(before)
				if e.sim.Stats().Revocations != 0 {
					t.Error("a refused POST revoked upstream")
				}
			})
		}
	}
}

func TestSessionEndedByEvent(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.connect("", googlesim.Choice{})
	ctx := context.Background()
	e.clock.Advance(time.Second)
	if _, err := e.db.UpdateAccount(ctx, e.user.Sub, func(a riscd.Account, _ bool) (riscd.Account, error) {
		a.SessionsRevokedAt = e.clock.Now()
		return a, nil
	}); err != nil {
		t.Fatal(err)
	}
	idx := e.index()
	if !strings.Contains(idx.body, `data-signed-in="false"`) {
		t.Error("a session created before SessionsRevokedAt is still honoured")
	}
	if st, _ := e.db.Stats(ctx); st.Sessions != 0 {
		t.Errorf("sessions = %d, want the ended one deleted", st.Sessions)
	}
	// A new consent after the event signs in again.
	e.connect("", googlesim.Choice{})
	if !strings.Contains(e.index().body, `data-signed-in="true"`) {
		t.Error("a session created after the event is not honoured")
	}
}

func TestSessionExpires(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *flowweb.Config) { c.SessionTTL = time.Hour }})
	e.connect("", googlesim.Choice{})
	e.clock.Advance(time.Hour)
	if !strings.Contains(e.index().body, `data-signed-in="false"`) {
		t.Error("an expired session is still honoured")
	}
}

func TestSweep(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *flowweb.Config) { c.SessionTTL = time.Hour }})
	e.connect("", googlesim.Choice{})
	e.startAuth("") // an abandoned flow
	ctx := context.Background()
	if f, s, err := e.h.Sweep(ctx); err != nil || f != 0 || s != 0 {
		t.Fatalf("Sweep = %d, %d, %v; want nothing to sweep yet", f, s, err)
	}
	e.clock.Advance(time.Hour)
	if f, s, err := e.h.Sweep(ctx); err != nil || f != 1 || s != 1 {
		t.Errorf("Sweep = %d, %d, %v; want 1 flow and 1 session", f, s, err)
	}
}
