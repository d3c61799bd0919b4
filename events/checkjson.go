package events

import (
	"errors"
	"slices"
	"sync"

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
func CheckJSON(b []byte) error {
	_, err := checkJSON(b, false)
	return err
}

// checkJSON is CheckJSON that, with record set, also returns the top-level
// object with every nested object and array recorded in its index, their
// values sharing b's bytes: Parse reads the payload in the pass that checks
// it.
func checkJSON(b []byte, record bool) (object, error) {
	c := checker{}
	if record {
		c.ix = &index{base: b}
	}
	// json.Unmarshal reuses pooled decoders and refuses anything after the
	// value but white space; the walker below judges the value itself.
	err := json.Unmarshal(b, &c)
	switch {
	case c.err != nil:
		return object{}, c.err
	case err != nil && c.done:
		return object{}, malformed("data after the JSON object")
	case err != nil:
		return object{}, errNotJSON()
	}
	return object{c.top, c.ix}, nil
}

// checker walks one JSON object token by token, enforcing maxDepth; the
// decoder refuses syntax errors, invalid UTF-8 and duplicate names.
type checker struct {
	ix   *index   // nil, or where to record objects and arrays
	top  []member // the members of the object, when recording
	err  error    // the fault found, described for the transmitter
	done bool     // the whole object was read
}

// frame is an object or array being recorded.
type frame struct {
	start int // offset of its '{' or '['
	kind  jsontext.Kind
	mark  int    // where its members or items start in the memberStack
	name  string // an object's member whose value comes next
	named bool
}

// memberStack keeps the members and items of the frames being read on two
// stacks: a frame's own sit on top of its parent's until it closes, when
// they move to one slice of their exact size.
type memberStack struct {
	members []member
	items   []jsontext.Value
}

// memberStacks keeps memberStacks between payloads, so that their stacks
// grow once.
var memberStacks = sync.Pool{New: func() any { return new(memberStack) }}

// release empties r, so that it holds on to no payload, and pools it.
func (r *memberStack) release() {
	clear(r.members[:cap(r.members)])
	clear(r.items[:cap(r.items)])
	r.members, r.items = r.members[:0], r.items[:0]
	memberStacks.Put(r)
}

// add appends v, the next value, to f.
func (r *memberStack) add(f *frame, v jsontext.Value) {
	if f.kind == '[' {
		r.items = append(r.items, v)
		return
	}
	r.members = append(r.members, member{f.name, v})
	f.named = false
}

// close records f, which just ended, in ix and returns its members.
func (r *memberStack) close(ix *index, f *frame) []member {
	if f.kind == '[' {
		items := slices.Clone(r.items[f.mark:])
		r.items = r.items[:f.mark]
		if ix.arrays == nil {
			ix.arrays = make(map[int][]jsontext.Value)
		}
		ix.arrays[f.start] = items
		return nil
	}
	members := slices.Clone(r.members[f.mark:])
	r.members = r.members[:f.mark]
	if ix.objects == nil {
		ix.objects = make(map[int][]member)
	}
	ix.objects[f.start] = members
	return members
}

// mark returns where a frame of kind k opened now starts on r's stacks.
func (r *memberStack) mark(k jsontext.Kind) int {
	if k == '[' {
		return len(r.items)
	}
	return len(r.members)
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
	var frames [8]frame   // most payloads nest less deeply
	stack := frames[:0]
	rec := memberStacks.Get().(*memberStack)
	defer rec.release()
	if c.ix != nil {
		stack = append(stack, frame{start: int(d.InputOffset()) - 1, kind: '{'})
	}
	for d.StackDepth() >= top {
		prevEnd := int(d.InputOffset())
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
		if c.ix == nil {
			continue
		}
		f := &stack[len(stack)-1]
		end := int(d.InputOffset())
		switch {
		case f.kind == '{' && !f.named && k == '"':
			f.name, f.named = tok.String(), true
		case k == '{' || k == '[':
			stack = append(stack, frame{start: end - 1, kind: k, mark: rec.mark(k)})
		case k == '}' || k == ']':
			stack = stack[:len(stack)-1]
			members := rec.close(c.ix, f)
			if len(stack) == 0 {
				c.top = members
				break
			}
			rec.add(&stack[len(stack)-1], jsontext.Value(c.ix.base[f.start:end]))
		default:
			// A scalar starts after the white space, ':' or ',' that
			// the decoder accepted since the previous token.
			rec.add(f, jsontext.Value(c.ix.base[prevEnd+skipSeparator(c.ix.base[prevEnd:end]):end]))
		}
	}
	c.done = true
	return nil
}

// skipSeparator returns the length of the white space, ':' and ',' that
// the decoder accepted between two tokens.
func skipSeparator(b []byte) int {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r' || b[i] == ':' || b[i] == ',') {
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
