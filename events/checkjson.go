package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// maxDepth bounds the nesting of objects and arrays CheckJSON accepts. Real
// SETs nest a handful of levels (complex subject, aliases, claims).
const maxDepth = 64

// CheckJSON reports whether b is exactly one JSON object, with nothing but
// white space after it, no object holding the same member name twice at any
// depth (after unescaping, so "a" and "\u0061" collide), and no more than 64
// levels of nesting. The receiver applies it to the JWS protected header as
// well as to the payload: encoding/json would silently keep the last of two
// duplicate members, which lets two parsers disagree about one token. Errors
// match ErrMalformed.
func CheckJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return malformed("not valid JSON")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return malformed("not a JSON object")
	}
	if err := checkValue(dec, '{', 1); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return malformed("data after the JSON object")
	}
	return nil
}

// checkValue walks the members of the object or the elements of the array
// whose opening delimiter open was just read, through the matching closing
// delimiter.
func checkValue(dec *json.Decoder, open json.Delim, depth int) error {
	if depth > maxDepth {
		return malformed("JSON nested too deeply")
	}
	var seen map[string]struct{}
	if open == '{' {
		seen = make(map[string]struct{})
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return malformed("not valid JSON")
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			return nil
		}
		if open == '{' {
			name, ok := tok.(string)
			if !ok {
				return malformed("not valid JSON")
			}
			if _, dup := seen[name]; dup {
				return malformed("duplicate member %s", quote(name))
			}
			seen[name] = struct{}{}
			if tok, err = dec.Token(); err != nil {
				return malformed("not valid JSON")
			}
		}
		if d, ok := tok.(json.Delim); ok {
			if err := checkValue(dec, d, depth+1); err != nil {
				return err
			}
		}
	}
}

// member is one name/value pair of a JSON object, in document order.
type member struct {
	name  string
	value json.RawMessage
}

// orderedMembers returns the members of the JSON object raw in document
// order. raw must already have passed CheckJSON (as part of a payload), so
// names are unique.
func orderedMembers(raw json.RawMessage, where string) ([]member, error) {
	if !isKind(raw, '{') {
		return nil, malformed("%s is not an object", where)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, malformed("%s is not valid JSON", where)
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed("%s is not valid JSON", where)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, malformed("%s is not valid JSON", where)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, malformed("%s is not valid JSON", where)
		}
		out = append(out, member{name: name, value: v})
	}
	return out, nil
}
