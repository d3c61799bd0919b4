package store

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
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

func TestAppendJSONStringMatchesMarshal(t *testing.T) {
	for _, s := range odd() {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}

// compactInputs are valid and invalid JSON texts for appendCompactJSON.
func compactInputs() []string {
	return []string{
		`{}`, ` { "a" : [ 1 , 2.5e3 , -0 , true , false , null , "x y" ] } `, "\t\r\n\"s\"\n", `1`, `-0.0E+1`,
		`{"h":"<&>","s":"` + "\u2028" + `"}`, `{"a":{"b":{"c":[[]]}}}`, `"\u00e9\/\b"`, "\"\xff\"",
		``, ` `, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[1 2]`, `{"a":1}}`, `{} {}`, `01`, `1.`, `.5`,
		`-`, `1e`, `tru`, `nul`, `"\x"`, `"\u12"`, "\"\x01\"", `{"a":1]`, `[}`, `{1:2}`, `"abc`, `1x`,
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001), strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	}
}

// checkCompact compares appendCompactJSON with json.Compact on in.
func checkCompact(t *testing.T, in []byte) {
	t.Helper()
	var want bytes.Buffer
	wantErr := json.Compact(&want, in)
	got, gotErr := appendCompactJSON([]byte("prefix"), in)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("appendCompactJSON(%q) error %v, json.Compact error %v", in, gotErr, wantErr)
	}
	if gotErr != nil {
		if string(got) != "prefix" {
			t.Fatalf("appendCompactJSON(%q) failed but changed dst to %q", in, got)
		}
		return
	}
	if !bytes.Equal(got, append([]byte("prefix"), want.Bytes()...)) {
		t.Fatalf("appendCompactJSON(%q) = %q, json.Compact gives %q", in, got[len("prefix"):], want.Bytes())
	}
}

func TestAppendCompactJSONMatchesCompact(t *testing.T) {
	for _, in := range compactInputs() {
		checkCompact(t, []byte(in))
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

// recordOf builds a record as encodeInbox does (claims compacted, Raw and
// Claims sealed).
func recordOf(tb testing.TB, keys *keyring, e InboxEntry) inboxRecord {
	tb.Helper()
	r, err := sealedInboxRecord(keys, e)
	if err != nil {
		tb.Fatalf("sealedInboxRecord: %v", err)
	}
	return r.inboxRecord
}

func TestAppendInboxRecordMatchesMarshal(t *testing.T) {
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
		claims, _ := json.Marshal(map[string]string{s: s})
		e.Claims = claims
		tests = append(tests, struct {
			name string
			e    InboxEntry
		}{"odd string " + string(rune('a'+i)), e})
	}
	keys := testKeyring(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := recordOf(t, keys, tt.e)
			want, err := json.Marshal(&r)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendInboxRecord(nil, &r); !bytes.Equal(got, want) {
				t.Errorf("appendInboxRecord =\n%s\nwant (json.Marshal)\n%s", got, want)
			}
			stored, data, _ := encodeInbox(keys, tt.e)
			var written inboxRecord
			if err := json.Unmarshal(data, &written); err != nil {
				t.Fatal(err)
			}
			r.SealedRaw, r.SealedClaims = written.SealedRaw, written.SealedClaims // new nonces
			if want, _ := json.Marshal(&r); !bytes.Equal(data, want) {
				t.Errorf("encodeInbox =\n%s\nwant\n%s", data, want)
			}
			if written.Raw != "" || written.Claims != nil || (tt.e.Raw != "") != (written.SealedRaw != nil) {
				t.Errorf("encodeInbox wrote raw %q, claims %q, sealed raw %d bytes: want them sealed", written.Raw, written.Claims, len(written.SealedRaw))
			}
			back, err := decodeInbox(keys, u64Key(tt.e.ID), data)
			if err != nil {
				t.Fatalf("decodeInbox: %v", err)
			}
			if back.Raw != stored.Raw || !bytes.Equal(back.Claims, stored.Claims) || (len(tt.e.Claims) > 0) != (len(back.Claims) > 0) {
				t.Errorf("decodeInbox gives raw %q, claims %q; want %q, %q", back.Raw, back.Claims, stored.Raw, stored.Claims)
			}
			var wantJTI string // the jti as a JSON round trip gives it (invalid UTF-8 replaced)
			if err := json.Unmarshal(appendJSONString(nil, tt.e.JTI), &wantJTI); err != nil {
				t.Fatal(err)
			}
			if back.JTI != wantJTI || back.Attempts != tt.e.Attempts || !back.ReceivedAt.Equal(tt.e.ReceivedAt) {
				t.Errorf("decodeInbox gives %+v, want the fields of %+v", back, tt.e)
			}
		})
	}
}

// FuzzInboxRecord compares the hand-written record encoding and the claims
// compaction with encoding/json on arbitrary strings, claims and numbers.
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
			ReceivedAt: time.Unix(0, nanos), NextAttemptAt: time.Unix(nanos, 0).UTC(),
		}
		if json.Valid(claims) {
			e.Claims = claims
		}
		r := recordOf(t, keys, e)
		want, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendInboxRecord(nil, &r); !bytes.Equal(got, want) {
			t.Fatalf("appendInboxRecord =\n%s\nwant (json.Marshal)\n%s", got, want)
		}
	})
}
