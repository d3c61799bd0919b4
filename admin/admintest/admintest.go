// Package admintest builds the admin API's test server over a real store,
// with the companion API mounted beside it as cmd/riscd mounts them, and
// seeds its store: the one setup of the admin, admin page and companion
// tests.
package admintest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/companion"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/store/boltdb"
)

// Tokens of the test server. Every test's answers and logs are checked for
// them (and for every stored secret) when the test ends.
const (
	AdminToken = "admin-token-0123456789abcdef"
	AppToken   = "app-token-0123456789abcdef"
)

// T0 is the test clock's start.
var T0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// OpCall is one call the fake Operator received.
type OpCall struct{ Method, Arg, Actor string }

// FakeOperator records calls; release also clears the account's hold in
// the store so that answers can be seen to be read afterwards.
type FakeOperator struct {
	DB  *boltdb.DB
	mu  sync.Mutex
	got []OpCall
	Err error // returned by every call when set
}

func (f *FakeOperator) record(c OpCall) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, c)
	return f.Err
}

// Calls returns the calls received so far, in order.
func (f *FakeOperator) Calls() []OpCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]OpCall(nil), f.got...)
}

// DiscardGrant records the call and deletes the grant.
func (f *FakeOperator) DiscardGrant(ctx context.Context, id, actor string) error {
	if err := f.record(OpCall{"DiscardGrant", id, actor}); err != nil {
		return err
	}
	return f.DB.DeleteGrant(ctx, id)
}

// ReleaseAccount records the call and clears the account's hold and its grants'.
func (f *FakeOperator) ReleaseAccount(ctx context.Context, sub, actor string) error {
	if err := f.record(OpCall{"ReleaseAccount", sub, actor}); err != nil {
		return err
	}
	if _, err := f.DB.UpdateAccount(ctx, sub, func(a riscd.Account, _ bool) (riscd.Account, error) {
		a.Held, a.SigninDisabled = false, false
		return a, nil
	}); err != nil {
		return err
	}
	// Held grants back to active, as release_holds does.
	grants, err := f.DB.GrantsBySub(ctx, sub)
	if err != nil {
		return err
	}
	for _, g := range grants {
		if g.Status != riscd.GrantHeld {
			continue
		}
		if _, err := f.DB.UpdateGrant(ctx, g.ID, func(g riscd.Grant) (riscd.Grant, error) {
			g.Status = riscd.GrantActive
			return g, nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// RetryOutboxJob records the call and retries the job as RetryJob does.
func (f *FakeOperator) RetryOutboxJob(ctx context.Context, id uint64, actor, reason string) (riscd.OutboxJob, error) {
	if err := f.record(OpCall{"RetryOutboxJob", fmt.Sprint(id), actor}); err != nil {
		return riscd.OutboxJob{}, err
	}
	return RetryJob(ctx, f.DB, id, actor, reason)
}

// JobStateErr is the refusal to retry a done job, known by
// its JobStatus method as the lifecycle package's is.
type JobStateErr struct{ status riscd.OutboxStatus }

func (e JobStateErr) Error() string     { return "job is " + string(e.status) }
func (e JobStateErr) JobStatus() string { return string(e.status) }

// RetryJob returns a failed job to pending, or makes a pending one due now,
// and audits it in one transaction, as the lifecycle package does.
func RetryJob(ctx context.Context, db *boltdb.DB, id uint64, actor, reason string) (riscd.OutboxJob, error) {
	var out riscd.OutboxJob
	err := db.Update(ctx, func(tx riscd.Tx) error {
		j, err := tx.OutboxJob(ctx, id)
		if err != nil {
			return err
		}
		switch j.Status {
		case riscd.OutboxFailed:
			j.Status, j.Attempts, j.LastError, j.DoneAt = riscd.OutboxPending, 0, "", time.Time{}
		case riscd.OutboxPending:
			j.NextAttemptAt = time.Now()
		default:
			return JobStateErr{j.Status}
		}
		if err := tx.PutOutboxJob(ctx, j); err != nil {
			return err
		}
		out = j
		_, err = tx.AppendAudit(ctx, riscd.AuditEntry{GrantIDs: []string{j.GrantID}, Action: "retry_outbox", Outcome: "pending", Detail: reason, Actor: actor})
		return err
	})
	return out, err
}

// BrokerCall is one call the fake TokenBroker received.
type BrokerCall struct {
	Sub    string
	Scopes []string
}

// FakeBroker answers from a table keyed by sub; block makes it wait for
// ctx instead.
type FakeBroker struct {
	mu      sync.Mutex
	got     []BrokerCall
	Answers map[string]BrokerAnswer
	Block   bool
}

// BrokerAnswer is what FakeBroker answers for a sub.
type BrokerAnswer struct {
	Tok companion.Token
	Err error
}

// Token records the call and answers from Answers (riscd.ErrNotFound for
// a sub without one), or waits for ctx when Block is set.
func (f *FakeBroker) Token(ctx context.Context, sub string, scopes []string) (companion.Token, error) {
	f.mu.Lock()
	f.got = append(f.got, BrokerCall{sub, append([]string(nil), scopes...)})
	a, ok := f.Answers[sub]
	block := f.Block
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return companion.Token{}, ctx.Err()
	}
	if !ok {
		return companion.Token{}, riscd.ErrNotFound
	}
	return a.Tok, a.Err
}

// Calls returns the calls received so far, in order.
func (f *FakeBroker) Calls() []BrokerCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]BrokerCall(nil), f.got...)
}

