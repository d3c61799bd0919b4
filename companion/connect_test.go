package companion_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin/admintest"
	"github.com/riscd/riscd/companion"
	"github.com/riscd/riscd/store/boltdb"
)

const (
	connectURL = "https://riscd.example.com/base"
	returnTo   = "https://app.example.com/after"
)

// fakeUnlinker unlinks in the store and records whether it was asked to
// revoke.
type fakeUnlinker struct {
	db      *boltdb.DB
	mu      sync.Mutex
	revoked []string
}

func (f *fakeUnlinker) UnlinkAppUser(ctx context.Context, appUser, sub string, revoke bool) error {
	if err := f.db.UnlinkAppUser(ctx, appUser, sub); err != nil {
		return err
	}
	if revoke {
		f.mu.Lock()
		f.revoked = append(f.revoked, sub)
		f.mu.Unlock()
	}
	return nil
}

type connectEnv struct {
	*admintest.Env
	unlinker *fakeUnlinker
}

func newConnectEnv(t *testing.T) connectEnv {
	t.Helper()
	var u *fakeUnlinker
	e := admintest.NewWith(t, nil, func(c *companion.Config) {
		db := c.Store.(*boltdb.DB)
		u = &fakeUnlinker{db: db}
		c.Connect, c.Unlinker, c.ConnectURL = db, u, connectURL
		c.ReturnURLs = []string{returnTo, "http://localhost:8080/"}
		c.Features = admintest.Features
		c.CheckLoginHint = func(h string) error {
			if strings.ContainsAny(h, " <>") {
				return errors.New("bad hint")
			}
			return nil
		}
	})
	return connectEnv{e, u}
}

type createdJSON struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

type resultJSON struct {
	Status   string   `json:"status"`
	AppUser  string   `json:"app_user"`
	Sub      string   `json:"sub"`
	Email    string   `json:"email"`
	GrantID  string   `json:"grant_id"`
	Scopes   []string `json:"scopes"`
	Features []string `json:"features"`
	Error    string   `json:"error"`
}

func (e connectEnv) create(body map[string]any) createdJSON {
	e.T.Helper()
	r := e.Do(http.MethodPost, "/v1/connect", admintest.AppToken, body)
	if r.Status != http.StatusCreated {
		e.T.Fatalf("POST /v1/connect: status %d, want 201: %s", r.Status, r.Body)
	}
	var c createdJSON
	r.JSON(e.T, &c)
	return c
}

func TestConnectCreate(t *testing.T) {
	e := newConnectEnv(t)
	c := e.create(map[string]any{"app_user": "u-123", "features": []string{"drive", "drive"},
		"return_to": returnTo + "/x?tab=1", "login_hint": "ann@example.com"})
	if len(c.ID) != 32 || !c.ExpiresAt.Equal(admintest.T0.Add(riscd.ConnectSessionTTL)) {
		t.Errorf("answer %+v, want a 32-character id expiring in %v", c, riscd.ConnectSessionTTL)
	}
	u, err := url.Parse(c.URL)
	if err != nil || !strings.HasPrefix(c.URL, connectURL+"/connect/"+c.ID+"?token=") || len(u.Query().Get("token")) < 43 {
		t.Fatalf("url %q, want %s/connect/{id}?token=<256 bits>", c.URL, connectURL)
	}
	s, err := e.DB.ConnectSession(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := riscd.ConnectSession{
		ID: c.ID, AppUser: "u-123", Features: []string{"drive"}, ReturnTo: returnTo + "/x?tab=1", LoginHint: "ann@example.com",
		StartDigest: riscd.IDDigest(riscd.Secret(u.Query().Get("token"))), Status: riscd.ConnectPending,
		CreatedAt: admintest.T0, ExpiresAt: admintest.T0.Add(riscd.ConnectSessionTTL),
	}
	if !s.CreatedAt.Equal(want.CreatedAt) || !s.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("times %v %v, want %v %v", s.CreatedAt, s.ExpiresAt, want.CreatedAt, want.ExpiresAt)
	}
	s.CreatedAt, s.ExpiresAt = want.CreatedAt, want.ExpiresAt
	if !equalSessions(s, want) {
		t.Errorf("stored %+v\nwant %+v", s, want)
	}

	// No features: every feature riscd has.
	all := e.create(map[string]any{"app_user": "u-123", "return_to": "http://localhost:8080/"})
	if s, _ := e.DB.ConnectSession(t.Context(), all.ID); !slices.Equal(s.Features, []string{"calendar", "drive"}) {
		t.Errorf("features %v, want every feature", s.Features)
	}
	if all.ID == c.ID {
		t.Errorf("two sessions share the id %s", c.ID)
	}
}

