package limit

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"

	"github.com/labstack/echo/v4"
)

// ParseProxies parses trusted proxy addresses: CIDR prefixes
// (10.0.0.0/8) or single addresses (10.0.0.7).
func ParseProxies(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR prefix", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// ClientIP returns the function that names a request's client address.
// Without trusted proxies it is the connection's address, and headers are
// ignored. With them, a connection from a trusted proxy counts against the
// nearest address of X-Forwarded-For that is not itself a trusted proxy
// (echo.ExtractIPFromXFFHeader): a client cannot choose its own address by
// sending the header, because the proxy appends the address it saw.
func ClientIP(trusted []netip.Prefix) func(*http.Request) string {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		opts = append(opts, echo.TrustIPRange(&net.IPNet{
			IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
		}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// Trusted reports whether addr is in one of the prefixes.
func Trusted(trusted []netip.Prefix, addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Key is the key a client address counts under: an IPv4 address itself,
// an IPv6 address its /64, since one IPv6 host usually holds a whole /64
// (RFC 4291 §2.5.4) and would otherwise count as countless clients.
func Key(addr netip.Addr) netip.Addr {
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.Addr()
	}
	return addr
}

// KeyOf is Key of a textual address, such as ClientIP returns; text that is
// not an address is its own key.
func KeyOf(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	return Key(a).String()
}
