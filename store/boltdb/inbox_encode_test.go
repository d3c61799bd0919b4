package boltdb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/riscd/riscd/store/internal/record"
)

// odd is a list of strings that exercise every branch of JSON string
// encoding.
func odd() []string {
	return []string{
		"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnl\ncr\rbs\bff\f",
		"\x00\x01\x1f\x7f", "bad \xff\xfe utf-8", "\xe2\x80", "sep \u2028 \u2029", "é ✓ 𝄞",
		"\u00e9\xed\xa0\x80", strings.Repeat("ab", 300),
	}
}

// compactInputs are valid and invalid JSON texts for appendCompactJSON.
func compactInputs() []string {
	return []string{
		`{}`, ` { "a" : [ 1 , 2.5e3 , -0 , true , false , null , "x y" ] } `, "\t\r\n\"s\"\n", `1`, `-0.0E+1`,
		`{"h":"<&>","s":"` + "\u2028" + `"}`, `{"a":{"b":{"c":[[]]}}}`, `"\u00e9\/\b"`, `{"a":1,"a":2}`,
		`"\ud83d\ude00"`, `"\\ud800"`, "\"\xff\"", `"\ud800"`, `"\udc00\ud800"`, `["\ud83d"]`,
		``, ` `, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[1 2]`, `{"a":1}}`, `{} {}`, `01`, `1.`, `.5`,
		`-`, `1e`, `tru`, `nul`, `"\x"`, `"\u12"`, "\"\x01\"", `{"a":1]`, `[}`, `{1:2}`, `"abc`, `1x`,
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001), strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	}
}

// surrogateEscape matches a \u escape of a UTF-16 surrogate (or text that
// looks like one after an escaped backslash).
var surrogateEscape = regexp.MustCompile(`(?i)\\ud[89a-f]`)

// checkCompact checks appendCompactJSON against json.Compact on in: it
// refuses what json.Compact refuses and invalid UTF-8 (RFC 8259 section
// 8.1), which json.Compact lets through, and otherwise gives the same
// bytes. Text with escaped surrogates may be refused (a lone one does not
// encode a Unicode scalar value) but, if accepted, compacts the same way.
func checkCompact(t *testing.T, in []byte) {
	t.Helper()
	orig := bytes.Clone(in)
	var want bytes.Buffer
	wantErr := json.Compact(&want, in)
	got, gotErr := appendCompactJSON([]byte("prefix"), in)
	if !bytes.Equal(in, orig) {
		t.Fatalf("appendCompactJSON changed its input %q to %q", orig, in)
	}
	switch {
	case gotErr != nil:
		if !errors.Is(gotErr, record.ErrNotJSON) {
			t.Fatalf("appendCompactJSON(%q) error %v, want record.ErrNotJSON", in, gotErr)
		}
		if string(got) != "prefix" {
			t.Fatalf("appendCompactJSON(%q) failed but changed dst to %q", in, got)
		}
		if wantErr == nil && utf8.Valid(in) && !surrogateEscape.Match(in) {
			t.Fatalf("appendCompactJSON(%q) error %v; json.Compact accepts it", in, gotErr)
		}
	case wantErr != nil:
		t.Fatalf("appendCompactJSON(%q) = %q; json.Compact refuses it: %v", in, got, wantErr)
	case !utf8.Valid(in):
		t.Fatalf("appendCompactJSON(%q) = %q, want invalid UTF-8 refused", in, got)
	case !bytes.Equal(got, append([]byte("prefix"), want.Bytes()...)):
		t.Fatalf("appendCompactJSON(%q) = %q, json.Compact gives %q", in, got[len("prefix"):], want.Bytes())
	}
}

func TestAppendCompactJSON(t *testing.T) {
	for _, in := range compactInputs() {
		checkCompact(t, []byte(in))
	}
	// Escaped surrogates: a pair encodes one character, a lone one none.
	for in, ok := range map[string]bool{
		`"\ud83d\ude00"`: true, `"\\ud800"`: true, `{"k\uD83D\uDE00":1}`: true,
		`"\ud800"`: false, `"\udc00\ud800"`: false, `["\ud83d"]`: false, `{"\udfff":1}`: false, `"\ud83dx"`: false,
	} {
		if _, err := appendCompactJSON(nil, []byte(in)); (err == nil) != ok {
			t.Errorf("appendCompactJSON(%q) error %v, want accepted %v", in, err, ok)
		}
	}
}