func equalSessions(a, b riscd.ConnectSession) bool {
	return a.ID == b.ID && a.AppUser == b.AppUser && slices.Equal(a.Features, b.Features) && a.ReturnTo == b.ReturnTo &&
		a.LoginHint == b.LoginHint && string(a.StartDigest) == string(b.StartDigest) && a.Status == b.Status
}

func TestConnectCreateRefusals(t *testing.T) {
	e := newConnectEnv(t)
	ok := map[string]any{"app_user": "u-1", "features": []string{"drive"}, "return_to": returnTo}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range ok {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for _, c := range []struct {
		name string
		body any
	}{
		{"no app_user", with("app_user", nil)},
		{"a long app_user", with("app_user", strings.Repeat("u", riscd.MaxAppUser+1))},
		{"a control character in app_user", with("app_user", "u\n1")},
		{"an unknown feature", with("features", []string{"drive", "mail"})},
		{"no return_to", with("return_to", nil)},
		{"a foreign host", with("return_to", "https://evil.example.com/after")},
		{"a host that only starts like it", with("return_to", "https://app.example.com.evil.example/after")},
		{"another scheme", with("return_to", "http://app.example.com/after")},
		{"another port", with("return_to", "https://app.example.com:8443/after")},
		{"another path", with("return_to", "https://app.example.com/other")},
		{"user info", with("return_to", "https://user@app.example.com/after")},
		{"a fragment", with("return_to", returnTo+"#x")},
		{"a relative URL", with("return_to", "/after")},
		{"a bad login_hint", with("login_hint", "a b")},
		{"an unknown member", with("extra", 1)},
		{"two objects", `{"app_user":"u-1","return_to":"` + returnTo + `"} {}`},
		{"not JSON", `app_user=u-1`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.Do(http.MethodPost, "/v1/connect", admintest.AppToken, c.body)
			if r.Status != http.StatusBadRequest || r.ErrorCode(t) != "bad_request" {
				t.Errorf("status %d, want 400 bad_request: %s", r.Status, r.Body)
			}
		})
	}
	req := admintest.NewRequest(t, e.Env, http.MethodPost, "/v1/connect", ok)
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Authorization", "Bearer "+admintest.AppToken)
	if r := e.Send(req); r.Status != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain body: status %d, want 415", r.Status)
	}
	if r := e.Do(http.MethodPost, "/v1/connect", "", ok); r.Status != http.StatusUnauthorized {
		t.Errorf("no token: status %d, want 401", r.Status)
	}
	if r := e.Do(http.MethodPost, "/v1/connect", "wrong-token", ok); r.Status != http.StatusUnauthorized {
		t.Errorf("a wrong token: status %d, want 401", r.Status)
	}
	if n, err := e.DB.Count(t.Context()); err != nil || n.Connect != 0 {
		t.Errorf("%d connect sessions stored (%v), want none", n.Connect, err)
	}
}

