// Package httplog is the request log of both of riscd's listeners: every
// request gets an id and one log line. It is built on Echo's RequestID and
// RequestLogger middleware.
//
// The id is the caller's X-Request-Id when it is well-formed (1 to 64
// letters, digits, dots, underscores, hyphens), else a new random one; it
// is sent back in X-Request-Id either way, so a caller can quote it, and
// nothing a caller sends reaches the log unchecked.
//
// The line carries request_id, method, route (the route template, or
// "(no route)"), status, bytes, duration and remote (the connection's
// address), plus the logger's own attributes (component). Never the path
// as sent, the query (the consent callback carries the authorization code
// there), a header or a body. An error a handler returns is answered by
// Config.Answer; only one it calls unexpected is logged at error level,
// with its code and cause. Quiet routes (probes, scrapes) are logged at
// debug level when they succeed, everything else at info.
package httplog