// The claims of a token-revoked event carry a token's prefix: an error
// names where the fault is, not what it is.
func TestAppendCompactJSONErrorHidesClaims(t *testing.T) {
	for _, in := range []string{`{"token":"1//0secretprefix"x}`, "{\"token\":\"1//0secret\xff\"}", `{"token":"1//0secret`} {
		_, err := appendCompactJSON(nil, []byte(in))
		if err == nil || strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "token") {
			t.Errorf("appendCompactJSON(%q) error = %v, want one that does not quote the claims", in, err)
		}
	}
}

// testKeyring is a keyring of one new key.
func testKeyring(tb testing.TB) *keyring {
	tb.Helper()
	k, _, err := GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	keys, err := newKeyring(k, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return keys
}

// goldenRecords are records whose encodings, goldenEncodings, were written
// by the encoder of the previous riscd (a hand-written copy of
// json.Marshal): a minimal one, one in an earlier riscd's plaintext form
// with every field and HTML characters in strings and claims, and one with
// sealed fields, invalid UTF-8 and control characters.
func goldenRecords() []record.Inbox {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	return []record.Inbox{
		{V: 1, Iss: "i", JTI: "j", Status: "pending"},
		{V: 1, Transmitter: "google", Iss: "https://accounts.google.com", JTI: "j<1>&", Subject: "iss-sub:a|b",
			Types: []string{"urn:a", "urn:<b>"}, Raw: "aaa.bbb.ccc", Claims: json.RawMessage(`{"a":"<&>","s":"` + "\u2028\u2029" + `","b":[1,2]}`),
			ReceivedAt: record.Stamp(t0), Status: "parked", Attempts: 3, LastError: "handler: <fail>\n",
			NextAttempt: record.Stamp(t0.Add(time.Hour)), DoneAt: record.Stamp(time.Date(3000, 1, 1, 0, 0, 0, 5, time.UTC))},
		{V: 1, Iss: "bad \xff\xfe utf-8 \x00\x1f\x7f \"\\", JTI: "sep \u2028 \u2029 é ✓ 𝄞 \xed\xa0\x80", Status: "done", Attempts: -2,
			SealedRaw: []byte{0, 1, 2, 0xfb, 0xff, 0xfe}, SealedClaims: []byte("sealed claims\x00"),
			ReceivedAt: record.Stamp(time.Date(1500, 1, 1, 0, 0, 0, 5, time.UTC))},
	}
}

var goldenEncodings = []string{
	"{\"v\":1,\"iss\":\"i\",\"jti\":\"j\",\"st\":\"pending\"}",
	"{\"v\":1,\"tx\":\"google\",\"iss\":\"https://accounts.google.com\",\"jti\":\"j\\u003c1\\u003e\\u0026\",\"subj\":\"iss-sub:a|b\",\"types\":[\"urn:a\",\"urn:\\u003cb\\u003e\"],\"raw\":\"aaa.bbb.ccc\",\"claims\":{\"a\":\"\\u003c\\u0026\\u003e\",\"s\":\"\\u2028\\u2029\",\"b\":[1,2]},\"ra\":1772366400123456789,\"st\":\"parked\",\"n\":3,\"err\":\"handler: \\u003cfail\\u003e\\n\",\"next\":1772370000123456789,\"done\":\"3000-01-01T00:00:00.000000005Z\"}",
	"{\"v\":1,\"iss\":\"bad \\ufffd\\ufffd utf-8 \\u0000\\u001f\x7f \\\"\\\\\",\"jti\":\"sep \\u2028 \\u2029 é ✓ 𝄞 \\ufffd\\ufffd\\ufffd\",\"sraw\":\"AAEC+//+\",\"sclaims\":\"c2VhbGVkIGNsYWltcwA=\",\"ra\":\"1500-01-01T00:00:00.000000005Z\",\"st\":\"done\",\"n\":-2}",
}

// TestInboxRecordGolden: records encode byte for byte as the previous
// riscd encoded them, and what it wrote decodes to the same record.
func TestInboxRecordGolden(t *testing.T) {
	for i, r := range goldenRecords() {
		got, err := marshalInboxRecord(&r)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != goldenEncodings[i] {
			t.Errorf("record %d encodes as\n%s\nthe previous riscd wrote\n%s", i, got, goldenEncodings[i])
		}
		var back record.Inbox
		if err := json.Unmarshal([]byte(goldenEncodings[i]), &back); err != nil {
			t.Fatalf("record %d: decode: %v", i, err)
		}
		want := r
		want.Iss, want.JTI = asRead(t, r.Iss), asRead(t, r.JTI)
		want.Claims = htmlChars.ReplaceAllFunc(want.Claims, htmlEscape)
		if !reflect.DeepEqual(back, want) {
			t.Errorf("record %d decodes as\n%+v\nwant\n%+v", i, back, want)
		}
	}
	// The plaintext record of an earlier riscd decodes to its entry.
	e, err := decodeInbox(testKeyring(t), u64Key(9), []byte(goldenEncodings[1]))
	if err != nil {
		t.Fatal(err)
	}
	if e.Raw != "aaa.bbb.ccc" || string(e.Claims) != `{"a":"\u003c\u0026\u003e","s":"\u2028\u2029","b":[1,2]}` ||
		e.JTI != "j<1>&" || e.LastError != "handler: <fail>\n" || e.DoneAt.Year() != 3000 {
		t.Errorf("decodeInbox gives %+v", e)
	}
}

// htmlChars matches what json.Marshal escapes in a RawMessage.
var htmlChars = regexp.MustCompile("[<>&\u2028\u2029]")

// htmlEscape is the \u escape json.Marshal writes for a character
// htmlChars matches.
func htmlEscape(b []byte) []byte {
	r, _ := utf8.DecodeRune(b)
	return fmt.Appendf(nil, `\u%04x`, r)
}

// asRead is s as a JSON round trip gives it back: each byte of invalid
// UTF-8 replaced with U+FFFD.
func asRead(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back string
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	return back
}

// checkRoundTrip encodes e as the store writes it and checks that the
// record holds Raw and Claims sealed only, that it decodes to e (strings
// as JSON reads them back, claims compacted) and that decoding and
// encoding it again gives the same bytes.
func checkRoundTrip(t *testing.T, keys *keyring, e InboxEntry) {
	t.Helper()
	stored, data, err := encodeInbox(keys, e, nil)
	if err != nil {
		t.Fatalf("encodeInbox: %v", err)
	}
	var written record.Inbox
	if err := json.Unmarshal(data, &written); err != nil {
		t.Fatalf("record %s does not decode: %v", data, err)
	}
	again, err := marshalInboxRecord(&written)
	if err != nil {
		t.Fatal(err)
	}
	var rewritten record.Inbox
	if err := json.Unmarshal(again, &rewritten); err != nil || !reflect.DeepEqual(rewritten, written) {
		t.Fatalf("record decodes and encodes again as\n%s (%v)\nwhich decodes differently from\n%s", again, err, data)
	}
	if written.Raw != "" || written.Claims != nil || (e.Raw != "") != (written.SealedRaw != nil) ||
		(len(e.Claims) > 0) != (written.SealedClaims != nil) {
		t.Fatalf("encodeInbox wrote raw %q, claims %q, sealed raw %d bytes: want them sealed", written.Raw, written.Claims, len(written.SealedRaw))
	}
	back, err := decodeInbox(keys, u64Key(e.ID), data)
	if err != nil {
		t.Fatalf("decodeInbox: %v", err)
	}
	var types []string
	for _, s := range e.Types {
		types = append(types, asRead(t, s))
	}
	if back.Raw != e.Raw || !bytes.Equal(back.Claims, stored.Claims) || (len(e.Claims) > 0) != (len(back.Claims) > 0) ||
		back.Transmitter != asRead(t, e.Transmitter) || back.Iss != asRead(t, e.Iss) || back.JTI != asRead(t, e.JTI) ||
		back.Subject != asRead(t, e.Subject) || !slices.Equal(back.Types, types) ||
		back.Status != InboxStatus(asRead(t, string(e.Status))) || back.Attempts != e.Attempts ||
		back.LastError != asRead(t, e.LastError) || !back.ReceivedAt.Equal(e.ReceivedAt) ||
		!back.NextAttemptAt.Equal(e.NextAttemptAt) || !back.DoneAt.Equal(e.DoneAt) {
		t.Fatalf("decodeInbox gives\n%+v\nwant the fields of\n%+v", back, e)
	}
	if len(e.Claims) > 0 {
		var want bytes.Buffer
		if err := json.Compact(&want, e.Claims); err != nil || !bytes.Equal(back.Claims, want.Bytes()) {
			t.Fatalf("claims read back %q, want %q compacted (%v)", back.Claims, e.Claims, err)
		}
	}
}

func TestEncodeInboxRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("X", 3600))
	full := InboxEntry{
		ID: 7, Transmitter: "google", Iss: "https://accounts.google.com", JTI: "j1", Subject: "iss-sub:a|b",
		Types: []string{"urn:a", "urn:<b>"}, Raw: "aaa.bbb.ccc", Claims: json.RawMessage(` {"a" : "<&>", "b":[1, 2]} `),
		ReceivedAt: t0, Status: InboxParked, Attempts: 3, LastError: "handler: <fail>",
		NextAttemptAt: t0.Add(time.Hour), DoneAt: t0.Add(2 * time.Hour),
	}
	tests := []struct {
		name string
		e    InboxEntry
	}{
		{"minimal", InboxEntry{Iss: "i", JTI: "j", Status: InboxPending}},
		{"full", full},
		{"empty types and claims", InboxEntry{Iss: "i", JTI: "j", Types: []string{}, Claims: json.RawMessage{}, Status: InboxDone}},
		{"negative attempts", InboxEntry{Iss: "i", JTI: "j", Attempts: -2, Status: InboxPending}},
		{"times outside 1678-2262", InboxEntry{Iss: "i", JTI: "j", Status: InboxPending,
			ReceivedAt: time.Date(1500, 1, 1, 0, 0, 0, 5, time.UTC), DoneAt: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"monotonic clock reading", InboxEntry{Iss: "i", JTI: "j", Status: InboxPending, ReceivedAt: time.Now()}},
	}
	for i, s := range odd() {
		e := full
		e.Transmitter, e.Iss, e.JTI, e.Subject, e.Raw, e.LastError = s, s+"i", s+"j", s, s, s
		e.Types = []string{s, s}
		e.Status = InboxStatus(s)
		e.Claims, _ = json.Marshal(map[string]string{strings.ToValidUTF8(s, "?"): strings.ToValidUTF8(s, "?")})
		tests = append(tests, struct {
			name string
			e    InboxEntry
		}{"odd string " + string(rune('a'+i)), e})
	}
	keys := testKeyring(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRoundTrip(t, keys, tt.e)
		})
	}
}

