package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riscd/riscd/client"
	"github.com/riscd/riscd/internal/testkit"
)

// subjects serves GET /v1/subjects/{sub} from a settable map of JSON
// answers (absent: 404) and counts the requests.
type subjects struct {
	mu    sync.Mutex
	json  map[string]string
	calls atomic.Int32
}

func (s *subjects) set(sub, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.json[sub] = body
}

func (s *subjects) serve(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	s.mu.Lock()
	body, ok := s.json[r.PathValue("sub")]
	s.mu.Unlock()
	if !ok {
		answer(w, http.StatusNotFound, `{"error":"not_found","detail":"no account for this subject"}`)
		return
	}
	answer(w, http.StatusOK, body)
}

func newSubjects(t *testing.T) (*subjects, *fakeRiscd) {
	s := &subjects{json: map[string]string{}}
	return s, newFake(t, map[string]http.HandlerFunc{"GET /v1/subjects/{sub}": s.serve})
}

// account is a GET /v1/subjects/{sub} answer.
func account(revokedAt string, flags string, grantStatus string) string {
	ra, before := "null", ""
	if revokedAt != "" {
		ra = strconv.Quote(revokedAt)
		before = `"end_sessions_before":` + ra + `,`
	}
	if flags != "" {
		flags = "," + flags
	}
	return `{"sub":"alice","sessions_revoked_at":` + ra + `,` + before + `"signin_disabled":false,"held":false,"review":false,` +
		`"reconsent_required":false,"credential_change_required":false,"purged":false` + flags +
		`,"grants":[{"id":"g1","scopes":["openid"],"status":"` + grantStatus + `","has_refresh_token":true}]}`
}

func mustGuard(t *testing.T, c *client.Client, cfg client.SessionConfig) *client.SessionGuard {
	t.Helper()
	if cfg.Session == nil {
		cfg.Session = func(*http.Request) (client.Who, time.Time, bool) { return client.Who{}, time.Time{}, false }
	}
	if cfg.End == nil {
		cfg.End = func(http.ResponseWriter, *http.Request, client.EndReason) {}
	}
	g, err := c.SessionGuard(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestSessionRule(t *testing.T) {
	revoked := "2026-03-01T11:00:00Z"
	before, at, after := t0.Add(-2*time.Hour), time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC), t0.Add(-30*time.Minute)
	tests := []struct {
		name    string
		answer  string // "" for 404
		created time.Time
		want    client.EndReason
	}{
		{"never seen", "", before, ""},
		{"nothing set", account("", "", "active"), before, ""},
		{"created before end_sessions_before", account(revoked, "", "active"), before, client.EndSessionsRevoked},
		{"created at end_sessions_before", account(revoked, "", "active"), at, client.EndSessionsRevoked},
		{"created after end_sessions_before", account(revoked, "", "active"), after, ""},
		{"sign-in disabled", account("", `"signin_disabled":true`, "active"), after, client.EndSigninDisabled},
		{"account held", account("", `"held":true`, "active"), after, client.EndHeld},
		{"a grant held", account("", `"held":true`, "held"), after, client.EndHeld},
		{"sessions_revoked_at alone is no decision", `{"sub":"alice","sessions_revoked_at":"` + revoked + `","signin_disabled":false,"held":false,"grants":[]}`, before, ""},
		{"purged", account("", `"purged":true`, "revoked"), after, client.EndPurged},
		{"purged outranks revoked sessions", account(revoked, `"purged":true`, "revoked"), before, client.EndPurged},
		{"grant revoked", account("", `"reconsent_required":true`, "revoked"), after, ""},
		{"grant needs reauth", account("", "", "reauth_required"), after, ""},
		{"review and credential change", account("", `"review":true,"credential_change_required":true`, "active"), after, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, f := newSubjects(t)
			if tc.answer != "" {
				s.set("alice", tc.answer)
			}
			g := mustGuard(t, mustNew(f, testkit.NewClock(t0)), client.SessionConfig{})
			got, err := g.Check(context.Background(), client.Sub("alice"), tc.created)
			if err != nil || got != tc.want {
				t.Errorf("Check = %q %v, want %q", got, err, tc.want)
			}
		})
	}
}

