package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/receiver"
)

// idp is an SSF 1.0 transmitter on loopback signing with ES256.
type idp struct {
	issuer, jwksURL string
	key             *ecdsa.PrivateKey
}

func startIDP(t *testing.T) idp {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := jwk.FromRaw(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	_ = pub.Set(jwk.KeyIDKey, "idp-1")
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
	return idp{issuer: "https://idp.example.com", jwksURL: srv.URL + "/jwks", key: key}
}

// sessionRevoked is a signed CAEP session-revoked SET about subID.
func (p idp) sessionRevoked(t *testing.T, jti, subID string, at time.Time) string {
	t.Helper()
	payload := fmt.Sprintf(`{"iss": %q, "aud": "riscd", "iat": %d, "jti": %q, "sub_id": %s, "events": {%q: {"event_timestamp": %d}}}`,
		p.issuer, at.Unix(), jti, subID, events.TypeSessionRevoked, at.Unix())
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.KeyIDKey, "idp-1")
	_ = hdr.Set(jws.TypeKey, "secevent+jwt")
	tok, err := jws.Sign([]byte(payload), jws.WithKey(jwa.ES256, p.key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(tok)
}

func postSET(t *testing.T, url, token string) int {
	t.Helper()
	res, err := http.Post(url, receiver.ContentTypeSET, strings.NewReader(token))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestSSFOnlyDeployment runs the daemon with Google's transmitter turned off
// and one SSF transmitter: /readyz is ready without Google's discovery
// document, the transmitter's own algorithm (ES256) is accepted, its email
// subject ends the sessions of the grant with that verified email, and an
// email naming nobody is forwarded to the app with the subject as sent.
func TestSSFOnlyDeployment(t *testing.T) {
	var discovery atomic.Int64
	google := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		discovery.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer google.Close()
	secretBytes := []byte("0123456789abcdef01234567")
	sink := &webhookSink{secret: secretBytes}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hooks := &httptest.Server{Listener: ln, Config: &http.Server{Handler: sink}}
	hooks.Start()
	defer hooks.Close()
	p := startIDP(t)

	sim := startSim(t)
	l, err := load(simConfig(t, sim), []string{
		"RISCD_RISC_GOOGLE=false",
		"RISCD_RISC_CONFIGURATION_URL=" + google.URL + "/.well-known/risc-configuration",
		fmt.Sprintf("RISCD_RISC_TRANSMITTERS=[{name: idp, issuer: %q, jwks_url: %q, audiences: [riscd], format: ssf, algorithms: [ES256], subjects: [email], actions: {'caep:session-revoked': [end_sessions, set_sessions_revoked_at, notify]}}]",
			p.issuer, p.jwksURL),
		"RISCD_COMPANION_WEBHOOK_URL=" + hooks.URL + "/hooks",
		"RISCD_COMPANION_WEBHOOK_SECRET=whsec_" + base64.StdEncoding.EncodeToString(secretBytes),
	}, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: l.cfg, Secrets: l.secrets}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	waitReady(t, "http://"+m.InternalAddr())
	if n := discovery.Load(); n != 0 {
		t.Errorf("Google's discovery document was fetched %d times, want 0 with risc.google false", n)
	}

	ctx := context.Background()
	const sub = "110000000000000000001"
	now := time.Now()
	if _, err := m.db.CreateGrant(ctx, riscd.Grant{Sub: sub, Email: "alice@idp.example.com", EmailVerified: true, Status: riscd.GrantActive}); err != nil {
		t.Fatal(err)
	}
	if err := m.db.CreateSession(ctx, riscd.Session{ID: "sess-old", Sub: sub, CSRF: "csrf", CreatedAt: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	target := "http://" + m.PublicAddr() + "/risc"

	if code := postSET(t, target, p.sessionRevoked(t, "e-1", `{"format": "email", "email": "Alice@IdP.example.com"}`, now)); code != http.StatusAccepted {
		t.Fatalf("matching SET: status %d, want 202", code)
	}
	hook := waitHook(t, sink, sub)
	if hook["type"] != "caep:session-revoked" || hook["transmitter"] != "idp" || hook["action"] != "end_sessions,set_sessions_revoked_at" {
		t.Errorf("webhook %v, want caep:session-revoked from idp with end_sessions,set_sessions_revoked_at", hook)
	}
	if _, err := m.db.Session(ctx, "sess-old"); err == nil {
		t.Errorf("the session older than the event is still there")
	}

	if code := postSET(t, target, p.sessionRevoked(t, "e-2", `{"format": "email", "email": "nobody@idp.example.com"}`, now)); code != http.StatusAccepted {
		t.Fatalf("unmatched SET: status %d, want 202", code)
	}
	hook = waitHook(t, sink, "")
	subject, _ := hook["subject"].(map[string]any)
	if hook["event_jti"] != "e-2" || hook["action"] != "record" || subject["format"] != "email" || subject["email"] != "nobody@idp.example.com" {
		t.Errorf("webhook %v, want e-2 forwarded (action record) with its subject as sent", hook)
	}
}

// waitHook waits for the first webhook about sub, failing after a bound
// that only a hang reaches.
func waitHook(t *testing.T, sink *webhookSink, sub string) map[string]any {
	t.Helper()
	var got []map[string]any
	testkit.Eventually(t, fmt.Sprintf("a webhook about sub %q", sub), func() bool {
		got = sink.find(sub)
		return len(got) > 0
	})
	return got[0]
}
