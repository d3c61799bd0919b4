package lifecycle_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/dispatch"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/lifecycle"
	"github.com/riscd/riscd/oauthclient"
)

func TestNewRejectsBadConfig(t *testing.T) {
	db := newWorld(t, nil).db
	const secret = "whsec_c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw=="
	good := func() lifecycle.Config {
		return lifecycle.Config{Store: db, RevokeURL: "https://oauth2.googleapis.com/revoke", WebhookURL: "https://app.example.com/hooks", WebhookSecret: secret}
	}
	tests := []struct {
		name string
		edit func(*lifecycle.Config)
		want []string // parts of the message
	}{
		{"no store", func(c *lifecycle.Config) { c.Store = nil }, []string{"store: required"}},
		{"no revoke URL", func(c *lifecycle.Config) { c.RevokeURL = "" }, []string{"revoke_url: required"}},
		{"relative revoke URL", func(c *lifecycle.Config) { c.RevokeURL = "/revoke" }, []string{"revoke_url: not an absolute"}},
		{"revoke URL and a Revoker", func(c *lifecycle.Config) {
			c.Revoker, _ = oauthclient.NewRevoker(oauthclient.RevokerConfig{URL: c.RevokeURL, ClientID: "id", ClientSecret: "GOCSPX-x"})
		}, []string{"revoke_url: give it or a Revoker, not both"}},
		{"webhook URL without secret", func(c *lifecycle.Config) { c.WebhookSecret = "" }, []string{"webhook_secret: required"}},
		{"secret not base64", func(c *lifecycle.Config) { c.WebhookSecret = "whsec_not base64!" }, []string{"webhook_secret: not"}},
		{"secret too short", func(c *lifecycle.Config) { c.WebhookSecret = "whsec_c2hvcnQ=" }, []string{"webhook_secret: 5 bytes"}},
		{"webhook URL not http", func(c *lifecycle.Config) { c.WebhookURL = "ftp://app.example.com/" }, []string{"webhook_url: not an absolute"}},
		{"unknown event key", func(c *lifecycle.Config) { c.Actions = map[string][]string{"token-revokd": {"record"}} }, []string{`"token-revokd" is not an event short name`}},
		{"unknown action", func(c *lifecycle.Config) { c.Actions = map[string][]string{"tokens-revoked": {"revoke_everything"}} }, []string{`unknown action "revoke_everything"`}},
		{"actions that undo each other", func(c *lifecycle.Config) {
			c.Actions = map[string][]string{"account-enabled": {"hold_grants", "release_holds"}}
		}, []string{"hold_grants and release_holds undo each other"}},
		{"negative duration", func(c *lifecycle.Config) { c.BackoffBase = -time.Second }, []string{"backoff_base: negative"}},
		{"every problem at once", func(c *lifecycle.Config) {
			c.Store, c.RevokeURL, c.Workers = nil, "", -1
		}, []string{"store: required", "revoke_url: required", "workers: negative"}},
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
			if s := string(cfg.WebhookSecret); len(s) > 8 && strings.Contains(err.Error(), strings.TrimPrefix(s, "whsec_")) {
				t.Errorf("error %q quotes the webhook secret", err)
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		for _, secret := range []riscd.Secret{
			secret, "c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw", "whsec_c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw", "whsec_" + riscd.Secret(strings.Repeat("-_", 16)),
		} {
			cfg := good()
			cfg.WebhookSecret = secret
			if _, err := lifecycle.New(cfg); err != nil {
				t.Errorf("New with secret form %d: %v", len(secret), err)
			}
		}
		cfg := good()
		cfg.WebhookURL, cfg.WebhookSecret = "", ""
		if _, err := lifecycle.New(cfg); err != nil {
			t.Errorf("New without webhooks: %v", err)
		}
		gen, err := lifecycle.GenerateWebhookSecret()
		if err != nil || !strings.HasPrefix(gen.Reveal(), "whsec_") {
			t.Fatalf("GenerateWebhookSecret = %v, %v", gen, err)
		}
		cfg = good()
		cfg.WebhookSecret = gen
		if _, err := lifecycle.New(cfg); err != nil {
			t.Errorf("New with a generated secret: %v", err)
		}
	})
}

