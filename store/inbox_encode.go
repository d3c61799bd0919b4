package store

import (
	"encoding/base64"
	"errors"
	"strconv"
	"unicode/utf8"
)

// The inbox record is the hottest record riscd writes: one per received SET,
// inside the receiver's group commit. It is encoded here by hand, byte for
// byte as json.Marshal encodes inboxRecord (the tests compare the two), so
// the format on disk is unchanged and decodeInbox still reads it with
// encoding/json.

// errNotJSON: claims that are not one JSON value.
var errNotJSON = errors.New("not valid JSON")

// jsonMaxNesting is encoding/json's nesting limit, kept by appendCompactJSON.
const jsonMaxNesting = 10000

// appendInboxRecord appends the JSON encoding of r, as json.Marshal(r) would
// give it. r.Claims must be compact JSON (see appendCompactJSON); it is
// HTML-escaped here as json.Marshal does.
func appendInboxRecord(dst []byte, r *inboxRecord) []byte {
	dst = append(dst, `{"v":`...)
	dst = strconv.AppendInt(dst, int64(r.V), 10)
	if r.Transmitter != "" {
		dst = appendJSONString(append(dst, `,"tx":`...), r.Transmitter)
	}
	dst = appendJSONString(append(dst, `,"iss":`...), r.Iss)
	dst = appendJSONString(append(dst, `,"jti":`...), r.JTI)
	if r.Subject != "" {
		dst = appendJSONString(append(dst, `,"subj":`...), r.Subject)
	}
	if len(r.Types) > 0 {
		dst = append(dst, `,"types":[`...)
		for i, t := range r.Types {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, t)
		}
		dst = append(dst, ']')
	}
	if r.Raw != "" {
		dst = appendJSONString(append(dst, `,"raw":`...), r.Raw)
	}
	if len(r.Claims) > 0 {
		dst = appendHTMLEscaped(append(dst, `,"claims":`...), r.Claims)
	}
	if len(r.SealedRaw) > 0 {
		dst = append(base64.StdEncoding.AppendEncode(append(dst, `,"sraw":"`...), r.SealedRaw), '"')
	}
	if len(r.SealedClaims) > 0 {
		dst = append(base64.StdEncoding.AppendEncode(append(dst, `,"sclaims":"`...), r.SealedClaims), '"')
	}
	dst = appendStamp(dst, `,"ra":`, r.ReceivedAt)
	dst = appendJSONString(append(dst, `,"st":`...), r.Status)
	if r.Attempts != 0 {
		dst = strconv.AppendInt(append(dst, `,"n":`...), int64(r.Attempts), 10)
	}
	if r.LastError != "" {
		dst = appendJSONString(append(dst, `,"err":`...), r.LastError)
	}
	dst = appendStamp(dst, `,"next":`, r.NextAttempt)
	dst = appendStamp(dst, `,"done":`, r.DoneAt)
	return append(dst, '}')
}

// appendStamp appends the member name and s, unless s is zero (omitzero).
func appendStamp(dst []byte, name string, s stamp) []byte {
	if s.IsZero() {
		return dst
	}
	b, _ := s.MarshalJSON() // a stamp always encodes
	return append(append(dst, name...), b...)
}

const hexDigits = "0123456789abcdef"

// jsonSafe reports whether json.Marshal copies the ASCII byte b into a
// string as it is (with HTML escaping: not <, > or &).
func jsonSafe(b byte) bool {
	return b >= ' ' && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
}

