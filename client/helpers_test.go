package client_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/riscd/riscd/client"
	"github.com/riscd/riscd/internal/testkit"
)

const appToken = "app-token-for-tests"

// t0 is the tests' start time.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// request is one request the fake riscd received.
type request struct {
	method, path string
	body         map[string]any
}

// fakeRiscd answers the companion API per the README with the handlers a
// test gives, after checking the app token, and records each request.
type fakeRiscd struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []request
}

// newFake serves routes ("POST /v1/token", "GET /v1/subjects/{sub}", ...)
// on 127.0.0.1.
func newFake(t testing.TB, routes map[string]http.HandlerFunc) *fakeRiscd {
	t.Helper()
	f := &fakeRiscd{}
	mux := http.NewServeMux()
	for pattern, h := range routes {
		mux.HandleFunc(pattern, h)
	}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+appToken {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"unauthorized"}`)
			return
		}
		req := request{method: r.Method, path: r.URL.EscapedPath()}
		if r.Body != nil {
			b, _ := io.ReadAll(r.Body)
			if len(b) > 0 {
				if ct := r.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("%s %s: Content-Type %q, want application/json", r.Method, r.URL.Path, ct)
				}
				if err := json.Unmarshal(b, &req.body); err != nil {
					t.Errorf("%s %s: body %s: %v", r.Method, r.URL.Path, b, err)
				}
			}
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, req)
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// requests returns the requests received so far.
func (f *fakeRiscd) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.reqs...)
}

// answer writes a JSON answer.
func answer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// mustNew is a Client of f on clk.
func mustNew(f *fakeRiscd, clk *testkit.Clock) *client.Client {
	return client.New(f.URL+"/", appToken, client.WithHTTPClient(f.Client()), client.WithNow(clk.Now))
}

// decodeJSON decodes a request's JSON body.
func decodeJSON(r *http.Request, v any) error { return json.NewDecoder(r.Body).Decode(v) }
