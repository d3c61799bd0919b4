package adminpage_test

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/admin/admintest"
	"github.com/riscd/riscd/adminpage"
)

// sessionCookie returns the riscd_admin cookie a sign-in answer sets.
func sessionCookie(tb testing.TB, h http.Header) *http.Cookie {
	tb.Helper()
	resp := http.Response{Header: h}
	for _, c := range resp.Cookies() {
		if c.Name == "riscd_admin" {
			return c
		}
	}
	tb.Fatalf("no riscd_admin cookie in %q", h.Values("Set-Cookie"))
	return nil
}

func TestUISignIn(t *testing.T) {
	e, _ := newUIEnv(t, nil, nil)
	b := newBrowser(t, e)

	if p := b.get("/admin/ui/grants"); p.status != http.StatusSeeOther || p.location() != "/admin/ui/login" {
		t.Fatalf("before sign-in: status %d Location %q, want 303 to the sign-in page", p.status, p.location())
	}
	login := b.mustGet("/admin/ui/login")
	mustContain(t, login.body, `name="token"`, `type="password"`, `action="/admin/ui/login"`)

	p := b.post("/admin/ui/login", url.Values{"token": {admintest.AdminToken}}, nil)
	if p.status != http.StatusSeeOther || p.location() != "/admin/ui/grants" {
		t.Fatalf("sign-in: status %d Location %q, want 303 to /admin/ui/grants", p.status, p.location())
	}
	ck := sessionCookie(t, p.header)
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/admin/ui" || ck.Secure {
		t.Errorf("cookie HttpOnly=%v SameSite=%v Path=%q Secure=%v; want HttpOnly, Strict, /admin/ui, not Secure over plain HTTP",
			ck.HttpOnly, ck.SameSite, ck.Path, ck.Secure)
	}
	if ck.MaxAge != int(adminpage.DefaultSessionTTL/time.Second) {
		t.Errorf("cookie Max-Age = %d, want %d", ck.MaxAge, int(adminpage.DefaultSessionTTL/time.Second))
	}
	if strings.Contains(ck.Value, admintest.AdminToken) || len(ck.Value) < 43 {
		t.Errorf("cookie value %q: want a random id of at least 256 bits, unrelated to the token", ck.Value)
	}
	b.mustGet("/admin/ui/grants")
	if p := b.get("/admin/ui/login"); p.status != http.StatusSeeOther || p.location() != "/admin/ui/grants" {
		t.Errorf("sign-in page when signed in: status %d Location %q, want 303 to the grants", p.status, p.location())
	}

	t.Run("sign-out ends the session", func(t *testing.T) {
		stolen := ck.Value
		p := b.post("/admin/ui/logout", url.Values{"csrf": {b.csrf()}}, nil)
		if p.status != http.StatusSeeOther || p.location() != "/admin/ui/login?notice=signed_out" {
			t.Fatalf("sign-out: status %d Location %q", p.status, p.location())
		}
		if c := sessionCookie(t, p.header); c.MaxAge >= 0 || c.Value != "" {
			t.Errorf("sign-out cookie %v, want it cleared", c)
		}
		mustContain(t, b.mustGet("/admin/ui/login?notice=signed_out").body, "Signed out.")
		// The old cookie, replayed, no longer opens anything.
		req := httptest.NewRequest(http.MethodGet, "/admin/ui/grants", nil)
		req.AddCookie(&http.Cookie{Name: "riscd_admin", Value: stolen})
		rec := httptest.NewRecorder()
		e.Handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusSeeOther {
			t.Errorf("old session cookie after sign-out: status %d, want 303 to sign-in", rec.Code)
		}
	})
}

