package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd/internal/testkit"
)

// runMainEnv starts riscd from configPath with RISCD_* overrides.
func runMainEnv(t *testing.T, configPath string, env ...string) *Main {
	t.Helper()
	l, err := load(configPath, env, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: l.cfg, Secrets: l.secrets}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// keepAlive opens a connection from the loopback address src to addr and
// makes one GET of path on it, leaving it open; err is how the request
// failed (the server closed the connection unanswered).
func keepAlive(t *testing.T, src, addr, path, host string) (net.Conn, int, error) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, host); err != nil {
		return c, 0, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return c, 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return &bufConn{Conn: c, r: br}, resp.StatusCode, nil
}

type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// The public listener bounds each client's connections and closes idle
// ones soon; the internal listener keeps answering meanwhile.
func TestPublicListenerBoundsConnections(t *testing.T) {
	sim := startSim(t)
	m := runMainEnv(t, simConfig(t, sim),
		"RISCD_PUBLIC_MAX_CONNECTIONS_PER_CLIENT=3", "RISCD_PUBLIC_MAX_CONNECTIONS=10", "RISCD_PUBLIC_IDLE_TIMEOUT=1s")
	pub := m.PublicAddr()
	var held []net.Conn
	for i := range 3 {
		c, code, err := keepAlive(t, "127.0.0.1", pub, "/", pub)
		if err != nil || code != http.StatusOK {
			t.Fatalf("connection %d: %d %v", i, code, err)
		}
		held = append(held, c)
	}
	if _, code, err := keepAlive(t, "127.0.0.1", pub, "/", pub); err == nil {
		t.Fatalf("a fourth idle connection of one client was answered %d", code)
	}
	if _, code, err := keepAlive(t, "127.0.0.2", pub, "/", pub); err != nil || code != http.StatusOK {
		t.Fatalf("another client: %d %v", code, err)
	}
	if got := getStatus(t, "http://"+m.InternalAddr()+"/healthz"); got != http.StatusOK {
		t.Errorf("internal /healthz = %d while the public listener is full", got)
	}
	// The idle connections are closed by the server after idle_timeout,
	// which gives the client its places back.
	for i, c := range held {
		if n, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatalf("idle connection %d read %d bytes, want it closed", i, n)
		}
	}
	for {
		_, code, err := keepAlive(t, "127.0.0.1", pub, "/", pub)
		if err == nil {
			if code != http.StatusOK {
				t.Fatalf("after the idle connections closed: %d", code)
			}
			break
		}
		// The server closes its side before the listener hears of it.
	}
	text := scrape(t, "http://"+m.InternalAddr()+"/metrics")
	if !strings.Contains(text, `riscd_http_connections_refused_total{listener="public"}`) {
		t.Errorf("refused connections not counted:\n%s", text)
	}
}

// The internal listener answers only to its own names and IP literals: a
// page on another name that resolves to it (DNS rebinding) gets 421.
func TestInternalListenerChecksHost(t *testing.T) {
	sim := startSim(t)
	m := runMainEnv(t, simConfig(t, sim), "RISCD_INTERNAL_ALLOWED_HOSTS=riscd-admin.internal")
	in := m.InternalAddr()
	_, port, _ := net.SplitHostPort(in)
	for host, want := range map[string]int{
		"attacker.example:" + port:     http.StatusMisdirectedRequest,
		"attacker.example":             http.StatusMisdirectedRequest,
		"localhost:" + port:            http.StatusOK,
		"LOCALHOST.":                   http.StatusOK,
		"127.0.0.1:" + port:            http.StatusOK,
		"[::1]:" + port:                http.StatusOK,
		"riscd-admin.internal:" + port: http.StatusOK,
	} {
		for _, path := range []string{"/healthz", "/metrics", "/admin/ui/login"} {
			_, code, err := keepAlive(t, "127.0.0.1", in, path, host)
			if err != nil {
				t.Fatalf("Host %s %s: %v", host, path, err)
			}
			if (code == http.StatusMisdirectedRequest) != (want == http.StatusMisdirectedRequest) {
				t.Errorf("Host %s %s = %d, want %d", host, path, code, want)
			}
		}
	}
}

// public.consent_per_minute reaches the consent routes, and refusals are
// counted in the metrics.
func TestConsentRateFromConfig(t *testing.T) {
	sim := startSim(t)
	m := runMainEnv(t, simConfig(t, sim), "RISCD_PUBLIC_CONSENT_PER_MINUTE=2")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var got []int
	for range 3 {
		resp, err := noFollow.Get("http://" + m.PublicAddr() + "/authorize")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got = append(got, resp.StatusCode)
	}
	if got[0] != http.StatusFound || got[1] != http.StatusFound || got[2] != http.StatusTooManyRequests {
		t.Fatalf("statuses %v, want 302 302 429", got)
	}
	if text := scrape(t, "http://"+m.InternalAddr()+"/metrics"); !strings.Contains(text, `riscd_http_requests_limited_total{what="authorize"} 1`) {
		t.Errorf("the refusal is not counted:\n%s", grepLines(text, "limited"))
	}
}

// Connection bounds that would take the process's open files leave a
// warning at start.
func TestFileLimitWarning(t *testing.T) {
	n := openFileLimit()
	if n == 0 {
		t.Fatal("the open-file limit is unknown on this platform")
	}
	sim := startSim(t)
	max := fmt.Sprint(n) // with internal.max_connections and the reserve, past the limit
	l, err := load(simConfig(t, sim), []string{"RISCD_PUBLIC_MAX_CONNECTIONS=" + max}, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	var logs testkit.SyncBuffer
	m := &Main{Config: l.cfg, Secrets: l.secrets, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !strings.Contains(logs.String(), "leave too few open files") || !strings.Contains(logs.String(), "open_file_limit="+max) {
		t.Errorf("no warning about the open-file limit:\n%s", logs.String())
	}
}
