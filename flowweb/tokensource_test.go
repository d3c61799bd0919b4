package flowweb_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/flowweb"
	"github.com/riscd/riscd/googlesim"
)

// fakeTokens is a flowweb.Grants whose GrantToken answers as its test says
// and records what it was asked; the rest is the real grants service.
type fakeTokens struct {
	flowweb.Grants
	mu     sync.Mutex
	asked  []string // "grantID stale"
	answer func(n int, stored, stale riscd.Secret) (riscd.Secret, bool, error)
	stored riscd.Secret // the grant's token, set after the consent
}

func (f *fakeTokens) GrantToken(_ context.Context, grantID string, stale riscd.Secret) (riscd.Secret, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, grantID+" "+stale.Reveal())
	return f.answer(len(f.asked), f.stored, stale)
}

// Broker-shaped errors, recognised by their methods.
type (
	grantStateError string
	temporaryError  struct{}
)

func (e grantStateError) Error() string                      { return "grant is " + string(e) }
func (e grantStateError) GrantState() (state, reason string) { return string(e), "test" }
func (temporaryError) Error() string                         { return "token endpoint down" }
func (temporaryError) Temporary() bool                       { return true }

// Feature calls take their tokens from the grants service (passing on a
// token the API refused) and flowweb never refreshes by itself; the
// service's errors become flowweb's pages.
func TestFeatureCallWithTokenSource(t *testing.T) {
	const refused = riscd.Secret("ya29.refused-by-the-api")
	tests := []struct {
		name   string
		answer func(n int, stored, stale riscd.Secret) (riscd.Secret, bool, error)
		status int
		code   string
		asked  []string // stale tokens passed, in order
	}{
		{"the source's token", func(_ int, stored, _ riscd.Secret) (riscd.Secret, bool, error) { return stored, true, nil },
			http.StatusOK, "called", []string{""}},
		{"a refused token is passed back", func(n int, stored, stale riscd.Secret) (riscd.Secret, bool, error) {
			if n == 1 {
				return refused, false, nil
			}
			return stored, true, nil
		}, http.StatusOK, "called", []string{"", refused.Reveal()}},
		{"revoked", func(int, riscd.Secret, riscd.Secret) (riscd.Secret, bool, error) {
			return "", false, grantStateError("revoked")
		},
			http.StatusForbidden, "reconnect", []string{""}},
		{"reauth required", func(int, riscd.Secret, riscd.Secret) (riscd.Secret, bool, error) {
			return "", false, grantStateError("reauth_required")
		}, http.StatusForbidden, "reconnect", []string{""}},
		{"grant gone", func(int, riscd.Secret, riscd.Secret) (riscd.Secret, bool, error) { return "", false, riscd.ErrNotFound },
			http.StatusForbidden, "reconnect", []string{""}},
		{"token endpoint down", func(int, riscd.Secret, riscd.Secret) (riscd.Secret, bool, error) { return "", false, temporaryError{} },
			http.StatusBadGateway, "upstream_unavailable", []string{""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &fakeTokens{answer: tc.answer}
			e := newEnv(t, envOptions{config: func(c *flowweb.Config) { src.Grants, c.Grants = c.Grants, src }})
			e.connect("", googlesim.Choice{})
			g := e.onlyGrant()
			src.mu.Lock()
			src.stored = g.AccessToken
			src.mu.Unlock()
			// Within a minute of its expiry: flowweb's own refresh would run.
			e.clock.Advance(3599*time.Second - 30*time.Second)

			p := e.get("/features/drive")
			if p.status != tc.status || p.code() != tc.code {
				t.Fatalf("status %d code %q, want %d %q", p.status, p.code(), tc.status, tc.code)
			}
			if tc.code == "called" && !strings.Contains(p.body, "after renewing its access token") {
				t.Error("the page does not say the token was renewed")
			}
			src.mu.Lock()
			asked := append([]string(nil), src.asked...)
			src.mu.Unlock()
			if len(asked) != len(tc.asked) {
				t.Fatalf("source asked %d times, want %d", len(asked), len(tc.asked))
			}
			for i, stale := range tc.asked {
				if asked[i] != g.ID+" "+stale {
					t.Errorf("call %d asked for %q, want grant %s with stale %q", i, asked[i], g.ID, stale)
				}
			}
			if got := e.sim.Stats().Refreshes; got != 0 {
				t.Errorf("flowweb refreshed %d times beside the source", got)
			}
			if after := e.onlyGrant(); !reflectGrantEqual(after, g) {
				t.Errorf("flowweb changed the grant: %+v", after)
			}
			e.assertLogClean(g.AccessToken.Reveal(), g.RefreshToken.Reveal())
		})
	}
}
