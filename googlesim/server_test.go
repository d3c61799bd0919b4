package googlesim

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func TestNewValidatesConfig(t *testing.T) {
	_, err := New(Config{
		RedirectURIs: []string{"ftp://x/cb", "http://127.0.0.1/cb#frag"},
		Users:        []User{{Sub: "1", Email: "a@x"}, {Sub: "1", Email: "A@x"}, {Sub: "has space", Email: "none"}},
		Keys:         []*rsa.PrivateKey{testKey(t, 0)},
	})
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("err = %v, want ErrInvalidConfig", err)
	}
	for _, want := range []string{"ftp://x/cb", "fragment", `sub "1" repeated`, `email "A@x" repeated`, "printable ASCII", `"none" has no @`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not report %q", err, want)
		}
	}
}

func TestStartRefusesNonLoopback(t *testing.T) {
	s, err := New(Config{Keys: []*rsa.PrivateKey{testKey(t, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "example.com:80"} {
		if err := s.Start(addr); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("Start(%q) = %v, want ErrNotLoopback", addr, err)
		}
	}
	if err := s.Start("localhost:0"); err != nil {
		t.Fatalf("Start(localhost:0): %v", err)
	}
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Errorf("URL = %q, want http://127.0.0.1:port", s.URL())
	}
	if err := s.Start("127.0.0.1:0"); !errors.Is(err, ErrStarted) {
		t.Errorf("second Start = %v, want ErrStarted", err)
	}
}

func TestHandlerWithHTTPTest(t *testing.T) {
	s, err := New(Config{Keys: []*rsa.PrivateKey{testKey(t, 0)}, ClientSecret: "GOCSPX-x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transmitter().Sign(AccountEnabled("1")); !errors.Is(err, ErrNoIssuer) {
		t.Errorf("Sign before the base URL is known: %v, want ErrNoIssuer", err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	defer s.Close()
	if err := s.SetBaseURL(ts.URL); err != nil {
		t.Fatal(err)
	}
	if err := s.SetBaseURL("http://127.0.0.1:1"); !errors.Is(err, ErrStarted) {
		t.Errorf("second SetBaseURL = %v, want ErrStarted", err)
	}
	resp, err := http.Get(ts.URL + PathRISCConfiguration)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc["issuer"] != ts.URL || doc["jwks_uri"] != ts.URL+PathJWKS {
		t.Errorf("risc-configuration = %v, want issuer %s", doc, ts.URL)
	}
}

func TestClientSecretsJSON(t *testing.T) {
	s := newSim(t, nil)
	if err := s.AddRedirectURI("http://localhost:8080/oauth2/callback"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRedirectURI("http://localhost/cb#x"); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("AddRedirectURI with a fragment = %v, want ErrInvalidConfig", err)
	}
	raw, err := s.ClientSecretsJSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Web map[string]any `json:"web"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"client_id":     s.ClientID(),
		"client_secret": s.ClientSecret(),
		"project_id":    DefaultProjectID,
		"auth_uri":      s.URL() + PathAuthorize,
		"token_uri":     s.URL() + PathToken,
	} {
		if got := doc.Web[name]; got != want {
			t.Errorf("web.%s = %v, want %s", name, got, want)
		}
	}
	if _, ok := doc.Web["auth_provider_x509_cert_url"]; !ok {
		t.Error("web.auth_provider_x509_cert_url missing")
	}
	var uris []string
	for _, u := range doc.Web["redirect_uris"].([]any) {
		uris = append(uris, u.(string))
	}
	if want := []string{"http://127.0.0.1:9/oauth2/callback", "http://localhost:8080/oauth2/callback"}; !slices.Equal(uris, want) {
		t.Errorf("redirect_uris = %v, want %v", uris, want)
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	s := newSim(t, nil)
	for i := range 2 {
		if err := s.Close(); err != nil {
			t.Errorf("Close %d: %v", i+1, err)
		}
	}
}