func TestUISignInRefusals(t *testing.T) {
	tests := []struct {
		name    string
		token   string
		header  map[string]string
		want    int
		inQuery bool // the token rides in the URL instead of the form
	}{
		{"token in the query string", admintest.AdminToken, nil, http.StatusUnauthorized, true},
		{"wrong token", "not-the-admin-token", nil, http.StatusUnauthorized, false},
		{"empty token", "", nil, http.StatusUnauthorized, false},
		{"token with a suffix", admintest.AdminToken + "x", nil, http.StatusUnauthorized, false},
		{"app token", admintest.AppToken, nil, http.StatusUnauthorized, false},
		{"right token, foreign origin, no Sec-Fetch-Site", admintest.AdminToken, map[string]string{"Sec-Fetch-Site": "", "Origin": "https://evil.example"}, http.StatusForbidden, false},
		{"right token, cross-site fetch", admintest.AdminToken, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden, false},
		{"right token, opaque origin, no Sec-Fetch-Site", admintest.AdminToken, map[string]string{"Sec-Fetch-Site": "", "Origin": "null"}, http.StatusForbidden, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newUIEnv(t, nil, nil)
			b := newBrowser(t, e)
			form, path := url.Values{"token": {tc.token}}, "/admin/ui/login"
			if tc.inQuery {
				form, path = url.Values{}, path+"?"+form.Encode()
			}
			p := b.post(path, form, func(r *http.Request) {
				for k, v := range tc.header {
					r.Header.Set(k, v)
				}
			})
			if p.status != tc.want {
				t.Fatalf("status %d, want %d: %s", p.status, tc.want, p.body)
			}
			if len(p.header.Values("Set-Cookie")) != 0 {
				t.Errorf("a refused sign-in set a cookie: %q", p.header.Values("Set-Cookie"))
			}
			if tc.want == http.StatusUnauthorized {
				mustContain(t, p.body, `id="error"`, `name="token"`)
			}
			if p := b.get("/admin/ui/grants"); p.status != http.StatusSeeOther {
				t.Errorf("after a refused sign-in the grants answer %d, want 303 to sign-in", p.status)
			}
		})
	}
}

func TestUISignInIsRateLimited(t *testing.T) {
	e, _ := newUIEnv(t, nil, nil)
	b := newBrowser(t, e)
	for i := range 5 {
		if p := b.post("/admin/ui/login", url.Values{"token": {"guess"}}, nil); p.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i+1, p.status)
		}
	}
	p := b.post("/admin/ui/login", url.Values{"token": {admintest.AdminToken}}, nil)
	if p.status != http.StatusTooManyRequests {
		t.Fatalf("after 5 failures the right token got status %d, want 429", p.status)
	}
	if ra := p.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After = %q, want the seconds to wait", ra)
	}
	mustContain(t, p.body, "too many failed sign-ins")

	e.Clock.Advance(time.Minute)
	b.signIn()
	// A success forgets the failures: four more are allowed again.
	other := newBrowser(t, e)
	for i := range 4 {
		if p := other.post("/admin/ui/login", url.Values{"token": {"guess"}}, nil); p.status != http.StatusUnauthorized {
			t.Fatalf("failure %d after a success: status %d, want 401", i+1, p.status)
		}
	}
	other.signIn()
}

func TestUISessionExpires(t *testing.T) {
	e, _ := newUIEnv(t, nil, func(cfg *adminpage.Config) { cfg.SessionTTL = time.Hour })
	b := newBrowser(t, e)
	b.signIn()
	e.Clock.Advance(59 * time.Minute)
	b.mustGet("/admin/ui/grants")
	e.Clock.Advance(time.Minute)
	if p := b.get("/admin/ui/grants"); p.status != http.StatusSeeOther || p.location() != "/admin/ui/login" {
		t.Errorf("after the TTL: status %d Location %q, want 303 to sign-in", p.status, p.location())
	}
}

func TestUISecureCookie(t *testing.T) {
	tests := []struct {
		name   string
		tls    bool
		config bool
	}{
		{"over TLS", true, false},
		{"behind a TLS proxy (UISecureCookies)", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newUIEnv(t, nil, func(cfg *adminpage.Config) { cfg.SecureCookies = tc.config })
			req := httptest.NewRequest(http.MethodPost, "/admin/ui/login", strings.NewReader(url.Values{"token": {admintest.AdminToken}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.tls {
				req.TLS = &tls.ConnectionState{}
			}
			rec := httptest.NewRecorder()
			e.Handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("sign-in: status %d", rec.Code)
			}
			if ck := sessionCookie(t, rec.Header()); !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
				t.Errorf("cookie Secure=%v HttpOnly=%v SameSite=%v, want all set", ck.Secure, ck.HttpOnly, ck.SameSite)
			}
		})
	}
}

