// Package hostile holds the malformed and forged Security Event Tokens
// (RFC 8417) a receiver of RFC 8935 pushes must refuse, each with the
// error code RFC 8935 section 2.4 has it answer. The receiver's tests and
// the end-to-end tests post the same table. It is a package of its own,
// beside testkit, because it builds tokens with googlesim, whose own tests
// import testkit.
package hostile

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
)

// The error codes of RFC 8935 section 2.4 the cases expect.
const (
	InvalidRequest  = "invalid_request"
	InvalidKey      = "invalid_key"
	InvalidIssuer   = "invalid_issuer"
	InvalidAudience = "invalid_audience"
)

// Env is what the cases build their tokens from: a transmitter signing as
// Google, what a sound SET of it holds, and an attacker's key.
type Env struct {
	// Sign signs ev as Google's transmitter with opts.
	Sign func(ev googlesim.Event, opts ...googlesim.SETOption) (string, error)
	// Issuer and Audience are what a sound SET carries in iss and aud.
	Issuer, Audience string
	// Subject is the Google account the SETs are about.
	Subject string
	// KeyID returns the kid Google currently signs with.
	KeyID func() string
	// Now is the receiver's clock.
	Now func() time.Time
	// Attacker is a key the receiver does not trust; AttackerJWKS is the
	// URL of a key set serving it under kid "attacker" (see ServeJWKS).
	Attacker     *rsa.PrivateKey
	AttackerJWKS string
}

// Token signs a sessions-revoked SET about Subject with opts.
func (h *Env) Token(tb testing.TB, opts ...googlesim.SETOption) string {
	tb.Helper()
	tok, err := h.Sign(googlesim.SessionsRevoked(h.Subject), opts...)
	if err != nil {
		tb.Fatalf("sign: %v", err)
	}
	return tok
}

// Claims returns the members of a sound SET, to edit.
func (h *Env) Claims() map[string]any {
	return map[string]any{
		"iss": h.Issuer, "aud": h.Audience, "iat": h.Now().Unix(), "jti": "0123ABCD",
		"events": map[string]any{googlesim.EventSessionsRevoked: map[string]any{
			"subject": map[string]any{"subject_type": "iss-sub", "iss": h.Issuer, "sub": h.Subject},
		}},
	}
}

// SignedPayload signs raw payload bytes with Google's current key.
func (h *Env) SignedPayload(tb testing.TB, payload string, opts ...googlesim.SETOption) string {
	tb.Helper()
	return h.Token(tb, append([]googlesim.SETOption{googlesim.WithRawPayload([]byte(payload))}, opts...)...)
}

// Edited signs the sound claims after edit.
func (h *Env) Edited(tb testing.TB, edit func(map[string]any)) string {
	tb.Helper()
	c := h.Claims()
	edit(c)
	return h.SignedPayload(tb, string(mustJSON(tb, c)))
}

// ServeJWKS serves a key set holding pub under kid on 127.0.0.1 until the
// test ends and returns its URL.
func ServeJWKS(tb testing.TB, kid string, pub any) string {
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

// Case is one token a receiver must refuse with 400 and Want.
type Case struct {
	Name  string
	Token func(tb testing.TB, h *Env) string
	Want  string // RFC 8935 err
	// UnknownKid marks a token whose kid Google's key set lacks: a receiver
	// may refetch the set for it, and, inside its gap between refetches,
	// answers a second such token 503 instead.
	UnknownKid bool
	// PinnedClock marks a token whose answer depends on the second it
	// arrives: it holds only against a receiver whose clock a test pins.
	PinnedClock bool
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatalf("json: %v", err)
	}
	return b
}

func split(tok string) []string { return strings.Split(tok, ".") }