// Claims the store must not write: not JSON, or not UTF-8 (RFC 8259
// section 8.1), which encoding/json would have let through.
func TestEncodeInboxRefusesBadClaims(t *testing.T) {
	keys := testKeyring(t)
	for _, claims := range []string{`{"a":`, `{} {}`, "{\"a\":\"\xff\"}", `{"a":"\ud800"}`} {
		e := InboxEntry{Iss: "i", JTI: "j", Status: InboxPending, Claims: json.RawMessage(claims)}
		if _, data, err := encodeInbox(keys, e, nil); !errors.Is(err, ErrInvalid) || data != nil {
			t.Errorf("encodeInbox with claims %q = %q, %v; want ErrInvalid", claims, data, err)
		}
	}
}

// rfc3339Time maps n onto the times an RFC 3339 date-time can hold
// (section 5.6: years 0000-9999), at whole seconds.
func rfc3339Time(n int64) time.Time {
	lo := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
	span := hi - lo + 1
	return time.Unix(lo+(n%span+span)%span, 0).UTC()
}

// FuzzInboxRecord checks the claims compaction against encoding/json and
// that an entry of arbitrary strings, claims and numbers survives the round
// trip through its record.
func FuzzInboxRecord(f *testing.F) {
	for i, s := range odd() {
		f.Add(s, "j", []byte(compactInputs()[i%len(compactInputs())]), int64(i), int64(i)*1e17)
	}
	keys := testKeyring(f)
	f.Fuzz(func(t *testing.T, s, jti string, claims []byte, attempts, nanos int64) {
		checkCompact(t, claims)
		e := InboxEntry{
			Transmitter: s, Iss: s + "i", JTI: jti, Subject: s, Types: []string{s, jti}, Raw: s,
			Status: InboxStatus(jti), Attempts: int(attempts), LastError: s,
			ReceivedAt: time.Unix(0, nanos), NextAttemptAt: rfc3339Time(nanos),
		}
		if _, err := appendCompactJSON(nil, claims); err == nil {
			e.Claims = claims
		}
		checkRoundTrip(t, keys, e)
	})
}