func TestUIWithoutAdminToken(t *testing.T) {
	e, _ := newUIEnv(t, nil, func(cfg *adminpage.Config) { cfg.AdminToken = "" })
	b := newBrowser(t, e)
	p := b.get("/admin/ui/login")
	if p.status != http.StatusServiceUnavailable {
		t.Fatalf("sign-in page: status %d, want 503", p.status)
	}
	mustContain(t, p.body, `id="disabled"`)
	if p := b.post("/admin/ui/login", url.Values{"token": {""}}, nil); p.status != http.StatusServiceUnavailable || len(p.header.Values("Set-Cookie")) != 0 {
		t.Errorf("sign-in without an admin token: status %d cookies %q, want 503 and none", p.status, p.header.Values("Set-Cookie"))
	}
}

// oldBrowser makes a request look sent by a browser without Fetch
// Metadata: no Sec-Fetch-Site, only an Origin.
func oldBrowser(origin string) func(*http.Request) {
	return func(r *http.Request) {
		r.Header.Del("Sec-Fetch-Site")
		r.Header.Set("Origin", origin)
	}
}

// A browser that sends no Sec-Fetch-Site signs in when its Origin is the
// page's, and so does a client that sends neither header.
func TestUISignInWithoutFetchMetadata(t *testing.T) {
	e, _ := newUIEnv(t, nil, nil)
	for name, edit := range map[string]func(*http.Request){
		"same origin": oldBrowser(e.URL),
		"no origin":   func(r *http.Request) { r.Header.Del("Sec-Fetch-Site"); r.Header.Del("Origin") },
	} {
		t.Run(name, func(t *testing.T) {
			p := newBrowser(t, e).post("/admin/ui/login", url.Values{"token": {admintest.AdminToken}}, edit)
			if p.status != http.StatusSeeOther || p.location() != "/admin/ui/grants" {
				t.Errorf("status %d Location %q, want 303 to /admin/ui/grants: %s", p.status, p.location(), p.body)
			}
		})
	}
}

// TestUICSRF posts every action with a bad CSRF token or origin: each is
// answered 403 and changes nothing.
func TestUICSRF(t *testing.T) {
	e, op := newUIEnv(t, nil, nil)
	e.MustAccount(riscd.Account{Sub: "alice", Held: true})
	g := e.MustGrant(admintest.GrantSpec{Sub: "alice", Status: riscd.GrantHeld, Reason: "hijacking"})
	ev := e.MustInbox(admintest.DisabledEvent("j1", "alice", "hijacking"))
	e.SetStatus(ev.ID, riscd.InboxParked, 10, "store unavailable", time.Time{})
	job := e.FailJob(riscd.OutboxWebhook, "alice")
	b := newBrowser(t, e)
	b.signIn()
	good := b.csrf()

	actions := []struct {
		path string
		form url.Values
	}{
		{idPath("/admin/ui/events/%d/retry", ev.ID), url.Values{}},
		{"/admin/ui/accounts/alice/release", url.Values{}},
		{idPath("/admin/ui/outbox/%d/retry", job.ID), url.Values{}},
		{"/admin/ui/grants/" + g.ID + "/revoke", url.Values{"confirm": {"yes"}}},
		{"/admin/ui/logout", url.Values{}},
	}
	bad := []struct {
		name string
		csrf string
		edit func(*http.Request)
		anon bool // sent by a browser that never signed in
	}{
		{"missing token", "", nil, false},
		{"wrong token", alterLast(good), nil, false},
		{"token of another session", otherSessionCSRF(t, e), nil, false},
		{"cross-site fetch", good, func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }, false},
		{"same-site fetch", good, func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "same-site") }, false},
		{"foreign origin, no Sec-Fetch-Site", good, oldBrowser("https://evil.example"), false},
		{"opaque origin, no Sec-Fetch-Site", good, oldBrowser("null"), false},
		{"no session", good, nil, true},
		{"forged session", good, func(r *http.Request) { r.Header.Set("Cookie", "riscd_admin=forged") }, true},
	}
	for _, a := range actions {
		for _, c := range bad {
			t.Run(a.path+"/"+c.name, func(t *testing.T) {
				form := url.Values{}
				for k, v := range a.form {
					form[k] = v
				}
				if c.csrf != "" {
					form.Set("csrf", c.csrf)
				}
				from := b
				if c.anon {
					from = newBrowser(t, e)
				}
				p := from.post(a.path, form, c.edit)
				if p.status != http.StatusForbidden {
					t.Errorf("status %d, want 403: %s", p.status, p.body)
				}
			})
		}
	}
	if n := op.calls(); n != 0 {
		t.Errorf("the operator was called %d times, want 0", n)
	}
	if got := mustEntry(t, e.DB, ev.ID); got.Status != riscd.InboxParked {
		t.Errorf("event status %s, want parked", got.Status)
	}
	if got, err := e.DB.OutboxJob(t.Context(), job.ID); err != nil || got.Status != riscd.OutboxFailed {
		t.Errorf("outbox job %+v %v, want still failed", got, err)
	}
	if got := mustGrantOf(t, e.DB, g.ID); got.Status != riscd.GrantHeld {
		t.Errorf("grant status %s, want held", got.Status)
	}
	if got := auditActions(t, e.DB); len(got) != 0 {
		t.Errorf("audit %v, want nothing", got)
	}
	if e.Rescans.Get() != 0 {
		t.Errorf("the dispatcher was woken %d times", e.Rescans.Get())
	}
	b.mustGet("/admin/ui/grants") // still signed in: the refused sign-out did nothing
}

