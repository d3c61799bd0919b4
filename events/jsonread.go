package events

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// The readers in this file take apart JSON that CheckJSON accepted, through
// github.com/go-json-experiment/json (the code that became Go's
// encoding/json/v2). Its defaults refuse duplicate member names and invalid
// UTF-8, so the readers see exactly the text CheckJSON judged.

// object is a decoded JSON object whose values are still raw, in document
// order. Members are looked up by exact name, never case-insensitively:
// "ISS" is not "iss". Parsing never yields two members of one name.
type object struct {
	members []member
	ix      *index // where the nested objects and arrays were recorded, or nil
}

// member is one name/value pair of a JSON object.
type member struct {
	name  string
	value jsontext.Value
}

// index holds every object and array of a payload checkJSON read, by the
// offset of its first byte, so that reading a nested value does not decode
// it again. A nil *index records nothing: values are then decoded anew.
type index struct {
	base    []byte
	objects map[int][]member
	arrays  map[int][]jsontext.Value
}

// offset returns where raw starts in ix.base, when raw is a slice of it.
func (ix *index) offset(raw []byte) (int, bool) {
	if ix == nil || len(raw) == 0 {
		return 0, false
	}
	// Slices of base end where base's capacity ends.
	off := cap(ix.base) - cap(raw)
	if off < 0 || off >= len(ix.base) || &ix.base[off] != &raw[0] {
		return 0, false
	}
	return off, true
}

// isKind reports whether raw, after white space, starts with the byte that
// opens a JSON value of that kind ('{', '[', '"').
func isKind(raw jsontext.Value, kind jsontext.Kind) bool { return raw.Kind() == kind }

// isNull reports whether raw is the JSON literal null.
func isNull(raw jsontext.Value) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// walker reads one JSON object or array through the library into members
// or items, each value sharing raw's bytes. It reads values ix did not
// record.
type walker struct {
	raw     []byte
	open    jsontext.Kind // '{' or '['
	members []member
	items   []jsontext.Value
}

var errWrongKind = errors.New("events: unexpected JSON kind")

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (w *walker) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	tok, err := d.ReadToken()
	if err != nil {
		return err
	}
	if tok.Kind() != w.open {
		return errWrongKind
	}
	for d.PeekKind() != w.open+2 { // '}' is '{'+2, ']' is '['+2
		var name string
		if w.open == '{' {
			tok, err := d.ReadToken()
			if err != nil {
				return err
			}
			name = tok.String()
		}
		v, err := d.ReadValue()
		if err != nil {
			return err
		}
		// The value as it sits in raw: InputOffset ends right after it.
		end := int(d.InputOffset())
		v = jsontext.Value(w.raw[end-len(v) : end])
		if w.open == '[' {
			w.items = append(w.items, v)
		} else {
			w.members = append(w.members, member{name, v})
		}
	}
	_, err = d.ReadToken()
	return err
}

// arrayItems returns the elements of the JSON array raw, sharing its bytes.
func (ix *index) arrayItems(raw jsontext.Value) ([]jsontext.Value, error) {
	if off, ok := ix.offset(raw); ok {
		if items, ok := ix.arrays[off]; ok {
			return items, nil
		}
	}
	w := walker{raw: raw, open: '['}
	err := json.Unmarshal(raw, &w)
	return w.items, err
}

// asObject decodes raw, which must be a JSON object; where names it in errors.
func (ix *index) asObject(raw jsontext.Value, where string) (object, error) {
	if !isKind(raw, '{') {
		return object{}, malformed("%s is not an object", where)
	}
	if off, ok := ix.offset(raw); ok {
		if members, ok := ix.objects[off]; ok {
			return object{members, ix}, nil
		}
	}
	w := walker{raw: raw, open: '{'}
	if err := json.Unmarshal(raw, &w); err != nil {
		return object{}, malformed("%s is not valid JSON", where)
	}
	return object{w.members, ix}, nil
}

// asObject decodes raw, a value of o, as ix.asObject does.
func (o object) asObject(raw jsontext.Value, where string) (object, error) {
	return o.ix.asObject(raw, where)
}

// has reports whether o has a member name, even a null one.
func (o object) has(name string) bool {
	for i := range o.members {
		if o.members[i].name == name {
			return true
		}
	}
	return false
}

