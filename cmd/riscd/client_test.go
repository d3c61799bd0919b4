package main

// Tests of package client against the whole daemon: riscd started from a
// config file, googlesim as Google.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/client"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
)

// countingTransport counts the requests to each path.
type countingTransport struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[r.URL.Path]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *countingTransport) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[path]
}

// appTokenOf reads the app token of a config file.
func appTokenOf(t *testing.T, cfgPath string, env []string) string {
	t.Helper()
	l, err := load(cfgPath, env, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	return l.secrets.AppToken.Reveal()
}

// consentThroughRiscd walks user through riscd's consent pages on sim
// (every feature asked) and returns the grant riscd stored.
func consentThroughRiscd(t *testing.T, m *Main, sim *googlesim.Server, user googlesim.User) riscd.Grant {
	t.Helper()
	ctx := context.Background()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get("http://" + m.PublicAddr() + "/authorize")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := googlesim.Consent(ctx, browser, resp.Header.Get("Location"), googlesim.Choice{User: user.Email})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err = browser.Get(back.String()); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	grants, err := m.DB().GrantsBySub(ctx, user.Sub)
	if err != nil || len(grants) != 1 || grants[0].RefreshToken.IsZero() {
		t.Fatalf("grants of %s: %v %+v, want one with a refresh token", user.Sub, err, grants)
	}
	return grants[0]
}

// startMain starts riscd from cfgPath with the environment env.
func startMain(t *testing.T, cfgPath string, env []string) *Main {
	t.Helper()
	l, err := load(cfgPath, env, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: l.cfg, Secrets: l.secrets}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	waitReady(t, "http://"+m.InternalAddr())
	return m
}

// TestClientTokenSourceDriveAcrossRefresh: Google's own Drive client, given
// the client's TokenSource (option.WithTokenSource), lists the user's files
// through riscd's token, and gets the token riscd refreshed once the old
// one expired. The app never holds a refresh token.
//
// The Drive client caches tokens itself (cloud.google.com/go/auth: a token
// within 225 s of its expiry is handed out while a new one is fetched in
// the background), on the real clock. So riscd's token is made to expire in
// 2 minutes (riscd serves a token valid beyond 1 minute; its background
// refresher, 1 minute ahead here, stays away), and the client's own clock
// is moved past its cache margin.
func TestClientTokenSourceDriveAcrossRefresh(t *testing.T) {
	ctx := context.Background()
	sim := startSim(t)
	cfgPath := simConfig(t, sim)
	env := []string{"RISCD_COMPANION_REFRESH_LEAD_TIME=1m"}
	m := startMain(t, cfgPath, env)
	alice := sim.Users()[0]
	g := consentThroughRiscd(t, m, sim, alice)
	expiry := time.Now().Add(2 * time.Minute)
	setExpiry := func(at time.Time) {
		t.Helper()
		if _, err := m.DB().UpdateGrant(ctx, g.ID, func(g riscd.Grant) (riscd.Grant, error) {
			g.Expiry = at
			return g, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	setExpiry(expiry)

	clk := testkit.NewClock(time.Now())
	counts := &countingTransport{}
	c := client.New("http://"+m.InternalAddr(), appTokenOf(t, cfgPath, env),
		client.WithHTTPClient(&http.Client{Transport: counts}), client.WithNow(clk.Now))
	ts := c.TokenSource(ctx, client.Sub(alice.Sub), demoDriveScope)
	svc, err := drive.NewService(ctx, option.WithTokenSource(ts), option.WithEndpoint(sim.URL()+"/drive/v3/"))
	if err != nil {
		t.Fatal(err)
	}
	want := googlesim.DriveFiles(alice.Sub)
	list := func() error {
		fl, err := svc.Files.List().Context(ctx).Do()
		if err != nil {
			return err
		}
		if len(fl.Files) != len(want) || fl.Files[0].Id != want[0].ID || fl.Files[0].Name != want[0].Name {
			t.Fatalf("files %+v, want %+v", fl.Files, want)
		}
		return nil
	}
	for i := range 2 {
		if err := list(); err != nil {
			t.Fatalf("files.list %d: %v", i+1, err)
		}
	}
	first, err := ts.Token()
	if err != nil || first.AccessToken != g.AccessToken.Reveal() || first.RefreshToken != "" || !first.Expiry.Equal(expiry) {
		t.Fatalf("token %v %v, want the grant's access token, its expiry, and no refresh token", first, err)
	}
	if n := counts.count("/v1/token"); n != 1 {
		t.Errorf("%d token requests, want 1 (the token is reused)", n)
	}

	// Google expires the access token; riscd's copy has 30 s left, so riscd
	// refreshes before it serves again.
	sim.ExpireAccessTokens()
	setExpiry(time.Now().Add(30 * time.Second))
	var apiErr *googleapi.Error
	if err := list(); !errors.As(err, &apiErr) || apiErr.Code != http.StatusUnauthorized {
		t.Fatalf("files.list with the reused, now expired token: %v, want Drive's 401", err)
	}
	// The client's clock passes its margin: the next token comes from riscd.
	clk.Set(expiry.Add(-client.DefaultExpiryMargin))
	testkit.Eventually(t, "files.list to succeed with the refreshed token", func() bool { return list() == nil })
	second, err := ts.Token()
	if err != nil || second.AccessToken == first.AccessToken || second.RefreshToken != "" || !second.Expiry.After(expiry) {
		t.Fatalf("token after the refresh %v %v, want a new, later access token and no refresh token", second, err)
	}
	if n := sim.RefreshCount(g.RefreshToken.Reveal()); n != 1 {
		t.Errorf("googlesim saw %d refreshes, want 1", n)
	}
	if n := counts.count("/v1/token"); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}

	// riscd's refusals, typed.
	if _, err := c.Token(ctx, client.Sub("never-seen"), "openid"); !errors.Is(err, client.ErrNoGrant) {
		t.Errorf("a user without a grant: %v, want ErrNoGrant", err)
	}
	var scopeErr *client.ScopeError
	if _, err := c.Token(ctx, client.Sub(alice.Sub), "https://www.googleapis.com/auth/calendar"); !errors.As(err, &scopeErr) ||
		len(scopeErr.Missing) != 1 || scopeErr.Missing[0] != "https://www.googleapis.com/auth/calendar" {
		t.Errorf("a scope alice never granted: %v, want a *ScopeError naming it", err)
	}
	if _, err := client.New("http://"+m.InternalAddr(), "wrong-token").Token(ctx, client.Sub(alice.Sub), "openid"); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("a wrong app token: %v, want ErrUnauthorized", err)
	}
}

// hookRecorder keeps a copy of each webhook before the client's handler
// sees it.
type hookRecorder struct {
	next http.Handler
	mu   sync.Mutex
	reqs []recordedHook
}

type recordedHook struct {
	header http.Header
	body   []byte
}

func (h *hookRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.reqs = append(h.reqs, recordedHook{header: r.Header.Clone(), body: body})
	h.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(body))
	h.next.ServeHTTP(w, r)
}

func (h *hookRecorder) first() recordedHook {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reqs[0]
}

// replay sends a recorded webhook to handler, changed by edit.
func replay(handler http.Handler, hk recordedHook, edit func(h http.Header, body []byte) []byte) int {
	hdr := hk.header.Clone()
	body := edit(hdr, bytes.Clone(hk.body))
	r := httptest.NewRequest(http.MethodPost, "/hooks", bytes.NewReader(body))
	r.Header = hdr
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, r)
	return rec.Code
}