func TestConnectResult(t *testing.T) {
	e := newConnectEnv(t)
	c := e.create(map[string]any{"app_user": "u-1", "features": []string{"drive", "calendar"}, "return_to": returnTo})
	var got resultJSON
	e.Do(http.MethodGet, "/v1/connect/"+c.ID, admintest.AppToken, nil).JSON(t, &got)
	if got.Status != "pending" || got.AppUser != "u-1" || got.Sub != "" || len(got.Scopes) != 0 || got.Features == nil || len(got.Features) != 0 {
		t.Errorf("pending session %+v, want pending for u-1 with [] features", got)
	}

	s, err := e.DB.ConnectSession(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	s.Status, s.Sub, s.Email, s.GrantID = riscd.ConnectConnected, "alice", "alice@example.com", "g-1"
	s.Scopes = []string{"email", "openid", admintest.Features["drive"]}
	if err := e.DB.PutConnectSession(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	r := e.Do(http.MethodGet, "/v1/connect/"+c.ID, admintest.AppToken, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	got = resultJSON{}
	r.JSON(t, &got)
	want := resultJSON{Status: "connected", AppUser: "u-1", Sub: "alice", Email: "alice@example.com", GrantID: "g-1",
		Scopes: s.Scopes, Features: []string{"drive"}}
	if got.Status != want.Status || got.Sub != want.Sub || got.Email != want.Email || got.GrantID != want.GrantID ||
		!slices.Equal(got.Scopes, want.Scopes) || !slices.Equal(got.Features, want.Features) || got.Error != "" {
		t.Errorf("result %+v\nwant %+v (calendar was not granted)", got, want)
	}
	if strings.Contains(string(r.Body), "token") || strings.Contains(string(r.Body), "return_to") {
		t.Errorf("the result shows more than the spec's members: %s", r.Body)
	}

	for _, path := range []string{"/v1/connect/unknown", "/v1/connect/" + c.ID + "x"} {
		if r := e.Do(http.MethodGet, path, admintest.AppToken, nil); r.Status != http.StatusNotFound || r.ErrorCode(t) != "not_found" {
			t.Errorf("GET %s: status %d, want 404 not_found", path, r.Status)
		}
	}
	if r := e.Do(http.MethodGet, "/v1/connect/"+c.ID, "", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("without the app token: status %d, want 401", r.Status)
	}
	e.Clock.Advance(riscd.ConnectSessionTTL)
	if r := e.Do(http.MethodGet, "/v1/connect/"+c.ID, admintest.AppToken, nil); r.Status != http.StatusNotFound {
		t.Errorf("expired session: status %d, want 404", r.Status)
	}
}

func TestConnectAppUsers(t *testing.T) {
	e := newConnectEnv(t)
	ctx := t.Context()
	ga := e.MustGrant(admintest.GrantSpec{Sub: "alice", Scopes: []string{admintest.Features["drive"]}})
	e.MustGrant(admintest.GrantSpec{Sub: "bob"})
	link := func(appUser, sub string) {
		if _, _, err := e.DB.LinkAppUser(ctx, riscd.AppUserLink{AppUser: appUser, Sub: sub}); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Second)
	}
	link("u-1", "bob")
	link("u-1", "alice")
	link("u-2", "alice")

	var got struct {
		AppUser  string `json:"app_user"`
		Accounts []struct {
			Sub    string `json:"sub"`
			Held   bool   `json:"held"`
			Grants []struct {
				ID string `json:"id"`
			} `json:"grants"`
		} `json:"accounts"`
	}
	e.Do(http.MethodGet, "/v1/users/u-1", admintest.AppToken, nil).JSON(t, &got)
	if got.AppUser != "u-1" || len(got.Accounts) != 2 || got.Accounts[0].Sub != "alice" || got.Accounts[1].Sub != "bob" ||
		len(got.Accounts[0].Grants) != 1 || got.Accounts[0].Grants[0].ID != ga.ID {
		t.Errorf("GET /v1/users/u-1: %+v, want alice (with grant %s) and bob", got, ga.ID)
	}
	// Each account as GET /v1/subjects/{sub} gives it.
	var subject map[string]any
	var user struct {
		Accounts []map[string]any `json:"accounts"`
	}
	e.Do(http.MethodGet, "/v1/subjects/alice", admintest.AppToken, nil).JSON(t, &subject)
	e.Do(http.MethodGet, "/v1/users/u-2", admintest.AppToken, nil).JSON(t, &user)
	if len(user.Accounts) != 1 || !reflect.DeepEqual(user.Accounts[0], subject) {
		t.Errorf("GET /v1/users/u-2 accounts %v, want [%v]", user.Accounts, subject)
	}
	if r := e.Do(http.MethodGet, "/v1/users/nobody", admintest.AppToken, nil); r.Status != http.StatusNotFound {
		t.Errorf("an app user without links: status %d, want 404", r.Status)
	}
	// A link to an account riscd holds nothing of: listed, without grants.
	if _, _, err := e.DB.LinkAppUser(ctx, riscd.AppUserLink{AppUser: "u-3", Sub: "gone"}); err != nil {
		t.Fatal(err)
	}
	var gone struct {
		Accounts []struct {
			Sub    string `json:"sub"`
			Grants []any  `json:"grants"`
		} `json:"accounts"`
	}
	e.Do(http.MethodGet, "/v1/users/u-3", admintest.AppToken, nil).JSON(t, &gone)
	if len(gone.Accounts) != 1 || gone.Accounts[0].Sub != "gone" || gone.Accounts[0].Grants == nil || len(gone.Accounts[0].Grants) != 0 {
		t.Errorf("GET /v1/users/u-3: %+v, want the account gone with no grants", gone)
	}

	// POST /v1/token by app user: the account linked last, or the one named.
	e.Broker.Answers["alice"] = admintest.BrokerAnswer{Tok: companion.Token{AccessToken: "ya29.alice"}}
	e.Broker.Answers["bob"] = admintest.BrokerAnswer{Tok: companion.Token{AccessToken: "ya29.bob"}}
	for _, c := range []struct {
		body   map[string]any
		status int
		sub    string
	}{
		{map[string]any{"app_user": "u-1", "scopes": []string{"openid"}}, http.StatusOK, "alice"},
		{map[string]any{"app_user": "u-1", "sub": "bob", "scopes": []string{"openid"}}, http.StatusOK, "bob"},
		{map[string]any{"app_user": "u-2", "sub": "bob", "scopes": []string{"openid"}}, http.StatusNotFound, ""},
		{map[string]any{"app_user": "nobody", "scopes": []string{"openid"}}, http.StatusNotFound, ""},
		{map[string]any{"app_user": strings.Repeat("u", riscd.MaxAppUser+1), "scopes": []string{"openid"}}, http.StatusBadRequest, ""},
	} {
		before := len(e.Broker.Calls())
		r := e.Do(http.MethodPost, "/v1/token", admintest.AppToken, c.body)
		if r.Status != c.status {
			t.Errorf("POST /v1/token %v: status %d, want %d: %s", c.body, r.Status, c.status, r.Body)
			continue
		}
		calls := e.Broker.Calls()[before:]
		switch {
		case c.sub == "" && len(calls) != 0:
			t.Errorf("POST /v1/token %v reached the broker", c.body)
		case c.sub != "" && (len(calls) != 1 || calls[0].Sub != c.sub):
			t.Errorf("POST /v1/token %v: broker calls %+v, want one for %s", c.body, calls, c.sub)
		}
		if c.status == http.StatusNotFound && r.ErrorCode(t) != "no_grant" {
			t.Errorf("POST /v1/token %v: code %q, want no_grant", c.body, r.ErrorCode(t))
		}
	}

	// Unlink.
	for _, c := range []struct {
		path   string
		status int
	}{
		{"/v1/users/u-1/links/bob?revoke=maybe", http.StatusBadRequest},
		{"/v1/users/u-1/links/bob?revoke=true&revoke=false", http.StatusBadRequest},
		{"/v1/users/u-1/links/bob", http.StatusNoContent},
		{"/v1/users/u-1/links/bob", http.StatusNotFound},
		{"/v1/users/u-2/links/alice?revoke=true", http.StatusNoContent},
	} {
		if r := e.Do(http.MethodDelete, c.path, admintest.AppToken, nil); r.Status != c.status {
			t.Errorf("DELETE %s: status %d, want %d: %s", c.path, r.Status, c.status, r.Body)
		}
	}
	if !slices.Equal(e.unlinker.revoked, []string{"alice"}) {
		t.Errorf("revoked %v, want alice only", e.unlinker.revoked)
	}
	links, err := e.DB.LinksOfSub(ctx, "alice")
	if err != nil || len(links) != 1 || links[0].AppUser != "u-1" {
		t.Errorf("links of alice after the unlinks: %+v (%v), want u-1 only", links, err)
	}
}

func TestNewChecksConnect(t *testing.T) {
	_, err := companion.New(companion.Config{
		Connect:    admintest.OpenStore(t, time.Now),
		ConnectURL: "riscd.example.com",
		ReturnURLs: []string{"https://app.example.com/after?x=1"},
	})
	if !errors.Is(err, companion.ErrInvalidConfig) {
		t.Fatalf("err = %v, want ErrInvalidConfig", err)
	}
	for _, want := range []string{"Unlinker is required", "CheckLoginHint is required", "ConnectURL", "ReturnURLs: \"https://app.example.com/after?x=1\""} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestConnectWithoutReturnURLs: without companion.return_urls every
// return_to is refused.
func TestConnectWithoutReturnURLs(t *testing.T) {
	e := admintest.NewWith(t, nil, func(c *companion.Config) { c.ReturnURLs = nil })
	r := e.Do(http.MethodPost, "/v1/connect", admintest.AppToken, map[string]any{"app_user": "u", "return_to": admintest.ReturnURL})
	if r.Status != http.StatusBadRequest {
		t.Errorf("status %d, want 400: %s", r.Status, r.Body)
	}
}
