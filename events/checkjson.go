package events

import (
	"bytes"
	"errors"

	"github.com/go-json-experiment/json/jsontext"
)

// maxDepth bounds the nesting of objects and arrays CheckJSON accepts. Real
// SETs nest a handful of levels (complex subject, aliases, claims).
const maxDepth = 64

// CheckJSON reports whether b is exactly one JSON object (RFC 8259), with
// nothing but white space after it, no object holding the same member name
// twice at any depth (after unescaping, so "a" and "\u0061" collide), no
// invalid UTF-8 (RFC 8259 section 8.1) and no more than 64 levels of
// nesting. The receiver applies it to the JWS protected header as well as to
// the payload: a decoder that silently kept the last of two duplicate
// members, or replaced invalid bytes with U+FFFD, would let two parsers (or
// two different signed tokens) agree on one reading. Errors match
// ErrMalformed; the first fault in document order decides the description.
func CheckJSON(b []byte) error {
	d := jsontext.NewDecoder(bytes.NewBuffer(b))
	tok, err := d.ReadToken()
	if err != nil {
		return errNotJSON()
	}
	if tok.Kind() != '{' {
		return malformed("not a JSON object")
	}
	for d.StackDepth() > 0 {
		tok, err := d.ReadToken()
		if err != nil {
			return describeSyntax(err)
		}
		if k := tok.Kind(); (k == '{' || k == '[') && d.StackDepth() > maxDepth {
			return malformed("JSON nested too deeply")
		}
	}
	if len(bytes.TrimLeft(b[d.InputOffset():], " \t\r\n")) > 0 {
		return malformed("data after the JSON object")
	}
	return nil
}

// errNotJSON is the description of every syntax error but a duplicate name.
func errNotJSON() error { return malformed("not valid JSON") }

// describeSyntax turns a jsontext error into an ErrMalformed one, naming
// the member a duplicate-name error is about.
func describeSyntax(err error) error {
	var se *jsontext.SyntacticError
	if errors.As(err, &se) && errors.Is(se.Err, jsontext.ErrDuplicateName) {
		return malformed("duplicate member %s", quote(se.JSONPointer.LastToken()))
	}
	return errNotJSON()
}
