package receiver_test

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/receiver"
)

// hostileCase is one token the receiver must refuse.
type hostileCase struct {
	name     string
	body     func(tb testing.TB, h hostileEnv) string
	wantCode string // RFC 8935 err; the status is 400
}

// hostileEnv is what a case builds its token from.
type hostileEnv struct {
	googleReceiver
	attacker     *rsa.PrivateKey
	attackerJWKS string // URL of a key set holding the attacker's key, kid "attacker"
}

func (h hostileEnv) sign(tb testing.TB, opts ...googlesim.SETOption) string {
	tb.Helper()
	return mustSign(tb, h.g, googlesim.SessionsRevoked(googlesim.DefaultUsers()[0].Sub), opts...)
}

// claims returns the members of a sound Google SET, to edit.
func (h hostileEnv) claims() map[string]any {
	return map[string]any{
		"iss": h.g.URL(), "aud": h.g.ClientID(), "iat": t0.Unix(), "jti": "0123ABCD",
		"events": map[string]any{googlesim.EventSessionsRevoked: map[string]any{
			"subject": map[string]any{"subject_type": "iss-sub", "iss": h.g.URL(), "sub": "1234"},
		}},
	}
}

// signedPayload signs raw payload bytes with Google's current key.
func (h hostileEnv) signedPayload(tb testing.TB, payload string, opts ...googlesim.SETOption) string {
	tb.Helper()
	return h.sign(tb, append([]googlesim.SETOption{googlesim.WithRawPayload([]byte(payload))}, opts...)...)
}

// edited signs the sound claims after edit.
func (h hostileEnv) edited(tb testing.TB, edit func(map[string]any)) string {
	tb.Helper()
	c := h.claims()
	edit(c)
	return h.signedPayload(tb, string(mustJSON(tb, c)))
}

