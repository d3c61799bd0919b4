package config

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/riscd/riscd/limit"
)

// validateLimits checks the listeners' bounds: public.* and the internal
// listener's max_connections, allowed_hosts and trusted_proxies.
func (c *Config) validateLimits(file string) Errors {
	var errs Errors
	bad := func(key, format string, args ...any) {
		errs = append(errs, Error{File: file, Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	p := c.Public
	if p.MaxConnections < 1 {
		bad("public.max_connections", "must be at least 1")
	}
	if p.MaxConnectionsPerClient < 1 || p.MaxConnectionsPerClient > max(p.MaxConnections, 1) {
		bad("public.max_connections_per_client", "must be between 1 and public.max_connections")
	}
	if d := time.Duration(p.IdleTimeout); d < time.Second || d > 10*time.Minute {
		bad("public.idle_timeout", "must be between 1s and 10m")
	}
	if d := time.Duration(p.ReadHeaderTimeout); d < time.Second || d > time.Minute {
		bad("public.read_header_timeout", "must be between 1s and 1m")
	}
	if p.ConsentPerMinute < 1 {
		bad("public.consent_per_minute", "must be at least 1")
	}
	if p.ConsentPerMinuteTotal < p.ConsentPerMinute {
		bad("public.consent_per_minute_total", "must be at least public.consent_per_minute")
	}
	if p.MaxPendingFlows < 1 {
		bad("public.max_pending_flows", "must be at least 1")
	}
	if _, err := limit.ParseProxies(p.TrustedProxies); err != nil {
		bad("public.trusted_proxies", "%v", err)
	}
	if c.Internal.MaxConnections < 1 {
		bad("internal.max_connections", "must be at least 1")
	}
	for i, h := range c.Internal.AllowedHosts {
		if h == "" || strings.ContainsAny(h, " \t\n/:@") && net.ParseIP(strings.Trim(h, "[]")) == nil {
			bad(fmt.Sprintf("internal.allowed_hosts[%d]", i), "%q must be a host name or IP address, without port or scheme", h)
		}
	}
	if _, err := limit.ParseProxies(c.Internal.TrustedProxies); err != nil {
		bad("internal.trusted_proxies", "%v", err)
	}
	return errs
}

// PublicProxies returns public.trusted_proxies parsed; c must be validated.
func (c *Config) PublicProxies() []netip.Prefix {
	p, _ := limit.ParseProxies(c.Public.TrustedProxies)
	return p
}

// InternalProxies returns internal.trusted_proxies parsed; c must be
// validated.
func (c *Config) InternalProxies() []netip.Prefix {
	p, _ := limit.ParseProxies(c.Internal.TrustedProxies)
	return p
}