// alterLast returns tok with its last character replaced by a different one,
// so the result never equals tok whatever that character was.
func alterLast(tok string) string {
	last := byte('A')
	if tok[len(tok)-1] == last {
		last = 'B'
	}
	return tok[:len(tok)-1] + string(last)
}

// otherSessionCSRF signs in a second browser and returns its CSRF token.
func otherSessionCSRF(tb testing.TB, e *admintest.Env) string {
	tb.Helper()
	b := newBrowser(tb, e)
	b.signIn()
	return b.csrf()
}

func TestUISecurityHeaders(t *testing.T) {
	e, _ := newUIEnv(t, nil, nil)
	b := newBrowser(t, e)
	check := func(t *testing.T, p page) {
		t.Helper()
		want := map[string]string{
			"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
			"X-Frame-Options":         "DENY",
			"Cache-Control":           "no-store",
			"X-Content-Type-Options":  "nosniff",
		}
		for k, v := range want {
			if got := p.header.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
	}
	t.Run("sign-in page", func(t *testing.T) { check(t, b.mustGet("/admin/ui/login")) })
	t.Run("redirect", func(t *testing.T) { check(t, b.get("/admin/ui/grants")) })
	t.Run("refused action", func(t *testing.T) { check(t, b.post("/admin/ui/logout", nil, nil)) })
	b.signIn()
	t.Run("page", func(t *testing.T) {
		p := b.mustGet("/admin/ui/grants")
		check(t, p)
		if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("Content-Type = %q, want text/html", ct)
		}
		for _, banned := range []string{"<script", " style=", "<style", "http://", "https://"} {
			if strings.Contains(p.body, banned) {
				t.Errorf("page holds %q: no script, no inline style, no external asset", banned)
			}
		}
	})
	t.Run("stylesheet", func(t *testing.T) {
		p := b.mustGet("/admin/ui/static/ui.css")
		if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
			t.Errorf("Content-Type = %q, want text/css", ct)
		}
		if strings.Contains(p.body, "url(") || strings.Contains(p.body, "@import") {
			t.Errorf("the stylesheet loads something else")
		}
	})
}

func TestUIConfigRefusesNegativeSessionTTL(t *testing.T) {
	db := admintest.OpenStore(t, time.Now)
	srv, err := admin.New(admin.Config{Store: db})
	if err != nil {
		t.Fatal(err)
	}
	_, err = adminpage.New(adminpage.Config{Service: srv.Service, Store: db, SessionTTL: -time.Second})
	if !errors.Is(err, adminpage.ErrInvalidConfig) || !strings.Contains(err.Error(), "SessionTTL") {
		t.Errorf("New with a negative SessionTTL: %v, want ErrInvalidConfig naming it", err)
	}
	if _, err := adminpage.New(adminpage.Config{Store: db}); !errors.Is(err, adminpage.ErrInvalidConfig) || !strings.Contains(err.Error(), "Service") {
		t.Errorf("New without a Service: %v, want ErrInvalidConfig naming it", err)
	}
}

