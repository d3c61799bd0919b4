package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawAnswer is what a hand-written request got back.
type rawAnswer struct {
	status int
	header http.Header
	body   string
}

// rawRequest sends a request written by hand (so the path reaches riscd
// exactly as given, unnormalised) and reads the answer.
func rawRequest(tb testing.TB, base, method, path string, header http.Header, body string) rawAnswer {
	tb.Helper()
	addr := strings.TrimPrefix(base, "http://")
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		tb.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, path, addr)
	for k, vs := range header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	if body != "" || method == http.MethodPost {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	if _, err := io.WriteString(c, b.String()); err != nil {
		tb.Fatalf("%s %s: write: %v", method, path, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		tb.Fatalf("%s %s: read answer: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return rawAnswer{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

// cutOff reports how a connection ended: it runs write (which trickles a
// request) until the server closes the connection or answers, and returns
// the first bytes the server sent (empty when it just closed). limit bounds
// the wait; reaching it fails the test.
func cutOff(tb testing.TB, addr string, limit time.Duration, write func(c net.Conn, i int) error) string {
	tb.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		tb.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 512)
		n, _ := io.ReadAtLeast(c, buf, 1)
		got <- string(buf[:n])
	}()
	deadline := time.After(limit)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case s := <-got:
			return s
		case <-deadline:
			tb.Fatalf("the server still holds a trickling connection after %s", limit)
			return ""
		case <-tick.C:
			if err := write(c, i); err != nil {
				// The server closed its side; the reader sees it too.
				select {
				case s := <-got:
					return s
				case <-time.After(10 * time.Second):
					return ""
				}
			}
		}
	}
}
