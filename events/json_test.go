package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// RFC 8259 section 8.1 requires UTF-8. A decoder that replaced invalid bytes
// (or an escaped lone surrogate) with U+FFFD would read two different signed
// payloads as one jti, so one could pass for the other in replay checks.
func TestParseRefusesInvalidUTF8(t *testing.T) {
	ev := `{"` + TypeSessionsRevoked + `": {"subject": ` + issSubJSON + `}}`
	set := func(jti string) []byte {
		return []byte(`{"iss": "https://accounts.google.com/", "iat": 1508184845, "jti": "` + jti + `", "events": ` + ev + `}`)
	}
	// The honest token whose jti the others would collapse onto.
	if got := mustParse(t, set(`a\ufffd`), FormatGoogle).JTI; got != "a\uFFFD" {
		t.Fatalf("jti = %q, want %q", got, "a\uFFFD")
	}
	for name, payload := range map[string][]byte{
		"jti byte ff":              set("a\xff"),
		"jti byte fe":              set("a\xfe"),
		"jti truncated sequence":   set("a\xc3"),
		"jti escaped surrogate":    set(`a\udc00`),
		"jti unpaired high escape": set(`a\ud800`),
		"member name":              []byte("{\"iss\": \"i\", \"iat\": 1, \"jti\": \"j\", \"x\xff\": 1, \"events\": " + ev + "}"),
		"deep in an event":         []byte(`{"iss": "i", "iat": 1, "jti": "j", "events": {"urn:x": {"a": ["` + "\xff" + `"]}}}`),
	} {
		t.Run(name, func(t *testing.T) {
			for _, f := range []Format{FormatGoogle, FormatSSF} {
				if d := mustMalformed(t, payload, f); d != "not valid JSON" {
					t.Errorf("%v: description = %q, want %q", f, d, "not valid JSON")
				}
			}
			if err := CheckJSON(payload); !errors.Is(err, ErrMalformed) {
				t.Errorf("CheckJSON = %v, want ErrMalformed", err)
			}
		})
	}
}

// NumericDate is a JSON number of seconds (RFC 7519 section 2), which RFC
// 8259 section 6 lets carry a fraction and an exponent.
func TestParseNumericDates(t *testing.T) {
	ev := `{"` + TypeSessionsRevoked + `": {"subject": ` + issSubJSON + `}}`
	set := func(iat string) []byte {
		return []byte(`{"iss": "i", "iat": ` + iat + `, "jti": "j", "events": ` + ev + `}`)
	}
	for iat, want := range map[string]time.Time{
		"1508184845":       time.Unix(1508184845, 0),
		"1.5e9":            time.Unix(1500000000, 0),
		"15E8":             time.Unix(1500000000, 0),
		"1508184845.5":     time.Unix(1508184845, 500_000_000),
		"0":                time.Unix(0, 0),
		"-0":               time.Unix(0, 0),
		"253402300799":     time.Unix(maxNumericDate, 0),
		"2.53402300799e11": time.Unix(maxNumericDate, 0),
	} {
		if got := mustParse(t, set(iat), FormatGoogle).IAT; !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("iat %s: got %v, want %v in UTC", iat, got, want)
		}
	}
	for iat, desc := range map[string]string{
		"-1":           "claims: iat is out of range",
		"-0.5":         "claims: iat is out of range",
		"253402300800": "claims: iat is out of range",
		"1e300":        "claims: iat is out of range",
		"1e400":        "claims: iat is out of range",
		"-1e400":       "claims: iat is out of range",
		`"1"`:          "claims: iat is not a number",
		"[1]":          "claims: iat is not a number",
		"01":           "not valid JSON",
		"1.":           "not valid JSON",
		"+1":           "not valid JSON",
		"0x10":         "not valid JSON",
		"NaN":          "not valid JSON",
		"Infinity":     "not valid JSON",
	} {
		if got := mustMalformed(t, set(iat), FormatGoogle); got != desc {
			t.Errorf("iat %s: description = %q, want %q", iat, got, desc)
		}
	}
}

