// Package limit bounds what one client, and all clients together, may ask of
// riscd: connections per client address and in all on a listener
// (Listener), and requests per client over time in token buckets (Keyed,
// built on golang.org/x/time/rate) whose table is bounded by forgetting the
// least recently seen client first. ClientIP says which address a request
// counts against: the connection's, or the nearest untrusted one of
// X-Forwarded-For when the connection comes from a configured proxy.
package limit
