package receiver_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit/hostile"
	"github.com/riscd/riscd/receiver"
)

func TestBothIssuerSpellings(t *testing.T) {
	t.Run("discovered without slash", func(t *testing.T) {
		h := mustGoogleReceiver(t, mustRSAKeys(t, 1), nil)
		wantAccepted(t, post(t, h.url, mustSign(t, h.g, googlesim.SessionsRevoked("1"), googlesim.WithJTI("A"))))
		wantAccepted(t, post(t, h.url, mustSign(t, h.g, googlesim.SessionsRevoked("1"), googlesim.WithJTI("B"),
			googlesim.WithIssuer(h.g.URL()+"/"))))
		// The same SET under the other spelling is a redelivery, not a new entry.
		wantAccepted(t, post(t, h.url, mustSign(t, h.g, googlesim.SessionsRevoked("1"), googlesim.WithJTI("A"),
			googlesim.WithIssuer(h.g.URL()+"/"))))
		if got := inboxCount(t, h.db); got != 2 {
			t.Fatalf("inbox entries = %d, want 2", got)
		}
		e, err := h.db.InboxByJTI(context.Background(), h.g.URL(), "B")
		if err != nil {
			t.Fatalf("entry B under the canonical issuer: %v", err)
		}
		if e.Iss != h.g.URL() {
			t.Errorf("stored iss = %q, want the discovered %q", e.Iss, h.g.URL())
		}
	})
	t.Run("configured with slash", func(t *testing.T) {
		c := newClock()
		g := mustGoogle(t, c, mustRSAKeys(t, 1))
		db := mustStore(t)
		cfg := baseConfig(t, c)
		cfg.Transmitters = []receiver.Transmitter{{
			Name: "google", Issuer: g.URL() + "/", JWKSURL: g.URL() + googlesim.PathJWKS, Audiences: []string{g.ClientID()},
		}}
		cfg.Inbox = db
		ep := mustReceiver(t, cfg)
		waitReady(t, ep.r)
		wantAccepted(t, post(t, ep.url, mustSign(t, g, googlesim.SessionsRevoked("1"))))
		wantAccepted(t, post(t, ep.url, mustSign(t, g, googlesim.SessionsRevoked("1"), googlesim.WithIssuer(g.URL()+"/"))))
		if got := inboxCount(t, db); got != 2 {
			t.Errorf("inbox entries = %d, want 2", got)
		}
		if n := g.Stats().Requests[googlesim.EndpointRISCConfiguration]; n != 0 {
			t.Errorf("discovery requests = %d, want 0 with issuer and jwks_url configured", n)
		}
	})
}

func TestAudiences(t *testing.T) {
	h := mustGoogleReceiver(t, mustRSAKeys(t, 1), func(cfg *receiver.Config) {
		cfg.Transmitters[0].Audiences = []string{"first.apps.googleusercontent.com", "second.apps.googleusercontent.com", "123456789012-riscdsim.apps.googleusercontent.com"}
	})
	for _, tc := range []struct {
		name string
		aud  any
	}{
		{"first configured", "first.apps.googleusercontent.com"},
		{"middle configured", "second.apps.googleusercontent.com"},
		{"array holding one", []string{"other", "second.apps.googleusercontent.com"}},
		{"array holding several", []string{"first.apps.googleusercontent.com", "123456789012-riscdsim.apps.googleusercontent.com"}},
		{"one-element array", []string{h.g.ClientID()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantAccepted(t, post(t, h.url, mustSign(t, h.g, googlesim.SessionsRevoked("1"), googlesim.WithAudience(tc.aud))))
		})
	}
}

// ssfTransmitter is an SSF 1.0 transmitter signing with ES256.
type ssfTransmitter struct {
	issuer, audience, kid string
	key                   *ecdsa.PrivateKey
	jwksURL               string
}

func newSSFTransmitter(t *testing.T) ssfTransmitter {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := ssfTransmitter{issuer: "https://ssf.example.com", audience: "https://riscd.example.com/risc", kid: "ssf-1", key: key}
	s.jwksURL = hostile.ServeJWKS(t, s.kid, &key.PublicKey)
	return s
}

