package events

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// jsonMaxNesting is encoding/json's own nesting limit, which the walkers
// below keep when they stand in for json.Unmarshal.
const jsonMaxNesting = 10000

// The functions in this file read JSON text byte by byte, with the grammar
// and the string decoding of encoding/json but without reflection, so that
// Parse walks a payload a few times over instead of decoding it through
// json.Decoder tokens and maps. Each one is tested against the encoding/json
// call it replaces.

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString validates the string token starting at b[i] (a quote) and
// returns the index just past it; plain reports that it holds no escape
// and only ASCII, so its bytes between the quotes are its value.
func scanString(b []byte, i int) (end int, plain, ok bool) {
	plain = true
	for j := i + 1; j < len(b); j++ {
		c := b[j]
		if ' ' <= c && c < utf8.RuneSelf && c != '"' && c != '\\' {
			continue // the common case first
		}
		switch {
		case c == '"':
			return j + 1, plain, true
		case c == '\\':
			plain = false
			j++
			if j >= len(b) {
				return 0, false, false
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(b) || !isHex(b[j+1]) || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) {
					return 0, false, false
				}
				j += 4
			default:
				return 0, false, false
			}
		case c < 0x20:
			return 0, false, false
		case c >= utf8.RuneSelf:
			plain = false
		}
	}
	return 0, false, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanNumber validates the number starting at b[i] and returns the index
// just past it. Like encoding/json's scanner it stops at the first byte
// that cannot continue the number ("01" is the number 0 followed by "1").
func scanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return 0, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return 0, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, true
}

// scanScalar validates the string, number or literal starting at b[i] and
// returns the index just past it. Anything else is not ok.
func scanScalar(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; {
	case c == '"':
		end, _, ok := scanString(b, i)
		return end, ok
	case c == '-' || isDigit(c):
		return scanNumber(b, i)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	}
	return 0, false
}

func scanLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

// eachMember calls fn with every member of the JSON object raw, in document
// order: its name decoded as encoding/json decodes strings, its value
// without surrounding white space. It validates raw as json.Unmarshal does
// (white space may surround the object, nothing else) and returns an error
// for anything else, possibly after some calls to fn.
func eachMember(raw []byte, fn func(name string, value json.RawMessage)) error {
	c := checker{b: raw, maxDepth: jsonMaxNesting}
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return errNotJSON()
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return trailing(raw, i+1)
	}
	for {
		if i >= len(raw) || raw[i] != '"' {
			return errNotJSON()
		}
		end, plain, ok := scanString(raw, i)
		if !ok {
			return errNotJSON()
		}
		name := tokenText(raw[i:end], plain)
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return errNotJSON()
		}
		start := skipSpace(raw, i+1)
		vEnd, err := c.value(start, 1)
		if err != nil {
			return err
		}
		fn(name, raw[start:vEnd])
		i = skipSpace(raw, vEnd)
		switch {
		case i < len(raw) && raw[i] == ',':
			i = skipSpace(raw, i+1)
		case i < len(raw) && raw[i] == '}':
			return trailing(raw, i+1)
		default:
			return errNotJSON()
		}
	}
}

// eachElement calls fn with every element of the JSON array raw, in order,
// without surrounding white space, validating raw as json.Unmarshal does.
func eachElement(raw []byte, fn func(value json.RawMessage)) error {
	c := checker{b: raw, maxDepth: jsonMaxNesting}
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return errNotJSON()
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return trailing(raw, i+1)
	}
	for {
		end, err := c.value(i, 1)
		if err != nil {
			return err
		}
		fn(raw[i:end])
		i = skipSpace(raw, end)
		switch {
		case i < len(raw) && raw[i] == ',':
			i = skipSpace(raw, i+1)
		case i < len(raw) && raw[i] == ']':
			return trailing(raw, i+1)
		default:
			return errNotJSON()
		}
	}
}

// trailing accepts only white space from b[i] on.
func trailing(b []byte, i int) error {
	if skipSpace(b, i) != len(b) {
		return errNotJSON()
	}
	return nil
}

// tokenText decodes the string token tok, which scanString accepted, as
// encoding/json does: its bytes between the quotes when it holds no escape
// and is valid UTF-8, else through json.Unmarshal (which turns invalid UTF-8
// and lone surrogates into U+FFFD).
func tokenText(tok []byte, plain bool) string {
	inner := tok[1 : len(tok)-1]
	if plain || (bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner)) {
		return string(inner)
	}
	var s string
	_ = json.Unmarshal(tok, &s) // cannot fail on a valid string token
	return s
}

// decodeString decodes v, which must be exactly one JSON string token, as
// json.Unmarshal into a string does.
func decodeString(v []byte) (string, bool) {
	if len(v) >= 2 && v[0] == '"' {
		if end, plain, ok := scanString(v, 0); ok && end == len(v) {
			return tokenText(v, plain), true
		}
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// decodeNumber decodes v, which must be exactly one JSON number, as
// json.Unmarshal into a json.Number does.
func decodeNumber(v []byte) (json.Number, bool) {
	if len(v) > 0 && (v[0] == '-' || isDigit(v[0])) {
		if end, ok := scanNumber(v, 0); ok && end == len(v) {
			return json.Number(v), true
		}
	}
	var n json.Number
	if json.Unmarshal(v, &n) != nil {
		return "", false
	}
	return n, true
}
