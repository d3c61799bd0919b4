package lifecycle_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/lifecycle"
	"github.com/riscd/riscd/oauthclient"
)

// TestRevocationRefusedForClientAuthIsRetried: RFC 7009 servers refuse a
// revocation that does not authenticate the client (§2.1), zitadel with
// 401 invalid_client, oidc-provider and Hydra with 400 invalid_request. A
// revoke job sent without the client's credentials (as riscd did once)
// fails for good; an operator's retry, made by a lifecycle whose revoker
// authenticates as at the token endpoint, revokes the token at the server.
func TestRevocationRefusedForClientAuthIsRetried(t *testing.T) {
	cases := []struct {
		name    string
		server  func(t *testing.T, sim *googlesim.Server) string // the revocation endpoint
		lastErr string
	}{
		{"401 invalid_client", func(_ *testing.T, sim *googlesim.Server) string { return sim.URL() + googlesim.PathRevoke }, "revoke: HTTP 401 (invalid_client)"},
		{"400 invalid_request", strictOnRequest, "revoke: HTTP 400 (invalid_request)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim, tokens := startSim(t, 1)
			endpoint := tc.server(t, sim)
			unauthenticated, err := oauthclient.NewRevoker(oauthclient.RevokerConfig{URL: endpoint})
			if err != nil {
				t.Fatal(err)
			}
			w := newWorld(t, func(c *lifecycle.Config) { c.Revoker, c.RevokeURL = unauthenticated, "" })
			var g riscd.Grant
			var rt string
			for sub, tok := range tokens {
				g, rt = w.grant(sub, tok), tok
			}
			if err := w.lc.DiscardGrant(w.ctx, g.ID, ""); err != nil {
				t.Fatalf("DiscardGrant: %v", err)
			}
			stop := w.runOutbox()
			w.waitJobs()
			stop()
			job := revokeJob(t, w)
			if job.Status != riscd.OutboxFailed || job.LastError != tc.lastErr {
				t.Fatalf("job %s with %q, want failed with %q", job.Status, job.LastError, tc.lastErr)
			}
			if sim.IsRevoked(rt) {
				t.Fatal("the server revoked the token for an unauthenticated client")
			}

			// riscd with the fixed client: the operator retries the job.
			w.cfg.Revoker, w.cfg.RevokeURL = nil, endpoint
			w.cfg.ClientID, w.cfg.ClientSecret, w.cfg.TokenURL = sim.ClientID(), riscd.Secret(sim.ClientSecret()), sim.URL()+googlesim.PathToken
			w.lc = w.build(w.cfg)
			if _, err := w.lc.RetryOutboxJob(w.ctx, job.ID, lifecycle.Op{Reason: "client authentication fixed"}); err != nil {
				t.Fatalf("RetryOutboxJob: %v", err)
			}
			stop = w.runOutbox()
			w.waitJobs()
			stop()
			if job := revokeJob(t, w); job.Status != riscd.OutboxDone || job.LastError != "" {
				t.Errorf("retried job %s with %q, want done", job.Status, job.LastError)
			}
			if !sim.IsRevoked(rt) {
				t.Error("the retried revocation did not revoke the token at the server")
			}
		})
	}
}

// strictOnRequest puts before sim's revocation endpoint a server that, like
// node oidc-provider and Ory Hydra, answers a revocation request carrying
// no client authentication with 400 invalid_request.
func strictOnRequest(t *testing.T, sim *googlesim.Server) string {
	target, _ := url.Parse(sim.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := r.BasicAuth(); !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_request","error_description":"no client authentication mechanism provided"}`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + googlesim.PathRevoke
}

// revokeJob is the world's only revoke job.
func revokeJob(t *testing.T, w *world) riscd.OutboxJob {
	t.Helper()
	var found []riscd.OutboxJob
	for _, j := range w.outbox() {
		if j.Kind == riscd.OutboxRevoke {
			found = append(found, j)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d revoke jobs, want 1", len(found))
	}
	return found[0]
}
