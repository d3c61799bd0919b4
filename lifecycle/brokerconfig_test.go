package lifecycle_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd/lifecycle"
)

func TestNewRejectsBadBrokerConfig(t *testing.T) {
	db := newWorld(t, nil).db
	const clientSecret = "GOCSPX-must-not-leak-0123456789"
	good := func() lifecycle.Config {
		return lifecycle.Config{
			Store: db, RevokeURL: "https://oauth2.googleapis.com/revoke",
			ClientID: "123-abc.apps.googleusercontent.com", ClientSecret: clientSecret, TokenURL: "https://oauth2.googleapis.com/token",
		}
	}
	tests := []struct {
		name string
		edit func(*lifecycle.Config)
		want []string
	}{
		{"client ID without secret", func(c *lifecycle.Config) { c.ClientSecret = "" }, []string{"give all three or none"}},
		{"token URL alone", func(c *lifecycle.Config) { c.ClientID, c.ClientSecret = "", "" }, []string{"give all three or none"}},
		{"relative token URL", func(c *lifecycle.Config) { c.TokenURL = "/token" }, []string{"token_url: not an absolute"}},
		{"lead time of an hour", func(c *lifecycle.Config) { c.RefreshLeadTime = time.Hour }, []string{"refresh_lead_time: at most 30m"}},
		{"keep-alive every hour", func(c *lifecycle.Config) { c.KeepAliveInterval = time.Hour }, []string{"keepalive_interval: 0 (off) or between 24h and 2160h"}},
		{"keep-alive every half year", func(c *lifecycle.Config) { c.KeepAliveInterval = 180 * 24 * time.Hour }, []string{"keepalive_interval"}},
		{"negative window and workers", func(c *lifecycle.Config) { c.RecentUseWindow, c.RefreshWorkers = -time.Minute, -1 }, []string{"recent_use_window: negative", "refresh_workers: negative"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.edit(&cfg)
			_, err := lifecycle.New(cfg)
			if !errors.Is(err, lifecycle.ErrConfig) {
				t.Fatalf("New: got %v, want ErrConfig", err)
			}
			for _, part := range tc.want {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not say %q", err, part)
				}
			}
			if strings.Contains(err.Error(), clientSecret) {
				t.Errorf("error %q quotes the client secret", err)
			}
		})
	}
	for name, edit := range map[string]func(*lifecycle.Config){
		"all three":                func(*lifecycle.Config) {},
		"none":                     func(c *lifecycle.Config) { c.ClientID, c.ClientSecret, c.TokenURL = "", "", "" },
		"keep-alive every 30 days": func(c *lifecycle.Config) { c.KeepAliveInterval = 30 * 24 * time.Hour },
		"lead time of ten minutes": func(c *lifecycle.Config) { c.RefreshLeadTime = 10 * time.Minute },
		"backoff max below base":   func(c *lifecycle.Config) { c.RefreshBackoffBase, c.RefreshBackoffMax = time.Minute, time.Second },
	} {
		cfg := good()
		edit(&cfg)
		if _, err := lifecycle.New(cfg); err != nil {
			t.Errorf("New with %s: %v", name, err)
		}
	}
}
