package adminpage_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd/admin/admintest"
	"github.com/riscd/riscd/adminpage"
)

// Sign-ins whose bodies arrive together are judged one by one: of 200
// connections that all started their request before any finished its
// body, 5 are judged (401) and the rest refused (429). Each request asks
// for 100-continue, so the server has started on all of them (and reads
// their bodies) before the bodies are sent.
func TestUISignInLimitHoldsForAttemptsTogether(t *testing.T) {
	e, _ := newUIEnv(t, nil, nil)
	addr := strings.TrimPrefix(e.URL, "http://")
	body := url.Values{"token": {"a-wrong-guess-of-the-token"}}.Encode()
	const n = 200
	conns := make([]net.Conn, n)
	readers := make([]*bufio.Reader, n)
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(60 * time.Second))
		fmt.Fprintf(c, "POST /admin/ui/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
			"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", addr, len(body))
		conns[i], readers[i] = c, bufio.NewReader(c)
	}
	for i := range n {
		resp, err := http.ReadResponse(readers[i], nil)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if resp.StatusCode != http.StatusContinue {
			t.Fatalf("connection %d answered %d before its body, want 100", i, resp.StatusCode)
		}
	}
	for i := range n {
		if _, err := conns[i].Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	got := map[int]int{}
	for i := range n {
		resp, err := http.ReadResponse(readers[i], nil)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		resp.Body.Close()
		got[resp.StatusCode]++
	}
	if got[http.StatusUnauthorized] != 5 || got[http.StatusTooManyRequests] != n-5 {
		t.Fatalf("answers %v, want 5 × 401 and %d × 429", got, n-5)
	}
}

// signinFrom posts a sign-in as if from the connection address remote
// with the X-Forwarded-For xff.
func signinFrom(e *admintest.Env, remote, xff, token string) int {
	req := httptest.NewRequest(http.MethodPost, "/admin/ui/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = remote
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	rec := httptest.NewRecorder()
	e.Handler.ServeHTTP(rec, req)
	return rec.Code
}

// Behind a trusted proxy each client has its own bucket; without one,
// X-Forwarded-For is ignored, so a client cannot escape its bucket by
// sending it.
func TestUISignInLimitPerForwardedClient(t *testing.T) {
	proxied, _ := newUIEnv(t, nil, func(cfg *adminpage.Config) {
		cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})
	for i := range 5 {
		if code := signinFrom(proxied, "10.1.2.3:4444", "198.51.100.7", "guess"); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	if code := signinFrom(proxied, "10.1.2.3:4444", "198.51.100.7", "guess"); code != http.StatusTooManyRequests {
		t.Fatalf("sixth attempt of one forwarded client: %d, want 429", code)
	}
	// Another operator behind the same proxy is not locked out.
	if code := signinFrom(proxied, "10.1.2.3:4444", "198.51.100.8", admintest.AdminToken); code != http.StatusSeeOther {
		t.Fatalf("another client behind the proxy: %d, want 303", code)
	}
	// A client that sends its own header through the proxy still counts
	// as the address the proxy saw.
	if code := signinFrom(proxied, "10.1.2.3:4444", "203.0.113.9, 198.51.100.7", "guess"); code != http.StatusTooManyRequests {
		t.Fatalf("a forged X-Forwarded-For escaped the limit: %d", code)
	}

	direct, _ := newUIEnv(t, nil, nil)
	for i := range 5 {
		signinFrom(direct, "192.0.2.5:1", fmt.Sprint("203.0.113.", i), "guess")
	}
	if code := signinFrom(direct, "192.0.2.5:1", "203.0.113.99", "guess"); code != http.StatusTooManyRequests {
		t.Fatalf("without trusted proxies X-Forwarded-For changed the bucket: %d", code)
	}
}