func TestSessionCacheAndWebhooks(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(t0)
	s, f := newSubjects(t)
	s.set("alice", account("", "", "active"))
	g := mustGuard(t, mustNew(f, clk), client.SessionConfig{CacheTTL: 30 * time.Second})
	created := t0.Add(-time.Hour)
	check := func(step string, want client.EndReason, calls int32) {
		t.Helper()
		got, err := g.Check(ctx, client.Sub("alice"), created)
		if err != nil || got != want || s.calls.Load() != calls {
			t.Fatalf("%s: Check = %q %v after %d requests, want %q after %d", step, got, err, s.calls.Load(), want, calls)
		}
	}
	check("first", "", 1)
	s.set("alice", account("2026-03-01T11:30:00Z", "", "active"))
	check("cached", "", 1)
	clk.Advance(29 * time.Second)
	check("still cached", "", 1)
	clk.Advance(time.Second)
	check("expired", client.EndSessionsRevoked, 2)

	// A webhook about alice drops her cached answer at once.
	s.set("alice", account("", "", "active"))
	check("cached again", client.EndSessionsRevoked, 2)
	g.Observe(client.Event{Type: "account-enabled", Sub: "alice", Action: "release_holds,enable_signin", At: t0})
	check("after a webhook", "", 3)
	g.Observe(client.Event{Type: "account-enabled", Sub: "bob", Action: "release_holds", At: t0})
	check("a webhook about another user", "", 3)

	// A webhook's end_sessions_before ends the sessions created at or
	// before it even while riscd's (older) answer says nothing; its
	// action list decides nothing.
	g.Observe(client.Event{Type: "tokens-revoked", Sub: "alice", Action: "end_sessions,revoke_grants", At: t0.Add(-time.Hour)})
	check("end_sessions without end_sessions_before", "", 4)
	cut := t0.Add(-30 * time.Minute)
	g.Observe(client.Event{Type: "sessions-revoked", Sub: "alice", Action: "end_sessions,set_sessions_revoked_at", At: t0.Add(-time.Hour), EndSessionsBefore: &cut})
	check("ended by a webhook", client.EndSessionsRevoked, 5)
	if got, _ := g.Check(ctx, client.Sub("alice"), t0.Add(-10*time.Minute)); got != "" {
		t.Errorf("a session created after the webhook's end_sessions_before: %q, want it kept", got)
	}
	older := t0.Add(-2 * time.Hour)
	g.Observe(client.Event{Type: "sessions-revoked", Sub: "alice", Action: "set_sessions_revoked_at", EndSessionsBefore: &older})
	if got, _ := g.Check(ctx, client.Sub("alice"), created); got != client.EndSessionsRevoked {
		t.Errorf("an older webhook moved the cut back: %q", got)
	}
	// The same holds for a subject riscd does not know.
	now := t0
	g.Observe(client.Event{Type: "sessions-revoked", Sub: "carol", Action: "end_sessions,set_sessions_revoked_at", At: t0, EndSessionsBefore: &now})
	if got, err := g.Check(ctx, client.Sub("carol"), created); got != client.EndSessionsRevoked || err != nil {
		t.Errorf("carol: %q %v, want sessions_revoked", got, err)
	}
}

func TestSessionGuardRefusesAppUsers(t *testing.T) {
	_, f := newSubjects(t)
	g := mustGuard(t, mustNew(f, testkit.NewClock(t0)), client.SessionConfig{})
	if _, err := g.Check(context.Background(), client.AppUser("u-1"), t0); !errors.Is(err, client.ErrAppUserLookup) {
		t.Errorf("err = %v, want ErrAppUserLookup", err)
	}
	if len(f.requests()) != 0 {
		t.Error("riscd was asked")
	}
}

