package events

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// trickyJSON is hand-picked input for the differential tests: edge cases of
// the grammar, of string decoding and of the error order.
func trickyJSON() []string {
	deep := func(n int, open, close string) string {
		return `{"a":` + strings.Repeat(open, n) + strings.Repeat(close, n) + `}`
	}
	var many strings.Builder
	many.WriteString(`{`)
	for i := range 40 {
		many.WriteString(`"m` + strconv.Itoa(i) + `":` + strconv.Itoa(i) + `,`)
	}
	manyOK := many.String() + `"last":true}`
	manyDup := many.String() + `"m7":false}`
	return []string{
		``, ` `, `{}`, " \n{}\t\r", `{"a":1}`, `{"a":1,}`, `{"a" :1}`, `{ "a" : [ 1 , { "b" : null } ] }`,
		`{"a":01}`, `{"a":-01}`, `{"a":-}`, `{"a":1.}`, `{"a":2.}`, `{"a":.5}`, `{"a":+1}`, `{"a":1e}`,
		`{"a":1E-}`, `{"a":1.5e}`, `{"a":1e+5}`, `{"a":-0.0E-0}`, `{"a":1e400}`,
		`{"a":tru}`, `{"a":truex}`, `{"a":nul}`, `{"a":null}`, `{"a":false}`, `{"a":fals}`,
		`{"a":"\u00"}`, `{"a":"\u12G4"}`, `{"a":"\x"}`, `{"a":"\/\b\f\n\r\t\\\""}`,
		"{\"a\":\"\x01\"}", "{\"a\":\"\t\"}", "{\"a\":\"\x7f\xff\"}",
		`{"a":"\uD800"}`, `{"\uD800":1,"\uDFFF":2}`, `{"\ud800\udc00":1,"` + "\U00010000" + `":2}`,
		"{\"a\xff\":1,\"a\xfe\":2}", "{\"\xed\xa0\x80\":1,\"\ufffd\ufffd\ufffd\":2}",
		`{"é":1,"\u00e9":2}`, `{"a":1,"A":2}`, `{"alg":"RS256","\u0061lg":"none"}`,
		`{"a":[1,2,]}`, `{"a":[}`, `{"a":{]}`, `{"a":1]`, `{"a":[1}`, `{"a":1 "b":2}`, `{"a" "b"}`,
		`{1:2}`, `{"a":1,"a":{`, `{"a":1,"a`, `{"a":1,"b"`, `{"a"`, `{"a":`, `{`, `{"a":1,"a":2,`,
		`[`, `[}`, `]`, `}`, `,`, `:`, `"abc"`, `"abc`, `"abc"x`, `1x`, `01`, `-`, `-x`, `1.`, `1.5.3`,
		`tru`, `true`, `truex`, `null`, `nullx`, "\xef\xbb\xbf{}", `{}{}`, `{} x`, `{}]`, `{}"`, "{\"a\":1}\n",
		`{"a":{"b":1},"c":{"b":2}}`, `{"a":[{"x":1},{"x":2}]}`, `{"a":[{"x":1,"x":2}]}`,
		deep(62, "[", "]"), deep(63, "[", "]"), deep(64, "[", "]"), deep(63, `{"b":`, "}"),
		deep(64, `{"b":`, "}"), `{"a":` + strings.Repeat("[", 70) + `1,"x":`,
		manyOK, manyDup, manyDup[:len(manyDup)-3],
	}
}

// corpusInputs returns the []byte inputs stored in a fuzz corpus directory.
func corpusInputs(tb testing.TB, dir string) [][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) != 2 || lines[0] != "go test fuzz v1" {
			tb.Fatalf("%s: not a one-argument corpus file", f)
		}
		lit, ok := strings.CutPrefix(lines[1], "[]byte(")
		lit, ok2 := strings.CutSuffix(lit, ")")
		s, err := strconv.Unquote(lit)
		if !ok || !ok2 || err != nil {
			tb.Fatalf("%s: cannot read %q", f, lines[1])
		}
		out = append(out, []byte(s))
	}
	if len(out) == 0 {
		tb.Fatalf("no corpus in %s", dir)
	}
	return out
}

// differentialInputs is the fuzz corpus of FuzzParse, the tricky inputs,
// and every prefix of both (truncations hit every error path).
func differentialInputs(tb testing.TB) [][]byte {
	tb.Helper()
	base := corpusInputs(tb, filepath.Join("testdata", "fuzz", "FuzzParse"))
	for _, s := range trickyJSON() {
		base = append(base, []byte(s))
	}
	base = append(base, googleSET(TypeAccountDisabled, `{"subject": `+issSubJSON+`, "reason": "hijacking"}`))
	var out [][]byte
	for _, b := range base {
		for n := range len(b) + 1 {
			out = append(out, b[:n])
		}
	}
	return out
}