// Every key of the default table is one the config accepts, and every
// action one of the vocabulary.
func TestDefaultActionsAreValid(t *testing.T) {
	db := newWorld(t, nil).db
	table := lifecycle.DefaultActions()
	for key, list := range table {
		if key != "unknown" && !strings.HasPrefix(key, "account-disabled/") {
			if _, ok := events.TypeForName(key); !ok {
				t.Errorf("default key %q is not an event short name", key)
			}
		}
		for _, a := range list {
			if !slices.Contains(lifecycle.Actions(), a) {
				t.Errorf("default %s: action %q not in the vocabulary", key, a)
			}
		}
	}
	if _, err := lifecycle.New(lifecycle.Config{Store: db, RevokeURL: "http://127.0.0.1:1/", Actions: table}); err != nil {
		t.Errorf("New with the default table as overrides: %v", err)
	}
	for _, key := range []string{"token-revoked", "tokens-revoked", "sessions-revoked", "caep:session-revoked", "account-enabled", "account-purged", "verification", "unknown",
		"account-disabled/hijacking", "account-disabled/bulk-account", "account-disabled/none", "account-disabled/other"} {
		if _, ok := table[key]; !ok {
			t.Errorf("default table lacks %q (keys: %q)", key, slices.Sorted(maps.Keys(table)))
		}
	}
}

// Overrides replace a default list; a plain account-disabled entry covers
// every reason unless a reason has its own.
func TestActionOverrides(t *testing.T) {
	w := newWorld(t, func(c *lifecycle.Config) {
		c.Actions = map[string][]string{
			"account-disabled":              {"record"},
			"account-disabled/bulk-account": {"notify", "flag_review"}, // order does not matter
			"sessions-revoked":              {},
		}
	})
	seed(w)
	w.deliver(googleSET(t, "j1", events.TypeAccountDisabled, issSub(subA), `"reason": "hijacking"`))
	w.deliver(googleSET(t, "j2", events.TypeSessionsRevoked, issSub(subA), ""))
	if got := acctOf(w.getAccount(subA)); got != (acct{Email: "a@example.com"}) {
		t.Errorf("audit-only overrides changed the account: %+v", got)
	}
	w.deliver(googleSET(t, "j3", events.TypeAccountDisabled, issSub(subA), `"reason": "bulk-account"`))
	if !w.getAccount(subA).Review {
		t.Errorf("bulk-account override did not flag the account for review")
	}
	var got []string
	for _, e := range w.audit() {
		got = append(got, e.EventJTI+":"+e.Action)
	}
	want := []string{"j1:record", "j2:record", "j3:record", "j3:flag_review", "j3:notify"}
	if !slices.Equal(got, want) {
		t.Errorf("audit %q, want %q", got, want)
	}
}

// A transmitter's configured subject issuers replace its SET's own.
func TestSubjectIssuers(t *testing.T) {
	const okta = "https://example.okta.com"
	w := newWorld(t, func(c *lifecycle.Config) {
		c.SubjectIssuers = map[string][]string{"google": {"https://accounts.google.com"}, "okta": {}}
	})
	s := seed(w)
	deliverAs := func(tx string, set *events.SET) {
		t.Helper()
		if err := w.lc.Handler().Handle(w.ctx, dispatch.Delivery{Entry: dispatch.Entry{Transmitter: tx}, SET: set, Attempt: 1}); err != nil {
			t.Fatalf("Handle: %v", err)
		}
	}
	// Okta's own users are not Google subjects, even with the same sub.
	deliverAs("okta", ssfSET(t, "o1", okta, events.TypeSessionRevoked, `{"format": "iss_sub", "iss": "`+okta+`", "sub": "`+subA+`"}`, `{}`))
	if !w.hasSession("sess-old") {
		t.Errorf("an okta subject ended a Google user's session")
	}
	oktaToken := ssfSET(t, "o2", okta, events.TypeTokenRevoked,
		`{"format": "oauth_token", "token_type": "refresh_token", "token_identifier_alg": "hash_base64_sha512_sha512", "token": "`+hashID(s.tokens["a1"], nil)+`"}`, `{}`)
	deliverAs("okta", oktaToken)
	if g := w.getGrant(s.grants["a1"].ID); g.Status != riscd.GrantActive {
		t.Errorf("an untrusted transmitter's token-revoked revoked a grant")
	}
	deliverAs("google", googleSET(t, "g1", events.TypeSessionsRevoked, issSub(subA), ""))
	if w.hasSession("sess-old") {
		t.Errorf("a trusted Google subject did not end the session")
	}
	outcomes := map[string]string{}
	for _, e := range w.audit() {
		if e.Action == "record" {
			outcomes[e.EventJTI] = e.Outcome
		}
	}
	if outcomes["o1"] != "ignored: subject issuer not trusted for this transmitter" || outcomes["g1"] != "recorded" ||
		outcomes["o2"] != "ignored: token identifiers from this transmitter are not trusted" {
		t.Errorf("record outcomes %v", outcomes)
	}
}