func TestSessionMiddleware(t *testing.T) {
	s, f := newSubjects(t)
	s.set("alice", account("2026-03-01T11:00:00Z", "", "active"))
	s.set("bob", account("", "", "active"))
	var (
		mu    sync.Mutex
		ended []string
		errs  []error
	)
	cfg := client.SessionConfig{
		Session: func(r *http.Request) (client.Who, time.Time, bool) {
			sub := r.Header.Get("X-Test-User")
			if sub == "" {
				return client.Who{}, time.Time{}, false
			}
			return client.Sub(sub), t0.Add(-2 * time.Hour), true
		},
		End: func(w http.ResponseWriter, r *http.Request, why client.EndReason) {
			mu.Lock()
			ended = append(ended, r.Header.Get("X-Test-User")+":"+string(why))
			mu.Unlock()
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
		},
		OnError: func(r *http.Request, err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		},
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	serve := func(h http.Handler, user string) int {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if user != "" {
			r.Header.Set("X-Test-User", user)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}

	h := mustGuard(t, mustNew(f, testkit.NewClock(t0)), cfg).Middleware(app)
	for _, tc := range []struct {
		user string
		want int
	}{{"", http.StatusTeapot}, {"bob", http.StatusTeapot}, {"alice", http.StatusSeeOther}, {"dave", http.StatusTeapot}} {
		if got := serve(h, tc.user); got != tc.want {
			t.Errorf("user %q: status %d, want %d", tc.user, got, tc.want)
		}
	}
	if len(ended) != 1 || ended[0] != "alice:sessions_revoked" {
		t.Errorf("ended %v, want alice's session only", ended)
	}

	// riscd down: served (fail open) or 503 (fail closed), OnError told.
	f.Close()
	down := mustNew(f, testkit.NewClock(t0))
	if got := serve(mustGuard(t, down, cfg).Middleware(app), "bob"); got != http.StatusTeapot {
		t.Errorf("fail open: status %d, want the app's", got)
	}
	cfg.FailClosed = true
	if got := serve(mustGuard(t, down, cfg).Middleware(app), "bob"); got != http.StatusServiceUnavailable {
		t.Errorf("fail closed: status %d, want 503", got)
	}
	if len(errs) != 2 {
		t.Errorf("OnError told %d times, want 2", len(errs))
	}
}

func TestSessionGuardNeedsItsFuncs(t *testing.T) {
	if _, err := client.New("http://127.0.0.1:1", appToken).SessionGuard(client.SessionConfig{}); err == nil {
		t.Error("a guard without Session and End")
	}
}

// TestWebhookHandlerFeedsTheGuard: a verified webhook reaches the guard; a
// forged one does not.
func TestWebhookHandlerFeedsTheGuard(t *testing.T) {
	clk := testkit.NewClock(t0)
	s, f := newSubjects(t)
	s.set("110169484474386276334", account("", "", "active"))
	g := mustGuard(t, mustNew(f, clk), client.SessionConfig{})
	h, err := client.NewWebhookHandler(client.WebhookConfig{Secrets: []string{secretA}, Sessions: g, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	who, created := client.Sub("110169484474386276334"), t0.Add(-time.Hour) // before the hook's At
	if got, _ := g.Check(context.Background(), who, created); got != "" {
		t.Fatalf("before: %q", got)
	}
	ts := t0.Unix()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, hookRequest("m", ts, sign(keyB, "m", ts, hookBody), hookBody))
	if got, _ := g.Check(context.Background(), who, created); rec.Code != http.StatusUnauthorized || got != "" || s.calls.Load() != 1 {
		t.Fatalf("forged hook: status %d, Check %q, %d requests; want 401, kept, cached", rec.Code, got, s.calls.Load())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, hookRequest("m", ts, sign(keyA, "m", ts, hookBody), hookBody))
	if got, _ := g.Check(context.Background(), who, created); rec.Code != http.StatusNoContent || got != client.EndSessionsRevoked || s.calls.Load() != 2 {
		t.Errorf("signed hook: status %d, Check %q, %d requests; want 204, ended, asked again", rec.Code, got, s.calls.Load())
	}
}
