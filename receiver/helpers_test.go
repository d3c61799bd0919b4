package receiver_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/receiver"
	"github.com/riscd/riscd/store/boltdb"
)

// t0 is the pinned time every test starts at.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// newClock returns a clock pinned at t0 that tests move by hand.
func newClock() *testkit.Clock { return testkit.NewClock(t0) }

// mustRSAKeys generates n 2048-bit RSA keys in parallel.
func mustRSAKeys(tb testing.TB, n int) []*rsa.PrivateKey {
	tb.Helper()
	keys := make([]*rsa.PrivateKey, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() { keys[i], errs[i] = rsa.GenerateKey(rand.Reader, 2048) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		tb.Fatalf("generate RSA keys: %v", err)
	}
	return keys
}

// testLogger logs at debug level to the test's output.
func testLogger(tb testing.TB) *slog.Logger {
	tb.Helper()
	if t, ok := tb.(interface{ Output() io.Writer }); ok {
		return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// mustGoogle starts a Google stand-in on 127.0.0.1 with the given keys
// (the first signs; RotateKeys takes the next) and clock.
func mustGoogle(tb testing.TB, c *testkit.Clock, keys []*rsa.PrivateKey) *googlesim.Server {
	tb.Helper()
	g, err := googlesim.New(googlesim.Config{Keys: keys, Now: c.Now})
	if err != nil {
		tb.Fatalf("googlesim.New: %v", err)
	}
	if err := g.Start("127.0.0.1:0"); err != nil {
		tb.Fatalf("googlesim Start: %v", err)
	}
	tb.Cleanup(func() { _ = g.Close() })
	return g
}

// googleTransmitter describes g as discovered from its RISC configuration.
func googleTransmitter(g *googlesim.Server) receiver.Transmitter {
	return receiver.Transmitter{
		Name:             "google",
		ConfigurationURL: g.URL() + googlesim.PathRISCConfiguration,
		Audiences:        []string{g.ClientID()},
	}
}

// mustStore opens a real store in a temporary directory.
func mustStore(tb testing.TB) *boltdb.DB {
	tb.Helper()
	key, _, err := boltdb.GenerateKey()
	if err != nil {
		tb.Fatalf("boltdb.GenerateKey: %v", err)
	}
	db, err := boltdb.Open(context.Background(), boltdb.Options{Path: filepath.Join(tb.TempDir(), "riscd.db"), Key: key, Now: time.Now})
	if err != nil {
		tb.Fatalf("boltdb.Open: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// baseConfig returns a Config with the test's clock and logger and quick
// background retries; the caller adds transmitters and an inbox.
func baseConfig(tb testing.TB, c *testkit.Clock) receiver.Config {
	tb.Helper()
	return receiver.Config{
		Now:             c.Now,
		Logger:          testLogger(tb),
		RetryBackoff:    5 * time.Millisecond,
		RetryBackoffMax: 50 * time.Millisecond,
	}
}

// endpoint is a receiver served on 127.0.0.1.
type endpoint struct {
	r   *receiver.Receiver
	url string
}

// mustReceiver builds a receiver whose background work lives as long as
// the test, and serves it.
func mustReceiver(tb testing.TB, cfg receiver.Config) endpoint {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	r, err := receiver.New(ctx, cfg)
	if err != nil {
		tb.Fatalf("receiver.New: %v", err)
	}
	srv := httptest.NewServer(r.Handler())
	tb.Cleanup(srv.Close)
	return endpoint{r: r, url: srv.URL + "/risc"}
}

// waitReady waits until every transmitter's keys are loaded.
func waitReady(tb testing.TB, r *receiver.Receiver) {
	tb.Helper()
	testkit.Eventually(tb, "the receiver to be ready", func() bool { return r.Ready() == nil })
}

// answer is what the receiver said to one POST.
type answer struct {
	status int
	header http.Header
	body   []byte
	err    string // the "err" member of a JSON error body
	desc   string // the "description" member
}

// post sends token as an RFC 8935 push with the given Content-Type.
func postAs(tb testing.TB, url, contentType, token string) answer {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(token))
	if err != nil {
		tb.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	return do(tb, req)
}

func post(tb testing.TB, url, token string) answer {
	tb.Helper()
	return postAs(tb, url, receiver.ContentTypeSET, token)
}

func do(tb testing.TB, req *http.Request) answer {
	tb.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("read answer: %v", err)
	}
	a := answer{status: res.StatusCode, header: res.Header, body: body}
	if len(body) > 0 {
		var e struct {
			Err         string `json:"err"`
			Description string `json:"description"`
		}
		if err := json.Unmarshal(body, &e); err != nil {
			tb.Fatalf("answer %d body %q is not JSON: %v", res.StatusCode, body, err)
		}
		a.err, a.desc = e.Err, e.Description
	}
	return a
}

// mustSign signs a Google-format SET with the stand-in's transmitter.
func mustSign(tb testing.TB, g *googlesim.Server, ev googlesim.Event, opts ...googlesim.SETOption) string {
	tb.Helper()
	tok, err := g.Transmitter().Sign(ev, opts...)
	if err != nil {
		tb.Fatalf("sign: %v", err)
	}
	return tok
}

// wantAccepted fails unless a is a 202 with an empty body.
func wantAccepted(tb testing.TB, a answer) {
	tb.Helper()
	if a.status != http.StatusAccepted || len(a.body) != 0 {
		tb.Fatalf("answer = %d %q, want 202 with an empty body", a.status, a.body)
	}
}

// wantUnavailable fails unless a is a 503 with a Retry-After of the
// default RetryAfter (30 s) or, when keys were missing, of the default
// UnknownKidRefetch (5 s).
func wantUnavailable(tb testing.TB, a answer) {
	tb.Helper()
	if a.status != http.StatusServiceUnavailable {
		tb.Fatalf("answer = %d %q, want 503", a.status, a.body)
	}
	if got := a.header.Get("Retry-After"); got != "30" && got != "5" {
		tb.Fatalf("Retry-After = %q, want 30 or 5", got)
	}
}

// inboxCount returns the number of inbox entries.
func inboxCount(tb testing.TB, db *boltdb.DB) int {
	tb.Helper()
	if err := db.FlushInbox(context.Background()); err != nil {
		tb.Fatalf("flush inbox: %v", err)
	}
	st, err := db.Stats(context.Background())
	if err != nil {
		tb.Fatalf("store stats: %v", err)
	}
	n, err := db.CountInbox(context.Background(), riscd.InboxPending)
	if err != nil {
		tb.Fatalf("count inbox: %v", err)
	}
	if n != st.Inbox {
		tb.Fatalf("pending inbox entries = %d, all entries = %d: nothing should be done yet", n, st.Inbox)
	}
	return st.Inbox
}

// jwksRequests returns how many times g's key set was fetched.
func jwksRequests(g *googlesim.Server) int { return g.Stats().Requests[googlesim.EndpointJWKS] }

// googleReceiver is the common setup: a Google stand-in, a store and a
// ready receiver trusting the stand-in through discovery.
type googleReceiver struct {
	clock *testkit.Clock
	g     *googlesim.Server
	db    *boltdb.DB
	endpoint
}

func mustGoogleReceiver(tb testing.TB, keys []*rsa.PrivateKey, edit func(*receiver.Config)) googleReceiver {
	tb.Helper()
	c := newClock()
	g := mustGoogle(tb, c, keys)
	db := mustStore(tb)
	cfg := baseConfig(tb, c)
	cfg.Transmitters = []receiver.Transmitter{googleTransmitter(g)}
	cfg.Inbox = db.InboxWriter()
	if edit != nil {
		edit(&cfg)
	}
	ep := mustReceiver(tb, cfg)
	waitReady(tb, ep.r)
	return googleReceiver{clock: c, g: g, db: db, endpoint: ep}
}
