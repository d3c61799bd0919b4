package companion_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/companion"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/store/boltdb"
)

// Tokens of the test server. Every test's answers and logs are checked for
// them (and for every stored secret) when the test ends.
const (
	adminToken = "admin-token-0123456789abcdef"
	appToken   = "app-token-0123456789abcdef"
)

// t0 is the test clock's start.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// brokerCall is one call the fake TokenBroker received.
type brokerCall struct {
	sub    string
	scopes []string
}

// fakeBroker answers from a table keyed by sub; block makes it wait for
// ctx instead.
type fakeBroker struct {
	mu      sync.Mutex
	got     []brokerCall
	answers map[string]brokerAnswer
	block   bool
}

type brokerAnswer struct {
	tok companion.Token
	err error
}

func (f *fakeBroker) Token(ctx context.Context, sub string, scopes []string) (companion.Token, error) {
	f.mu.Lock()
	f.got = append(f.got, brokerCall{sub, append([]string(nil), scopes...)})
	a, ok := f.answers[sub]
	block := f.block
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return companion.Token{}, ctx.Err()
	}
	if !ok {
		return companion.Token{}, riscd.ErrNotFound
	}
	return a.tok, a.err
}

func (f *fakeBroker) calls() []brokerCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]brokerCall(nil), f.got...)
}

// env is the companion API mounted beside the admin API (whose request
// log and error answers it shares) over a real store, served on 127.0.0.1
// by httptest.
type env struct {
	t        testing.TB
	db       *boltdb.DB
	handler  http.Handler // the echo instance the routes are registered on
	url      string
	clock    *testkit.Clock
	broker   *fakeBroker
	logs     *testkit.SyncBuffer
	mu       sync.Mutex
	secrets  []string // must never appear in an answer or a log line
	answered []string // every answer body
}

// features are the test's configured features.
var features = map[string]string{
	"drive":    "https://www.googleapis.com/auth/drive.readonly",
	"calendar": "https://www.googleapis.com/auth/calendar.readonly",
}

