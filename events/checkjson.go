package events

import (
	"encoding/json"
)

// maxDepth bounds the nesting of objects and arrays CheckJSON accepts. Real
// SETs nest a handful of levels (complex subject, aliases, claims).
const maxDepth = 64

// dupMapAfter is the number of members after which an object's names are
// checked for duplicates through a map instead of a linear search, so a
// hostile object with many members costs linear time.
const dupMapAfter = 16

// CheckJSON reports whether b is exactly one JSON object, with nothing but
// white space after it, no object holding the same member name twice at any
// depth (after unescaping, so "a" and "\u0061" collide), and no more than 64
// levels of nesting. The receiver applies it to the JWS protected header as
// well as to the payload: encoding/json would silently keep the last of two
// duplicate members, which lets two parsers disagree about one token. Errors
// match ErrMalformed; the first fault in document order decides the
// description.
func CheckJSON(b []byte) error {
	i := skipSpace(b, 0)
	if i == len(b) {
		return malformed("not valid JSON")
	}
	switch b[i] {
	case '{':
	case '[':
		return malformed("not a JSON object")
	default:
		// Another value, or not JSON at all: only the description differs.
		if end, ok := scanScalar(b, i); ok && end > i {
			return malformed("not a JSON object")
		}
		return malformed("not valid JSON")
	}
	var names [dupMapAfter][]byte
	c := checker{b: b, dups: true, maxDepth: maxDepth, names: names[:0]}
	end, err := c.object(i+1, 1)
	if err != nil {
		return err
	}
	if skipSpace(b, end) != len(b) {
		return malformed("data after the JSON object")
	}
	return nil
}

// checker walks JSON text byte by byte, validating it as encoding/json
// does. With dups set it also refuses duplicate member names.
type checker struct {
	b        []byte
	dups     bool
	maxDepth int
	names    [][]byte // member names of the objects being walked, innermost last
}

// errNotJSON is the description of every syntax error.
func errNotJSON() error { return malformed("not valid JSON") }

// value validates the value starting at c.b[i] (white space already
// skipped), which sits at nesting depth depth, and returns the index just
// past it.
func (c *checker) value(i, depth int) (int, error) {
	if i >= len(c.b) {
		return 0, errNotJSON()
	}
	switch c.b[i] {
	case '{':
		return c.object(i+1, depth+1)
	case '[':
		return c.array(i+1, depth+1)
	}
	end, ok := scanScalar(c.b, i)
	if !ok || end == i {
		return 0, errNotJSON()
	}
	return end, nil
}

// object validates the members of an object whose '{' ends at c.b[i-1].
func (c *checker) object(i, depth int) (int, error) {
	if depth > c.maxDepth {
		return 0, malformed("JSON nested too deeply")
	}
	b := c.b
	base := len(c.names)
	defer func() { c.names = c.names[:base] }()
	var seen map[string]struct{}
	i = skipSpace(b, i)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, errNotJSON()
		}
		end, plain, ok := scanString(b, i)
		if !ok {
			return 0, errNotJSON()
		}
		if c.dups {
			name := b[i+1 : end-1]
			if !plain {
				name = []byte(tokenText(b[i:end], false))
			}
			if seen == nil && len(c.names)-base >= dupMapAfter {
				seen = make(map[string]struct{}, 2*dupMapAfter)
				for _, n := range c.names[base:] {
					seen[string(n)] = struct{}{}
				}
			}
			var dup bool
			if seen != nil {
				_, dup = seen[string(name)]
				seen[string(name)] = struct{}{}
			} else {
				for _, n := range c.names[base:] {
					if string(n) == string(name) {
						dup = true
						break
					}
				}
				c.names = append(c.names, name)
			}
			if dup {
				return 0, malformed("duplicate member %s", quote(string(name)))
			}
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return 0, errNotJSON()
		}
		var err error
		if i, err = c.value(skipSpace(b, i+1), depth); err != nil {
			return 0, err
		}
		i = skipSpace(b, i)
		switch {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == '}':
			return i + 1, nil
		default:
			return 0, errNotJSON()
		}
	}
}

// array validates the elements of an array whose '[' ends at c.b[i-1].
func (c *checker) array(i, depth int) (int, error) {
	if depth > c.maxDepth {
		return 0, malformed("JSON nested too deeply")
	}
	b := c.b
	i = skipSpace(b, i)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = c.value(i, depth); err != nil {
			return 0, err
		}
		i = skipSpace(b, i)
		switch {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == ']':
			return i + 1, nil
		default:
			return 0, errNotJSON()
		}
	}
}

// member is one name/value pair of a JSON object, in document order.
type member struct {
	name  string
	value json.RawMessage
}

// orderedMembers returns the members of the JSON object raw in document
// order, each value without surrounding white space. raw must already have
// passed CheckJSON (as part of a payload), so names are unique.
func orderedMembers(raw json.RawMessage, where string) ([]member, error) {
	if !isKind(raw, '{') {
		return nil, malformed("%s is not an object", where)
	}
	var out []member
	err := eachMember(raw, func(name string, v json.RawMessage) {
		out = append(out, member{name: name, value: v})
	})
	if err != nil {
		return nil, malformed("%s is not valid JSON", where)
	}
	return out, nil
}