// decodeString decodes v, which must be exactly one JSON string token
// holding valid UTF-8.
func decodeString(v jsontext.Value) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	if inner := v[1 : len(v)-1]; v[len(v)-1] == '"' && plainASCII(inner) {
		return string(inner), true
	}
	b, err := jsontext.AppendUnquote(nil, v)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// plainASCII reports whether b, the inside of a string token, needs no
// unescaping: printable ASCII without quote or backslash.
func plainASCII(b []byte) bool {
	for _, c := range b {
		if c < ' ' || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// value returns the member name unless it is absent or null: riscd treats an
// explicit null like an absent member.
func (o object) value(name string) (jsontext.Value, bool) {
	for i := range o.members {
		if m := &o.members[i]; m.name == name {
			if isNull(m.value) {
				return nil, false
			}
			return m.value, true
		}
	}
	return nil, false
}

// str returns the string member name; present is false when it is absent or
// null, and a non-string value is an error.
func (o object) str(where, name string) (s string, present bool, err error) {
	v, ok := o.value(name)
	if !ok {
		return "", false, nil
	}
	s, ok = decodeString(v)
	if !ok {
		return "", false, malformed("%s: %s is not a string", where, name)
	}
	return s, true, nil
}

// optionalStr returns the string member name, or "" when it is absent.
func (o object) optionalStr(where, name string) (string, error) {
	s, _, err := o.str(where, name)
	return s, err
}

// requiredStr returns the string member name, which must be present and
// non-empty.
func (o object) requiredStr(where, name string) (string, error) {
	s, ok, err := o.str(where, name)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", malformed("%s: %s is missing", where, name)
	}
	if s == "" {
		return "", malformed("%s: %s is empty", where, name)
	}
	return s, nil
}

// firstStr returns the first present member among names (alternative
// spellings of one member), which must be a non-empty string; name is the
// spelling used in the error when none is present.
func (o object) firstStr(where string, names ...string) (string, error) {
	for _, n := range names {
		if _, ok := o.value(n); ok {
			return o.requiredStr(where, n)
		}
	}
	return "", malformed("%s: %s is missing", where, names[0])
}

// number returns the numeric member name (integer, fraction or exponent, as
// RFC 8259 section 6 allows); present is false when it is absent or null.
func (o object) number(where, name string) (f float64, present bool, err error) {
	v, ok := o.value(name)
	if !ok {
		return 0, false, nil
	}
	if v.Kind() != '0' {
		return 0, false, malformed("%s: %s is not a number", where, name)
	}
	f, err = strconv.ParseFloat(string(v), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false, malformed("%s: %s is out of range", where, name)
	}
	return f, true, nil
}

// maxNumericDate is 9999-12-31T23:59:59Z: later times overflow the
// arithmetic callers do with them.
const maxNumericDate = 253402300799

// date returns the NumericDate member name (RFC 7519 section 2: seconds
// since the epoch, maybe fractional) in UTC, or the zero time when it is
// absent.
func (o object) date(where, name string) (time.Time, bool, error) {
	f, ok, err := o.number(where, name)
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	if f < 0 || f > maxNumericDate {
		return time.Time{}, false, malformed("%s: %s is out of range", where, name)
	}
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)).UTC(), true, nil
}

// strings returns a member that is either one string or an array of strings
// (the "aud" shape); present is false when it is absent or null.
func (o object) strings(where, name string) (out []string, present bool, err error) {
	v, ok := o.value(name)
	if !ok {
		return nil, false, nil
	}
	if isKind(v, '"') {
		s, ok := decodeString(v)
		if !ok {
			return nil, false, malformed("%s: %s is not a string", where, name)
		}
		return []string{s}, true, nil
	}
	if !isKind(v, '[') {
		return nil, false, malformed("%s: %s is neither a string nor an array of strings", where, name)
	}
	items, err := o.ix.arrayItems(v)
	if err != nil {
		return nil, false, malformed("%s: %s is not valid JSON", where, name)
	}
	out = make([]string, 0, len(items))
	for _, it := range items {
		s, ok := decodeString(it)
		if !ok {
			return nil, false, malformed("%s: %s holds a value that is not a string", where, name)
		}
		out = append(out, s)
	}
	return out, true, nil
}

// runeCount is utf8.RuneCountInString, named for the limits it enforces.
func runeCount(s string) int { return utf8.RuneCountInString(s) }
