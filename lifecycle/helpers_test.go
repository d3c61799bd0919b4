package lifecycle_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/dispatch"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/lifecycle"
	"github.com/riscd/riscd/store/boltdb"
	"github.com/riscd/riscd/store/storetest"
)

const (
	googleIss   = "https://accounts.google.com/"
	testSecret  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	eventTime   = 1772366400 // 2026-03-01T12:00:00Z: the iat of test events
	transmitter = "google"
)

// t0 is when test events happened; the clock reads ten minutes later.
func t0() time.Time { return time.Unix(eventTime, 0).UTC() }

// endOfSecond is the last instant of t's second: SET times are whole
// seconds, so session actions reach to the end of the event's second.
func endOfSecond(t time.Time) time.Time { return t.Add(time.Second - time.Nanosecond) }

// world is one test's store, lifecycle, webhook receiver and log.
type world struct {
	t     *testing.T
	ctx   context.Context
	path  string
	key   boltdb.Key
	db    *boltdb.DB
	clock *testkit.Clock
	hooks *receiver
	lc    *lifecycle.Lifecycle
	logs  *testkit.SyncBuffer
	cfg   lifecycle.Config
}

// newWorld opens a store in a temporary directory and builds a Lifecycle
// whose webhooks go to a fresh receiver. edit may change the config.
func newWorld(t *testing.T, edit func(*lifecycle.Config)) *world {
	t.Helper()
	return buildWorld(t, false, edit)
}

// newBubbleWorld is newWorld for a testing/synctest bubble: webhooks reach
// the receiver in process rather than over a socket.
func newBubbleWorld(t *testing.T, edit func(*lifecycle.Config)) *world {
	t.Helper()
	return buildWorld(t, true, edit)
}

func buildWorld(t *testing.T, inProcess bool, edit func(*lifecycle.Config)) *world {
	t.Helper()
	key, _, err := boltdb.GenerateKey()
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	w := &world{t: t, ctx: t.Context(), path: filepath.Join(t.TempDir(), "riscd.db"), key: key, clock: testkit.NewClock(t0().Add(10 * time.Minute)), logs: &testkit.SyncBuffer{}}
	w.open()
	if inProcess {
		w.hooks = newReceiverInProcess(t, testSecret, w.clock.Now)
	} else {
		w.hooks = newReceiver(t, testSecret, w.clock.Now)
	}
	w.cfg = lifecycle.Config{
		Store:         w.db,
		RevokeURL:     "http://127.0.0.1:1/revoke",
		WebhookURL:    w.hooks.url + "/hooks",
		WebhookSecret: testSecret,
		Now:           w.clock.Now,
		Logger:        slog.New(slog.NewTextHandler(io.MultiWriter(w.logs, t.Output()), &slog.HandlerOptions{Level: slog.LevelDebug})),
		BackoffBase:   5 * time.Millisecond,
		BackoffMax:    20 * time.Millisecond,
		PollInterval:  20 * time.Millisecond,
	}
	if inProcess {
		w.cfg.HTTPClient = w.hooks.client()
	}
	if edit != nil {
		edit(&w.cfg)
	}
	w.lc = w.build(w.cfg)
	return w
}

func (w *world) open() {
	w.t.Helper()
	db, err := boltdb.Open(w.ctx, boltdb.Options{Path: w.path, Key: w.key, Now: w.clock.Now, NoSync: true, LockTimeout: time.Second})
	if err != nil {
		w.t.Fatalf("boltdb.Open: %v", err)
	}
	w.db = db
	w.t.Cleanup(func() { _ = db.Close() })
}

// reopen closes the store and opens it again, as a restart would.
func (w *world) reopen() {
	w.t.Helper()
	if err := w.db.Close(); err != nil {
		w.t.Fatalf("Close: %v", err)
	}
	w.open()
	w.cfg.Store = w.db
	w.lc = w.build(w.cfg)
}

func (w *world) build(cfg lifecycle.Config) *lifecycle.Lifecycle {
	w.t.Helper()
	lc, err := lifecycle.New(cfg)
	if err != nil {
		w.t.Fatalf("lifecycle.New: %v", err)
	}
	return lc
}

// useRealClock switches the lifecycle and the receiver to time.Now, for
// tests whose outbox must retry at a real pace.
func (w *world) useRealClock() {
	w.cfg.Now = time.Now
	w.hooks.setNow(time.Now)
	w.lc = w.build(w.cfg)
}

// runOutbox runs the outbox in the background until the returned stop is
// called (or the test ends).
func (w *world) runOutbox() (stop func()) {
	w.t.Helper()
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error, 1)
	lc := w.lc
	go func() { done <- lc.RunOutbox(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				w.t.Errorf("RunOutbox: %v", err)
			}
		})
	}
	w.t.Cleanup(stop)
	return stop
}

// grant creates an active grant of sub holding refresh token rt.
func (w *world) grant(sub, rt string) riscd.Grant {
	w.t.Helper()
	g, err := w.db.CreateGrant(w.ctx, riscd.Grant{
		Sub: sub, Email: sub + "@example.com", Scopes: []string{"openid", "email"},
		RefreshToken: riscd.Secret(rt), AccessToken: riscd.Secret("ya29.access-" + sub + "-" + rt[len(rt)-6:]),
		TokenType: "Bearer", Expiry: w.clock.Now().Add(time.Hour), Status: riscd.GrantActive,
	})
	if err != nil {
		w.t.Fatalf("CreateGrant: %v", err)
	}
	return g
}