func hostileCases() []hostileCase {
	with := func(opts ...googlesim.SETOption) func(testing.TB, hostileEnv) string {
		return func(tb testing.TB, h hostileEnv) string { tb.Helper(); return h.sign(tb, opts...) }
	}
	raw := func(payload string) func(testing.TB, hostileEnv) string {
		return func(tb testing.TB, h hostileEnv) string { tb.Helper(); return h.signedPayload(tb, payload) }
	}
	edit := func(f func(c map[string]any)) func(testing.TB, hostileEnv) string {
		return func(tb testing.TB, h hostileEnv) string { tb.Helper(); return h.edited(tb, f) }
	}
	body := func(s string) func(testing.TB, hostileEnv) string {
		return func(testing.TB, hostileEnv) string { return s }
	}
	mangle := func(f func(tok string) string) func(testing.TB, hostileEnv) string {
		return func(tb testing.TB, h hostileEnv) string { tb.Helper(); return f(h.sign(tb)) }
	}
	const (
		req = receiver.CodeInvalidRequest
		key = receiver.CodeInvalidKey
		iss = receiver.CodeInvalidIssuer
		aud = receiver.CodeInvalidAudience
	)
	return []hostileCase{
		// Algorithms and keys.
		{"alg none", with(googlesim.WithAlgNone()), key},
		{"alg none over a sound RS256 signature", with(googlesim.WithHeader("alg", "none")), key},
		{"alg RS512 over an RS256 signature", with(googlesim.WithHeader("alg", "RS512")), key},
		{"alg in lower case", with(googlesim.WithHeader("alg", "rs256")), key},
		{"HS256 keyed with the public key", with(googlesim.WithHS256PublicKey()), key},
		{"HS256 with a secret", with(googlesim.WithHS256([]byte("secret"))), key},
		{"alg missing", with(googlesim.WithoutHeader("alg")), req},
		{"alg null", with(googlesim.WithHeader("alg", nil)), req},
		{"kid missing", with(googlesim.WithoutKeyID()), key},
		{"kid empty", with(googlesim.WithKeyID("")), key},
		{"kid a number", with(googlesim.WithHeader("kid", 7)), req},
		{"unknown kid", with(googlesim.WithKeyID("no-such-kid")), key},
		{"signed by another key under Google's kid", func(tb testing.TB, h hostileEnv) string {
			return h.sign(tb, googlesim.WithSigningKey(h.attacker))
		}, key},
		{"corrupt signature", with(googlesim.WithCorruptSignature()), key},
		{"signature over a different payload", func(tb testing.TB, h hostileEnv) string {
			a, b := splitToken(h.sign(tb)), splitToken(h.sign(tb, googlesim.WithJTI("OTHER")))
			return a[0] + "." + b[1] + "." + a[2]
		}, key},
		{"empty signature", mangle(func(tok string) string { return tok[:strings.LastIndexByte(tok, '.')+1] }), key},
		{"jku and kid pointing at attacker keys", func(tb testing.TB, h hostileEnv) string {
			return h.sign(tb, googlesim.WithSigningKey(h.attacker), googlesim.WithKeyID("attacker"),
				googlesim.WithHeader("jku", h.attackerJWKS))
		}, key},
		{"x5u pointing at attacker keys", func(tb testing.TB, h hostileEnv) string {
			return h.sign(tb, googlesim.WithSigningKey(h.attacker), googlesim.WithKeyID("attacker"),
				googlesim.WithHeader("x5u", h.attackerJWKS))
		}, key},
		{"embedded jwk of the attacker", func(tb testing.TB, h hostileEnv) string {
			pub, err := jwk.FromRaw(&h.attacker.PublicKey)
			if err != nil {
				tb.Fatal(err)
			}
			_ = pub.Set(jwk.KeyIDKey, "attacker")
			_ = pub.Set(jwk.AlgorithmKey, jwa.RS256)
			return h.sign(tb, googlesim.WithSigningKey(h.attacker), googlesim.WithKeyID("attacker"),
				googlesim.WithHeader("jwk", pub))
		}, key},
		{"embedded jwk of the attacker under Google's kid", func(tb testing.TB, h hostileEnv) string {
			pub, _ := jwk.FromRaw(&h.attacker.PublicKey)
			return h.sign(tb, googlesim.WithSigningKey(h.attacker), googlesim.WithHeader("jwk", pub))
		}, key},
		{"crit header", with(googlesim.WithHeader("crit", []string{"exp"}), googlesim.WithHeader("exp", 1)), req},
		{"crit b64 false", with(googlesim.WithHeader("crit", []string{"b64"}), googlesim.WithHeader("b64", false)), req},

		// The typ header.
		{"typ JWT", with(googlesim.WithType("JWT")), req},
		{"typ at+jwt", with(googlesim.WithType("at+jwt")), req},
		{"typ secevent+json", with(googlesim.WithType("secevent+json")), req},
		{"typ a number", with(googlesim.WithHeader("typ", 1)), req},

		// Compact serialisation and base64.
		{"empty body", body(""), req},
		{"white space only", body(" \r\n"), req},
		{"not a JWS", body("hello"), req},
		{"JSON instead of a JWS", body(`{"iss":"x"}`), req},
		{"two segments", mangle(func(tok string) string { return tok[:strings.LastIndexByte(tok, '.')] }), req},
		{"four segments (JWE-like)", mangle(func(tok string) string { return tok + ".AAAA" }), req},
		{"truncated signature, invalid base64", mangle(func(tok string) string { return tok[:len(tok)-1] }), req},
		{"truncated signature, valid base64", mangle(func(tok string) string { return tok[:len(tok)-2] }), key},
		{"padded signature", mangle(func(tok string) string { return tok + "==" }), req},
		{"padded header", mangle(func(tok string) string {
			p := splitToken(tok)
			return p[0] + "=." + p[1] + "." + p[2]
		}), req},
		{"standard base64 alphabet", mangle(func(tok string) string {
			return strings.NewReplacer("-", "+", "_", "/").Replace(tok) + "+/"
		}), req},
		{"line break inside", mangle(func(tok string) string { return tok[:20] + "\n" + tok[20:] }), req},
		{"empty header", mangle(func(tok string) string { return tok[strings.IndexByte(tok, '.'):] }), req},

		// The header's JSON.
		{"header not JSON", with(googlesim.WithRawHeader([]byte("alg=RS256"))), req},
		{"header a JSON array", with(googlesim.WithRawHeader([]byte(`["RS256"]`))), req},
		{"header duplicate alg", func(tb testing.TB, h hostileEnv) string {
			return h.sign(tb, googlesim.WithRawHeader(fmt.Appendf(nil, `{"alg":"none","kid":%q,"alg":"RS256"}`, h.g.CurrentKeyID())))
		}, req},
		{"header duplicate kid by escape", func(tb testing.TB, h hostileEnv) string {
			return h.sign(tb, googlesim.WithRawHeader(fmt.Appendf(nil, `{"alg":"RS256","kid":%q,"\u006bid":"x"}`, h.g.CurrentKeyID())))
		}, req},
		{"header invalid UTF-8", func(tb testing.TB, h hostileEnv) string {
			return h.sign(tb, googlesim.WithRawHeader(fmt.Appendf(nil, "{\"alg\":\"RS256\",\"kid\":%q,\"x\":\"\xff\"}", h.g.CurrentKeyID())))
		}, req},
		{"header with trailing data", func(tb testing.TB, h hostileEnv) string {
			return h.sign(tb, googlesim.WithRawHeader(fmt.Appendf(nil, `{"alg":"RS256","kid":%q}{}`, h.g.CurrentKeyID())))
		}, req},

		// The payload's JSON.
		{"payload a JSON array", raw(`[{"iss":"x"}]`), req},
		{"payload a string", raw(`"hello"`), req},
		{"payload null", raw(`null`), req},
		{"payload not JSON", raw(`iss=google`), req},
		{"payload with trailing data", func(tb testing.TB, h hostileEnv) string {
			return h.signedPayload(tb, string(mustJSON(tb, h.claims()))+"{}")
		}, req},
		{"payload duplicate iss", func(tb testing.TB, h hostileEnv) string {
			c := string(mustJSON(tb, h.claims()))
			return h.signedPayload(tb, `{"iss":"https://evil.example",`+c[1:])
		}, req},
		{"payload duplicate member inside an event", func(tb testing.TB, h hostileEnv) string {
			return h.signedPayload(tb, fmt.Sprintf(`{"iss":%q,"aud":%q,"iat":%d,"jti":"J","events":{%q:{"subject":{"subject_type":"iss-sub","iss":%q,"sub":"1","sub":"2"}}}}`,
				h.g.URL(), h.g.ClientID(), t0.Unix(), googlesim.EventSessionsRevoked, h.g.URL()))
		}, req},
		{"payload nested too deeply", func(tb testing.TB, h hostileEnv) string {
			return h.edited(tb, func(c map[string]any) {
				c["deep"] = json.RawMessage(strings.Repeat("[", 100) + strings.Repeat("]", 100))
			})
		}, req},

		// Missing claims.
		{"iss missing", with(googlesim.WithoutClaim("iss")), req},
		{"iat missing", with(googlesim.WithoutClaim("iat")), req},
		{"jti missing", with(googlesim.WithoutClaim("jti")), req},
		{"events missing", with(googlesim.WithoutClaim("events")), req},
		{"aud missing", with(googlesim.WithoutClaim("aud")), aud},
		{"ID token from the same issuer and keys", func(tb testing.TB, h hostileEnv) string {
			return h.signedPayload(tb, string(mustJSON(tb, map[string]any{
				"iss": h.g.URL(), "aud": h.g.ClientID(), "sub": "1234", "email": "a@example.com",
				"iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix(),
			})), googlesim.WithType("JWT"))
		}, req},
		{"ID token without typ", func(tb testing.TB, h hostileEnv) string {
			return h.signedPayload(tb, string(mustJSON(tb, map[string]any{
				"iss": h.g.URL(), "aud": h.g.ClientID(), "sub": "1234", "iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix(),
			})))
		}, req},

		// Claims of the wrong JSON type.
		{"iss a number", with(googlesim.WithClaim("iss", 42)), req},
		{"iss null", with(googlesim.WithClaim("iss", nil)), req},
		{"iat a string", with(googlesim.WithClaim("iat", "1700000000")), req},
		{"iat negative", with(googlesim.WithClaim("iat", -1)), req},
		{"jti a number", with(googlesim.WithClaim("jti", 12345)), req},
		{"jti empty", with(googlesim.WithJTI("")), req},
		{"jti of 257 characters", with(googlesim.WithJTI(strings.Repeat("j", 257))), req},
		{"aud a number", with(googlesim.WithClaim("aud", 12345)), req},
		{"aud an array with a number", with(googlesim.WithClaim("aud", []any{"x", 1})), req},
		{"events an array", with(googlesim.WithClaim("events", []any{googlesim.EventSessionsRevoked})), req},
		{"events a string", with(googlesim.WithClaim("events", googlesim.EventSessionsRevoked)), req},
		{"events empty", with(googlesim.WithClaim("events", map[string]any{})), req},
		{"event value a string", with(googlesim.WithClaim("events", map[string]any{googlesim.EventSessionsRevoked: "yes"})), req},
		{"event value null", with(googlesim.WithClaim("events", map[string]any{googlesim.EventSessionsRevoked: nil})), req},
		{"event subject a string", edit(func(c map[string]any) {
			c["events"] = map[string]any{googlesim.EventAccountDisabled: map[string]any{"subject": "1234"}}
		}), req},
		{"token-revoked without its token", edit(func(c map[string]any) {
			c["events"] = map[string]any{googlesim.EventTokenRevoked: map[string]any{"subject": map[string]any{
				"subject_type": "oauth_token", "token_type": "refresh_token", "token_identifier_alg": "prefix"}}}
		}), req},
		{"account-disabled reason a number", edit(func(c map[string]any) {
			ev := c["events"].(map[string]any)[googlesim.EventSessionsRevoked]
			c["events"] = map[string]any{googlesim.EventAccountDisabled: ev}
			ev.(map[string]any)["reason"] = 3
		}), req},

		// Issuer.
		{"wrong issuer", with(googlesim.WithIssuer("https://evil.example")), iss},
		{"Google's real issuer", with(googlesim.WithIssuer("https://accounts.google.com")), iss},
		{"issuer with two trailing slashes", func(tb testing.TB, h hostileEnv) string {
			return h.sign(tb, googlesim.WithIssuer(h.g.URL()+"//"))
		}, iss},
		{"issuer in upper case", func(tb testing.TB, h hostileEnv) string {
			return h.sign(tb, googlesim.WithIssuer(strings.ToUpper(h.g.URL())))
		}, iss},
		{"issuer with a suffix", func(tb testing.TB, h hostileEnv) string {
			return h.sign(tb, googlesim.WithIssuer(h.g.URL()+".evil.example"))
		}, iss},
		{"issuer with a path", func(tb testing.TB, h hostileEnv) string {
			return h.sign(tb, googlesim.WithIssuer(h.g.URL()+"/x"))
		}, iss},
		{"issuer with a trailing space", func(tb testing.TB, h hostileEnv) string {
			return h.sign(tb, googlesim.WithIssuer(h.g.URL()+" "))
		}, iss},
		{"issuer percent-encoded slash", func(tb testing.TB, h hostileEnv) string {
			return h.sign(tb, googlesim.WithIssuer(h.g.URL()+"%2F"))
		}, iss},
		{"issuer https instead of http", func(tb testing.TB, h hostileEnv) string {
			return h.sign(tb, googlesim.WithIssuer("https"+strings.TrimPrefix(h.g.URL(), "http")))
		}, iss},
		{"issuer key in upper case", func(tb testing.TB, h hostileEnv) string {
			return h.edited(tb, func(c map[string]any) { c["ISS"] = c["iss"]; delete(c, "iss") })
		}, req},

		// Audience.
		{"wrong audience", with(googlesim.WithAudience("other.apps.googleusercontent.com")), aud},
		{"empty audience", with(googlesim.WithAudience("")), aud},
		{"empty audience array", with(googlesim.WithAudience([]string{})), aud},
		{"audience array of others", with(googlesim.WithAudience([]string{"a", "b"})), aud},
		{"audience differing in case", func(tb testing.TB, h hostileEnv) string {
			return h.sign(tb, googlesim.WithAudience(strings.ToUpper(h.g.ClientID())))
		}, aud},

		// Time.
		{"iat an hour ahead", with(googlesim.WithIssuedAt(t0.Add(time.Hour))), req},
		{"iat just beyond the skew", with(googlesim.WithIssuedAt(t0.Add(5*time.Minute + time.Second))), req},
		{"iat in year 10000", with(googlesim.WithClaim("iat", int64(253402300800))), req},

		// Size.
		{"body over 64 KiB", body(strings.Repeat("A", 64<<10+1)), req},
		{"signed SET over 64 KiB", with(googlesim.WithClaim("pad", strings.Repeat("p", 64<<10))), req},
	}
}

