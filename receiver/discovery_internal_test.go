package receiver

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestDiscoveryDocument checks how a configuration document (RFC 8414 §3.2
// shape; RISC and SSF documents use it) is read: one JSON object, names
// matched exactly, duplicate names and invalid UTF-8 refused.
func TestDiscoveryDocument(t *testing.T) {
	const jwks = "https://keys.example/jwks"
	for _, c := range []struct {
		name, doc  string
		wantIssuer string // "": discovery fails
	}{
		{"sound", `{"issuer":"https://t.example","jwks_uri":"` + jwks + `","other":[1,{"x":null}]}`, "https://t.example"},
		{"escaped names", `{"\u0069ssuer":"https://t.example","jwks_uri":"` + jwks + `"}`, "https://t.example"},
		{"duplicate jwks_uri", `{"issuer":"https://t.example","jwks_uri":"` + jwks + `","jwks_uri":"http://evil.example/jwks"}`, ""},
		{"duplicate issuer by escape", `{"issuer":"https://t.example","\u0069ssuer":"https://evil.example","jwks_uri":"` + jwks + `"}`, ""},
		{"invalid UTF-8", "{\"issuer\":\"https://t.example\",\"x\":\"\xff\",\"jwks_uri\":\"" + jwks + "\"}", ""},
		{"trailing data", `{"issuer":"https://t.example","jwks_uri":"` + jwks + `"}{}`, ""},
		{"an array", `[{"issuer":"https://t.example","jwks_uri":"` + jwks + `"}]`, ""},
		{"issuer a number", `{"issuer":1,"jwks_uri":"` + jwks + `"}`, ""},
		{"names in another case", `{"ISSUER":"https://t.example","JWKS_URI":"` + jwks + `"}`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, c.doc)
			}))
			defer srv.Close()
			ctx := context.Background()
			r := &Receiver{
				log:   slog.New(slog.DiscardHandler),
				fetch: &fetcher{ctx: ctx, client: srv.Client(), timeout: 10 * time.Second, now: time.Now, min: time.Minute, max: time.Hour},
			}
			issuer, jwksURL, err := r.discover(ctx, Transmitter{Name: "t", ConfigurationURL: srv.URL + "/.well-known/risc-configuration"})
			switch {
			case c.wantIssuer == "" && err == nil:
				t.Errorf("discovered %q, %q; want an error", issuer, jwksURL)
			case c.wantIssuer != "" && (err != nil || issuer != c.wantIssuer || jwksURL != jwks):
				t.Errorf("discover = %q, %q, %v; want %q, %q", issuer, jwksURL, err, c.wantIssuer, jwks)
			}
		})
	}
}
