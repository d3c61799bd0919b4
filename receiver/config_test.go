package receiver_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/receiver"
)

func TestNewRefusesBadConfig(t *testing.T) {
	inbox := newFakeInbox()
	good := receiver.Transmitter{Name: "google", ConfigurationURL: "https://accounts.google.com/.well-known/risc-configuration", Audiences: []string{"client"}}
	with := func(edit func(*receiver.Config)) receiver.Config {
		cfg := receiver.Config{Transmitters: []receiver.Transmitter{good}, Inbox: inbox}
		edit(&cfg)
		return cfg
	}
	for _, tc := range []struct {
		name string
		cfg  receiver.Config
		want []string // every one must appear in the error
	}{
		{"no inbox", with(func(c *receiver.Config) { c.Inbox = nil }), []string{"no inbox"}},
		{"no transmitter", with(func(c *receiver.Config) { c.Transmitters = nil }), []string{"no transmitter"}},
		{"alg none", with(func(c *receiver.Config) { c.Algorithms = []string{"none"} }), []string{`"none"`}},
		{"HS256", with(func(c *receiver.Config) { c.Algorithms = []string{"RS256", "HS256"} }), []string{`"HS256"`}},
		{"unknown alg", with(func(c *receiver.Config) { c.Algorithms = []string{"RS1"} }), []string{`"RS1"`}},
		{"alg in lower case", with(func(c *receiver.Config) { c.Algorithms = []string{"rs256"} }), []string{`"rs256"`}},
		{"no URL", with(func(c *receiver.Config) { c.Transmitters[0].ConfigurationURL = "" }), []string{"configuration_url"}},
		{"issuer without jwks_url", with(func(c *receiver.Config) {
			c.Transmitters[0] = receiver.Transmitter{Name: "x", Issuer: "https://x", Audiences: []string{"a"}}
		}), []string{"jwks_url"}},
		{"relative URL", with(func(c *receiver.Config) { c.Transmitters[0].ConfigurationURL = "/risc-configuration" }), []string{"absolute"}},
		{"file URL", with(func(c *receiver.Config) {
			c.Transmitters[0] = receiver.Transmitter{Name: "x", Issuer: "https://x", JWKSURL: "file:///etc/keys", Audiences: []string{"a"}}
		}), []string{"jwks_url is not an absolute http(s) URL"}},
		{"no audience", with(func(c *receiver.Config) { c.Transmitters[0].Audiences = nil }), []string{"no audience"}},
		{"empty audience", with(func(c *receiver.Config) { c.Transmitters[0].Audiences = []string{""} }), []string{"empty audience"}},
		{"no name", with(func(c *receiver.Config) { c.Transmitters[0].Name = "" }), []string{"no name"}},
		{"bad format", with(func(c *receiver.Config) { c.Transmitters[0].Format = events.Format(9) }), []string{"unknown format"}},
		{"name twice", with(func(c *receiver.Config) { c.Transmitters = append(c.Transmitters, good) }), []string{"name used twice"}},
		{"issuer twice, spelled differently", with(func(c *receiver.Config) {
			c.Transmitters = []receiver.Transmitter{
				{Name: "a", Issuer: "https://x", JWKSURL: "https://x/keys", Audiences: []string{"a"}},
				{Name: "b", Issuer: "https://x/", JWKSURL: "https://x/keys", Audiences: []string{"a"}},
			}
		}), []string{"issuer also used"}},
		{"negative duration", with(func(c *receiver.Config) { c.MaxIATSkew = -time.Second }), []string{"MaxIATSkew is negative"}},
		{"min refresh over max", with(func(c *receiver.Config) { c.MinRefresh, c.MaxRefresh = time.Hour, time.Minute }), []string{"MinRefresh"}},
		{"every problem at once", with(func(c *receiver.Config) {
			c.Inbox = nil
			c.Algorithms = []string{"none"}
			c.Transmitters[0].Audiences = nil
		}), []string{"no inbox", `"none"`, "no audience"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := receiver.New(t.Context(), tc.cfg)
			if !errors.Is(err, receiver.ErrConfig) || r != nil {
				t.Fatalf("New = %v, %v; want nil and ErrConfig", r, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestNewDoesNotWaitForAnUnreachableTransmitter(t *testing.T) {
	// A closed port: discovery fails and is retried in the background.
	c := newClock()
	cfg := baseConfig(t, c)
	cfg.Inbox = newFakeInbox()
	cfg.Transmitters = []receiver.Transmitter{{Name: "google", ConfigurationURL: closedURL(t), Audiences: []string{"client"}}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := receiver.New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := r.Ready(); !errors.Is(err, receiver.ErrNotReady) || !strings.Contains(err.Error(), "google (not discovered)") {
		t.Errorf("Ready() = %v, want ErrNotReady naming google", err)
	}
}

func TestReadyNamesTransmittersWithoutKeys(t *testing.T) {
	c := newClock()
	g := mustGoogle(t, c, mustRSAKeys(t, 1))
	if err := g.SetFault(googlesim.EndpointJWKS, googlesim.Fault{Status: 500}); err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig(t, c)
	cfg.Inbox = newFakeInbox()
	cfg.Transmitters = []receiver.Transmitter{{Name: "static", Issuer: g.URL(), JWKSURL: g.URL() + googlesim.PathJWKS, Audiences: []string{"a"}}}
	ep := mustReceiver(t, cfg)
	if err := ep.r.Ready(); !errors.Is(err, receiver.ErrNotReady) || !strings.Contains(err.Error(), "static (keys not loaded)") {
		t.Errorf("Ready() = %v, want ErrNotReady naming static", err)
	}
	g.ClearFaults()
	waitReady(t, ep.r)
}

func TestTwoTransmittersDiscoveringOneIssuer(t *testing.T) {
	c := newClock()
	g := mustGoogle(t, c, mustRSAKeys(t, 1))
	cfg := baseConfig(t, c)
	cfg.Inbox = newFakeInbox()
	first := googleTransmitter(g)
	second := first
	second.Name = "google-again"
	cfg.Transmitters = []receiver.Transmitter{first, second}
	ep := mustReceiver(t, cfg)
	// One of them cannot be installed: the receiver never gets ready, and
	// says which.
	testkit.Eventually(t, "Ready() to name exactly one transmitter not discovered", func() bool {
		err := ep.r.Ready()
		if err == nil {
			t.Fatal("Ready() = nil with two transmitters claiming one issuer")
		}
		msg := err.Error()
		return !strings.Contains(msg, "keys not loaded") && strings.Count(msg, "not discovered") == 1 &&
			g.Stats().Requests[googlesim.EndpointRISCConfiguration] >= 4
	})
}

// closedURL returns an http URL on 127.0.0.1 that refuses connections.
func closedURL(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	return srv.URL + "/.well-known/risc-configuration"
}