func TestHostileTokensAreRefused(t *testing.T) {
	keys := mustRSAKeys(t, 2)
	// Every unknown kid may refetch Google's keys, so that each is refused
	// on its own merits: inside the usual gap between refetches a second
	// unknown kid is answered 503 (TestUnknownKidRefetchIsRateLimited).
	noLimit := func(cfg *receiver.Config) { cfg.UnknownKidRefetch = time.Nanosecond }
	h := hostileEnv{googleReceiver: mustGoogleReceiver(t, keys[:1], noLimit), attacker: keys[1]}
	h.attackerJWKS = serveJWKS(t, "attacker", &keys[1].PublicKey)
	cases := hostileCases()
	if len(cases) < 40 {
		t.Fatalf("only %d hostile cases", len(cases))
	}
	// A sound SET first, so that the refusals below are the tokens' fault.
	wantAccepted(t, post(t, h.url, h.sign(t)))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.clock.Advance(time.Nanosecond)
			before := inboxCount(t, h.db)
			tok := tc.body(t, h)
			a := post(t, h.url, tok)
			if a.status != http.StatusBadRequest || a.err != tc.wantCode {
				t.Errorf("answer = %d %q (%s), want 400 %q", a.status, a.err, a.desc, tc.wantCode)
			}
			wantErrorAnswer(t, a, tok)
			if got := inboxCount(t, h.db); got != before {
				t.Errorf("inbox entries = %d after a refused token, want %d", got, before)
			}
		})
	}
}

