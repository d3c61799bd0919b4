package receiver

import (
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// RFC 8935 error codes the receiver answers with.
const (
	// CodeInvalidRequest: not a compact JWS, malformed header or payload,
	// missing or mistyped claims, a typ other than secevent+jwt, a crit
	// header, an iat too far ahead, an oversized or empty body.
	CodeInvalidRequest = "invalid_request"
	// CodeInvalidKey: an algorithm outside the allow-list (none, HMAC, ...),
	// no kid, a kid the transmitter's key set lacks, a signature that does
	// not verify.
	CodeInvalidKey = "invalid_key"
	// CodeInvalidIssuer: an iss no configured transmitter uses.
	CodeInvalidIssuer = "invalid_issuer"
	// CodeInvalidAudience: no aud, or none of the transmitter's audiences.
	CodeInvalidAudience = "invalid_audience"
)

// rejection is a token the receiver refuses: a 400 with an RFC 8935 code.
// desc is shown to the transmitter, so it is short, never quotes more than
// maxEcho characters of input and names no internals; cause is for logs.
type rejection struct {
	code   string
	desc   string
	cause  error
	signed bool // the token's signature verified: a trusted transmitter sent it
}

func reject(code, desc string) *rejection { return &rejection{code: code, desc: desc} }

// Error returns the code and description.
func (e *rejection) Error() string {
	if e.cause != nil {
		return "receiver: " + e.code + ": " + e.desc + ": " + e.cause.Error()
	}
	return "receiver: " + e.code + ": " + e.desc
}

// Unwrap returns the cause.
func (e *rejection) Unwrap() error { return e.cause }

// errUnavailable marks riscd's own transient faults: the transmitter must
// retry (503), not give up.
var errUnavailable = errors.New("receiver: temporarily unavailable")

// errNotDiscovered: a SET whose iss matches no transmitter arrived while
// some transmitter's issuer is still unknown.
var errNotDiscovered = errors.New("receiver: transmitters not discovered yet")

// transient reports whether err is one of riscd's own transient faults.
func transient(err error) bool {
	return errors.Is(err, errUnavailable) || errors.Is(err, errKeysUnavailable) || errors.Is(err, errNotDiscovered)
}

// maxEcho bounds how much of any input string reaches a description or a
// log line.
const maxEcho = 64

// clip cuts s to at most maxEcho bytes on a rune boundary, marking the cut.
func clip(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	cut := maxEcho
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// quoteJSON returns s as a JSON string.
func quoteJSON(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}
