package receiver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/internal/testkit"
)

// jwksServer is a transmitter's JWKS endpoint on 127.0.0.1 whose key set
// the test changes (a rotation) and whose answers it may hold back.
type jwksServer struct {
	url      string
	requests atomic.Int64

	failFirst int64 // the first failFirst requests are answered 503

	mu   sync.Mutex
	body []byte
	hold chan struct{}   // when set, requests wait for it to close
	got  chan<- struct{} // when set, told of each request before it waits
}

func newJWKSServer(t *testing.T, kids ...string) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.publish(t, kids...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := s.requests.Add(1)
		s.mu.Lock()
		body, hold, got := s.body, s.hold, s.got
		s.mu.Unlock()
		if got != nil {
			got <- struct{}{}
		}
		if hold != nil {
			<-hold
		}
		if n <= s.failFirst {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		// Asks for a refresh every minute; MinRefresh (5 minutes by
		// default) wins.
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/jwks"
	return s
}

// publish replaces the key set with one ES256 key under each kid.
func (s *jwksServer) publish(t *testing.T, kids ...string) {
	t.Helper()
	set := jwk.NewSet()
	for _, kid := range kids {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k, err := jwk.FromRaw(&priv.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		_ = k.Set(jwk.KeyIDKey, kid)
		_ = set.AddKey(k)
	}
	body, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.body = body
	s.mu.Unlock()
}

// nullInbox accepts every entry.
type nullInbox struct{}

func (nullInbox) PutInbox(_ context.Context, e riscd.InboxEntry) (riscd.InboxEntry, bool, error) {
	return e, true, nil
}

// keysConfig is a Config trusting one ES256 transmitter whose keys are at
// jwksURL. Its HTTP client keeps no idle connection, so that a synctest
// bubble has no goroutine waiting on the network between fetches.
func keysConfig(jwksURL string) Config {
	return Config{
		Transmitters: []Transmitter{{Name: "ssf", Issuer: "https://ssf.example", JWKSURL: jwksURL, Audiences: []string{"aud"}}},
		Algorithms:   []string{"ES256"},
		Inbox:        nullInbox{},
		HTTPClient:   &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	}
}

// mustKeySource starts a receiver with cfg, waits for its first key set
// and returns its key source. Its background work ends with ctx.
func mustKeySource(t *testing.T, ctx context.Context, cfg Config) *keySource {
	t.Helper()
	r, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	src := r.sources[cfg.Transmitters[0].JWKSURL]
	testkit.Eventually(t, "the key set to load", src.loaded)
	return src
}

// A transmitter that rotates its key twice within 30 s (RFC 8935 section
// 2.3 leaves the retry schedule to it: here three tries a second apart)
// has both new keys found.
func TestRotationTwiceInQuickSuccession(t *testing.T) {
	srv := newJWKSServer(t, "k1")
	clk := testkit.NewClock(now0)
	cfg := keysConfig(srv.url)
	cfg.Now = clk.Now
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := mustKeySource(t, ctx, cfg)

	// tryThrice is the transmitter's schedule: three tries a second apart.
	tryThrice := func(kid string) error {
		var err error
		for range 3 {
			if _, err = src.lookup(ctx, kid); err == nil {
				return nil
			}
			clk.Advance(time.Second)
		}
		return err
	}
	srv.publish(t, "k1", "k2")
	if err := tryThrice("k2"); err != nil {
		t.Fatalf("first rotation: %v", err)
	}
	clk.Advance(10 * time.Second)
	srv.publish(t, "k2", "k3")
	if err := tryThrice("k3"); err != nil {
		t.Fatalf("second rotation, 10 s after the first: %v", err)
	}
	// Even a third, half a second later, is found on the transmitter's
	// retry a second after its first try.
	clk.Advance(500 * time.Millisecond)
	srv.publish(t, "k3", "k4")
	if err := tryThrice("k4"); err != nil {
		t.Fatalf("third rotation, 0.5 s after the second: %v", err)
	}
}

// The gap between unknown-kid refetches doubles while the kids named are
// not in the set, up to UnknownKidRefetch, and a refusal inside the gap is
// a 503 (errKeysUnavailable), never a 400.
func TestUnknownKidRefetchBacksOff(t *testing.T) {
	srv := newJWKSServer(t, "k1")
	clk := testkit.NewClock(now0)
	cfg := keysConfig(srv.url)
	cfg.Now = clk.Now
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := mustKeySource(t, ctx, cfg)
	base := srv.requests.Load()

	var refetchedAt []int // seconds
	for sec := range 30 {
		before := srv.requests.Load()
		_, err := src.lookup(ctx, fmt.Sprintf("random-%d", sec))
		switch fetched := srv.requests.Load() != before; {
		case fetched && !errors.Is(err, errUnknownKid):
			t.Fatalf("t=%ds: refetched, err = %v, want errUnknownKid", sec, err)
		case !fetched && !errors.Is(err, errKeysUnavailable):
			t.Fatalf("t=%ds: not refetched, err = %v, want errKeysUnavailable", sec, err)
		case fetched:
			refetchedAt = append(refetchedAt, sec)
		}
		clk.Advance(time.Second)
	}
	want := []int{0, 2, 6, 11, 16, 21, 26} // gaps 2, 4, then 5 (UnknownKidRefetch)
	if fmt.Sprint(refetchedAt) != fmt.Sprint(want) {
		t.Errorf("refetches at %v s, want %v", refetchedAt, want)
	}
	if got := srv.requests.Load() - base; got != int64(len(want)) {
		t.Errorf("JWKS requests = %d, want %d", got, len(want))
	}
}

// floodDelay is the worst, over rotation instants spread across one
// UnknownKidRefetch period, of the time from a rotation until its kid is
// loaded, while random kids arrive every floodEvery and the transmitter
// tries its new kid every second from the rotation on.
func floodDelay(t *testing.T, floodEvery time.Duration) time.Duration {
	srv := newJWKSServer(t, "k1")
	clk := testkit.NewClock(now0)
	cfg := keysConfig(srv.url)
	cfg.Now = clk.Now
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := mustKeySource(t, ctx, cfg)

	const tick = 50 * time.Millisecond
	flood := 0
	step := func() { // one tick of the flood
		if flood++; time.Duration(flood)*tick%floodEvery == 0 {
			_, _ = src.lookup(ctx, fmt.Sprintf("random-%d", flood))
		}
		clk.Advance(tick)
	}
	// The flood runs long enough to push the gap to its ceiling.
	for range 2 * DefaultUnknownKidRefetch / tick {
		step()
	}
	var worst time.Duration
	for i := range DefaultUnknownKidRefetch / tick {
		kid := fmt.Sprintf("rotated-%d", i)
		srv.publish(t, "k1", kid)
		rotated := clk.Now()
		for n := 0; ; n++ {
			if time.Duration(n)*tick%time.Second == 0 { // the transmitter's try
				if _, err := src.lookup(ctx, kid); err == nil {
					break
				}
			}
			step()
			if n > 1000 {
				t.Fatalf("rotation %d: kid not found in %s", i, clk.Now().Sub(rotated))
			}
		}
		worst = max(worst, clk.Now().Sub(rotated))
		// Leave the set as it was, the flood going on, for one tick more
		// than the next rotation's offset.
		srv.publish(t, "k1")
		for range int(i) + 1 + int(DefaultUnknownKidRefetch/tick) {
			step()
		}
	}
	return worst
}

// A flood of random kids delays a rotated key by a few seconds at most
// (UnknownKidRefetch, 5 s, and the transmitter's retry interval, here a
// second), whatever the flood's rate: the flood cannot push the gap between
// refetches beyond UnknownKidRefetch.
func TestUnknownKidFloodDelaysRotationBoundedly(t *testing.T) {
	for _, every := range []time.Duration{50 * time.Millisecond, time.Second, 3 * time.Second} {
		t.Run(every.String(), func(t *testing.T) {
			worst := floodDelay(t, every)
			t.Logf("random kid every %s: worst delay of a rotated key %s", every, worst)
			if limit := 6 * time.Second; worst > limit {
				t.Errorf("worst delay %s, want at most %s", worst, limit)
			}
		})
	}
}

// A request that ends while its unknown-kid refetch runs does not stop the
// refetch: its keys serve the transmitter's retry, and the hang-up counts
// as no JWKS error.
func TestRefetchOutlivesTheRequest(t *testing.T) {
	srv := newJWKSServer(t, "k1")
	clk := testkit.NewClock(now0)
	cfg := keysConfig(srv.url)
	cfg.Now = clk.Now
	var (
		mu      sync.Mutex
		fetches []error
	)
	fetched := make(chan struct{}, 100)
	cfg.ObserveJWKS = func(_ string, err error) {
		mu.Lock()
		fetches = append(fetches, err)
		mu.Unlock()
		fetched <- struct{}{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := mustKeySource(t, ctx, cfg)
	<-fetched // the first load

	srv.publish(t, "k1", "k2")
	got, hold := make(chan struct{}, 1), make(chan struct{})
	srv.mu.Lock()
	srv.got, srv.hold = got, hold
	srv.mu.Unlock()
	reqCtx, hangUp := context.WithCancel(ctx)
	answer := make(chan error, 1)
	go func() {
		_, err := src.lookup(reqCtx, "k2")
		answer <- err
	}()
	<-got // the refetch reached the transmitter
	hangUp()
	if err := <-answer; !errors.Is(err, errKeysUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("lookup after the hang-up: err = %v, want errKeysUnavailable for the request's end", err)
	}
	srv.mu.Lock()
	srv.got, srv.hold = nil, nil
	srv.mu.Unlock()
	close(hold)
	select {
	case <-fetched:
	case <-time.After(20 * time.Second): // bounds a hang only
		t.Fatal("the refetch never ended")
	}

	// The transmitter's retry, a second later, finds the key with no
	// further fetch.
	requests := srv.requests.Load()
	clk.Advance(time.Second)
	if _, err := src.lookup(ctx, "k2"); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got := srv.requests.Load() - requests; got != 0 {
		t.Errorf("JWKS requests for the retry = %d, want 0", got)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, err := range fetches {
		if err != nil {
			t.Errorf("fetch %d reported %v, want no JWKS error", i, err)
		}
	}
	if len(fetches) != 2 {
		t.Errorf("fetches reported = %d, want 2 (the load and the refetch)", len(fetches))
	}
}

// backgroundFetches returns how many times srv is fetched during the hour
// that follows 50 unknown-kid periods (31 s each) of which the first
// forced see an unknown kid, with the first failFirst fetches failing.
func backgroundFetches(t *testing.T, forced int, failFirst int64) int64 {
	srv := newJWKSServer(t, "k1") // outside the bubble: its goroutines are not the test's
	srv.failFirst = failFirst
	var n int64
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cfg := keysConfig(srv.url)
		cfg.RetryBackoff, cfg.RetryBackoffMax = 10*time.Millisecond, 100*time.Millisecond
		start := time.Now()
		src := mustKeySource(t, ctx, cfg)
		for i := range 50 {
			if i < forced {
				before := srv.requests.Load()
				if _, err := src.lookup(ctx, fmt.Sprintf("random-%d", i)); !errors.Is(err, errUnknownKid) {
					t.Fatalf("unknown kid %d: err = %v, want errUnknownKid", i, err)
				}
				if srv.requests.Load() == before {
					t.Fatalf("unknown kid %d: no refetch", i)
				}
			}
			time.Sleep(31 * time.Second)
		}
		time.Sleep(time.Until(start.Add(30 * time.Minute)))
		before := srv.requests.Load()
		time.Sleep(time.Hour)
		n = srv.requests.Load() - before
	})
	return n
}

// The jwk.Cache's background refreshes keep their pace whatever the number
// of forced fetches (unknown-kid refetches, first-load retries).
func TestForcedFetchesAddNoBackgroundRefresh(t *testing.T) {
	quiet := backgroundFetches(t, 0, 0)
	t.Logf("background fetches in an hour: %d", quiet)
	if quiet < 10 || quiet > 12 { // every MinRefresh (5 min) and up to a refresh window (1 min)
		t.Fatalf("background fetches in an hour, no forced fetch = %d, want 10 to 12", quiet)
	}
	if got := backgroundFetches(t, 50, 0); got != quiet {
		t.Errorf("background fetches in an hour after 50 unknown-kid refetches = %d, want %d as without", got, quiet)
	}
	if got := backgroundFetches(t, 0, 10); got != quiet {
		t.Errorf("background fetches in an hour after 10 failed first loads = %d, want %d as without", got, quiet)
	}
}

// A fetch that ends after one that started later (a background refresh
// slower than an unknown-kid refetch) does not bring back the older set.
func TestSlowFetchKeepsTheLaterSet(t *testing.T) {
	vs, err := newVerifiers([]string{"ES256"})
	if err != nil {
		t.Fatal(err)
	}
	src := newKeySource(context.Background(), "https://ssf.example/jwks", keysConfig("https://ssf.example/jwks").withDefaults(), nil, vs)
	srv := newJWKSServer(t, "k1")
	old, err := jwk.Parse(srv.body)
	if err != nil {
		t.Fatal(err)
	}
	srv.publish(t, "k1", "k2")
	rotated, err := jwk.Parse(srv.body)
	if err != nil {
		t.Fatal(err)
	}
	slow, fast := src.seq.Add(1), src.seq.Add(1) // started in this order
	if err := src.installSet(fast, rotated); err != nil {
		t.Fatal(err)
	}
	if err := src.installSet(slow, old); err != nil {
		t.Fatal(err)
	}
	if _, ok := (*src.keys.Load())["k2"]; !ok {
		t.Error("k2 lost: the slow fetch's older set replaced the later one")
	}
}
