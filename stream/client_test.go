package stream

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/riscd/riscd/googlesim"
)

func TestNewRefusesBadKeys(t *testing.T) {
	sim := newSim(t, nil)
	good := sim.ServiceAccountJSON()
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	var pemKey string
	{
		var m map[string]string
		_ = json.Unmarshal(good, &m)
		pemKey = m["private_key"]
	}
	for _, tc := range []struct {
		name string
		key  []byte
		want string
	}{
		{"not JSON", []byte("-----BEGIN PRIVATE KEY-----"), "not a JSON key file"},
		{"client secrets", []byte(`{"web": {"client_id": "x", "client_secret": "GOCSPX-secret"}}`), `type is ""`},
		{"user credentials", edit(func(m map[string]any) { m["type"] = "authorized_user" }), `type is "authorized_user"`},
		{"no email", edit(func(m map[string]any) { delete(m, "client_email") }), "missing client_email"},
		{"no key", edit(func(m map[string]any) { delete(m, "private_key"); delete(m, "private_key_id") }), "missing private_key, private_key_id"},
		{"bad PEM", edit(func(m map[string]any) { m["private_key"] = strings.Replace(pemKey, "M", "%", 5) }), "not a PEM RSA private key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(context.Background(), tc.key, Options{})
			if !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want ErrInvalidKey saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), "GOCSPX") || len(err.Error()) > 200 {
				t.Errorf("error %q quotes the file", err)
			}
		})
	}
	t.Run("bad base URL", func(t *testing.T) {
		if _, err := New(context.Background(), good, Options{BaseURL: "risc.googleapis.com/v1beta"}); err == nil || !strings.Contains(err.Error(), "base URL") {
			t.Errorf("New = %v, want a base URL error", err)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		c, err := New(context.Background(), good, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if c.BaseURL() != DefaultBaseURL || c.ServiceAccount() != sim.ServiceAccountEmail() {
			t.Errorf("BaseURL %q, ServiceAccount %q", c.BaseURL(), c.ServiceAccount())
		}
	})
}

func TestStreamRoundTrip(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t, nil)
	c, _ := newClient(t, sim)
	rv := newReceiver(t)

	_, err := c.Get(ctx)
	if !errors.Is(err, ErrNoStream) || !strings.Contains(err.Error(), "no stream yet: run riscd stream update first") {
		t.Fatalf("Get before update = %v, want ErrNoStream and its hint", err)
	}
	const caep = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
	requested := []string{googlesim.EventAccountDisabled, caep, googlesim.EventVerification, caep, "urn:example:x"}
	cfg, dropped, err := c.Update(ctx, rv.URL+"/risc", requested)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if want := []string{caep, "urn:example:x"}; !slices.Equal(dropped, want) {
		t.Errorf("dropped = %q, want %q", dropped, want)
	}
	if cfg.DeliveryURL != rv.URL+"/risc" || cfg.DeliveryMethod != DeliveryMethodPush ||
		!slices.Equal(cfg.Kept(), []string{googlesim.EventAccountDisabled, googlesim.EventVerification}) {
		t.Errorf("Update read back %+v", cfg)
	}
	got, err := c.Get(ctx)
	if err != nil || !slices.Equal(got.EventsRequested, cfg.EventsRequested) || got.DeliveryURL != cfg.DeliveryURL {
		t.Errorf("Get = %+v %v, want %+v", got, err, cfg)
	}
	for _, enabled := range []bool{false, true} {
		if err := c.SetStatus(ctx, enabled); err != nil {
			t.Fatalf("SetStatus(%v): %v", enabled, err)
		}
		want := StatusDisabled
		if enabled {
			want = StatusEnabled
		}
		if st, err := c.Status(ctx); err != nil || st != want {
			t.Fatalf("Status = %q %v, want %q", st, err, want)
		}
	}
	if err := c.Verify(ctx, "state-42"); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	rv.waitReceived(t, "state-42")
}

func TestConfigKept(t *testing.T) {
	c := Config{EventsRequested: []string{"a", "b"}}
	if got := c.Kept(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Kept without events_delivered = %q", got)
	}
	c.EventsDelivered = []string{"b"}
	if got := c.Kept(); !slices.Equal(got, []string{"b"}) {
		t.Errorf("Kept with events_delivered = %q, want [b]", got)
	}
}