// Cases returns the hostile tokens, the first UnknownKid case being a
// plain unknown kid.
func Cases() []Case {
	type build = func(testing.TB, *Env) string
	with := func(opts ...googlesim.SETOption) build {
		return func(tb testing.TB, h *Env) string { tb.Helper(); return h.Token(tb, opts...) }
	}
	raw := func(payload string) build {
		return func(tb testing.TB, h *Env) string { tb.Helper(); return h.SignedPayload(tb, payload) }
	}
	edit := func(f func(c map[string]any)) build {
		return func(tb testing.TB, h *Env) string { tb.Helper(); return h.Edited(tb, f) }
	}
	body := func(s string) build {
		return func(testing.TB, *Env) string { return s }
	}
	mangle := func(f func(tok string) string) build {
		return func(tb testing.TB, h *Env) string { tb.Helper(); return f(h.Token(tb)) }
	}
	issuer := func(f func(iss string) string) build {
		return func(tb testing.TB, h *Env) string { tb.Helper(); return h.Token(tb, googlesim.WithIssuer(f(h.Issuer))) }
	}
	header := func(format string) build { // format takes Google's kid
		return func(tb testing.TB, h *Env) string {
			tb.Helper()
			return h.Token(tb, googlesim.WithRawHeader(fmt.Appendf(nil, format, h.KeyID())))
		}
	}
	attackerJWK := func(tb testing.TB, h *Env, named bool) jwk.Key {
		tb.Helper()
		pub, err := jwk.FromRaw(&h.Attacker.PublicKey)
		if err != nil {
			tb.Fatal(err)
		}
		if named {
			_ = pub.Set(jwk.KeyIDKey, "attacker")
			_ = pub.Set(jwk.AlgorithmKey, jwa.RS256)
		}
		return pub
	}
	// attackerURL signs with the attacker's key, naming its key set in
	// member (RFC 7515 section 4.1.2 jku, 4.1.5 x5u), under its kid or
	// Google's.
	attackerURL := func(member string, attackerKid bool) build {
		return func(tb testing.TB, h *Env) string {
			tb.Helper()
			opts := []googlesim.SETOption{googlesim.WithSigningKey(h.Attacker), googlesim.WithHeader(member, h.AttackerJWKS)}
			if attackerKid {
				opts = append(opts, googlesim.WithKeyID("attacker"))
			}
			return h.Token(tb, opts...)
		}
	}
	const (
		req = InvalidRequest
		key = InvalidKey
		iss = InvalidIssuer
		aud = InvalidAudience
	)
	return []Case{
		// Algorithms and keys.
		{Name: "alg none", Token: with(googlesim.WithAlgNone()), Want: key},
		{Name: "alg none over a sound RS256 signature", Token: with(googlesim.WithHeader("alg", "none")), Want: key},
		{Name: "alg RS512 over an RS256 signature", Token: with(googlesim.WithHeader("alg", "RS512")), Want: key},
		{Name: "alg in lower case", Token: with(googlesim.WithHeader("alg", "rs256")), Want: key},
		{Name: "HS256 keyed with the public key", Token: with(googlesim.WithHS256PublicKey()), Want: key},
		{Name: "HS256 with a secret", Token: with(googlesim.WithHS256([]byte("secret"))), Want: key},
		{Name: "alg missing", Token: with(googlesim.WithoutHeader("alg")), Want: req},
		{Name: "alg null", Token: with(googlesim.WithHeader("alg", nil)), Want: req},
		{Name: "kid missing", Token: with(googlesim.WithoutKeyID()), Want: key},
		{Name: "unknown kid", Token: with(googlesim.WithKeyID("no-such-kid")), Want: key, UnknownKid: true},
		{Name: "kid empty", Token: with(googlesim.WithKeyID("")), Want: key, UnknownKid: true},
		{Name: "kid a number", Token: with(googlesim.WithHeader("kid", 7)), Want: req},
		{Name: "signed by another key under Google's kid", Token: func(tb testing.TB, h *Env) string {
			return h.Token(tb, googlesim.WithSigningKey(h.Attacker))
		}, Want: key},
		{Name: "corrupt signature", Token: with(googlesim.WithCorruptSignature()), Want: key},
		{Name: "signature over a different payload", Token: func(tb testing.TB, h *Env) string {
			a, b := split(h.Token(tb)), split(h.Token(tb, googlesim.WithJTI("OTHER")))
			return a[0] + "." + b[1] + "." + a[2]
		}, Want: key},
		{Name: "empty signature", Token: mangle(func(tok string) string { return tok[:strings.LastIndexByte(tok, '.')+1] }), Want: key},
		{Name: "jku and kid pointing at the attacker's keys", Token: attackerURL("jku", true), Want: key, UnknownKid: true},
		{Name: "jku pointing at the attacker's keys, under Google's kid", Token: attackerURL("jku", false), Want: key},
		{Name: "x5u and kid pointing at the attacker's keys", Token: attackerURL("x5u", true), Want: key, UnknownKid: true},
		{Name: "x5u pointing at the attacker's keys, under Google's kid", Token: attackerURL("x5u", false), Want: key},
		{Name: "embedded jwk of the attacker, under its kid", Token: func(tb testing.TB, h *Env) string {
			return h.Token(tb, googlesim.WithSigningKey(h.Attacker), googlesim.WithKeyID("attacker"),
				googlesim.WithHeader("jwk", attackerJWK(tb, h, true)))
		}, Want: key, UnknownKid: true},
		{Name: "embedded jwk of the attacker, under Google's kid", Token: func(tb testing.TB, h *Env) string {
			return h.Token(tb, googlesim.WithSigningKey(h.Attacker), googlesim.WithHeader("jwk", attackerJWK(tb, h, true)))
		}, Want: key},
		{Name: "embedded bare jwk of the attacker, under Google's kid", Token: func(tb testing.TB, h *Env) string {
			return h.Token(tb, googlesim.WithSigningKey(h.Attacker), googlesim.WithHeader("jwk", attackerJWK(tb, h, false)))
		}, Want: key},
		{Name: "crit header", Token: with(googlesim.WithHeader("crit", []string{"exp"}), googlesim.WithHeader("exp", 1)), Want: req},
		{Name: "crit b64 false", Token: with(googlesim.WithHeader("crit", []string{"b64"}), googlesim.WithHeader("b64", false)), Want: req},

		// The typ header.
		{Name: "typ JWT", Token: with(googlesim.WithType("JWT")), Want: req},
		{Name: "typ at+jwt", Token: with(googlesim.WithType("at+jwt")), Want: req},
		{Name: "typ secevent+json", Token: with(googlesim.WithType("secevent+json")), Want: req},
		{Name: "typ a number", Token: with(googlesim.WithHeader("typ", 1)), Want: req},

		// Compact serialisation and base64.
		{Name: "empty body", Token: body(""), Want: req},
		{Name: "white space only", Token: body(" \r\n"), Want: req},
		{Name: "not a JWS", Token: body("hello"), Want: req},
		{Name: "JSON instead of a JWS", Token: body(`{"iss":"x"}`), Want: req},
		{Name: "two segments", Token: mangle(func(tok string) string { return tok[:strings.LastIndexByte(tok, '.')] }), Want: req},
		{Name: "four segments (JWE-like)", Token: mangle(func(tok string) string { return tok + ".AAAA" }), Want: req},
		{Name: "truncated signature, invalid base64", Token: mangle(func(tok string) string { return tok[:len(tok)-1] }), Want: req},
		{Name: "truncated signature, valid base64", Token: mangle(func(tok string) string { return tok[:len(tok)-2] }), Want: key},
		{Name: "padded signature", Token: mangle(func(tok string) string { return tok + "==" }), Want: req},
		{Name: "padded header", Token: mangle(func(tok string) string {
			p := split(tok)
			return p[0] + "=." + p[1] + "." + p[2]
		}), Want: req},
		{Name: "standard base64 alphabet", Token: mangle(func(tok string) string {
			return strings.NewReplacer("-", "+", "_", "/").Replace(tok) + "+/"
		}), Want: req},
		{Name: "line break inside", Token: mangle(func(tok string) string { return tok[:20] + "\n" + tok[20:] }), Want: req},
		{Name: "empty header", Token: mangle(func(tok string) string { return tok[strings.IndexByte(tok, '.'):] }), Want: req},

		// The header's JSON.
		{Name: "header not JSON", Token: with(googlesim.WithRawHeader([]byte("alg=RS256"))), Want: req},
		{Name: "header a JSON array", Token: with(googlesim.WithRawHeader([]byte(`["RS256"]`))), Want: req},
		{Name: "header duplicate alg", Token: header(`{"alg":"none","kid":%q,"alg":"RS256"}`), Want: req},
		{Name: "header duplicate kid by escape", Token: header(`{"alg":"RS256","kid":%q,"\u006bid":"x"}`), Want: req},
		{Name: "header invalid UTF-8", Token: header("{\"alg\":\"RS256\",\"kid\":%q,\"x\":\"\xff\"}"), Want: req},
		{Name: "header with trailing data", Token: header(`{"alg":"RS256","kid":%q}{}`), Want: req},

		// The payload's JSON.
		{Name: "payload a JSON array", Token: raw(`[{"iss":"x"}]`), Want: req},
		{Name: "payload a string", Token: raw(`"hello"`), Want: req},
		{Name: "payload null", Token: raw(`null`), Want: req},
		{Name: "payload not JSON", Token: raw(`iss=google`), Want: req},
		{Name: "payload with trailing data", Token: func(tb testing.TB, h *Env) string {
			return h.SignedPayload(tb, string(mustJSON(tb, h.Claims()))+"{}")
		}, Want: req},
		{Name: "payload duplicate iss", Token: func(tb testing.TB, h *Env) string {
			c := string(mustJSON(tb, h.Claims()))
			return h.SignedPayload(tb, `{"iss":"https://evil.example",`+c[1:])
		}, Want: req},
		{Name: "payload duplicate member inside an event", Token: func(tb testing.TB, h *Env) string {
			return h.SignedPayload(tb, fmt.Sprintf(`{"iss":%q,"aud":%q,"iat":%d,"jti":"J","events":{%q:{"subject":{"subject_type":"iss-sub","iss":%q,"sub":"1","sub":"2"}}}}`,
				h.Issuer, h.Audience, h.Now().Unix(), googlesim.EventSessionsRevoked, h.Issuer))
		}, Want: req},
		{Name: "payload nested too deeply", Token: edit(func(c map[string]any) {
			c["deep"] = json.RawMessage(strings.Repeat("[", 100) + strings.Repeat("]", 100))
		}), Want: req},

		// Missing claims.
		{Name: "iss missing", Token: with(googlesim.WithoutClaim("iss")), Want: req},
		{Name: "iat missing", Token: with(googlesim.WithoutClaim("iat")), Want: req},
		{Name: "jti missing", Token: with(googlesim.WithoutClaim("jti")), Want: req},
		{Name: "events missing", Token: with(googlesim.WithoutClaim("events")), Want: req},
		{Name: "aud missing", Token: with(googlesim.WithoutClaim("aud")), Want: aud},
		{Name: "ID token from the same issuer and keys", Token: func(tb testing.TB, h *Env) string {
			now := h.Now()
			return h.SignedPayload(tb, string(mustJSON(tb, map[string]any{
				"iss": h.Issuer, "aud": h.Audience, "sub": "1234", "email": "a@example.com",
				"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			})), googlesim.WithType("JWT"))
		}, Want: req},
		{Name: "ID token without typ", Token: func(tb testing.TB, h *Env) string {
			now := h.Now()
			return h.SignedPayload(tb, string(mustJSON(tb, map[string]any{
				"iss": h.Issuer, "aud": h.Audience, "sub": "1234", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			})))
		}, Want: req},

		// Claims of the wrong JSON type.
		{Name: "iss a number", Token: with(googlesim.WithClaim("iss", 42)), Want: req},
		{Name: "iss null", Token: with(googlesim.WithClaim("iss", nil)), Want: req},
		{Name: "iat a string", Token: with(googlesim.WithClaim("iat", "1700000000")), Want: req},
		{Name: "iat negative", Token: with(googlesim.WithClaim("iat", -1)), Want: req},
		{Name: "jti a number", Token: with(googlesim.WithClaim("jti", 12345)), Want: req},
		{Name: "jti empty", Token: with(googlesim.WithJTI("")), Want: req},
		{Name: "jti of 257 characters", Token: with(googlesim.WithJTI(strings.Repeat("j", 257))), Want: req},
		{Name: "aud a number", Token: with(googlesim.WithClaim("aud", 12345)), Want: req},
		{Name: "aud an array with a number", Token: with(googlesim.WithClaim("aud", []any{"x", 1})), Want: req},
		{Name: "events an array", Token: with(googlesim.WithClaim("events", []any{googlesim.EventSessionsRevoked})), Want: req},
		{Name: "events a string", Token: with(googlesim.WithClaim("events", googlesim.EventSessionsRevoked)), Want: req},
		{Name: "events empty", Token: with(googlesim.WithClaim("events", map[string]any{})), Want: req},
		{Name: "event value a string", Token: with(googlesim.WithClaim("events", map[string]any{googlesim.EventSessionsRevoked: "yes"})), Want: req},
		{Name: "event value null", Token: with(googlesim.WithClaim("events", map[string]any{googlesim.EventSessionsRevoked: nil})), Want: req},
		{Name: "event subject a string", Token: edit(func(c map[string]any) {
			c["events"] = map[string]any{googlesim.EventAccountDisabled: map[string]any{"subject": "1234"}}
		}), Want: req},
		{Name: "token-revoked without its token", Token: edit(func(c map[string]any) {
			c["events"] = map[string]any{googlesim.EventTokenRevoked: map[string]any{"subject": map[string]any{
				"subject_type": "oauth_token", "token_type": "refresh_token", "token_identifier_alg": "prefix"}}}
		}), Want: req},
		{Name: "account-disabled reason a number", Token: edit(func(c map[string]any) {
			ev := c["events"].(map[string]any)[googlesim.EventSessionsRevoked]
			c["events"] = map[string]any{googlesim.EventAccountDisabled: ev}
			ev.(map[string]any)["reason"] = 3
		}), Want: req},

		// Issuer.
		{Name: "wrong issuer", Token: with(googlesim.WithIssuer("https://evil.example")), Want: iss},
		{Name: "Google's real issuer", Token: with(googlesim.WithIssuer("https://accounts.google.com")), Want: iss},
		{Name: "issuer with two trailing slashes", Token: issuer(func(s string) string { return s + "//" }), Want: iss},
		{Name: "issuer in upper case", Token: issuer(strings.ToUpper), Want: iss},
		{Name: "issuer with a suffix", Token: issuer(func(s string) string { return s + ".evil.example" }), Want: iss},
		{Name: "issuer with a path", Token: issuer(func(s string) string { return s + "/x" }), Want: iss},
		{Name: "issuer with a trailing space", Token: issuer(func(s string) string { return s + " " }), Want: iss},
		{Name: "issuer percent-encoded slash", Token: issuer(func(s string) string { return s + "%2F" }), Want: iss},
		{Name: "issuer https instead of http", Token: issuer(func(s string) string { return "https" + strings.TrimPrefix(s, "http") }), Want: iss},
		{Name: "issuer key in upper case", Token: edit(func(c map[string]any) { c["ISS"] = c["iss"]; delete(c, "iss") }), Want: req},

		// Audience.
		{Name: "wrong audience", Token: with(googlesim.WithAudience("other.apps.googleusercontent.com")), Want: aud},
		{Name: "empty audience", Token: with(googlesim.WithAudience("")), Want: aud},
		{Name: "empty audience array", Token: with(googlesim.WithAudience([]string{})), Want: aud},
		{Name: "audience array of others", Token: with(googlesim.WithAudience([]string{"a", "b"})), Want: aud},
		{Name: "audience differing in case", Token: func(tb testing.TB, h *Env) string {
			return h.Token(tb, googlesim.WithAudience(strings.ToUpper(h.Audience)))
		}, Want: aud},

		// Time: RFC 8417 section 2.2 has iat the time of issue; a SET issued
		// beyond the allowed clock skew (five minutes) is refused.
		{Name: "iat an hour ahead", Token: func(tb testing.TB, h *Env) string {
			return h.Token(tb, googlesim.WithIssuedAt(h.Now().Add(time.Hour)))
		}, Want: req},
		{Name: "iat just beyond the skew", Token: func(tb testing.TB, h *Env) string {
			return h.Token(tb, googlesim.WithIssuedAt(h.Now().Add(5*time.Minute+time.Second)))
		}, Want: req, PinnedClock: true},
		{Name: "iat in year 10000", Token: with(googlesim.WithClaim("iat", int64(253402300800))), Want: req},

		// Size.
		{Name: "body over 64 KiB", Token: body(strings.Repeat("A", 64<<10+1)), Want: req},
		{Name: "signed SET over 64 KiB", Token: with(googlesim.WithClaim("pad", strings.Repeat("p", 64<<10))), Want: req},
	}
}