// TestClientSessionGuardEndsSessionAfterSessionsRevoked: googlesim sends a
// sessions-revoked SET; riscd's signed webhook reaches the client's
// handler, which makes the session guard ask riscd again at once: the app
// session created before the event ends, a later one stands. The same
// webhook with a broken signature, or seen too late, is refused.
func TestClientSessionGuardEndsSessionAfterSessionsRevoked(t *testing.T) {
	ctx := context.Background()
	key := make([]byte, 32)
	rand.Read(key)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	oldKey := make([]byte, 32)
	rand.Read(oldKey)
	oldSecret := "whsec_" + base64.StdEncoding.EncodeToString(oldKey)

	// The app: a guard over its pages, and the webhook handler feeding it.
	var (
		mu     sync.Mutex
		events []client.Event
		ended  []client.EndReason
	)
	var sessionCreated atomic.Int64
	var subjects countingTransport
	hooks := &hookRecorder{}
	hookSrv := httptest.NewServer(hooks)
	defer hookSrv.Close()

	sim := startSim(t)
	cfgPath := simConfig(t, sim)
	env := []string{"RISCD_COMPANION_WEBHOOK_URL=" + hookSrv.URL + "/hooks", "RISCD_COMPANION_WEBHOOK_SECRET=" + secret}
	m := startMain(t, cfgPath, env)

	sub := "client-e2e-subject"
	if _, err := m.DB().UpdateAccount(ctx, sub, func(a riscd.Account, _ bool) (riscd.Account, error) {
		a.Email = "client-e2e@example.com"
		return a, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.DB().CreateGrant(ctx, riscd.Grant{Sub: sub, Email: "client-e2e@example.com", Scopes: []string{"openid", "email"},
		RefreshToken: "1//0client-e2e-refresh", AccessToken: "ya29.client-e2e", Status: riscd.GrantActive}); err != nil {
		t.Fatal(err)
	}

	c := client.New("http://"+m.InternalAddr(), appTokenOf(t, cfgPath, env), client.WithHTTPClient(&http.Client{Transport: &subjects}))
	guard, err := c.SessionGuard(client.SessionConfig{
		Session: func(r *http.Request) (client.Who, time.Time, bool) {
			return client.Sub(sub), time.Unix(0, sessionCreated.Load()), true
		},
		End: func(w http.ResponseWriter, r *http.Request, why client.EndReason) {
			mu.Lock()
			ended = append(ended, why)
			mu.Unlock()
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
		},
		CacheTTL: time.Hour, // only the webhook can make the guard ask again
		OnError:  func(_ *http.Request, err error) { t.Errorf("asking riscd: %v", err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	handler, err := client.NewWebhookHandler(client.WebhookConfig{
		Secrets:  []string{oldSecret, secret}, // during a rotation
		Sessions: guard,
		OnEvent: func(_ context.Context, ev client.Event) error {
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	hooks.next = handler
	app := guard.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page") }))
	page := func() int {
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		return rec.Code
	}

	if why, err := guard.Check(ctx, client.Sub("never-seen"), time.Now().Add(-time.Hour)); why != "" || err != nil {
		t.Errorf("a user riscd never saw: %q %v, want the session kept", why, err)
	}
	sessionCreated.Store(time.Now().Add(-time.Minute).UnixNano())
	if got := page(); got != http.StatusOK {
		t.Fatalf("before the event: status %d, want 200", got)
	}
	tr := sim.Transmitter()
	if code, body, err := tr.Push(ctx, "http://"+m.PublicAddr()+"/risc", googlesim.SessionsRevoked(sub)); err != nil || code != http.StatusAccepted {
		t.Fatalf("push: %d %s %v", code, body, err)
	}
	var ev client.Event
	testkit.Eventually(t, "the sessions-revoked webhook to reach the app", func() bool {
		mu.Lock()
		defer mu.Unlock()
		if len(events) > 0 {
			ev = events[0]
		}
		return len(events) > 0
	})
	if ev.Type != "sessions-revoked" || ev.Sub != sub || ev.EndSessionsBefore == nil || !ev.EndsSession(time.Now().Add(-time.Minute)) || ev.ID == "" || ev.Transmitter != "google" {
		t.Errorf("event %+v, want a sessions-revoked of %s that ends sessions", ev, sub)
	}
	if got := page(); got != http.StatusSeeOther {
		t.Errorf("after the event: status %d, want the session ended (303)", got)
	}
	mu.Lock()
	if len(ended) != 1 || ended[0] != client.EndSessionsRevoked {
		t.Errorf("ended %v, want one sessions_revoked", ended)
	}
	mu.Unlock()
	if n := subjects.count("/v1/subjects/" + sub); n != 2 {
		t.Errorf("%d subject requests, want 2 (first, then after the webhook)", n)
	}
	a, err := m.DB().Account(ctx, sub)
	if err != nil || a.SessionsRevokedAt.IsZero() {
		t.Fatalf("account %+v %v, want sessions_revoked_at set", a, err)
	}
	sessionCreated.Store(a.SessionsRevokedAt.Add(time.Second).UnixNano())
	if got := page(); got != http.StatusOK {
		t.Errorf("a session created after the event: status %d, want 200", got)
	}

	// riscd's webhook, replayed: as sent it passes; with a broken signature
	// or a changed body it does not; too late it does not.
	hk := hooks.first()
	if got := replay(handler, hk, func(_ http.Header, b []byte) []byte { return b }); got != http.StatusNoContent {
		t.Errorf("replayed as sent: %d, want 204", got)
	}
	if got := replay(handler, hk, func(h http.Header, b []byte) []byte {
		v, sig, _ := strings.Cut(h.Get("webhook-signature"), ",")
		raw, _ := base64.StdEncoding.DecodeString(sig)
		raw[0] ^= 1
		h.Set("webhook-signature", v+","+base64.StdEncoding.EncodeToString(raw))
		return b
	}); got != http.StatusUnauthorized {
		t.Errorf("broken signature: %d, want 401", got)
	}
	if got := replay(handler, hk, func(_ http.Header, b []byte) []byte {
		return bytes.Replace(b, []byte(`"sessions-revoked"`), []byte(`"account-enabled"`), 1)
	}); got != http.StatusUnauthorized {
		t.Errorf("changed body: %d, want 401", got)
	}
	late, err := client.NewWebhookHandler(client.WebhookConfig{
		Secrets: []string{secret},
		Now:     func() time.Time { return time.Now().Add(client.DefaultWebhookTolerance + time.Minute) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := replay(late, hk, func(_ http.Header, b []byte) []byte { return b }); got != http.StatusUnauthorized {
		t.Errorf("too old: %d, want 401", got)
	}
}