// FuzzCheckJSON checks that CheckJSON and the readers Parse uses never
// panic, and that what CheckJSON accepts encoding/json reads the same way:
// valid JSON, one object, the same members with the same values.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1,"b":[true,null,"x"],"c":{"d":-1.5e3}}`, `{"a":1,"a":2}`,
		`{"a":1,"\u0061":2}`, `{"\ud83d\ude00":"\u00e9"}`, "{\"a\":\"\xff\"}",
		`{"a":"\udc00"}`, `{} {}`, `[1]`, `"x"`, ` {"a" : [ ] } `, "{\"a\"\t:\n\"b\" ,\r\"c\": { \"d\" : [ 1 , {} ] } }",
		`{"a":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		err := CheckJSON(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || Description(err) == "" {
				t.Fatalf("CheckJSON error %v is not ErrMalformed with a description", err)
			}
			return
		}
		if !json.Valid(in) || !utf8.Valid(in) {
			t.Fatalf("CheckJSON accepted %q, which encoding/json or UTF-8 refuses", in)
		}
		top, err := checkJSON(in, true)
		if err != nil {
			t.Fatalf("checkJSON recording refused what CheckJSON accepted: %v", err)
		}
		fresh, err := (*index)(nil).asObject(in, "x")
		if err != nil || !slices.Equal(names(top), names(fresh)) {
			t.Fatalf("top-level members %q recorded, %q read anew (%v)", names(top), names(fresh), err)
		}
		agree(t, top.ix, bytes.TrimSpace(in), false)
	})
}

func names(o object) []string {
	var out []string
	for _, m := range o.members {
		out = append(out, m.name)
	}
	return out
}

// agree checks that v reads the same from the index checkJSON recorded,
// read anew, and through encoding/json, at every depth; nested values must
// have been recorded (the top-level object is returned, not recorded).
func agree(t *testing.T, ix *index, v jsontext.Value, nested bool) {
	t.Helper()
	off, inBase := ix.offset(v)
	if !inBase {
		t.Fatalf("value %q is not a slice of the payload", v)
	}
	switch v.Kind() {
	case '{':
		if _, ok := ix.objects[off]; !ok && nested {
			t.Fatalf("object %q was not recorded", v)
		}
		got, err1 := ix.asObject(v, "x")
		fresh, err2 := (*index)(nil).asObject(v, "x")
		var ref map[string]json.RawMessage
		if err1 != nil || err2 != nil || json.Unmarshal(v, &ref) != nil {
			t.Fatalf("object %q: %v, %v", v, err1, err2)
		}
		if len(got.members) != len(ref) || !slices.EqualFunc(got.members, fresh.members, func(a, b member) bool {
			return a.name == b.name && bytes.Equal(a.value, b.value)
		}) {
			t.Fatalf("object %q: members %q recorded, %q read anew, encoding/json reads %d", v, names(got), names(fresh), len(ref))
		}
		for _, m := range got.members {
			if !bytes.Equal(m.value, ref[m.name]) {
				t.Fatalf("member %q = %s, encoding/json reads %s", m.name, m.value, ref[m.name])
			}
			agree(t, ix, m.value, true)
		}
	case '[':
		if _, ok := ix.arrays[off]; !ok && nested {
			t.Fatalf("array %q was not recorded", v)
		}
		got, err1 := ix.arrayItems(v)
		fresh, err2 := (*index)(nil).arrayItems(v)
		var ref []json.RawMessage
		if err1 != nil || err2 != nil || json.Unmarshal(v, &ref) != nil || len(got) != len(ref) || len(fresh) != len(ref) {
			t.Fatalf("array %q: %d items recorded, %d read anew (%v, %v), encoding/json reads %d", v, len(got), len(fresh), err1, err2, len(ref))
		}
		for i := range got {
			if !bytes.Equal(got[i], ref[i]) || !bytes.Equal(fresh[i], ref[i]) {
				t.Fatalf("item %d = %s recorded, %s read anew, encoding/json reads %s", i, got[i], fresh[i], ref[i])
			}
			agree(t, ix, got[i], true)
		}
	case '"':
		s, ok := decodeString(v)
		var want string
		if !ok || json.Unmarshal(v, &want) != nil || s != want {
			t.Fatalf("string %s = %q, encoding/json reads %q", v, s, want)
		}
	}
}
