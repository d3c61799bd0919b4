package events

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// ErrMalformed is matched (with errors.Is) by every error Parse and CheckJSON
// return for input that is not a well-formed SET payload: the receiver maps it
// to the RFC 8935 error code invalid_request. Description extracts the short
// text that may be shown to the transmitter.
var ErrMalformed = errors.New("events: malformed")

// malformedError carries a description safe to show the transmitter: it names
// members and quotes at most maxEcho characters of any input string, and never
// quotes a subject identifier, token identifier or other member value.
type malformedError struct{ desc string }

// Error returns "events: malformed: " and the description.
func (e *malformedError) Error() string { return "events: malformed: " + e.desc }

// Is makes errors.Is(err, ErrMalformed) hold.
func (e *malformedError) Is(target error) bool { return target == ErrMalformed }

// malformed builds an ErrMalformed error from a format and arguments. Input
// strings must be passed through quote first.
func malformed(format string, args ...any) error {
	return &malformedError{desc: fmt.Sprintf(format, args...)}
}

// Description returns the transmitter-safe description of a malformed-input
// error (for the "description" member of an RFC 8935 error answer), even when
// err wraps it. It returns "" when err does not match ErrMalformed.
func Description(err error) string {
	var m *malformedError
	if errors.As(err, &m) {
		return m.desc
	}
	return ""
}

// maxEcho bounds how much of any input string an error message repeats.
const maxEcho = 64

// quote returns s cut to at most maxEcho bytes on a rune boundary (marked with
// "..." when cut) and Go-quoted, so control characters are escaped.
func quote(s string) string {
	if len(s) > maxEcho {
		cut := maxEcho
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return strconv.Quote(s)
}