// Env is a Server over a real store, with the companion API mounted beside
// it as cmd/riscd does, served on 127.0.0.1 by httptest.
type Env struct {
	T        testing.TB
	DB       *boltdb.DB
	Srv      *admin.Server
	Handler  http.Handler // the echo instance the routes are registered on
	URL      string
	Clock    *testkit.Clock
	Op       *FakeOperator
	Broker   *FakeBroker
	Logs     *testkit.SyncBuffer
	Logger   *slog.Logger // writes to Logs, as JSON; the admin Server's
	Echo     *echo.Echo   // the routes' instance: mount more routes on it before the first request
	Rescans  *Counter
	mu       sync.Mutex
	secrets  []string // must never appear in an answer or a log line
	answered []string // every answer body
}

// Counter counts calls, safe for concurrent use (Config.Rescan).
type Counter struct {
	mu sync.Mutex
	n  int
}

// Inc counts one.
func (c *Counter) Inc() { c.mu.Lock(); c.n++; c.mu.Unlock() }
func (c *Counter) Get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// ConnectURL and ReturnURL are the companion API's public URL and its one
// allowed return URL of connect sessions.
const (
	ConnectURL = "https://riscd.example.com"
	ReturnURL  = "https://app.example.com/after"
)

// StoreUnlinker is a companion.Unlinker that only unlinks in the store
// (revoke is ignored).
type StoreUnlinker struct{ DB *boltdb.DB }

// UnlinkAppUser unlinks appUser and sub.
func (u StoreUnlinker) UnlinkAppUser(ctx context.Context, appUser, sub string, revoke bool) error {
	return u.DB.UnlinkAppUser(ctx, appUser, sub)
}

// Features are the test's configured Features.
var Features = map[string]string{
	"drive":    "https://www.googleapis.com/auth/drive.readonly",
	"calendar": "https://www.googleapis.com/auth/calendar.readonly",
}

// New builds the test server. edit may change the Config before New.
func New(t testing.TB, edit func(*admin.Config)) *Env {
	t.Helper()
	return NewWith(t, edit, nil)
}

