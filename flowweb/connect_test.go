package flowweb_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
)

// app is the app riscd sends a connect session's browser back to: it
// records the query of every GET /after.
type app struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []url.Values
}

func newApp(t *testing.T) *app {
	a := &app{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/after" {
			a.mu.Lock()
			a.got = append(a.got, r.URL.Query())
			a.mu.Unlock()
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>app</title><p id="app">back in the app</p>`))
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// returns are the queries the app was given.
func (a *app) returns() []url.Values {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.got)
}

// newConnect stores a connect session as the companion API does and
// returns its id and start link.
func (e *env) newConnect(appUser, returnTo, hint string, features ...string) (string, string) {
	e.t.Helper()
	id := strings.ReplaceAll(e.t.Name(), "/", "-") + "-" + appUser
	id = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, id)
	token := riscd.Secret("start-token-of-" + id)
	now := e.clock.Now()
	err := e.db.CreateConnectSession(context.Background(), riscd.ConnectSession{
		ID: id, AppUser: appUser, Features: features, ReturnTo: returnTo, LoginHint: hint,
		StartDigest: riscd.IDDigest(token), Status: riscd.ConnectPending, CreatedAt: now, ExpiresAt: now.Add(riscd.ConnectSessionTTL),
	})
	if err != nil {
		e.t.Fatalf("CreateConnectSession: %v", err)
	}
	return id, e.srv.URL + "/connect/" + id + "?token=" + url.QueryEscape(token.Reveal())
}

// connectSession reads a connect session from the store.
func (e *env) connectSession(id string) riscd.ConnectSession {
	e.t.Helper()
	s, err := e.db.ConnectSession(context.Background(), id)
	if err != nil {
		e.t.Fatalf("ConnectSession(%s): %v", id, err)
	}
	return s
}

// browserRun drives Chromium and fails the test on error.
func browserRun(t *testing.T, tctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func browserLocation(t *testing.T, tctx context.Context) *url.URL {
	t.Helper()
	loc, err := chromedp.Run(tctx, chromedp.Location())
	if err != nil {
		t.Fatalf("location: %v", err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("location %q: %v", loc, err)
	}
	return u
}

// browserCode is the data-code of the message page Chromium shows.
func browserCode(t *testing.T, tctx context.Context) string {
	t.Helper()
	attrs, err := chromedp.Run(tctx, chromedp.AttributesAll(chromedp.CSSAll("[data-code]")))
	if err != nil || len(attrs) == 0 {
		t.Fatalf("no message page (%v)", err)
	}
	return attrs[0]["data-code"]
}

// wantReturn checks that the browser is back at the app with the session's
// id and status, and nothing else added.
func wantReturn(t *testing.T, u *url.URL, a *app, id string, status riscd.ConnectStatus) {
	t.Helper()
	if !strings.HasPrefix(u.String(), a.srv.URL+"/after?") {
		t.Fatalf("the browser is at %s, want the app's /after", u)
	}
	q := u.Query()
	if q.Get("connect_id") != id || q.Get("status") != string(status) || q.Get("keep") != "1" || len(q) != 3 {
		t.Errorf("return query %v, want keep=1, connect_id=%s and status=%s only", q, id, status)
	}
}

// TestBrowserConnect drives Chromium through connect sessions against
// googlesim: a consent with every scope, a consent with fewer scopes than
// the feature needs, a denial, the link opened again, the answer finished
// in another browser, and a link opened after it expired.
func TestBrowserConnect(t *testing.T) {
	e := newEnv(t, envOptions{connect: true})
	a := newApp(t)
	tctx := testkit.Chromium(t)
	returnTo := a.srv.URL + "/after?keep=1"
	ctx := context.Background()

	t.Run("denied", func(t *testing.T) {
		id, link := e.newConnect("u-789", returnTo, e.user.Email, "drive")
		browserRun(t, tctx, "open the connect link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("consent")))
		browserRun(t, tctx, "deny", chromedp.Click(chromedp.CSS(`button[value="deny"]`)), chromedp.WaitVisible(chromedp.ID("app")))
		wantReturn(t, browserLocation(t, tctx), a, id, riscd.ConnectDenied)
		if s := e.connectSession(id); s.Status != riscd.ConnectDenied || s.Error != "access_denied" || s.Sub != "" {
			t.Errorf("session %+v, want denied with access_denied and no account", s)
		}
		if n := len(e.grants()); n != 0 {
			t.Errorf("%d grants after a denial, want none", n)
		}
		if links, _ := e.db.LinksOfAppUser(ctx, "u-789"); len(links) != 0 {
			t.Errorf("a denial linked %+v", links)
		}
	})

	t.Run("fewer scopes", func(t *testing.T) {
		id, link := e.newConnect("u-456", returnTo, e.user.Email, "drive", "calendar")
		browserRun(t, tctx, "open the connect link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("consent")))
		if loc := browserLocation(t, tctx); !strings.HasPrefix(loc.String(), e.sim.URL()) || loc.Query().Get("login_hint") != e.user.Email {
			t.Fatalf("the connect link led to %s, want googlesim's consent with the login hint", loc)
		}
		browserRun(t, tctx, "untick calendar, allow",
			chromedp.Click(chromedp.CSS(`input[name="scope"][value="`+calendarScope+`"]`)),
			chromedp.Click(chromedp.CSS(`button[value="allow"]`)),
			chromedp.WaitVisible(chromedp.ID("app")))
		wantReturn(t, browserLocation(t, tctx), a, id, riscd.ConnectConnected)
		s := e.connectSession(id)
		g := e.onlyGrant()
		if s.Status != riscd.ConnectConnected || slices.Contains(s.Scopes, calendarScope) || !slices.Contains(s.Scopes, driveScope) {
			t.Errorf("session %s with scopes %v, want connected with drive and without calendar", s.Status, s.Scopes)
		}
		if s.Sub != e.user.Sub || s.Email != e.user.Email || s.GrantID != g.ID || !slices.Equal(s.Scopes, g.Scopes) {
			t.Errorf("session %+v, want %s with grant %s and its scopes %v", s, e.user.Sub, g.ID, g.Scopes)
		}
		if !slices.Equal(s.Features, []string{"drive", "calendar"}) {
			t.Errorf("session features %v, want what the app asked", s.Features)
		}
		if ck := e.cookie("riscd_session"); ck != nil {
			t.Errorf("a connect session gave the browser riscd's own session cookie")
		}
	})

	t.Run("connected", func(t *testing.T) {
		id, link := e.newConnect("u-123", returnTo, e.user.Email, "calendar")
		browserRun(t, tctx, "open the connect link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("consent")))
		browserRun(t, tctx, "allow", chromedp.Click(chromedp.CSS(`button[value="allow"]`)), chromedp.WaitVisible(chromedp.ID("app")))
		wantReturn(t, browserLocation(t, tctx), a, id, riscd.ConnectConnected)
		s := e.connectSession(id)
		g := e.onlyGrant()
		if s.Status != riscd.ConnectConnected || s.Sub != e.user.Sub || s.GrantID != g.ID ||
			!slices.Contains(s.Scopes, driveScope) || !slices.Contains(s.Scopes, calendarScope) {
			t.Errorf("session %+v, want connected to %s with grant %s holding drive and calendar", s, e.user.Sub, g.ID)
		}
		links, err := e.db.LinksOfAppUser(ctx, "u-123")
		if err != nil || len(links) != 1 || links[0].Sub != e.user.Sub {
			t.Errorf("links of u-123: %+v (%v), want one to %s", links, err, e.user.Sub)
		}

		// The same link again: used once.
		browserRun(t, tctx, "open the link again", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("[data-code]")))
		if code := browserCode(t, tctx); code != "connect_reused" {
			t.Errorf("page %q, want connect_reused", code)
		}
		browserRun(t, tctx, "back to the app", chromedp.Click(chromedp.CSS("a.button")), chromedp.WaitVisible(chromedp.ID("app")))
		wantReturn(t, browserLocation(t, tctx), a, id, riscd.ConnectError)
		if s := e.connectSession(id); s.Status != riscd.ConnectConnected {
			t.Errorf("after the link was reused the session is %s, want it to keep connected", s.Status)
		}
	})

	t.Run("another app user, the same account", func(t *testing.T) {
		// Google asks nothing of a user who granted every scope already.
		id, link := e.newConnect("u-999", returnTo, e.user.Email, "drive")
		browserRun(t, tctx, "open the connect link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("app")))
		wantReturn(t, browserLocation(t, tctx), a, id, riscd.ConnectConnected)
		links, err := e.db.LinksOfSub(ctx, e.user.Sub)
		var users []string
		for _, l := range links {
			users = append(users, l.AppUser)
		}
		if err != nil || !slices.Equal(users, []string{"u-123", "u-456", "u-999"}) {
			t.Errorf("app users of the account: %v (%v), want u-123, u-456 and u-999", users, err)
		}
		if gs := e.grants(); len(gs) != 1 {
			t.Errorf("%d grants, want the account's one", len(gs))
		}
	})

	t.Run("another browser", func(t *testing.T) {
		// The HTTP client starts the session; Chromium, without its flow
		// cookie, comes back with the provider's answer.
		id, link := e.newConnect("u-other", returnTo, "")
		p := e.get(link)
		if p.status != http.StatusFound || p.loc == nil {
			t.Fatalf("connect link: status %d, want 302 to the provider", p.status)
		}
		cb := e.consent(p.loc, googlesim.Choice{})
		browserRun(t, tctx, "open the answer in another browser", chromedp.Navigate(cb.String()), chromedp.WaitVisible(chromedp.CSS("[data-code]")))
		if code := browserCode(t, tctx); code != "connect_other_browser" {
			t.Errorf("page %q, want connect_other_browser", code)
		}
		browserRun(t, tctx, "back to the app", chromedp.Click(chromedp.CSS("a.button")), chromedp.WaitVisible(chromedp.ID("app")))
		wantReturn(t, browserLocation(t, tctx), a, id, riscd.ConnectError)
		if s := e.connectSession(id); s.Status != riscd.ConnectError || s.Error != "other_browser" {
			t.Errorf("session %s (%s), want error other_browser", s.Status, s.Error)
		}
		// The browser that started it cannot finish it now.
		if p := e.get(cb.String()); p.status != http.StatusBadRequest || p.code() != "connect_ended" {
			t.Errorf("the starting browser's answer: status %d page %q, want 400 connect_ended", p.status, p.code())
		}
		if links, _ := e.db.LinksOfAppUser(ctx, "u-other"); len(links) != 0 {
			t.Errorf("a refused answer linked %+v", links)
		}
	})

	t.Run("expired", func(t *testing.T) {
		id, link := e.newConnect("u-late", returnTo, "")
		e.clock.Advance(riscd.ConnectSessionTTL + time.Second)
		browserRun(t, tctx, "open an expired link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("[data-code]")))
		if code := browserCode(t, tctx); code != "connect_expired" {
			t.Errorf("page %q, want connect_expired", code)
		}
		browserRun(t, tctx, "back to the app", chromedp.Click(chromedp.CSS("a.button")), chromedp.WaitVisible(chromedp.ID("app")))
		wantReturn(t, browserLocation(t, tctx), a, id, riscd.ConnectError)
		if s := e.connectSession(id); s.Status != riscd.ConnectError || s.Error != "expired" {
			t.Errorf("session %s (%s), want error expired", s.Status, s.Error)
		}
	})

	t.Run("tampered", func(t *testing.T) {
		id, link := e.newConnect("u-tamper", returnTo, "")
		for _, c := range []struct{ link, code string }{
			{strings.Replace(link, id, id+"x", 1), "connect_unknown"},
			{strings.Replace(link, "token=", "token=x", 1), "connect_bad_token"},
		} {
			browserRun(t, tctx, "open "+c.code, chromedp.Navigate(c.link), chromedp.WaitVisible(chromedp.CSS("[data-code]")))
			if code := browserCode(t, tctx); code != c.code {
				t.Errorf("page %q, want %s", code, c.code)
			}
		}
		// A wrong token changes nothing: the real link still works.
		if s := e.connectSession(id); s.Status != riscd.ConnectPending {
			t.Errorf("after tampered links the session is %s, want pending", s.Status)
		}
	})

	var statuses []string
	for _, q := range a.returns() {
		statuses = append(statuses, q.Get("status"))
	}
	if want := []string{"denied", "connected", "connected", "error", "connected", "error", "error"}; !slices.Equal(statuses, want) {
		t.Errorf("the app was given statuses %v, want %v", statuses, want)
	}
}

// TestConnectExpiresDuringConsent: an answer that comes back after the
// session expired ends it with status error, and stores nothing.
func TestConnectExpiresDuringConsent(t *testing.T) {
	e := newEnv(t, envOptions{connect: true})
	id, link := e.newConnect("u-1", "https://app.example.com/after", "")
	p := e.get(link)
	cb := e.consent(p.loc, googlesim.Choice{})
	e.clock.Advance(riscd.ConnectSessionTTL)
	p = e.get(cb.String())
	if p.status != http.StatusBadRequest || p.code() != "connect_expired" {
		t.Fatalf("late answer: status %d page %q, want 400 connect_expired", p.status, p.code())
	}
	if !strings.Contains(p.body, `href="https://app.example.com/after?connect_id=`+id+`&amp;status=error"`) {
		t.Errorf("the page offers no way back to the app with status=error:\n%s", p.body)
	}
	if s := e.connectSession(id); s.Status != riscd.ConnectError || s.Error != "expired" {
		t.Errorf("session %s (%s), want error expired", s.Status, s.Error)
	}
	if gs := e.grants(); len(gs) != 0 {
		t.Errorf("a late answer stored %d grants", len(gs))
	}
	if _, _, err := e.h.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.ConnectSession(context.Background(), id); !errors.Is(err, riscd.ErrNotFound) {
		t.Errorf("after a sweep the expired session is still there (%v)", err)
	}
}

// TestConnectTwoAppUsers: two app users connect the same account; both are
// linked to it, and it holds one grant.
func TestConnectTwoAppUsers(t *testing.T) {
	e := newEnv(t, envOptions{connect: true})
	ctx := context.Background()
	for _, u := range []string{"u-1", "u-2"} {
		id, link := e.newConnect(u, "https://app.example.com/after", e.user.Email, "drive")
		p := e.get(link)
		if p.status != http.StatusFound {
			t.Fatalf("%s: connect link status %d", u, p.status)
		}
		p = e.get(e.consent(p.loc, googlesim.Choice{}).String())
		if p.status != http.StatusSeeOther || p.loc.Query().Get("status") != "connected" || p.loc.Query().Get("connect_id") != id {
			t.Fatalf("%s: answer status %d location %v, want 303 back with status=connected", u, p.status, p.loc)
		}
	}
	links, err := e.db.LinksOfSub(ctx, e.user.Sub)
	if err != nil || len(links) != 2 || links[0].AppUser != "u-1" || links[1].AppUser != "u-2" {
		t.Errorf("links of the account: %+v (%v), want u-1 and u-2", links, err)
	}
	if gs := e.grants(); len(gs) != 1 {
		t.Errorf("%d grants, want the one grant both connected", len(gs))
	}
}

// TestConnectReplayedAnswer: the provider's answer sent again, in the same
// browser, after the session connected, is refused and keeps the result.
func TestConnectReplayedAnswer(t *testing.T) {
	e := newEnv(t, envOptions{connect: true})
	id, link := e.newConnect("u-1", "https://app.example.com/after", "")
	cb := e.consent(e.get(link).loc, googlesim.Choice{})
	if p := e.get(cb.String()); p.status != http.StatusSeeOther {
		t.Fatalf("answer: status %d, want 303", p.status)
	}
	p := e.get(cb.String())
	if p.status != http.StatusBadRequest || p.code() != "connect_other_browser" {
		t.Errorf("replayed answer: status %d page %q, want 400 connect_other_browser", p.status, p.code())
	}
	if s := e.connectSession(id); s.Status != riscd.ConnectConnected {
		t.Errorf("after a replay the session is %s, want it to keep connected", s.Status)
	}
}

// TestConnectDisabled: without a Connector the connect links are 404.
func TestConnectDisabled(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, link := e.newConnect("u-1", "https://app.example.com/after", "")
	if p := e.get(link); p.status != http.StatusNotFound {
		t.Errorf("connect link without a Connector: status %d, want 404", p.status)
	}
}