// sameDescription reports whether two CheckJSON results agree: both nil,
// or both ErrMalformed with one description.
func sameDescription(a, b error) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	return Description(a) == Description(b)
}

func TestCheckJSONMatchesDecoder(t *testing.T) {
	inputs := differentialInputs(t)
	accepted := 0
	for _, in := range inputs {
		got, want := CheckJSON(in), refCheckJSON(in)
		if !sameDescription(got, want) {
			t.Errorf("CheckJSON(%q) = %v, json.Decoder walk says %v", in, got, want)
		}
		if got == nil {
			accepted++
		}
	}
	if accepted == 0 || accepted == len(inputs) {
		t.Errorf("%d of %d inputs accepted: the inputs do not exercise both outcomes", accepted, len(inputs))
	}
}

// FuzzCheckJSON compares the byte-level CheckJSON with the json.Decoder
// walk it replaced: same verdict, same description.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range trickyJSON() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, want := CheckJSON(in), refCheckJSON(in)
		if !sameDescription(got, want) {
			t.Fatalf("CheckJSON(%q) = %v, json.Decoder walk says %v", in, got, want)
		}
	})
}

// checkReaders compares each reader of jsonscan.go with the encoding/json
// call it stands in for, on the same input.
func checkReaders(t *testing.T, in []byte) {
	t.Helper()
	if isKind(in, '{') {
		got := map[string]json.RawMessage{}
		gotErr := eachMember(in, func(name string, v json.RawMessage) { got[name] = v })
		var want map[string]json.RawMessage
		wantErr := json.Unmarshal(in, &want)
		if (gotErr == nil) != (wantErr == nil) || gotErr == nil && !sameMembers(got, want) {
			t.Fatalf("eachMember(%q) = %q, %v; json.Unmarshal gives %q, %v", in, got, gotErr, want, wantErr)
		}
		if json.Valid(in) {
			gotM, gotErr := orderedMembers(in, "x")
			wantM, wantErr := refOrderedMembers(in, "x")
			if !sameDescription(gotErr, wantErr) || !reflect.DeepEqual(normMembers(gotM), normMembers(wantM)) {
				t.Fatalf("orderedMembers(%q) = %q, %v; json.Decoder gives %q, %v", in, gotM, gotErr, wantM, wantErr)
			}
		}
	}
	if isKind(in, '[') {
		got, gotErr := arrayItems(in)
		var want []json.RawMessage
		wantErr := json.Unmarshal(in, &want)
		if (gotErr == nil) != (wantErr == nil) || gotErr == nil && !reflect.DeepEqual(normRaw(got), normRaw(want)) {
			t.Fatalf("arrayItems(%q) = %q, %v; json.Unmarshal gives %q, %v", in, got, gotErr, want, wantErr)
		}
	}
	gotS, gotOK := decodeString(in)
	var wantS string
	wantErr := json.Unmarshal(in, &wantS)
	if gotOK != (wantErr == nil) || gotS != wantS {
		t.Fatalf("decodeString(%q) = %q, %v; json.Unmarshal gives %q, %v", in, gotS, gotOK, wantS, wantErr)
	}
	gotN, gotOK := decodeNumber(in)
	var wantN json.Number
	wantErr = json.Unmarshal(in, &wantN)
	if gotOK != (wantErr == nil) || gotN != wantN {
		t.Fatalf("decodeNumber(%q) = %q, %v; json.Unmarshal gives %q, %v", in, gotN, gotOK, wantN, wantErr)
	}
}

func sameMembers(a, b map[string]json.RawMessage) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

// normRaw maps nil and empty raw values alike, for comparison.
func normRaw(in []json.RawMessage) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = string(v)
	}
	return out
}

func normMembers(in []member) []string {
	out := make([]string, 0, 2*len(in))
	for _, m := range in {
		out = append(out, m.name, string(m.value))
	}
	return out
}

func TestJSONReadersMatchEncodingJSON(t *testing.T) {
	inputs := differentialInputs(t)
	for _, s := range []string{`"x"`, ` "x" `, `"\u00e9\ud800"`, "\"\xff\"", `1`, `-0.5e10`, ` 12 `, `01`, `1e400`, `"12"`, `true`, `null`, `[]`, `[1, "a" , {"b":[]}]`, `[1,]`} {
		inputs = append(inputs, []byte(s))
	}
	for _, in := range inputs {
		checkReaders(t, in)
	}
}

// FuzzJSONReaders compares eachMember, orderedMembers, arrayItems,
// decodeString and decodeNumber with encoding/json on any input.
func FuzzJSONReaders(f *testing.F) {
	for _, s := range trickyJSON() {
		f.Add([]byte(s))
	}
	f.Add([]byte(`[1, "a" , {"b":[]}]`))
	f.Add([]byte(`"\u00e9\ud800"`))
	f.Add([]byte(`-0.5e10`))
	f.Fuzz(checkReaders)
}