// TestUISessionOnEveryReplica: two riscd processes sharing one store serve
// the admin page; a browser signed in on one is signed in on the other,
// its forms' CSRF token holds there, and signing out on one ends the
// session on both. The store records who signed in.
func TestUISessionOnEveryReplica(t *testing.T) {
	e, _ := newUIEnv(t, nil, nil)
	// The second replica: its own admin Server and page over the same store.
	srv, err := admin.New(admin.Config{Store: e.DB, AdminToken: admintest.AdminToken, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	page, err := adminpage.New(adminpage.Config{Service: srv.Service, Store: e.DB, AdminToken: admintest.AdminToken, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ec := echo.New()
	srv.Register(ec)
	page.Register(ec)
	replica := httptest.NewServer(ec)
	t.Cleanup(replica.Close)

	b := newBrowser(t, e)
	p := b.post("/admin/ui/login", url.Values{"token": {admintest.AdminToken}}, nil)
	if p.status != http.StatusSeeOther {
		t.Fatalf("sign-in: status %d", p.status)
	}
	ck := sessionCookie(t, p.header)
	sess, err := e.DB.AdminSession(t.Context(), riscd.Secret(ck.Value))
	if err != nil {
		t.Fatalf("the store has no session of the cookie: %v", err)
	}
	if sess.Operator != "operator" || !sess.Created.Equal(e.Clock.Now()) || !sess.Expires.Equal(e.Clock.Now().Add(adminpage.DefaultSessionTTL)) {
		t.Errorf("stored session: operator %q created %v expires %v", sess.Operator, sess.Created, sess.Expires)
	}
	csrf := b.csrf()
	if sess.CSRF.Reveal() != csrf {
		t.Errorf("the page's CSRF token is not the stored one")
	}

	// The same browser on the replica's address.
	other := &browser{e: e, client: b.client}
	u, _ := url.Parse(replica.URL)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: "riscd_admin", Value: ck.Value, Path: "/admin/ui"}})
	get := func(base, path string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := other.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := get(replica.URL, "/admin/ui/grants"); resp.StatusCode != http.StatusOK {
		t.Fatalf("the replica's grant list: status %d, want 200 (signed in)", resp.StatusCode)
	}
	form := url.Values{"csrf": {csrf}}
	req, err := http.NewRequest(http.MethodPost, replica.URL+"/admin/ui/logout", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", replica.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := other.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/ui/login?notice=signed_out" {
		t.Fatalf("sign-out on the replica: status %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if p := b.get("/admin/ui/grants"); p.status != http.StatusSeeOther || p.location() != "/admin/ui/login" {
		t.Errorf("the first riscd after sign-out on the replica: status %d Location %q, want 303 to sign-in", p.status, p.location())
	}
	if _, err := e.DB.AdminSession(t.Context(), riscd.Secret(ck.Value)); !errors.Is(err, riscd.ErrNotFound) {
		t.Errorf("the store still has the session: %v", err)
	}
}

// TestUISessionsBounded: past maxUISessions (256) sign-ins, the oldest
// session ends and the newest still works.
func TestUISessionsBounded(t *testing.T) {
	e, _ := newUIEnv(t, nil, nil)
	first := newBrowser(t, e)
	first.signIn()
	for range 256 {
		e.Clock.Advance(time.Second)
		newBrowser(t, e).signIn()
	}
	if p := first.get("/admin/ui/grants"); p.status != http.StatusSeeOther {
		t.Errorf("the oldest of 257 sessions: status %d, want 303 to sign-in", p.status)
	}
	last := newBrowser(t, e)
	last.signIn()
	last.mustGet("/admin/ui/grants")
}

// The name given at sign-in must be one the audit can show as it is; a
// sign-in without one acts as "operator".
func TestUISigninOperatorName(t *testing.T) {
	e, _ := newUIEnv(t, nil, nil)
	b := newBrowser(t, e)
	p := b.post("/admin/ui/login", url.Values{"token": {admintest.AdminToken}, "operator": {"dana <script>"}}, nil)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "Your name: the operator&#39;s name may hold letters") {
		t.Fatalf("sign-in with a bad name: status %d: %s", p.status, p.body)
	}
	if p := b.get("/admin/ui/grants"); p.status != http.StatusSeeOther {
		t.Errorf("after a refused sign-in the grant list answers %d, want 303 to the sign-in page", p.status)
	}
	b.signIn()
	if p := b.mustGet("/admin/ui/grants"); !strings.Contains(p.body, `id="signed-in-as">operator<`) {
		t.Errorf("a sign-in without a name shows %s", p.body)
	}
}