// NewWith is newEnv whose editApp may also change the companion API's
// Config (which takes the admin Config's AdminToken) before its New.
func NewWith(t testing.TB, edit func(*admin.Config), editApp func(*companion.Config)) *Env {
	t.Helper()
	e := &Env{T: t, Clock: testkit.NewClock(T0), Logs: &testkit.SyncBuffer{}, Rescans: &Counter{}}
	e.Logger = slog.New(slog.NewJSONHandler(e.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.DB = OpenStore(t, e.Clock.Now)
	e.Op = &FakeOperator{DB: e.DB}
	e.Broker = &FakeBroker{Answers: map[string]BrokerAnswer{}}
	cfg := admin.Config{
		Store:      e.DB,
		Operator:   e.Op,
		AdminToken: AdminToken,
		Features:   Features,
		Rescan:     e.Rescans.Inc,
		Now:        e.Clock.Now,
		Logger:     e.Logger,
	}
	if edit != nil {
		edit(&cfg)
	}
	srv, err := admin.New(cfg)
	if err != nil {
		t.Fatalf("admin.New: %v", err)
	}
	e.Srv = srv
	appCfg := companion.Config{
		Store: e.DB, Broker: e.Broker, AdminToken: cfg.AdminToken, AppToken: AppToken,
		Now: e.Clock.Now, Serve: srv.API(),
		Connect: e.DB, Unlinker: StoreUnlinker{DB: e.DB}, ConnectURL: ConnectURL, ReturnURLs: []string{ReturnURL},
		Features: Features, CheckLoginHint: func(string) error { return nil },
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
	e.Handler, e.Echo = ec, ec
	hs := httptest.NewServer(ec)
	t.Cleanup(hs.Close)
	e.URL = hs.URL
	e.secrets = []string{AdminToken, AppToken}
	t.Cleanup(e.checkNoSecrets)
	return e
}

// OpenStore opens a bbolt store in a temporary directory on the clock now,
// closed when the test ends.
func OpenStore(tb testing.TB, now func() time.Time) *boltdb.DB {
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

// Secret registers a value that must never be shown.
func (e *Env) Secret(s string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.secrets = append(e.secrets, s)
	return s
}

// checkNoSecrets fails the test if an answer or a log line carried a
// registered secret.
func (e *Env) checkNoSecrets() {
	e.mu.Lock()
	defer e.mu.Unlock()
	logs := e.Logs.String()
	for _, s := range e.secrets {
		for i, body := range e.answered {
			if strings.Contains(body, s) {
				e.T.Errorf("answer %d carries the secret %q: %s", i, s, body)
			}
		}
		if strings.Contains(logs, s) {
			e.T.Errorf("the log carries the secret %q", s)
		}
	}
}

// Reply is one answer.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test on error.
func (r Reply) JSON(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		tb.Fatalf("answer is not the JSON expected: %v\n%s", err, r.Body)
	}
}

// ErrorCode returns the "error" member of an error answer.
func (r Reply) ErrorCode(tb testing.TB) string {
	tb.Helper()
	var b struct {
		Error string `json:"error"`
	}
	r.JSON(tb, &b)
	return b.Error
}

// Do sends a request with the bearer token (none when token is "") and a
// JSON body (none when body is nil).
func (e *Env) Do(method, path, token string, body any) Reply {
	e.T.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			data, err := json.Marshal(b)
			if err != nil {
				e.T.Fatalf("marshal: %v", err)
			}
			rd = bytes.NewReader(data)
		}
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.URL+path, rd)
	if err != nil {
		e.T.Fatalf("NewRequest: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.Send(req)
}

// Record registers body as an answer shown, to be checked for secrets
// when the test ends.
func (e *Env) Record(body string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.answered = append(e.answered, body)
}

// Send sends req and records the answer.
func (e *Env) Send(req *http.Request) Reply {
	e.T.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatalf("read answer: %v", err)
	}
	e.mu.Lock()
	e.answered = append(e.answered, string(data))
	e.mu.Unlock()
	return Reply{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// Get is do(GET) with the admin token, failing unless the status is want.
func (e *Env) Get(path string, want int) Reply {
	e.T.Helper()
	r := e.Do(http.MethodGet, path, AdminToken, nil)
	if r.Status != want {
		e.T.Fatalf("GET %s: status %d, want %d: %s", path, r.Status, want, r.Body)
	}
	return r
}

// GrantSpec describes a grant to seed.
type GrantSpec struct {
	Sub    string
	Scopes []string
	Status riscd.GrantStatus
	Reason string
}

// MustGrant stores a grant with fresh secret tokens, registered as secrets.
func (e *Env) MustGrant(g GrantSpec) riscd.Grant {
	e.T.Helper()
	if g.Scopes == nil {
		g.Scopes = []string{"openid", "email"}
	}
	n := len(e.secrets)
	created, err := e.DB.CreateGrant(context.Background(), riscd.Grant{
		Sub:          g.Sub,
		Email:        g.Sub + "@example.com",
		Scopes:       g.Scopes,
		RefreshToken: riscd.Secret(e.Secret("1//0refresh-" + g.Sub + "-" + strconv.Itoa(n) + "-secretpart")),
		AccessToken:  riscd.Secret(e.Secret("ya29.access-" + g.Sub + "-" + strconv.Itoa(n) + "-secretpart")),
		TokenType:    "Bearer",
		Expiry:       e.Clock.Now().Add(time.Hour),
	})
	if err != nil {
		e.T.Fatalf("CreateGrant: %v", err)
	}
	if g.Status != "" && g.Status != riscd.GrantActive {
		created, err = e.DB.UpdateGrant(context.Background(), created.ID, func(old riscd.Grant) (riscd.Grant, error) {
			old.Status, old.Reason, old.ChangedBy = g.Status, g.Reason, "jti-"+g.Reason
			return old, nil
		})
		if err != nil {
			e.T.Fatalf("UpdateGrant: %v", err)
		}
	}
	return created
}

// MustAccount stores an account.
func (e *Env) MustAccount(a riscd.Account) {
	e.T.Helper()
	if err := e.DB.PutAccount(context.Background(), a); err != nil {
		e.T.Fatalf("PutAccount: %v", err)
	}
}

// MustAudit appends an audit entry.
func (e *Env) MustAudit(a riscd.AuditEntry) riscd.AuditEntry {
	e.T.Helper()
	got, err := e.DB.AppendAudit(context.Background(), a)
	if err != nil {
		e.T.Fatalf("AppendAudit: %v", err)
	}
	return got
}

// MustInbox stores an inbox entry; its Raw is registered as a secret.
func (e *Env) MustInbox(entry riscd.InboxEntry) riscd.InboxEntry {
	e.T.Helper()
	if entry.Raw == "" {
		entry.Raw = e.Secret("eyJhbGciOiJSUzI1NiJ9.raw-set-" + entry.JTI + ".signature")
	}
	if entry.Iss == "" {
		entry.Iss = "https://accounts.google.com/"
	}
	if entry.Transmitter == "" {
		entry.Transmitter = "google"
	}
	got, created, err := e.DB.PutInbox(context.Background(), entry)
	if err != nil || !created {
		e.T.Fatalf("PutInbox: created %v, %v", created, err)
	}
	return got
}

// SetStatus records a processing state on an inbox entry.
func (e *Env) SetStatus(id uint64, st riscd.InboxStatus, attempts int, lastErr string, next time.Time) {
	e.T.Helper()
	_, err := e.DB.UpdateInbox(context.Background(), id, func(x riscd.InboxEntry) (riscd.InboxEntry, error) {
		x.Status, x.Attempts, x.LastError, x.NextAttemptAt = st, attempts, lastErr, next
		if st == riscd.InboxDone {
			x.DoneAt = e.Clock.Now()
		}
		return x, nil
	})
	if err != nil {
		e.T.Fatalf("UpdateInbox: %v", err)
	}
}

// LogLines decodes the JSON log.
func (e *Env) LogLines() []map[string]any {
	e.T.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(e.Logs.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			e.T.Fatalf("log line is not JSON: %v: %s", err, line)
		}
		out = append(out, m)
	}
	return out
}

// ErrBoom is a storage failure whose text must never be shown.
var ErrBoom = errors.New("boom: /var/lib/riscd/riscd.db: input/output error")

// NewRequest builds a request to the test server with a JSON body (none
// when body is nil) and no Authorization header.
func NewRequest(tb testing.TB, e *Env, method, path string, body any) *http.Request {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			tb.Fatalf("marshal: %v", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.URL+path, rd)
	if err != nil {
		tb.Fatalf("NewRequest: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// AccountOf is a plain account of sub.
func AccountOf(sub string) riscd.Account {
	return riscd.Account{Sub: sub, Email: sub + "@example.com"}
}

// NopCloser makes a reader a request body.
type NopCloser struct{ io.Reader }

func (NopCloser) Close() error { return nil }

// GoogleIss is the issuer of the test events, as Google spells it.
const GoogleIss = "https://accounts.google.com/"

// GoogleKey is the inbox subject key of a Google subject.
func GoogleKey(sub string) string {
	return events.SubjectKey(events.IssSub{Iss: GoogleIss, Sub: sub})
}

// DisabledEvent is an account-disabled inbox entry about sub.
func DisabledEvent(jti, sub, reason string) riscd.InboxEntry {
	claims := fmt.Sprintf(`{"iss":%q,"aud":"client-1","iat":1767268800,"jti":%q,"events":{%q:{"subject":{"subject_type":"iss-sub","iss":%q,"sub":%q},"reason":%q}}}`,
		GoogleIss, jti, events.TypeAccountDisabled, GoogleIss, sub, reason)
	return riscd.InboxEntry{JTI: jti, Subject: GoogleKey(sub), Types: []string{events.TypeAccountDisabled}, Claims: json.RawMessage(claims)}
}

// FailJob enqueues a job of kind about sub and marks it failed at the
// Env's clock, as the outbox worker does.
func (e *Env) FailJob(kind riscd.OutboxKind, sub string) riscd.OutboxJob {
	e.T.Helper()
	return e.job(kind, sub, func(j *riscd.OutboxJob) {
		j.Status, j.Attempts, j.LastError, j.DoneAt = riscd.OutboxFailed, 7, "webhook: HTTP 500", e.Clock.Now()
	})
}

// WaitingJob queues an outbox job of kind about sub, for an
// account-disabled event, that failed twice and waits an hour for its next
// attempt (the app answered 401).
func (e *Env) WaitingJob(kind riscd.OutboxKind, sub string) riscd.OutboxJob {
	e.T.Helper()
	return e.job(kind, sub, func(j *riscd.OutboxJob) {
		j.Attempts, j.LastError, j.NextAttemptAt = 2, `webhook: HTTP 401: {"error":"bad signature"}`, e.Clock.Now().Add(time.Hour)
	})
}

// job queues an outbox job about sub, then changes it with edit.
func (e *Env) job(kind riscd.OutboxKind, sub string, edit func(*riscd.OutboxJob)) riscd.OutboxJob {
	t := e.T
	t.Helper()
	j, err := e.DB.EnqueueOutbox(context.Background(), riscd.OutboxJob{
		Kind: kind, Key: string(kind) + ":" + sub, GrantID: "g-" + sub,
		Payload:  json.RawMessage(fmt.Sprintf(`{"sub":%q,"event_jti":"j-%s","event_type":%q}`, sub, sub, events.TypeAccountDisabled)),
		Deadline: e.Clock.Now().Add(24 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	j, err = e.DB.UpdateOutbox(context.Background(), j.ID, func(j riscd.OutboxJob) (riscd.OutboxJob, error) {
		edit(&j)
		return j, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// BenchGrants is how many grants the store benchmarks hold: 10,000, or
// 100,000 with RISCD_BENCH_LARGE=1.
func BenchGrants() int {
	if os.Getenv("RISCD_BENCH_LARGE") == "1" {
		return 100_000
	}
	return 10_000
}

// FillStore adds n grants (one held in ten), in transactions of 1,000.
func FillStore(b testing.TB, db *boltdb.DB, n int) {
	b.Helper()
	for start := 0; start < n; start += 1000 {
		err := db.Update(context.Background(), func(tx riscd.Tx) error {
			for i := start; i < min(start+1000, n); i++ {
				st := riscd.GrantActive
				if i%10 == 0 {
					st = riscd.GrantHeld
				}
				_, err := tx.CreateGrant(context.Background(), riscd.Grant{
					Sub: fmt.Sprintf("sub-%d", i), Scopes: []string{"openid", "email"}, Status: st,
					RefreshToken: riscd.Secret(fmt.Sprintf("1//0bench-refresh-%08d-%s", i, strings.Repeat("x", 80))),
					AccessToken:  riscd.Secret(fmt.Sprintf("ya29.bench-access-%08d-%s", i, strings.Repeat("y", 150))),
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// ReportLatency reports p50 and p99 of the durations in microseconds.
func ReportLatency(b *testing.B, d []time.Duration) {
	b.Helper()
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// HashFingerprint is the expected refresh_token_fingerprint, computed here
// from the definition: SHA-512 over the token, SHA-512 over that digest.
func HashFingerprint(token string) string {
	inner := sha512.Sum512([]byte(token))
	outer := sha512.Sum512(inner[:])
	return hex.EncodeToString(outer[:])[:12]
}

// PrefixFingerprint is the expected refresh_prefix_fingerprint.
func PrefixFingerprint(token string) string {
	d := sha256.Sum256([]byte(token[:16]))
	return hex.EncodeToString(d[:])[:12]
}

// TokenRevokedEvent is a token-revoked inbox entry naming a refresh token
// by identifier.
func TokenRevokedEvent(jti, alg, identifier string) riscd.InboxEntry {
	claims := fmt.Sprintf(`{"iss":%q,"aud":"client-1","iat":1767268800,"jti":%q,"events":{%q:{"subject":{"subject_type":"oauth_token","token_type":"refresh_token","token_identifier_alg":%q,"token":%q}}}}`,
		GoogleIss, jti, events.TypeTokenRevoked, alg, identifier)
	sub := events.OAuthToken{TokenType: "refresh_token", Alg: alg, Token: identifier}
	return riscd.InboxEntry{JTI: jti, Subject: events.SubjectKey(sub), Types: []string{events.TypeTokenRevoked}, Claims: json.RawMessage(claims)}
}

// URLHashIdentifier is Google's hash identifier of token in the URL
// alphabet without padding, a spelling riscd must tolerate.
func URLHashIdentifier(token string) string {
	inner := sha512.Sum512([]byte(token))
	outer := sha512.Sum512(inner[:])
	return base64.RawURLEncoding.EncodeToString(outer[:])
}

// SubjectJSON is the account state both APIs answer (admin.Subject):
// POST /admin/accounts/{sub}/release and GET /v1/subjects/{sub}.
type SubjectJSON struct {
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
