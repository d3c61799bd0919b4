package googlesim

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jws"
)

const testRefreshToken = "1//0gExampleRefreshToken_ABCdef-123"

// decodeSET splits a compact SET into its decoded header and payload,
// without verifying it.
func decodeSET(tb testing.TB, tok string) (header, payload map[string]any, sig string) {
	tb.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		tb.Fatalf("token has %d parts, want 3", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &payload} {
		raw, err := b64.DecodeString(parts[i])
		if err != nil {
			tb.Fatalf("segment %d: %v", i, err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			tb.Fatalf("segment %d is not JSON: %v", i, err)
		}
	}
	return header, payload, parts[2]
}

func jsonValue(tb testing.TB, s string) any {
	tb.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		tb.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

func TestSETEveryEvent(t *testing.T) {
	s := newSim(t, nil)
	iss := s.URL()
	subj := `{"subject_type": "iss-sub", "iss": "` + iss + `", "sub": "7375626A656374"}`
	cases := []struct {
		name string
		ev   Event
		uri  string
		body string
	}{
		{"sessions-revoked", SessionsRevoked("7375626A656374"), EventSessionsRevoked, `{"subject": ` + subj + `}`},
		{"tokens-revoked", TokensRevoked("7375626A656374"), "https://schemas.openid.net/secevent/oauth/event-type/tokens-revoked", `{"subject": ` + subj + `}`},
		{"token-revoked prefix", TokenRevoked(testRefreshToken, IdentifierPrefix), "https://schemas.openid.net/secevent/oauth/event-type/token-revoked",
			`{"subject": {"subject_type": "oauth_token", "token_type": "refresh_token", "token_identifier_alg": "prefix", "token": "1//0gExampleRefr"}}`},
		{"token-revoked hash", TokenRevoked(testRefreshToken, IdentifierHash), EventTokenRevoked,
			`{"subject": {"subject_type": "oauth_token", "token_type": "refresh_token", "token_identifier_alg": "hash_base64_sha512_sha512",
			  "token": "ox1VxWKdcFaXr9g4BKOIduT5llxvqnTjYWrp19xIalF/d3joYVxYh9T3Ey0L/KO8OhbxbXB/NKkPCyIpPnLseQ=="}}`},
		{"account-disabled hijacking", AccountDisabled("7375626A656374", ReasonHijacking), EventAccountDisabled, `{"subject": ` + subj + `, "reason": "hijacking"}`},
		{"account-disabled bulk-account", AccountDisabled("7375626A656374", ReasonBulkAccount), EventAccountDisabled, `{"subject": ` + subj + `, "reason": "bulk-account"}`},
		{"account-disabled no reason", AccountDisabled("7375626A656374", ""), EventAccountDisabled, `{"subject": ` + subj + `}`},
		{"account-enabled", AccountEnabled("7375626A656374"), EventAccountEnabled, `{"subject": ` + subj + `}`},
		{"account-credential-change-required", AccountCredentialChangeRequired("7375626A656374"), EventAccountCredentialChangeRequired, `{"subject": ` + subj + `}`},
		{"verification", Verification("state-42"), "https://schemas.openid.net/secevent/risc/event-type/verification", `{"state": "state-42"}`},
		{"account-purged", AccountPurged("7375626A656374"), "https://schemas.openid.net/secevent/risc/event-type/account-purged", `{"subject": ` + subj + `}`},
	}
	keys := fetchJWKS(t, s)
	jti := regexp.MustCompile(`^[0-9A-F]{32}$`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := s.Transmitter().Sign(tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			payload, err := jws.Verify([]byte(tok), jws.WithKeySet(keys, jws.WithRequireKid(true)))
			if err != nil {
				t.Fatalf("SET does not verify against the JWKS: %v", err)
			}
			header, claims, _ := decodeSET(t, tok)
			if want := map[string]any{"alg": "RS256", "kid": s.CurrentKeyID()}; !reflect.DeepEqual(header, want) {
				t.Errorf("header = %v, want %v", header, want)
			}
			var verified map[string]any
			if err := json.Unmarshal(payload, &verified); err != nil || !reflect.DeepEqual(verified, claims) {
				t.Errorf("verified payload differs from the token's: %v", err)
			}
			if claims["iss"] != iss || claims["aud"] != s.ClientID() || claims["iat"] != float64(s.clock.Now().Unix()) {
				t.Errorf("iss/aud/iat = %v %v %v", claims["iss"], claims["aud"], claims["iat"])
			}
			if id, _ := claims["jti"].(string); !jti.MatchString(id) {
				t.Errorf("jti = %v, want 32 hex digits", claims["jti"])
			}
			for _, absent := range []string{"exp", "sub", "sub_id"} {
				if _, ok := claims[absent]; ok {
					t.Errorf("claim %s present in a Google-format SET", absent)
				}
			}
			want := map[string]any{tc.uri: jsonValue(t, tc.body)}
			if !reflect.DeepEqual(claims["events"], want) {
				got, _ := json.Marshal(claims["events"])
				w, _ := json.Marshal(want)
				t.Errorf("events =\n%s\nwant\n%s", got, w)
			}
		})
	}
}

func TestTokenIdentifiers(t *testing.T) {
	// Independent computation: streaming hashes, encoders chosen here.
	inner := sha512.New()
	io.WriteString(inner, testRefreshToken)
	outer := sha512.New()
	outer.Write(inner.Sum(nil))
	digest := outer.Sum(nil)
	cases := []struct {
		name string
		got  string
		want string
	}{
		{"std padded (known answer)", HashIdentifier(testRefreshToken, nil), "ox1VxWKdcFaXr9g4BKOIduT5llxvqnTjYWrp19xIalF/d3joYVxYh9T3Ey0L/KO8OhbxbXB/NKkPCyIpPnLseQ=="},
		{"std padded", HashIdentifier(testRefreshToken, base64.StdEncoding), base64.StdEncoding.EncodeToString(digest)},
		{"url unpadded", HashIdentifier(testRefreshToken, base64.RawURLEncoding), "ox1VxWKdcFaXr9g4BKOIduT5llxvqnTjYWrp19xIalF_d3joYVxYh9T3Ey0L_KO8OhbxbXB_NKkPCyIpPnLseQ"},
		{"TokenIdentifier hash", TokenIdentifier(testRefreshToken, IdentifierHash), base64.StdEncoding.EncodeToString(digest)},
		{"prefix", PrefixIdentifier(testRefreshToken), testRefreshToken[:16]},
		{"prefix of a short token", PrefixIdentifier("1//short"), "1//short"},
		{"unknown alg", TokenIdentifier(testRefreshToken, "sha1"), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
	ev := TokenRevokedIdentifier(IdentifierHash, HashIdentifier(testRefreshToken, base64.RawURLEncoding))
	if ev.Subject.Token != cases[2].want || ev.Subject.TokenIdentifierAlg != "hash_base64_sha512_sha512" {
		t.Errorf("TokenRevokedIdentifier subject = %+v", ev.Subject)
	}
}

func TestSETSubjectSpellings(t *testing.T) {
	s := newSim(t, nil)
	t.Run("RFC 9493 subject", func(t *testing.T) {
		tok, err := s.Transmitter().Sign(AccountDisabled("42", ReasonHijacking), WithRFC9493Subject())
		if err != nil {
			t.Fatal(err)
		}
		_, claims, _ := decodeSET(t, tok)
		want := jsonValue(t, `{"`+EventAccountDisabled+`": {"subject": {"format": "iss_sub", "iss": "`+s.URL()+`", "sub": "42"}, "reason": "hijacking"}}`)
		if !reflect.DeepEqual(claims["events"], want) {
			t.Errorf("events = %v, want %v", claims["events"], want)
		}
	})
	t.Run("SSF format", func(t *testing.T) {
		tok, err := s.Transmitter().Sign(SessionsRevoked("42"), WithSSFFormat())
		if err != nil {
			t.Fatal(err)
		}
		header, claims, _ := decodeSET(t, tok)
		if header["typ"] != "secevent+jwt" {
			t.Errorf("typ = %v, want secevent+jwt", header["typ"])
		}
		if want := jsonValue(t, `{"format": "iss_sub", "iss": "`+s.URL()+`", "sub": "42"}`); !reflect.DeepEqual(claims["sub_id"], want) {
			t.Errorf("sub_id = %v, want %v", claims["sub_id"], want)
		}
		if want := jsonValue(t, `{"`+EventSessionsRevoked+`": {}}`); !reflect.DeepEqual(claims["events"], want) {
			t.Errorf("events = %v, want %v", claims["events"], want)
		}
	})
	t.Run("id_token_claims subject", func(t *testing.T) {
		ev := SessionsRevoked("42")
		ev.Subject = &Subject{Type: SubjectIDTokenClaims, Iss: "https://accounts.google.com", Sub: "42", Email: "a@example.com"}
		tok, err := s.Transmitter().Sign(ev)
		if err != nil {
			t.Fatal(err)
		}
		_, claims, _ := decodeSET(t, tok)
		want := jsonValue(t, `{"`+EventSessionsRevoked+`": {"subject": {"subject_type": "id_token_claims", "iss": "https://accounts.google.com", "sub": "42", "email": "a@example.com"}}}`)
		if !reflect.DeepEqual(claims["events"], want) {
			t.Errorf("events = %v, want %v", claims["events"], want)
		}
	})
}

func TestSend(t *testing.T) {
	s := newSim(t, nil)
	type got struct {
		method, contentType, accept, body string
	}
	seen := make(chan got, 4)
	rx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen <- got{r.Method, r.Header.Get("Content-Type"), r.Header.Get("Accept"), string(b)}
		if r.Header.Get("Content-Type") != ContentTypeSET {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"err":"invalid_request","description":"wrong type"}`)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer rx.Close()
	tr := s.Transmitter()
	tok, err := tr.Sign(Verification("abc"))
	if err != nil {
		t.Fatal(err)
	}
	status, body, err := tr.Send(context.Background(), rx.URL+"/risc", tok)
	if err != nil || status != http.StatusAccepted || len(body) != 0 {
		t.Fatalf("Send = %d %q %v, want 202 with an empty body", status, body, err)
	}
	if g := <-seen; g != (got{http.MethodPost, "application/secevent+jwt", "application/json", tok}) {
		t.Errorf("receiver saw %+v", g)
	}
	status, body, err = tr.SendAs(context.Background(), rx.URL, "application/jwt", tok)
	if err != nil || status != http.StatusBadRequest || !strings.Contains(string(body), "invalid_request") {
		t.Errorf("SendAs = %d %q %v, want the receiver's 400 answer", status, body, err)
	}
	<-seen
	status, _, err = tr.Push(context.Background(), rx.URL, AccountPurged("9"))
	if err != nil || status != http.StatusAccepted {
		t.Errorf("Push = %d %v", status, err)
	}
	if g := <-seen; !strings.Contains(g.body, ".") {
		t.Errorf("Push sent %q, want a compact JWS", g.body)
	}
	if _, _, err := tr.Send(context.Background(), "http://192.0.2.1/risc", tok); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("Send off the machine: %v, want ErrNotLoopback", err)
	}
	if got := s.Stats().SETsSent; got != 3 {
		t.Errorf("SETsSent = %d, want 3", got)
	}
}

// verifiesWithJWKS reports whether tok verifies against the served keys,
// picking the key by kid as receivers do.
func verifiesWithJWKS(tb testing.TB, s sim, tok string) bool {
	tb.Helper()
	_, err := jws.Verify([]byte(tok), jws.WithKeySet(fetchJWKS(tb, s), jws.WithRequireKid(true)))
	return err == nil
}
