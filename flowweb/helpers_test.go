package flowweb_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/flowweb"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/lifecycle"
	"github.com/riscd/riscd/store/boltdb"
)

// The store satisfies flowweb's Store at compile time.
var _ flowweb.Store = (*boltdb.DB)(nil)

// Scopes of the two test features.
const (
	driveScope    = "https://www.googleapis.com/auth/drive.metadata.readonly"
	calendarScope = "https://www.googleapis.com/auth/calendar.readonly"
)

// simKeys are RSA keys for googlesim, generated once per test binary
// (generating them per test is slow on a small machine).
var simKeys = sync.OnceValues(func() ([]*rsa.PrivateKey, error) {
	var keys []*rsa.PrivateKey
	for range 2 {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
})

// newTestClock is a settable clock shared by riscd, its store and
// googlesim, reading the current second.
func newTestClock() *testkit.Clock { return testkit.NewClock(time.Now().Truncate(time.Second)) }

// env is riscd's consent flow wired to an in-process googlesim, with a real
// store in a temp dir and a browser-like client (cookie jar, redirects not
// followed).
type env struct {
	t       testing.TB
	clock   *testkit.Clock
	sim     *googlesim.Server
	db      *boltdb.DB
	lc      *lifecycle.Lifecycle // the grants service
	h       *flowweb.Handler
	echo    *echo.Echo
	srv     *httptest.Server
	browser *http.Client
	logs    *testkit.SyncBuffer
	user    googlesim.User
}

// envOptions change the standard env.
type envOptions struct {
	// unregistered leaves riscd's redirect URI out of googlesim's client.
	unregistered bool
	// basePath is appended to the server URL to make PublicURL.
	basePath string
	// config edits flowweb's Config before New.
	config func(*flowweb.Config)
	// beforeNew runs after googlesim starts, before New.
	beforeNew func(*googlesim.Server)
	// users replaces googlesim's default users; the first signs in.
	users []googlesim.User
	// revokeURL replaces googlesim's revoke endpoint for the grants service.
	revokeURL string
	// connect runs connect sessions through the grants service.
	connect bool
}

func newEnv(t testing.TB, opts envOptions) *env {
	t.Helper()
	keys, err := simKeys()
	if err != nil {
		t.Fatalf("generate keys: %v", err)
	}
	e := &env{t: t, clock: newTestClock(), logs: &testkit.SyncBuffer{}}
	e.sim, err = googlesim.New(googlesim.Config{Keys: keys, Now: e.clock.Now, Users: opts.users})
	if err != nil {
		t.Fatalf("googlesim.New: %v", err)
	}
	if err := e.sim.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("googlesim.Start: %v", err)
	}
	t.Cleanup(func() { e.sim.Close() })
	e.user = e.sim.Users()[0]

	key, _, err := boltdb.GenerateKey()
	if err != nil {
		t.Fatalf("store key: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e.db, err = boltdb.Open(ctx, boltdb.Options{Path: filepath.Join(t.TempDir(), "riscd.db"), Key: key, Now: e.clock.Now})
	if err != nil {
		t.Fatalf("boltdb.Open: %v", err)
	}
	t.Cleanup(func() { e.db.Close() })

	e.echo = echo.New()
	e.echo.HideBanner, e.echo.HidePort = true, true
	e.srv = httptest.NewServer(e.echo)
	t.Cleanup(e.srv.Close)
	public := e.srv.URL + opts.basePath
	if !opts.unregistered {
		if err := e.sim.AddRedirectURI(public + "/oauth2callback"); err != nil {
			t.Fatalf("AddRedirectURI: %v", err)
		}
	}
	if opts.beforeNew != nil {
		opts.beforeNew(e.sim)
	}
	g := e.sim.URL()
	revokeURL := g + googlesim.PathRevoke
	if opts.revokeURL != "" {
		revokeURL = opts.revokeURL
	}
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	httpClient := &http.Client{Timeout: 20 * time.Second}
	e.lc, err = lifecycle.New(lifecycle.Config{
		Store:        e.db,
		RevokeURL:    revokeURL,
		ClientID:     e.sim.ClientID(),
		ClientSecret: riscd.Secret(e.sim.ClientSecret()),
		TokenURL:     g + googlesim.PathToken,
		HTTPClient:   httpClient,
		Now:          e.clock.Now,
		Logger:       logger,
	})
	if err != nil {
		t.Fatalf("lifecycle.New: %v", err)
	}
	cfg := flowweb.Config{
		PublicURL:      public,
		ClientID:       e.sim.ClientID(),
		ClientSecret:   riscd.Secret(e.sim.ClientSecret()),
		AuthURL:        g + googlesim.PathAuthorize,
		TokenURL:       g + googlesim.PathToken,
		IDTokenIssuers: []string{g},
		IDTokenJWKSURL: g + googlesim.PathJWKS,
		Features: map[string]flowweb.Feature{
			"drive":    {Scope: driveScope, TestURL: g + googlesim.PathDriveFiles},
			"calendar": {Scope: calendarScope, TestURL: g + googlesim.PathUserinfo},
		},
		Store:      e.db,
		Grants:     e.lc,
		HTTPClient: httpClient,
		Connect:    connector(opts.connect, e.lc),
		Now:        e.clock.Now,
		Logger:     logger,
	}
	if opts.config != nil {
		opts.config(&cfg)
	}
	e.h, err = flowweb.New(ctx, cfg)
	if err != nil {
		t.Fatalf("flowweb.New: %v", err)
	}
	e.h.Register(e.echo)
	e.browser = newBrowser(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("riscd log:\n%s", e.logs.String())
		}
	})
	return e
}

