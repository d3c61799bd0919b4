package events

import (
	"errors"

	"github.com/go-json-experiment/json"
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
func CheckJSON(b []byte) error { return checkJSON(b, nil) }

// checkJSON is CheckJSON that also hands each member of the top-level object
// to onMember (when not nil), in document order, its value sharing b's
// bytes: Parse reads the claims in the same pass that checks the payload.
func checkJSON(b []byte, onMember func(name string, v jsontext.Value)) error {
	// json.Unmarshal reuses pooled decoders and refuses anything after the
	// value but white space; the walker below judges the value itself.
	c := checker{raw: b, onMember: onMember}
	err := json.Unmarshal(b, &c)
	switch {
	case c.err != nil:
		return c.err
	case err != nil && c.done:
		return malformed("data after the JSON object")
	case err != nil:
		return errNotJSON()
	}
	return nil
}

// checker walks one JSON object token by token, enforcing maxDepth; the
// decoder refuses syntax errors, invalid UTF-8 and duplicate names.
type checker struct {
	raw      []byte
	onMember func(name string, v jsontext.Value)
	err      error // the fault found, described for the transmitter
	done     bool  // the whole object was read
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (c *checker) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	tok, err := d.ReadToken()
	if err != nil {
		c.err = errNotJSON()
		return c.err
	}
	if tok.Kind() != '{' {
		c.err = malformed("not a JSON object")
		return c.err
	}
	top := d.StackDepth() // the depth of the object's members
	var name string       // the top-level member being read
	var nameEnd int       // where its name ends in c.raw
	inMember := false
	for d.StackDepth() >= top {
		atTop := d.StackDepth() == top
		tok, err := d.ReadToken()
		if err != nil {
			c.err = describeSyntax(err)
			return c.err
		}
		k := tok.Kind()
		if (k == '{' || k == '[') && d.StackDepth()-top+1 > maxDepth {
			c.err = malformed("JSON nested too deeply")
			return c.err
		}
		switch {
		case c.onMember == nil:
		case atTop && !inMember && k == '"':
			name, nameEnd, inMember = tok.String(), int(d.InputOffset()), true
		case inMember && d.StackDepth() == top:
			// The value ended: it starts after the name's ':' and
			// white space, and ends where the decoder stands.
			start := nameEnd + skipSeparator(c.raw[nameEnd:])
			c.onMember(name, jsontext.Value(c.raw[start:d.InputOffset()]))
			inMember = false
		}
	}
	c.done = true
	return nil
}

// skipSeparator returns the length of the white space and ':' that the
// decoder accepted between a member name and its value.
func skipSeparator(b []byte) int {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r' || b[i] == ':') {
		i++
	}
	return i
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
