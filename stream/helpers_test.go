package stream

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
)

// Keys are generated once per test binary: RSA key generation is slow.
var (
	keysOnce sync.Once
	keys     []*rsa.PrivateKey
)

func testKey(tb testing.TB, i int) *rsa.PrivateKey {
	tb.Helper()
	keysOnce.Do(func() {
		for range 3 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			keys = append(keys, k)
		}
	})
	return keys[i]
}

// newSim starts googlesim on 127.0.0.1:0 with loopback delivery allowed and
// example.com authorized. Its clock is the system clock: x/oauth2 signs the
// service account's JWTs with it.
func newSim(tb testing.TB, edit func(*googlesim.Config)) *googlesim.Server {
	tb.Helper()
	cfg := googlesim.Config{
		Keys:              []*rsa.PrivateKey{testKey(tb, 0)},
		ServiceAccountKey: testKey(tb, 1),
		AllowHTTPDelivery: true,
		AuthorizedDomains: []string{"example.com"},
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := googlesim.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close sim: %v", err)
		}
	})
	return s
}

// tokenRecorder is a transport that remembers the bearer tokens sent.
type tokenRecorder struct {
	mu     sync.Mutex
	tokens []string
}

func (r *tokenRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.tokens = append(r.tokens, strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer "))
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *tokenRecorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.tokens...)
}

// newClient returns a Client for sim's service account and the recorder of
// the tokens it sends.
func newClient(tb testing.TB, sim *googlesim.Server) (*Client, *tokenRecorder) {
	tb.Helper()
	rec := &tokenRecorder{}
	c, err := New(context.Background(), sim.ServiceAccountJSON(), Options{
		BaseURL:    sim.ManagementURL(),
		HTTPClient: &http.Client{Transport: rec, Timeout: 30 * time.Second},
	})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return c, rec
}

// receiver is a delivery endpoint that records the state of every
// verification SET pushed to it (it does not check signatures: googlesim's
// own tests do).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	states map[string]bool
}

func newReceiver(tb testing.TB) *receiver {
	tb.Helper()
	rv := &receiver{states: map[string]bool{}}
	rv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		parts := strings.Split(string(body), ".")
		if len(parts) != 3 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var c struct {
			Events map[string]struct {
				State string `json:"state"`
			} `json:"events"`
		}
		_ = json.Unmarshal(raw, &c)
		rv.mu.Lock()
		for _, ev := range c.Events {
			rv.states[ev.State] = true
		}
		rv.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	tb.Cleanup(rv.Close)
	return rv
}

// received reports whether a verification with state arrived.
func (rv *receiver) received(_ context.Context, state string) (bool, error) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return rv.states[state], nil
}

// waitReceived waits until a verification with state arrives.
func (rv *receiver) waitReceived(tb testing.TB, state string) {
	tb.Helper()
	testkit.Eventually(tb, "verification "+strconv.Quote(state), func() bool {
		ok, _ := rv.received(context.Background(), state)
		return ok
	})
}
