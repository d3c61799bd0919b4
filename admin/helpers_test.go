package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// opCall is one call the fake Operator received.
type opCall struct{ method, arg, actor string }

// fakeOperator records calls; release also clears the account's hold in
// the store so that answers can be seen to be read afterwards.
type fakeOperator struct {
	db  *boltdb.DB
	mu  sync.Mutex
	got []opCall
	err error // returned by every call when set
}

func (f *fakeOperator) record(c opCall) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, c)
	return f.err
}

func (f *fakeOperator) calls() []opCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]opCall(nil), f.got...)
}

func (f *fakeOperator) DiscardGrant(ctx context.Context, id, actor string) error {
	if err := f.record(opCall{"DiscardGrant", id, actor}); err != nil {
		return err
	}
	return f.db.DeleteGrant(ctx, id)
}

func (f *fakeOperator) ReleaseAccount(ctx context.Context, sub, actor string) error {
	if err := f.record(opCall{"ReleaseAccount", sub, actor}); err != nil {
		return err
	}
	_, err := f.db.UpdateAccount(ctx, sub, func(a riscd.Account, _ bool) (riscd.Account, error) {
		a.Held, a.SigninDisabled = false, false
		return a, nil
	})
	return err
}

func (f *fakeOperator) RetryOutboxJob(ctx context.Context, id uint64, actor, reason string) (riscd.OutboxJob, error) {
	if err := f.record(opCall{"RetryOutboxJob", fmt.Sprint(id), actor}); err != nil {
		return riscd.OutboxJob{}, err
	}
	return retryJob(ctx, f.db, id, actor, reason)
}

// jobStateErr is the refusal to retry a job that has not failed, known by
// its JobStatus method as the lifecycle package's is.
type jobStateErr struct{ status riscd.OutboxStatus }

func (e jobStateErr) Error() string     { return "job is " + string(e.status) }
func (e jobStateErr) JobStatus() string { return string(e.status) }

// retryJob returns a failed job to pending and audits it in one
// transaction, as the lifecycle package does.
func retryJob(ctx context.Context, db *boltdb.DB, id uint64, actor, reason string) (riscd.OutboxJob, error) {
	var out riscd.OutboxJob
	err := db.Update(ctx, func(tx riscd.Tx) error {
		j, err := tx.OutboxJob(ctx, id)
		if err != nil {
			return err
		}
		if j.Status != riscd.OutboxFailed {
			return jobStateErr{j.Status}
		}
		j.Status, j.Attempts, j.LastError, j.DoneAt = riscd.OutboxPending, 0, "", time.Time{}
		if err := tx.PutOutboxJob(ctx, j); err != nil {
			return err
		}
		out = j
		_, err = tx.AppendAudit(ctx, riscd.AuditEntry{GrantIDs: []string{j.GrantID}, Action: "retry_outbox", Outcome: "pending", Detail: reason, Actor: actor})
		return err
	})
	return out, err
}

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

// env is a Server over a real store, with the companion API mounted beside
// it as cmd/riscd does, served on 127.0.0.1 by httptest.
type env struct {
	t        testing.TB
	db       *boltdb.DB
	srv      *admin.Server
	handler  http.Handler // the echo instance the routes are registered on
	url      string
	clock    *testkit.Clock
	op       *fakeOperator
	broker   *fakeBroker
	logs     *testkit.SyncBuffer
	rescans  *counter
	mu       sync.Mutex
	secrets  []string // must never appear in an answer or a log line
	answered []string // every answer body
}

type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) inc() { c.mu.Lock(); c.n++; c.mu.Unlock() }
func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// features are the test's configured features.
var features = map[string]string{
	"drive":    "https://www.googleapis.com/auth/drive.readonly",
	"calendar": "https://www.googleapis.com/auth/calendar.readonly",
}

// newEnv builds the test server. edit may change the Config before New.
func newEnv(t testing.TB, edit func(*admin.Config)) *env {
	t.Helper()
	return newEnvWith(t, edit, nil)
}

// newEnvWith is newEnv whose editApp may also change the companion API's
// Config (which takes the admin Config's AdminToken) before its New.
func newEnvWith(t testing.TB, edit func(*admin.Config), editApp func(*companion.Config)) *env {
	t.Helper()
	e := &env{t: t, clock: testkit.NewClock(t0), logs: &testkit.SyncBuffer{}, rescans: &counter{}}
	e.db = mustOpenStore(t, e.clock.Now)
	e.op = &fakeOperator{db: e.db}
	e.broker = &fakeBroker{answers: map[string]brokerAnswer{}}
	cfg := admin.Config{
		Store:      e.db,
		Operator:   e.op,
		AdminToken: adminToken,
		Features:   features,
		Rescan:     e.rescans.inc,
		Now:        e.clock.Now,
		Logger:     slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if edit != nil {
		edit(&cfg)
	}
	srv, err := admin.New(cfg)
	if err != nil {
		t.Fatalf("admin.New: %v", err)
	}
	e.srv = srv
	appCfg := companion.Config{
		Store: e.db, Broker: e.broker, AdminToken: cfg.AdminToken, AppToken: appToken,
		Now: e.clock.Now, Serve: srv.API(),
	}
	if editApp != nil {
		editApp(&appCfg)
	}
	app, err := companion.New(appCfg)
	if err != nil {
		t.Fatalf("companion.New: %v", err)
	}
	ec := echo.New()
	srv.Register(ec)
	app.Register(ec)
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

// get is do(GET) with the admin token, failing unless the status is want.
func (e *env) get(path string, want int) reply {
	e.t.Helper()
	r := e.do(http.MethodGet, path, adminToken, nil)
	if r.status != want {
		e.t.Fatalf("GET %s: status %d, want %d: %s", path, r.status, want, r.body)
	}
	return r
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

// mustAudit appends an audit entry.
func (e *env) mustAudit(a riscd.AuditEntry) riscd.AuditEntry {
	e.t.Helper()
	got, err := e.db.AppendAudit(context.Background(), a)
	if err != nil {
		e.t.Fatalf("AppendAudit: %v", err)
	}
	return got
}

// mustInbox stores an inbox entry; its Raw is registered as a secret.
func (e *env) mustInbox(entry riscd.InboxEntry) riscd.InboxEntry {
	e.t.Helper()
	if entry.Raw == "" {
		entry.Raw = e.secret("eyJhbGciOiJSUzI1NiJ9.raw-set-" + entry.JTI + ".signature")
	}
	if entry.Iss == "" {
		entry.Iss = "https://accounts.google.com/"
	}
	if entry.Transmitter == "" {
		entry.Transmitter = "google"
	}
	got, created, err := e.db.PutInbox(context.Background(), entry)
	if err != nil || !created {
		e.t.Fatalf("PutInbox: created %v, %v", created, err)
	}
	return got
}

// setStatus records a processing state on an inbox entry.
func (e *env) setStatus(id uint64, st riscd.InboxStatus, attempts int, lastErr string, next time.Time) {
	e.t.Helper()
	_, err := e.db.UpdateInbox(context.Background(), id, func(x riscd.InboxEntry) (riscd.InboxEntry, error) {
		x.Status, x.Attempts, x.LastError, x.NextAttemptAt = st, attempts, lastErr, next
		if st == riscd.InboxDone {
			x.DoneAt = e.clock.Now()
		}
		return x, nil
	})
	if err != nil {
		e.t.Fatalf("UpdateInbox: %v", err)
	}
}

// logLines decodes the JSON log.
func (e *env) logLines() []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			e.t.Fatalf("log line is not JSON: %v: %s", err, line)
		}
		out = append(out, m)
	}
	return out
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
