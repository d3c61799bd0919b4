package limit

import (
	"net"
	"net/netip"
	"sync"

	"golang.org/x/net/netutil"
)

// ListenerConfig bounds the connections of a listener.
type ListenerConfig struct {
	// Total bounds the open connections; past it Accept waits for one to
	// close (netutil.LimitListener), so the excess waits in the kernel's
	// backlog and holds no file of riscd's. 0: no bound.
	Total int
	// PerClient bounds the open connections of one client address (an
	// IPv6 client's /64, see Key); a connection past it is closed at once,
	// unanswered. 0: no bound.
	PerClient int
	// Exempt addresses (trusted proxies, which carry many clients'
	// connections) count only in Total.
	Exempt []netip.Prefix
	// Refused, if set, is called for each connection closed for PerClient.
	Refused func()
}

// Listener wraps ln with the bounds of cfg.
func Listener(ln net.Listener, cfg ListenerConfig) net.Listener {
	if cfg.Total > 0 {
		ln = netutil.LimitListener(ln, cfg.Total)
	}
	if cfg.PerClient <= 0 {
		return ln
	}
	return &perClientListener{Listener: ln, cfg: cfg, open: map[netip.Addr]int{}}
}

type perClientListener struct {
	net.Listener
	cfg  ListenerConfig
	mu   sync.Mutex
	open map[netip.Addr]int
}

func (l *perClientListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
		if err != nil {
			return c, nil // not an IP connection: nothing to key on
		}
		if Trusted(l.cfg.Exempt, ap.Addr()) {
			return c, nil
		}
		addr := Key(ap.Addr())
		l.mu.Lock()
		if l.open[addr] >= l.cfg.PerClient {
			l.mu.Unlock()
			c.Close()
			if l.cfg.Refused != nil {
				l.cfg.Refused()
			}
			continue
		}
		l.open[addr]++
		l.mu.Unlock()
		return &clientConn{Conn: c, release: func() { l.release(addr) }}, nil
	}
}

func (l *perClientListener) release(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[addr]--; l.open[addr] <= 0 {
		delete(l.open, addr)
	}
}

// clientConn gives its client's place back once, on the first Close.
type clientConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *clientConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
