package main

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd/config"
)

// allowedHosts is the set of names the internal listener answers to: the
// host of internal.listen, localhost and internal.allowed_hosts. IP
// literals are always answered: DNS rebinding needs a name of the
// attacker's that resolves to riscd, and a browser sends that name in Host
// (RFC 9110 §7.2), so answering only known names shuts it out.
func allowedHosts(c *config.Config) map[string]bool {
	set := map[string]bool{"localhost": true}
	if h, _, err := net.SplitHostPort(c.Internal.Listen); err == nil && h != "" {
		set[strings.ToLower(h)] = true
	}
	for _, h := range c.Internal.AllowedHosts {
		set[strings.ToLower(strings.Trim(h, "[]"))] = true
	}
	return set
}

// hostAllowed reports whether host (a Host header: name or IP, with or
// without port) is in set or an IP literal. An HTTP/1.0 request may send
// none; a browser always does, so none is allowed.
func hostAllowed(set map[string]bool, host string) bool {
	if host == "" {
		return true
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return set[host]
}

// checkHost answers 421 Misdirected Request (RFC 9110 §15.5.20) to a
// request whose Host the internal listener does not answer to.
func checkHost(set map[string]bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !hostAllowed(set, c.Request().Host) {
				return echo.NewHTTPError(http.StatusMisdirectedRequest,
					"this listener does not answer to that host name; add it to internal.allowed_hosts")
			}
			return next(c)
		}
	}
}
