package e2e

import (
	"crypto/rand"
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

// RFC 8935 error codes riscd answers with.
const (
	errRequest  = "invalid_request"
	errKey      = "invalid_key"
	errIssuer   = "invalid_issuer"
	errAudience = "invalid_audience"
)

// hostileToken is one token riscd must refuse with 400 and wantErr.
type hostileToken struct {
	name    string
	token   func(tb testing.TB, h *hostileEnv) string
	wantErr string
}

// hostileEnv is what the cases build their tokens from: googlesim's
// transmitter, an attacker's key and a JWKS serving it.
type hostileEnv struct {
	r            *rig
	attacker     *rsa.PrivateKey
	attackerJWKS string // URL of a key set holding the attacker's key under kid "attacker"
}

func newHostileEnv(t testing.TB, r *rig) *hostileEnv {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := jwk.FromRaw(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	_ = pub.Set(jwk.KeyIDKey, "attacker")
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	body, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return &hostileEnv{r: r, attacker: k, attackerJWKS: srv.URL + "/keys"}
}

// sign signs a sessions-revoked SET about the first user with opts.
func (h *hostileEnv) sign(tb testing.TB, opts ...googlesim.SETOption) string {
	tb.Helper()
	tok, err := h.r.tr.Sign(googlesim.SessionsRevoked(h.r.sim.Users()[0].Sub), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// claims are the members of a sound SET, to edit.
func (h *hostileEnv) claims() map[string]any {
	iss := h.r.sim.URL()
	return map[string]any{
		"iss": iss, "aud": h.r.sim.ClientID(), "iat": time.Now().Unix(), "jti": "HOSTILE-0123",
		"events": map[string]any{googlesim.EventSessionsRevoked: map[string]any{
			"subject": map[string]any{"subject_type": "iss-sub", "iss": iss, "sub": h.r.sim.Users()[0].Sub},
		}},
	}
}

func (h *hostileEnv) signedPayload(tb testing.TB, payload string, opts ...googlesim.SETOption) string {
	tb.Helper()
	return h.sign(tb, append([]googlesim.SETOption{googlesim.WithRawPayload([]byte(payload))}, opts...)...)
}

func (h *hostileEnv) edited(tb testing.TB, edit func(map[string]any)) string {
	tb.Helper()
	c := h.claims()
	edit(c)
	b, err := json.Marshal(c)
	if err != nil {
		tb.Fatal(err)
	}
	return h.signedPayload(tb, string(b))
}

func splitJWS(tok string) []string { return strings.SplitN(tok, ".", 3) }

// hostileTokens mirrors receiver/hostile_test.go's table over real HTTP,
// built from googlesim's SET options; each case names RFC 8935's answer.
func hostileTokens() []hostileToken {
	with := func(opts ...googlesim.SETOption) func(testing.TB, *hostileEnv) string {
		return func(tb testing.TB, h *hostileEnv) string { tb.Helper(); return h.sign(tb, opts...) }
	}
	raw := func(payload string) func(testing.TB, *hostileEnv) string {
		return func(tb testing.TB, h *hostileEnv) string { tb.Helper(); return h.signedPayload(tb, payload) }
	}
	edit := func(f func(map[string]any)) func(testing.TB, *hostileEnv) string {
		return func(tb testing.TB, h *hostileEnv) string { tb.Helper(); return h.edited(tb, f) }
	}
	body := func(s string) func(testing.TB, *hostileEnv) string {
		return func(testing.TB, *hostileEnv) string { return s }
	}
	mangle := func(f func(string) string) func(testing.TB, *hostileEnv) string {
		return func(tb testing.TB, h *hostileEnv) string { tb.Helper(); return f(h.sign(tb)) }
	}
	issuer := func(f func(iss string) string) func(testing.TB, *hostileEnv) string {
		return func(tb testing.TB, h *hostileEnv) string {
			tb.Helper()
			return h.sign(tb, googlesim.WithIssuer(f(h.r.sim.URL())))
		}
	}
	return []hostileToken{
		// Algorithms and keys.
		{"alg none", with(googlesim.WithAlgNone()), errKey},
		{"alg none over a sound RS256 signature", with(googlesim.WithHeader("alg", "none")), errKey},
		{"alg RS512 over an RS256 signature", with(googlesim.WithHeader("alg", "RS512")), errKey},
		{"alg in lower case", with(googlesim.WithHeader("alg", "rs256")), errKey},
		{"HS256 keyed with the public key", with(googlesim.WithHS256PublicKey()), errKey},
		{"HS256 with a secret", with(googlesim.WithHS256([]byte("secret"))), errKey},
		{"alg missing", with(googlesim.WithoutHeader("alg")), errRequest},
		{"kid missing", with(googlesim.WithoutKeyID()), errKey},
		{"kid a number", with(googlesim.WithHeader("kid", 7)), errRequest},
		{"unknown kid", with(googlesim.WithKeyID("no-such-kid")), errKey},
		{"signed by another key under Google's kid", func(tb testing.TB, h *hostileEnv) string {
			return h.sign(tb, googlesim.WithSigningKey(h.attacker))
		}, errKey},
		{"corrupt signature", with(googlesim.WithCorruptSignature()), errKey},
		{"signature over a different payload", func(tb testing.TB, h *hostileEnv) string {
			a, b := splitJWS(h.sign(tb)), splitJWS(h.sign(tb, googlesim.WithJTI("OTHER")))
			return a[0] + "." + b[1] + "." + a[2]
		}, errKey},
		{"empty signature", mangle(func(tok string) string { return tok[:strings.LastIndexByte(tok, '.')+1] }), errKey},
		{"jku pointing at the attacker's keys, under Google's kid", func(tb testing.TB, h *hostileEnv) string {
			return h.sign(tb, googlesim.WithSigningKey(h.attacker),
				googlesim.WithHeader("jku", h.attackerJWKS))
		}, errKey},
		{"x5u pointing at the attacker's keys, under Google's kid", func(tb testing.TB, h *hostileEnv) string {
			return h.sign(tb, googlesim.WithSigningKey(h.attacker),
				googlesim.WithHeader("x5u", h.attackerJWKS))
		}, errKey},
		{"embedded jwk of the attacker, under Google's kid", func(tb testing.TB, h *hostileEnv) string {
			pub, err := jwk.FromRaw(&h.attacker.PublicKey)
			if err != nil {
				tb.Fatal(err)
			}
			_ = pub.Set(jwk.KeyIDKey, "attacker")
			_ = pub.Set(jwk.AlgorithmKey, jwa.RS256)
			return h.sign(tb, googlesim.WithSigningKey(h.attacker), googlesim.WithHeader("jwk", pub))
		}, errKey},
		{"crit header", with(googlesim.WithHeader("crit", []string{"exp"}), googlesim.WithHeader("exp", 1)), errRequest},

		// typ.
		{"typ JWT", with(googlesim.WithType("JWT")), errRequest},
		{"typ at+jwt", with(googlesim.WithType("at+jwt")), errRequest},

		// Serialisation.
		{"empty body", body(""), errRequest},
		{"not a JWS", body("hello"), errRequest},
		{"JSON instead of a JWS", body(`{"iss":"x"}`), errRequest},
		{"two segments", mangle(func(tok string) string { return tok[:strings.LastIndexByte(tok, '.')] }), errRequest},
		{"four segments", mangle(func(tok string) string { return tok + ".AAAA" }), errRequest},
		{"padded signature", mangle(func(tok string) string { return tok + "==" }), errRequest},
		{"standard base64 alphabet", mangle(func(tok string) string {
			return strings.NewReplacer("-", "+", "_", "/").Replace(tok) + "+/"
		}), errRequest},
		{"line break inside", mangle(func(tok string) string { return tok[:20] + "\n" + tok[20:] }), errRequest},
		{"header not JSON", with(googlesim.WithRawHeader([]byte("alg=RS256"))), errRequest},
		{"header duplicate alg", func(tb testing.TB, h *hostileEnv) string {
			return h.sign(tb, googlesim.WithRawHeader(fmt.Appendf(nil, `{"alg":"none","kid":%q,"alg":"RS256"}`, h.r.sim.CurrentKeyID())))
		}, errRequest},

		// Payload.
		{"payload a JSON array", raw(`[{"iss":"x"}]`), errRequest},
		{"payload null", raw(`null`), errRequest},
		{"payload with trailing data", func(tb testing.TB, h *hostileEnv) string {
			b, _ := json.Marshal(h.claims())
			return h.signedPayload(tb, string(b)+"{}")
		}, errRequest},
		{"payload duplicate iss", func(tb testing.TB, h *hostileEnv) string {
			b, _ := json.Marshal(h.claims())
			return h.signedPayload(tb, `{"iss":"https://evil.example",`+string(b[1:]))
		}, errRequest},
		{"payload nested too deeply", edit(func(c map[string]any) {
			c["deep"] = json.RawMessage(strings.Repeat("[", 100) + strings.Repeat("]", 100))
		}), errRequest},
		{"iss missing", with(googlesim.WithoutClaim("iss")), errRequest},
		{"iat missing", with(googlesim.WithoutClaim("iat")), errRequest},
		{"jti missing", with(googlesim.WithoutClaim("jti")), errRequest},
		{"events missing", with(googlesim.WithoutClaim("events")), errRequest},
		{"aud missing", with(googlesim.WithoutClaim("aud")), errAudience},
		{"an ID token from the same issuer and keys", func(tb testing.TB, h *hostileEnv) string {
			b, _ := json.Marshal(map[string]any{
				"iss": h.r.sim.URL(), "aud": h.r.sim.ClientID(), "sub": "1234", "email": "a@example.com",
				"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
			})
			return h.signedPayload(tb, string(b), googlesim.WithType("JWT"))
		}, errRequest},
		{"iat a string", with(googlesim.WithClaim("iat", "1700000000")), errRequest},
		{"jti empty", with(googlesim.WithJTI("")), errRequest},
		{"jti of 257 characters", with(googlesim.WithJTI(strings.Repeat("j", 257))), errRequest},
		{"events an array", with(googlesim.WithClaim("events", []any{googlesim.EventSessionsRevoked})), errRequest},
		{"events empty", with(googlesim.WithClaim("events", map[string]any{})), errRequest},
		{"event value null", with(googlesim.WithClaim("events", map[string]any{googlesim.EventSessionsRevoked: nil})), errRequest},
		{"token-revoked without its token", edit(func(c map[string]any) {
			c["events"] = map[string]any{googlesim.EventTokenRevoked: map[string]any{"subject": map[string]any{
				"subject_type": "oauth_token", "token_type": "refresh_token", "token_identifier_alg": "prefix"}}}
		}), errRequest},

		// Issuer and audience.
		{"wrong issuer", with(googlesim.WithIssuer("https://evil.example")), errIssuer},
		{"Google's real issuer", with(googlesim.WithIssuer("https://accounts.google.com")), errIssuer},
		{"issuer with two trailing slashes", issuer(func(iss string) string { return iss + "//" }), errIssuer},
		{"issuer in upper case", issuer(strings.ToUpper), errIssuer},
		{"issuer with a suffix", issuer(func(iss string) string { return iss + ".evil.example" }), errIssuer},
		{"issuer percent-encoded slash", issuer(func(iss string) string { return iss + "%2F" }), errIssuer},
		{"wrong audience", with(googlesim.WithAudience("other.apps.googleusercontent.com")), errAudience},
		{"empty audience array", with(googlesim.WithAudience([]string{})), errAudience},
		{"audience differing in case", func(tb testing.TB, h *hostileEnv) string {
			return h.sign(tb, googlesim.WithAudience(strings.ToUpper(h.r.sim.ClientID())))
		}, errAudience},

		// Time and size.
		{"iat an hour ahead", with(googlesim.WithIssuedAt(time.Now().Add(time.Hour))), errRequest},
		{"iat in year 10000", with(googlesim.WithClaim("iat", int64(253402300800))), errRequest},
		{"body over 64 KiB", body(strings.Repeat("A", 64<<10+1)), errRequest},
		{"signed SET over 64 KiB", with(googlesim.WithClaim("pad", strings.Repeat("p", 64<<10))), errRequest},
	}
}