// newBrowser is an HTTP client with a cookie jar that does not follow
// redirects.
func newBrowser(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("cookiejar: %v", err)
	}
	return &http.Client{
		Jar:           jar,
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// page is a read answer.
type page struct {
	status int
	header http.Header
	body   string
	loc    *url.URL
}

// code is the data-code of a message page ("" elsewhere).
func (p page) code() string {
	if m := dataCode.FindStringSubmatch(p.body); m != nil {
		return m[1]
	}
	return ""
}

var (
	dataCode    = regexp.MustCompile(`data-code="([^"]*)"`)
	featureAttr = regexp.MustCompile(`data-feature="([^"]+)" data-enabled="(true|false)"`)
	csrfField   = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// enabled lists the features the index page shows as enabled, sorted.
func (p page) enabled() []string {
	out := []string{}
	for _, m := range featureAttr.FindAllStringSubmatch(p.body, -1) {
		if m[2] == "true" {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}

// csrf is the CSRF token of the index page's forms.
func (p page) csrf() string {
	if m := csrfField.FindStringSubmatch(p.body); m != nil {
		return m[1]
	}
	return ""
}

func (e *env) do(req *http.Request) page {
	e.t.Helper()
	resp, err := e.browser.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read %s: %v", req.URL, err)
	}
	p := page{status: resp.StatusCode, header: resp.Header, body: string(body)}
	if loc, err := resp.Location(); err == nil {
		p.loc = loc
	}
	return p
}

// get fetches a riscd path (or an absolute URL).
func (e *env) get(path string) page {
	e.t.Helper()
	u := path
	if !strings.HasPrefix(path, "http") {
		u = e.srv.URL + path
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		e.t.Fatalf("request: %v", err)
	}
	return e.do(req)
}

// post sends a form to a riscd path.
func (e *env) post(path string, form url.Values, header http.Header) page {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatalf("request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	return e.do(req)
}

// startAuth GETs /authorize with query and returns the authorization URL it
// redirects to.
func (e *env) startAuth(query string) *url.URL {
	e.t.Helper()
	p := e.get("/authorize" + query)
	if p.status != http.StatusFound || p.loc == nil {
		e.t.Fatalf("GET /authorize%s: status %d, want 302 with a Location; body:\n%s", query, p.status, p.body)
	}
	return p.loc
}

// consent answers googlesim's consent page as choice says and returns the
// redirect back to riscd.
func (e *env) consent(authURL *url.URL, choice googlesim.Choice) *url.URL {
	e.t.Helper()
	cb, err := googlesim.Consent(context.Background(), e.browser, authURL.String(), choice)
	if err != nil {
		e.t.Fatalf("consent: %v", err)
	}
	return cb
}

// connect runs the whole flow and requires a 303 back to the index.
func (e *env) connect(query string, choice googlesim.Choice) page {
	e.t.Helper()
	cb := e.consent(e.startAuth(query), choice)
	p := e.get(cb.String())
	if p.status != http.StatusSeeOther || p.loc == nil || p.loc.Path != "/" {
		e.t.Fatalf("callback: status %d location %v, want 303 to /; code %q body:\n%s", p.status, p.loc, p.code(), p.body)
	}
	return p
}

// index fetches the index page.
func (e *env) index() page {
	e.t.Helper()
	p := e.get("/")
	if p.status != http.StatusOK {
		e.t.Fatalf("GET /: status %d", p.status)
	}
	return p
}

// grants returns every grant in the store, oldest first.
func (e *env) grants() []riscd.Grant {
	e.t.Helper()
	gs, _, err := e.db.ListGrants(context.Background(), riscd.GrantQuery{Limit: riscd.MaxLimit})
	if err != nil {
		e.t.Fatalf("ListGrants: %v", err)
	}
	slices.Reverse(gs)
	return gs
}

// onlyGrant returns the store's one grant.
func (e *env) onlyGrant() riscd.Grant {
	e.t.Helper()
	gs := e.grants()
	if len(gs) != 1 {
		e.t.Fatalf("store holds %d grants, want 1", len(gs))
	}
	return gs[0]
}

// snapshot is what a failure must leave unchanged.
type snapshot struct {
	Grants, Accounts, Sessions, Audit, Outbox int
	GrantList                                 []riscd.Grant
	AccountList                               []riscd.Account
}

func (e *env) snapshot() snapshot {
	e.t.Helper()
	ctx := context.Background()
	st, err := e.db.Stats(ctx)
	if err != nil {
		e.t.Fatalf("Stats: %v", err)
	}
	s := snapshot{Grants: st.Grants, Accounts: st.Accounts, Sessions: st.Sessions, Audit: st.Audit, Outbox: st.Outbox, GrantList: e.grants()}
	for _, u := range e.sim.Users() {
		a, err := e.db.Account(ctx, u.Sub)
		if errors.Is(err, riscd.ErrNotFound) {
			continue
		}
		if err != nil {
			e.t.Fatalf("Account: %v", err)
		}
		s.AccountList = append(s.AccountList, a)
	}
	return s
}

// assertUnchanged fails unless the store matches before.
func (e *env) assertUnchanged(before snapshot) {
	e.t.Helper()
	after := e.snapshot()
	if !reflect.DeepEqual(before, after) {
		e.t.Errorf("store changed:\nbefore %+v\nafter  %+v", before, after)
	}
}

// assertLogClean fails if riscd's log holds any of the secrets.
func (e *env) assertLogClean(secrets ...string) {
	e.t.Helper()
	logs := e.logs.String()
	for _, s := range append(secrets, e.sim.ClientSecret()) {
		if s != "" && strings.Contains(logs, s) {
			e.t.Errorf("riscd's log contains a secret (%d characters starting %.4q)", len(s), s)
		}
	}
}

// withQuery returns u with one query parameter replaced.
func withQuery(u *url.URL, name, value string) *url.URL {
	c := *u
	q := c.Query()
	q.Set(name, value)
	c.RawQuery = q.Encode()
	return &c
}

// cookie returns the browser's cookie of that name for riscd, or nil.
func (e *env) cookie(name string) *http.Cookie {
	u, _ := url.Parse(e.srv.URL + "/oauth2callback")
	for _, c := range e.browser.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// setCookieHeader returns the Set-Cookie of that name in an answer.
func setCookieHeader(t testing.TB, h http.Header, name string) *http.Cookie {
	t.Helper()
	resp := http.Response{Header: h}
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no Set-Cookie %s in %v", name, h.Values("Set-Cookie"))
	return nil
}

// connector is lc when on, else no Connector.
func connector(on bool, lc *lifecycle.Lifecycle) flowweb.Connector {
	if on {
		return lc
	}
	return nil
}