// newEnv builds the test server. edit may change the Config before New.
func newEnv(t testing.TB, edit func(*companion.Config)) *env {
	t.Helper()
	e := &env{t: t, clock: testkit.NewClock(t0), logs: &testkit.SyncBuffer{}}
	e.db = mustOpenStore(t, e.clock.Now)
	e.broker = &fakeBroker{answers: map[string]brokerAnswer{}}
	cfg := companion.Config{
		Store:      e.db,
		Broker:     e.broker,
		AdminToken: adminToken,
		AppToken:   appToken,
		Now:        e.clock.Now,
	}
	if edit != nil {
		edit(&cfg)
	}
	adm, err := admin.New(admin.Config{
		Store: e.db, AdminToken: cfg.AdminToken, Features: features, Now: e.clock.Now,
		Logger: slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatalf("admin.New: %v", err)
	}
	cfg.Serve = adm.API()
	srv, err := companion.New(cfg)
	if err != nil {
		t.Fatalf("companion.New: %v", err)
	}
	ec := echo.New()
	adm.Register(ec)
	srv.Register(ec)
	e.handler = ec
	hs := httptest.NewServer(ec)
	t.Cleanup(hs.Close)
	e.url = hs.URL
	e.secrets = []string{adminToken, appToken}
	t.Cleanup(e.checkNoSecrets)
	return e
}

func mustOpenStore(tb testing.TB, now func() time.Time) *boltdb.DB {
	tb.Helper()
	key, _, err := boltdb.GenerateKey()
	if err != nil {
		tb.Fatalf("GenerateKey: %v", err)
	}
	db, err := boltdb.Open(context.Background(), boltdb.Options{
		Path: filepath.Join(tb.TempDir(), "riscd.db"), Key: key, Now: now, LockTimeout: time.Second,
	})
	if err != nil {
		tb.Fatalf("boltdb.Open: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// secret registers a value that must never be shown.
func (e *env) secret(s string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.secrets = append(e.secrets, s)
	return s
}

// checkNoSecrets fails the test if an answer or a log line carried a
// registered secret.
func (e *env) checkNoSecrets() {
	e.mu.Lock()
	defer e.mu.Unlock()
	logs := e.logs.String()
	for _, s := range e.secrets {
		for i, body := range e.answered {
			if strings.Contains(body, s) {
				e.t.Errorf("answer %d carries the secret %q: %s", i, s, body)
			}
		}
		if strings.Contains(logs, s) {
			e.t.Errorf("the log carries the secret %q", s)
		}
	}
}

// reply is one answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into v, failing the test on error.
func (r reply) json(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		tb.Fatalf("answer is not the JSON expected: %v\n%s", err, r.body)
	}
}

// errorCode returns the "error" member of an error answer.
func (r reply) errorCode(tb testing.TB) string {
	tb.Helper()
	var b struct {
		Error string `json:"error"`
	}
	r.json(tb, &b)
	return b.Error
}

// do sends a request with the bearer token (none when token is "") and a
// JSON body (none when body is nil).
func (e *env) do(method, path, token string, body any) reply {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			data, err := json.Marshal(b)
			if err != nil {
				e.t.Fatalf("marshal: %v", err)
			}
			rd = bytes.NewReader(data)
		}
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.url+path, rd)
	if err != nil {
		e.t.Fatalf("NewRequest: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.send(req)
}

// send sends req and records the answer.
func (e *env) send(req *http.Request) reply {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read answer: %v", err)
	}
	e.mu.Lock()
	e.answered = append(e.answered, string(data))
	e.mu.Unlock()
	return reply{status: resp.StatusCode, header: resp.Header, body: data}
}

// grantSpec describes a grant to seed.
type grantSpec struct {
	sub    string
	scopes []string
	status riscd.GrantStatus
	reason string
}

// mustGrant stores a grant with fresh secret tokens, registered as secrets.
func (e *env) mustGrant(g grantSpec) riscd.Grant {
	e.t.Helper()
	if g.scopes == nil {
		g.scopes = []string{"openid", "email"}
	}
	n := len(e.secrets)
	created, err := e.db.CreateGrant(context.Background(), riscd.Grant{
		Sub:          g.sub,
		Email:        g.sub + "@example.com",
		Scopes:       g.scopes,
		RefreshToken: riscd.Secret(e.secret("1//0refresh-" + g.sub + "-" + strconv.Itoa(n) + "-secretpart")),
		AccessToken:  riscd.Secret(e.secret("ya29.access-" + g.sub + "-" + strconv.Itoa(n) + "-secretpart")),
		TokenType:    "Bearer",
		Expiry:       e.clock.Now().Add(time.Hour),
	})
	if err != nil {
		e.t.Fatalf("CreateGrant: %v", err)
	}
	if g.status != "" && g.status != riscd.GrantActive {
		created, err = e.db.UpdateGrant(context.Background(), created.ID, func(old riscd.Grant) (riscd.Grant, error) {
			old.Status, old.Reason, old.ChangedBy = g.status, g.reason, "jti-"+g.reason
			return old, nil
		})
		if err != nil {
			e.t.Fatalf("UpdateGrant: %v", err)
		}
	}
	return created
}

// mustAccount stores an account.
func (e *env) mustAccount(a riscd.Account) {
	e.t.Helper()
	if err := e.db.PutAccount(context.Background(), a); err != nil {
		e.t.Fatalf("PutAccount: %v", err)
	}
}

var errBoom = errors.New("boom: /var/lib/riscd/riscd.db: input/output error")

// newRequest builds a request to the test server with a JSON body (none
// when body is nil) and no Authorization header.
func newRequest(tb testing.TB, e *env, method, path string, body any) *http.Request {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			tb.Fatalf("marshal: %v", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.url+path, rd)
	if err != nil {
		tb.Fatalf("NewRequest: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// accountOf is a plain account of sub.
func accountOf(sub string) riscd.Account {
	return riscd.Account{Sub: sub, Email: sub + "@example.com"}
}

// nopCloser makes a reader a request body.
type nopCloser struct{ io.Reader }

func (nopCloser) Close() error { return nil }

// subjectJSON is GET /v1/subjects/{sub}'s answer.
type subjectJSON struct {
	Sub                      string     `json:"sub"`
	SessionsRevokedAt        *time.Time `json:"sessions_revoked_at"`
	SigninDisabled           bool       `json:"signin_disabled"`
	Held                     bool       `json:"held"`
	Review                   bool       `json:"review"`
	ReconsentRequired        bool       `json:"reconsent_required"`
	CredentialChangeRequired bool       `json:"credential_change_required"`
	Purged                   bool       `json:"purged"`
	Grants                   []struct {
		ID     string   `json:"id"`
		Scopes []string `json:"scopes"`
		Status string   `json:"status"`
		Reason string   `json:"reason"`
	} `json:"grants"`
}