// appendJSONString appends s as a JSON string exactly as json.Marshal does:
// HTML characters, U+2028 and U+2029 escaped, invalid UTF-8 as U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if jsonSafe(b) {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendHTMLEscaped appends the compact JSON src with <, >, &, U+2028 and
// U+2029 escaped, as json.Marshal writes a json.RawMessage.
func appendHTMLEscaped(dst, src []byte) []byte {
	start := 0
	for i, c := range src {
		if c == '<' || c == '>' || c == '&' {
			dst = append(dst, src[start:i]...)
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			start = i + 1
		}
		if c == 0xE2 && i+2 < len(src) && src[i+1] == 0x80 && src[i+2]&^1 == 0xA8 {
			dst = append(dst, src[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[src[i+2]&0xF])
			start = i + 3
		}
	}
	return append(dst, src[start:]...)
}

// appendCompactJSON appends src without its insignificant white space, as
// json.Compact does, after checking, as json.Compact does, that src is one
// JSON value with at most white space around it. On error dst is returned
// unchanged with errNotJSON. Compact input (the usual case: a JWS payload)
// is checked in one pass and copied whole.
func appendCompactJSON(dst, src []byte) ([]byte, error) {
	c := compactor{src: src}
	end, ok := c.value(c.skip(0), 0)
	if !ok || c.skip(end) != len(src) {
		return dst, errNotJSON
	}
	if !c.spaced {
		return append(dst, src...), nil
	}
	c = compactor{src: src, dst: dst, copy: true}
	end, _ = c.value(c.skip(0), 0)
	return c.dst, nil
}

// compactor validates JSON text and, with copy set, copies its tokens to dst.
type compactor struct {
	src, dst []byte
	copy     bool // append the tokens to dst
	spaced   bool // white space was skipped
}

// skip returns the index of the first byte at or after i that is not white
// space, and notes whether there was any.
func (c *compactor) skip(i int) int {
	j := skipWS(c.src, i)
	if j != i {
		c.spaced = true
	}
	return j
}

// emit appends src[i:j] to dst when copying.
func (c *compactor) emit(i, j int) {
	if c.copy {
		c.dst = append(c.dst, c.src[i:j]...)
	}
}

// value checks (and copies) the value starting at src[i] (white space
// skipped), which sits inside depth containers, and returns the index just
// past it.
func (c *compactor) value(i, depth int) (int, bool) {
	src := c.src
	if i >= len(src) {
		return 0, false
	}
	var end int
	var ok bool
	switch src[i] {
	case '{', '[':
		return c.container(i, depth+1)
	case '"':
		end, ok = scanJSONString(src, i)
	case 't':
		end, ok = scanLiteral(src, i, "true")
	case 'f':
		end, ok = scanLiteral(src, i, "false")
	case 'n':
		end, ok = scanLiteral(src, i, "null")
	default:
		end, ok = scanJSONNumber(src, i)
	}
	if ok {
		c.emit(i, end)
	}
	return end, ok
}

// container checks (and copies) the object or array opening at src[i].
func (c *compactor) container(i, depth int) (int, bool) {
	src := c.src
	if depth > jsonMaxNesting {
		return 0, false
	}
	open := src[i]
	closing := byte(']')
	if open == '{' {
		closing = '}'
	}
	c.emit(i, i+1)
	i = c.skip(i + 1)
	if i < len(src) && src[i] == closing {
		c.emit(i, i+1)
		return i + 1, true
	}
	for {
		if open == '{' {
			if i >= len(src) || src[i] != '"' {
				return 0, false
			}
			end, ok := scanJSONString(src, i)
			if !ok {
				return 0, false
			}
			c.emit(i, end)
			i = c.skip(end)
			if i >= len(src) || src[i] != ':' {
				return 0, false
			}
			c.emit(i, i+1)
			i = c.skip(i + 1)
		}
		end, ok := c.value(i, depth)
		if !ok {
			return 0, false
		}
		i = c.skip(end)
		switch {
		case i < len(src) && src[i] == ',':
			c.emit(i, i+1)
			i = c.skip(i + 1)
		case i < len(src) && src[i] == closing:
			c.emit(i, i+1)
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// scanLiteral returns the index just past lit at b[i], and whether it is
// there.
func scanLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanJSONString returns the index just past the string token starting at
// b[i] (a quote), and whether it is one: closed, without control
// characters, with valid escapes. Other bytes, even invalid UTF-8, are
// accepted as encoding/json accepts them.
func scanJSONString(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, true
		case c < 0x20:
			return j, false
		case c == '\\':
			j++
			if j >= len(b) {
				return j, false
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				for k := j + 1; k <= j+4; k++ {
					if k >= len(b) || !isHexDigit(b[k]) {
						return k, false
					}
				}
				j += 4
			default:
				return j, false
			}
		}
	}
	return len(b), false
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDecDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanJSONNumber returns the index just past the number starting at b[i],
// and whether it is one.
func scanJSONNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i++; i < len(b) && isDecDigit(b[i]); i++ {
		}
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDecDigit(b[i]) {
			return i, false
		}
		for i < len(b) && isDecDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDecDigit(b[i]) {
			return i, false
		}
		for i < len(b) && isDecDigit(b[i]) {
			i++
		}
	}
	return i, true
}