func (s ssfTransmitter) config() receiver.Transmitter {
	return receiver.Transmitter{Name: "ssf", Issuer: s.issuer, JWKSURL: s.jwksURL, Audiences: []string{s.audience}, Format: events.FormatSSF}
}

// claims returns a CAEP session-revoked SET in the SSF shape.
func (s ssfTransmitter) claims(jti string) map[string]any {
	return map[string]any{
		"iss": s.issuer, "aud": s.audience, "iat": t0.Unix(), "jti": jti,
		"sub_id": map[string]any{"format": "iss_sub", "iss": s.issuer, "sub": "user-1"},
		"events": map[string]any{events.TypeSessionRevoked: map[string]any{
			"event_timestamp": t0.Add(-time.Minute).Unix(), "initiating_entity": "policy",
		}},
	}
}

// sign signs payload with jwx, typ secevent+jwt unless typ says otherwise
// ("-" leaves it out).
func (s ssfTransmitter) sign(t *testing.T, payload []byte, typ string) string {
	t.Helper()
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.KeyIDKey, s.kid)
	if typ == "" {
		typ = "secevent+jwt"
	}
	if typ != "-" {
		_ = hdr.Set(jws.TypeKey, typ)
	}
	tok, err := jws.Sign(payload, jws.WithKey(jwa.ES256, s.key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(tok)
}

func TestSSFTransmitterBesideGoogle(t *testing.T) {
	ssf := newSSFTransmitter(t)
	h := mustGoogleReceiver(t, mustRSAKeys(t, 1), func(cfg *receiver.Config) {
		cfg.Algorithms = []string{"RS256", "ES256"}
		cfg.Transmitters = append(cfg.Transmitters, ssf.config())
	})

	wantAccepted(t, post(t, h.url, ssf.sign(t, mustJSON(t, ssf.claims("ssf-1")), "")))
	wantAccepted(t, post(t, h.url, mustSign(t, h.g, googlesim.SessionsRevoked("1"))))
	e, err := h.db.InboxByJTI(context.Background(), ssf.issuer, "ssf-1")
	if err != nil {
		t.Fatalf("SSF entry: %v", err)
	}
	if want := events.SubjectKey(events.IssSub{Iss: ssf.issuer, Sub: "user-1"}); e.Transmitter != "ssf" || e.Subject != want {
		t.Errorf("SSF entry transmitter %q subject %q, want ssf, %q", e.Transmitter, e.Subject, want)
	}

	edit := func(f func(map[string]any)) []byte {
		c := ssf.claims("ssf-x")
		f(c)
		return mustJSON(t, c)
	}
	for _, tc := range []struct {
		name     string
		tok      string
		wantCode string
	}{
		{"top-level sub", ssf.sign(t, edit(func(c map[string]any) { c["sub"] = "user-1" }), ""), receiver.CodeInvalidRequest},
		{"no sub_id", ssf.sign(t, edit(func(c map[string]any) { delete(c, "sub_id") }), ""), receiver.CodeInvalidRequest},
		{"sub_id of an unknown format", ssf.sign(t, edit(func(c map[string]any) { c["sub_id"] = map[string]any{"format": "galaxy", "id": "x"} }), ""), receiver.CodeInvalidRequest},
		{"no typ", ssf.sign(t, mustJSON(t, ssf.claims("ssf-2")), "-"), receiver.CodeInvalidRequest},
		{"typ JWT", ssf.sign(t, mustJSON(t, ssf.claims("ssf-3")), "JWT"), receiver.CodeInvalidRequest},
		{"Google's audience", ssf.sign(t, edit(func(c map[string]any) { c["aud"] = h.g.ClientID() }), ""), receiver.CodeInvalidAudience},
		{"Google's issuer on an SSF key", ssf.sign(t, edit(func(c map[string]any) { c["iss"] = h.g.URL() }), ""), receiver.CodeInvalidKey},
		{"SSF issuer on Google's key", mustSign(t, h.g, googlesim.SessionsRevoked("1"), googlesim.WithSSFFormat(), googlesim.WithIssuer(ssf.issuer), googlesim.WithAudience(ssf.audience)), receiver.CodeInvalidKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := inboxCount(t, h.db)
			a := post(t, h.url, tc.tok)
			if a.status != http.StatusBadRequest || a.err != tc.wantCode {
				t.Errorf("answer = %d %q (%s), want 400 %q", a.status, a.err, a.desc, tc.wantCode)
			}
			if got := inboxCount(t, h.db); got != before {
				t.Errorf("inbox entries = %d, want %d", got, before)
			}
		})
	}
}

