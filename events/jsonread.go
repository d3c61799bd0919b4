package events

import (
	"bytes"
	"encoding/json"
	"math"
	"time"
	"unicode/utf8"
)

// object is a decoded JSON object whose values are still raw. Members are
// looked up by exact name: encoding/json's case-insensitive struct matching
// would let "ISS" stand in for "iss".
type object map[string]json.RawMessage

// isKind reports whether raw, after white space, starts with the byte that
// opens a JSON value of that kind ('{', '[', '"').
func isKind(raw json.RawMessage, kind byte) bool {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	return len(raw) > 0 && raw[0] == kind
}

// arrayItems returns the elements of the JSON array raw, as json.Unmarshal
// into a []json.RawMessage does (but sharing raw's bytes).
func arrayItems(raw json.RawMessage) ([]json.RawMessage, error) {
	var items []json.RawMessage
	err := eachElement(raw, func(v json.RawMessage) { items = append(items, v) })
	return items, err
}

// isNull reports whether raw is the JSON literal null.
func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// asObject decodes raw, which must be a JSON object; where names it in errors.
func asObject(raw json.RawMessage, where string) (object, error) {
	if !isKind(raw, '{') {
		return nil, malformed("%s is not an object", where)
	}
	o := make(object)
	if err := eachMember(raw, func(name string, v json.RawMessage) { o[name] = v }); err != nil {
		return nil, malformed("%s is not valid JSON", where)
	}
	return o, nil
}

// value returns the member name unless it is absent or null: riscd treats an
// explicit null like an absent member.
func (o object) value(name string) (json.RawMessage, bool) {
	v, ok := o[name]
	if !ok || isNull(v) {
		return nil, false
	}
	return v, true
}

// str returns the string member name; present is false when it is absent or
// null, and a non-string value is an error.
func (o object) str(where, name string) (s string, present bool, err error) {
	v, ok := o.value(name)
	if !ok {
		return "", false, nil
	}
	if !isKind(v, '"') {
		return "", false, malformed("%s: %s is not a string", where, name)
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

// number returns the numeric member name (integer or fraction); present is
// false when it is absent or null.
func (o object) number(where, name string) (f float64, present bool, err error) {
	v, ok := o.value(name)
	if !ok {
		return 0, false, nil
	}
	if isKind(v, '"') {
		return 0, false, malformed("%s: %s is not a number", where, name)
	}
	n, ok := decodeNumber(v)
	if !ok {
		return 0, false, malformed("%s: %s is not a number", where, name)
	}
	f, err = n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false, malformed("%s: %s is out of range", where, name)
	}
	return f, true, nil
}

// maxNumericDate is 9999-12-31T23:59:59Z: later times overflow the
// arithmetic callers do with them.
const maxNumericDate = 253402300799

// date returns the NumericDate member name (seconds since the epoch, maybe
// fractional) in UTC, or the zero time when it is absent.
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
	items, err := arrayItems(v)
	if err != nil {
		return nil, false, malformed("%s: %s is not valid JSON", where, name)
	}
	out = make([]string, 0, len(items))
	for _, it := range items {
		s, ok := decodeString(it)
		if !isKind(it, '"') || !ok {
			return nil, false, malformed("%s: %s holds a value that is not a string", where, name)
		}
		out = append(out, s)
	}
	return out, true, nil
}

// runeCount is utf8.RuneCountInString, named for the limits it enforces.
func runeCount(s string) int { return utf8.RuneCountInString(s) }