// account stores an account for sub.
func (w *world) account(a riscd.Account) {
	w.t.Helper()
	if err := w.db.PutAccount(w.ctx, a); err != nil {
		w.t.Fatalf("PutAccount: %v", err)
	}
}

// session creates a browser session of sub created at created.
func (w *world) session(sub, id string, created time.Time) {
	w.t.Helper()
	err := w.db.CreateSession(w.ctx, riscd.Session{ID: riscd.Secret(id), Sub: sub, CSRF: "csrf-" + riscd.Secret(id), CreatedAt: created})
	if err != nil {
		w.t.Fatalf("CreateSession: %v", err)
	}
}

func (w *world) hasSession(id string) bool {
	w.t.Helper()
	_, err := w.db.Session(w.ctx, riscd.Secret(id))
	return err == nil
}

func (w *world) getGrant(id string) riscd.Grant {
	w.t.Helper()
	g, err := w.db.Grant(w.ctx, id)
	if err != nil {
		w.t.Fatalf("Grant %s: %v", id, err)
	}
	return g
}

func (w *world) getAccount(sub string) riscd.Account {
	w.t.Helper()
	a, err := w.db.Account(w.ctx, sub)
	if err != nil {
		w.t.Fatalf("Account %s: %v", sub, err)
	}
	return a
}

// audit returns every audit entry, oldest first.
func (w *world) audit() []riscd.AuditEntry {
	w.t.Helper()
	var out []riscd.AuditEntry
	cursor := ""
	for {
		page, next, err := w.db.ListAudit(w.ctx, riscd.AuditQuery{Cursor: cursor, Limit: riscd.MaxLimit})
		if err != nil {
			w.t.Fatalf("ListAudit: %v", err)
		}
		out = append(out, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	slices.Reverse(out)
	return out
}

// outbox returns every outbox job, in ID order.
func (w *world) outbox() []riscd.OutboxJob {
	w.t.Helper()
	var out []riscd.OutboxJob
	for id := uint64(1); ; id++ {
		j, err := w.db.OutboxJob(w.ctx, id)
		if err != nil {
			return out
		}
		out = append(out, j)
	}
}

// deliver hands a SET to the lifecycle's handler as the dispatcher would.
func (w *world) deliver(set *events.SET) {
	w.t.Helper()
	if err := w.lc.Handler().Handle(w.ctx, dispatch.Delivery{Entry: dispatch.Entry{ID: 1, Transmitter: transmitter}, SET: set, Attempt: 1}); err != nil {
		w.t.Fatalf("Handle: %v", err)
	}
}

// waitFor is testkit.Eventually: it waits for cond, failing the test only
// after a bound that a hang, not a slow machine, reaches.
var waitFor = testkit.Eventually

// waitJobs waits until no outbox job is pending.
func (w *world) waitJobs() {
	w.t.Helper()
	waitFor(w.t, "the outbox to drain", func() bool {
		jobs, err := w.db.PendingOutbox(w.ctx, 1)
		return err == nil && len(jobs) == 0
	})
}

// googleSET parses a Google-format payload with one event about subject
// (a JSON object, or "" for none) carrying extra members.
func googleSET(tb testing.TB, jti, uri, subject, extra string) *events.SET {
	tb.Helper()
	members := []string{}
	if subject != "" {
		members = append(members, `"subject": `+subject)
	}
	if extra != "" {
		members = append(members, extra)
	}
	payload := fmt.Sprintf(`{"iss": %q, "aud": "client.apps.googleusercontent.com", "iat": %d, "jti": %q, "events": {%q: {%s}}}`,
		googleIss, eventTime, jti, uri, strings.Join(members, ", "))
	set, err := events.NewRegistry().Parse([]byte(payload), events.FormatGoogle)
	if err != nil {
		tb.Fatalf("Parse: %v\n%s", err, payload)
	}
	return set
}

// issSub is a Google iss-sub subject.
func issSub(sub string) string {
	return fmt.Sprintf(`{"subject_type": "iss-sub", "iss": %q, "sub": %q}`, googleIss, sub)
}

// tokenSubject is an oauth_token subject.
func tokenSubject(alg, id string) string {
	return fmt.Sprintf(`{"subject_type": "oauth_token", "token_type": "refresh_token", "token_identifier_alg": %q, "token": %q}`, alg, id)
}

// ssfSET parses an SSF-format payload with one event about sub_id.
func ssfSET(tb testing.TB, jti, iss, uri, subID, event string) *events.SET {
	tb.Helper()
	payload := fmt.Sprintf(`{"iss": %q, "aud": "riscd", "iat": %d, "jti": %q, "sub_id": %s, "events": {%q: %s}}`,
		iss, eventTime, jti, subID, uri, event)
	set, err := events.NewRegistry().Parse([]byte(payload), events.FormatSSF)
	if err != nil {
		tb.Fatalf("Parse: %v\n%s", err, payload)
	}
	return set
}

// refreshToken is a realistic Google refresh token from a seed.
func refreshToken(seed uint64) string { return storetest.RefreshToken(seed) }

// mustJSON decodes a webhook body.
func mustJSON(tb testing.TB, b []byte) lifecycle.WebhookPayload {
	tb.Helper()
	var p lifecycle.WebhookPayload
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		tb.Fatalf("webhook body %s: %v", b, err)
	}
	return p
}