func TestSSFFormatFromGoogleSimulator(t *testing.T) {
	// googlesim's SSF shape, on a transmitter configured as ssf.
	h := mustGoogleReceiver(t, mustRSAKeys(t, 1), func(cfg *receiver.Config) {
		cfg.Transmitters[0].Format = events.FormatSSF
	})
	wantAccepted(t, post(t, h.url, mustSign(t, h.g, googlesim.SessionsRevoked("1"), googlesim.WithSSFFormat())))
	// Google's legacy shape lacks sub_id: refused by an SSF transmitter.
	a := post(t, h.url, mustSign(t, h.g, googlesim.SessionsRevoked("1"), googlesim.WithType("secevent+jwt")))
	if a.status != http.StatusBadRequest || a.err != receiver.CodeInvalidRequest {
		t.Errorf("legacy shape on an SSF transmitter: answer = %d %q, want 400 invalid_request", a.status, a.err)
	}
	if got := inboxCount(t, h.db); got != 1 {
		t.Errorf("inbox entries = %d, want 1", got)
	}
}

// TestAlgorithmsPerTransmitter: each transmitter has its own alg
// allow-list (RFC 8725 section 3.1: a recipient accepts only the algorithms
// it expects of that sender). Two SSF transmitters sign with ES256; only
// the one whose list holds ES256 is accepted, even though ES256 is allowed
// for the receiver as a whole.
func TestAlgorithmsPerTransmitter(t *testing.T) {
	ecOK, ecRefused := newSSFTransmitter(t), newSSFTransmitter(t)
	ecRefused.issuer = "https://other-ssf.example.com"
	h := mustGoogleReceiver(t, mustRSAKeys(t, 1), func(cfg *receiver.Config) {
		ok := ecOK.config()
		ok.Algorithms = []string{"ES256"}
		refused := ecRefused.config()
		refused.Name, refused.Algorithms = "other-ssf", []string{"RS256"}
		cfg.Transmitters = append(cfg.Transmitters, ok, refused)
	})

	wantAccepted(t, post(t, h.url, ecOK.sign(t, mustJSON(t, ecOK.claims("es-1")), "")))
	a := post(t, h.url, ecRefused.sign(t, mustJSON(t, ecRefused.claims("es-2")), ""))
	if a.status != http.StatusBadRequest || a.err != receiver.CodeInvalidKey {
		t.Errorf("ES256 from a transmitter allowing RS256 only: answer = %d %q (%s), want 400 invalid_key", a.status, a.err, a.desc)
	}
	// Google's transmitter keeps the receiver's default, RS256.
	wantAccepted(t, post(t, h.url, mustSign(t, h.g, googlesim.SessionsRevoked("1"))))
	if got := inboxCount(t, h.db); got != 2 {
		t.Errorf("inbox entries = %d, want 2", got)
	}
}

func TestAlgorithmsPerTransmitterValidated(t *testing.T) {
	cfg := baseConfig(t, newClock())
	cfg.Inbox = mustStore(t)
	tr := newSSFTransmitter(t).config()
	tr.Algorithms = []string{"HS256"}
	cfg.Transmitters = []receiver.Transmitter{tr}
	_, err := receiver.New(t.Context(), cfg)
	if !errors.Is(err, receiver.ErrConfig) || !strings.Contains(err.Error(), `transmitter "ssf": algorithm "HS256"`) {
		t.Errorf("New with HS256 for one transmitter: %v, want ErrConfig naming it", err)
	}
}
