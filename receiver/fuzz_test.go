package receiver_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/riscd/riscd/internal/testkit/hostile"
	"github.com/riscd/riscd/receiver"
)

// FuzzHandler drives the HTTP handler end to end (body and Content-Type)
// with keys loaded and a fake inbox. It must never panic, never answer 5xx
// (nothing is faulty on riscd's side), answer 400 with a well-formed RFC 8935
// error, and answer 202 only for a token that go-jose, independently,
// verifies under the transmitter's key with an acceptable iss and aud.
func FuzzHandler(f *testing.F) {
	key := mustRSAKeys(f, 1)[0]
	const iss, aud, kid = "https://fuzz.example", "fuzz-aud", "fuzz"
	jwksURL := hostile.ServeJWKS(f, kid, &key.PublicKey)
	inbox := newFakeInbox()
	c := newClock()
	cfg := baseConfig(f, c)
	cfg.Logger = nil // the fuzzer runs millions of requests
	cfg.Inbox = inbox
	cfg.Transmitters = []receiver.Transmitter{{Name: "fuzz", Issuer: iss, JWKSURL: jwksURL, Audiences: []string{aud}}}
	// Each input's unknown kid may refetch the keys (the clock moves on a
	// nanosecond per input), so it is refused rather than answered 503.
	cfg.UnknownKidRefetch = time.Nanosecond
	ep := mustReceiver(f, cfg)
	waitReady(f, ep.r)

	sign := func(header, payload string) []byte {
		return []byte(signRS256Raw(f, key, []byte(header), []byte(payload)))
	}
	sound := `{"iss":"https://fuzz.example","aud":"fuzz-aud","iat":1773500966,"jti":"J1","events":{"https://schemas.openid.net/secevent/risc/event-type/account-disabled":{"subject":{"subject_type":"iss-sub","iss":"https://fuzz.example","sub":"1"},"reason":"hijacking"}}}`
	hdr := `{"alg":"RS256","kid":"fuzz"}`
	f.Add(receiver.ContentTypeSET, sign(hdr, sound))
	f.Add("text/plain", sign(`{"alg":"RS256","kid":"fuzz","typ":"secevent+jwt"}`, sound))
	f.Add(receiver.ContentTypeSET, sign(hdr, `{"iss":"https://fuzz.example/","aud":["x","fuzz-aud"],"iat":1773500966.5,"jti":"J2","events":{"https://schemas.openid.net/secevent/oauth/event-type/token-revoked":{"subject":{"subject_type":"oauth_token","token_type":"refresh_token","token_identifier_alg":"prefix","token":"1//0abcdefghijkl"}}}}`))
	f.Add(receiver.ContentTypeSET, sign(hdr, `{"iss":"https://fuzz.example","aud":"fuzz-aud","iat":1773500966,"jti":"J3","sub_id":{"format":"complex","user":{"format":"email","email":"a@example.com"},"session":{"format":"opaque","id":"s"}},"events":{"https://schemas.openid.net/secevent/caep/event-type/session-revoked":{"event_timestamp":1773500900}}}`))
	f.Add(receiver.ContentTypeSET, sign(`{"alg":"RS256","kid":"other"}`, sound))
	f.Add(receiver.ContentTypeSET, sign(`{"alg":"RS256","kid":"fuzz","crit":["b64"],"b64":false}`, sound))
	f.Add(receiver.ContentTypeSET, sign(hdr, `{"iss":"https://fuzz.example","aud":"fuzz-aud","iat":1773500966,"jti":"J4","events":{"x":{"subject":{"format":"aliases","identifiers":[{"format":"email","email":"a@b"},{"format":"iss_sub","iss":"i","sub":"s"}]}}}}`))
	f.Add(receiver.ContentTypeSET, []byte("eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2Z1enouZXhhbXBsZSJ9."))

	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		c.Advance(time.Nanosecond)
		before := inbox.len()
		req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/risc", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		ep.r.ServeHTTP(rec, req)

		switch rec.Code {
		case http.StatusAccepted:
			if rec.Body.Len() != 0 {
				t.Fatalf("202 with a body %q", rec.Body)
			}
			checkIndependently(t, &key.PublicKey, bytes.TrimSpace(body), iss, aud)
		case http.StatusBadRequest:
			var e struct {
				Err         string `json:"err"`
				Description string `json:"description"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
				t.Fatalf("400 body %q: %v", rec.Body, err)
			}
			codes := []string{receiver.CodeInvalidRequest, receiver.CodeInvalidKey, receiver.CodeInvalidIssuer, receiver.CodeInvalidAudience}
			if !slices.Contains(codes, e.Err) || e.Description == "" || len(e.Description) > 160 {
				t.Fatalf("400 body %q: want a known code and a short description", rec.Body)
			}
			if inbox.len() != before {
				t.Fatalf("a refused token reached the inbox")
			}
		default:
			t.Fatalf("status %d for %q (body %q)", rec.Code, body, rec.Body)
		}
	})
}

// checkIndependently verifies an accepted token with go-jose and checks
// its iss and aud, so a 202 for a forged token cannot go unnoticed.
func checkIndependently(t *testing.T, pub *rsa.PublicKey, tok []byte, iss, aud string) {
	t.Helper()
	obj, err := jose.ParseSigned(string(tok), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("202 for a token go-jose cannot parse: %v", err)
	}
	payload, err := obj.Verify(pub)
	if err != nil {
		t.Fatalf("202 for a token go-jose does not verify: %v", err)
	}
	var c struct {
		Iss string          `json:"iss"`
		Aud json.RawMessage `json:"aud"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatalf("202 for a payload that is not an object: %v", err)
	}
	if c.Iss != iss && c.Iss != iss+"/" {
		t.Fatalf("202 for iss %q", c.Iss)
	}
	var one string
	var many []string
	if json.Unmarshal(c.Aud, &one) == nil {
		many = []string{one}
	} else if err := json.Unmarshal(c.Aud, &many); err != nil {
		t.Fatalf("202 for aud %s", c.Aud)
	}
	if !slices.Contains(many, aud) {
		t.Fatalf("202 for aud %s", c.Aud)
	}
}