// wantErrorAnswer checks the shape of an RFC 8935 error answer and that its
// description quotes no more than 64 characters of the token.
func wantErrorAnswer(tb testing.TB, a answer, tok string) {
	tb.Helper()
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		tb.Errorf("Content-Type = %q, want application/json", ct)
	}
	if cl := a.header.Get("Content-Language"); cl != "en" {
		tb.Errorf("Content-Language = %q, want en", cl)
	}
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil || len(m) != 2 || m["err"] == nil || m["description"] == nil {
		tb.Errorf("body = %s, want exactly err and description", a.body)
	}
	if a.desc == "" || len(a.desc) > 160 {
		tb.Errorf("description = %q, want a short text", a.desc)
	}
	for i := 0; i+65 <= len(tok); i++ {
		if strings.Contains(a.desc, tok[i:i+65]) {
			tb.Errorf("description %q quotes more than 64 characters of the token", a.desc)
			break
		}
	}
}

// serveJWKS serves a key set holding pub under kid on 127.0.0.1 and
// returns its URL.
func serveJWKS(tb testing.TB, kid string, pub any) string {
	tb.Helper()
	k, err := jwk.FromRaw(pub)
	if err != nil {
		tb.Fatalf("jwk: %v", err)
	}
	_ = k.Set(jwk.KeyIDKey, kid)
	set := jwk.NewSet()
	_ = set.AddKey(k)
	body := mustJSON(tb, set)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL + "/keys"
}
