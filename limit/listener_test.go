package limit

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"
)

// serveLimited serves a 200 on a loopback listener with cfg's bounds.
func serveLimited(t *testing.T, cfg ListenerConfig) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(Listener(ln, cfg))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// dialFrom opens a keep-alive connection from the loopback address src and
// makes one request on it.
func dialFrom(t *testing.T, src, addr string) (net.Conn, error) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return c, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return c, err
	}
	resp.Body.Close()
	return c, nil
}

func TestListenerPerClient(t *testing.T) {
	refused := make(chan struct{}, 10)
	addr := serveLimited(t, ListenerConfig{Total: 100, PerClient: 3, Refused: func() { refused <- struct{}{} },
		Exempt: []netip.Prefix{netip.MustParsePrefix("127.0.0.9/32")}})
	var held []net.Conn
	for range 3 {
		c, err := dialFrom(t, "127.0.0.1", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	// The fourth connection of 127.0.0.1 is closed unanswered.
	if _, err := dialFrom(t, "127.0.0.1", addr); err == nil {
		t.Fatal("a fourth connection of one client was answered")
	} else if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !isReset(err) {
		t.Fatalf("fourth connection: %v, want it closed", err)
	}
	<-refused
	// Another address, and an exempt one, are served.
	if _, err := dialFrom(t, "127.0.0.2", addr); err != nil {
		t.Fatalf("another client: %v", err)
	}
	for range 5 {
		if _, err := dialFrom(t, "127.0.0.9", addr); err != nil {
			t.Fatalf("exempt client: %v", err)
		}
	}
	// A closed connection gives its place back.
	held[0].Close()
	for {
		_, err := dialFrom(t, "127.0.0.1", addr)
		if err == nil {
			break
		}
		<-refused // the server had not yet seen the close; it will
	}
}

// Past Total, a new connection waits for one to close, then is served.
func TestListenerTotal(t *testing.T) {
	addr := serveLimited(t, ListenerConfig{Total: 2})
	a, err := dialFrom(t, "127.0.0.1", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dialFrom(t, "127.0.0.2", addr); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := dialFrom(t, "127.0.0.3", addr); done <- err }()
	a.Close()
	if err := <-done; err != nil {
		t.Fatalf("third connection after one closed: %v", err)
	}
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe)
}
