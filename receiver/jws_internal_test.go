package receiver

import (
	"errors"
	"testing"
)

// TestParseHeader checks what the protected header may be (RFC 7515 §4,
// RFC 8417 §2.3) and that every refusal is invalid_request.
func TestParseHeader(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		want header // zero: refused
	}{
		{"alg and kid", `{"alg":"RS256","kid":"k"}`, header{alg: "RS256", kid: "k"}},
		{"typ", `{"alg":"RS256","kid":"k","typ":"secevent+jwt"}`, header{alg: "RS256", kid: "k", typ: "secevent+jwt", hasTyp: true}},
		{"typ with prefix, any case", `{"typ":"Application/SecEvent+JWT","alg":"ES256"}`, header{alg: "ES256", typ: "Application/SecEvent+JWT", hasTyp: true}},
		{"escaped alg", `{"alg":"RS\u003256","kid":"k"}`, header{alg: "RS256", kid: "k"}},
		{"white space and other members", " {\n\"x\": [1, {\"y\": null}], \"alg\" : \"RS256\"}\t", header{alg: "RS256"}},
		{"alg none passes here", `{"alg":"none"}`, header{alg: "none"}},
		{"empty", ``, header{}},
		{"not JSON", `alg=RS256`, header{}},
		{"an array", `["RS256"]`, header{}},
		{"a string", `"RS256"`, header{}},
		{"unterminated", `{"alg":"RS256"`, header{}},
		{"trailing object", `{"alg":"RS256"}{}`, header{}},
		{"trailing garbage", `{"alg":"RS256"} x`, header{}},
		{"duplicate alg", `{"alg":"none","alg":"RS256"}`, header{}},
		{"duplicate kid by escape", `{"alg":"RS256","kid":"a","\u006bid":"b"}`, header{}},
		{"duplicate unknown member", `{"alg":"RS256","x":1,"x":2}`, header{}},
		{"invalid UTF-8 in a value", "{\"alg\":\"RS256\",\"x\":\"\xff\"}", header{}},
		{"invalid UTF-8 in a name", "{\"alg\":\"RS256\",\"\xc3\":1}", header{}},
		{"invalid number", `{"alg":"RS256","x":01}`, header{}},
		{"alg missing", `{"kid":"k"}`, header{}},
		{"alg empty", `{"alg":""}`, header{}},
		{"alg null", `{"alg":null}`, header{}},
		{"alg a number", `{"alg":256}`, header{}},
		{"kid a number", `{"alg":"RS256","kid":7}`, header{}},
		{"typ a number", `{"alg":"RS256","typ":1}`, header{}},
		{"typ JWT", `{"alg":"RS256","typ":"JWT"}`, header{}},
		{"typ empty", `{"alg":"RS256","typ":""}`, header{}},
		{"crit", `{"alg":"RS256","crit":["b64"],"b64":false}`, header{}},
		{"crit empty", `{"alg":"RS256","crit":[]}`, header{}},
	} {
		got, err := parseHeader([]byte(c.in))
		var rej *rejection
		switch {
		case c.want == header{} && err == nil:
			t.Errorf("%s: accepted as %+v", c.name, got)
		case c.want == header{} && (!errors.As(err, &rej) || rej.code != CodeInvalidRequest):
			t.Errorf("%s: error %v, want an invalid_request rejection", c.name, err)
		case c.want != header{} && (err != nil || got != c.want):
			t.Errorf("%s: %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
}

// TestSplitCompact checks the compact serialisation (RFC 7515 §7.1):
// three base64url segments without padding, line breaks or other octets.
func TestSplitCompact(t *testing.T) {
	const h, p, s = "eyJhIjoxfQ", "eyJiIjoyfQ", "c2ln" // {"a":1} {"b":2} sig
	good, err := splitCompact([]byte(h + "." + p + "." + s))
	if err != nil || string(good.header) != `{"a":1}` || string(good.payload) != `{"b":2}` ||
		string(good.signature) != "sig" || string(good.signingInput) != h+"."+p {
		t.Fatalf("splitCompact = %q, %q, %q, %q, %v", good.header, good.payload, good.signature, good.signingInput, err)
	}
	if c, err := splitCompact([]byte(h + "." + p + ".")); err != nil || len(c.signature) != 0 {
		t.Errorf("empty signature: %q, %v; want it split, to fail verification", c.signature, err)
	}
	for _, bad := range []string{
		"",
		h,
		h + "." + p,
		h + "." + p + "." + s + ".",
		h + "." + p + "." + s + ".c2ln",
		"." + p + "." + s,
		h + ".." + s,
		h + "." + p + "." + s + "=",
		h + "=." + p + "." + s,
		h + "." + p + "." + s + "\n",
		h[:4] + "\r\n" + h[4:] + "." + p + "." + s,
		h + "." + p[:4] + "\n" + p[4:] + "." + s,
		h + "." + p + "." + s + " ",
		h + "." + p + ".c2l+",
		h + "." + p + ".c2l/",
		h + "." + p + ".c2lu\x00",
		h + "." + p + ".c2m", // stray bits in the last character
	} {
		_, err := splitCompact([]byte(bad))
		var rej *rejection
		if !errors.As(err, &rej) || rej.code != CodeInvalidRequest {
			t.Errorf("splitCompact(%q) error = %v, want an invalid_request rejection", bad, err)
		}
	}
}

// BenchmarkParseHeader reads a Google-shaped protected header.
func BenchmarkParseHeader(b *testing.B) {
	in := []byte(`{"alg":"RS256","kid":"f5f4bf46e52b31d9b6249f7309ad0338400680cd","typ":"secevent+jwt"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseHeader(in); err != nil {
			b.Fatal(err)
		}
	}
}
