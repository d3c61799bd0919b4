package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit/hostile"
)

// TestHostileHTTP attacks the running binary over real HTTP: refused
// tokens, trickling and oversized requests, many connections, every
// authenticated route without the right token, CSRF and state tampering on
// the consent flow, and path tricks. Each gets its documented answer, and
// at the end the grants, the account, the inbox and the audit log are as
// they were, and the store passes its check.
func TestHostileHTTP(t *testing.T) {
	t.Parallel() // mostly waiting: it overlaps the other waiting suites
	ctx := context.Background()
	r := newRig(t, rigOptions{})
	r.start()
	alice, bob := r.sim.Users()[0], r.sim.Users()[1]
	aliceBrowser, _, err := r.consent(ctx, alice, "")
	if err != nil {
		t.Fatal(err)
	}
	grant := r.grantsOf(ctx, alice.Sub)[0]
	// One accepted event, so the inbox and audit log are not empty.
	tok, err := r.tr.Sign(googlesim.AccountCredentialChangeRequired(alice.Sub), googlesim.WithJTI("HOSTILE-SOUND-1"))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := r.deliver(ctx, tok); err != nil || res.status != http.StatusAccepted {
		t.Fatalf("sound SET: %+v %v", res, err)
	}
	r.waitDrained(ctx, time.Minute)
	before := r.snapshot(ctx, alice.Sub)
	h := newHostileEnv(t, r)

	t.Run("attacks", func(t *testing.T) {
		t.Run("slow header", func(t *testing.T) {
			t.Parallel()
			for _, base := range []string{r.public, r.internal} {
				got := cutOff(t, strings.TrimPrefix(base, "http://"), 90*time.Second, func(c net.Conn, i int) error {
					if i == 0 {
						_, err := io.WriteString(c, "GET /readyz HTTP/1.1\r\nHost: x\r\n")
						return err
					}
					_, err := fmt.Fprintf(c, "X-Slow-%d: a\r\n", i)
					return err
				})
				if strings.HasPrefix(got, "HTTP/1.1 2") {
					t.Errorf("%s: a request whose headers never end was answered %q", base, firstLine(got))
				}
				t.Logf("%s: trickled headers: %q", base, firstLine(got))
			}
		})
		t.Run("slow body", func(t *testing.T) {
			t.Parallel()
			r := r.as(t)
			addr := strings.TrimPrefix(r.public, "http://")
			got := cutOff(t, addr, 120*time.Second, func(c net.Conn, i int) error {
				if i == 0 {
					_, err := fmt.Fprintf(c, "POST /risc HTTP/1.1\r\nHost: %s\r\nContent-Type: application/secevent+jwt\r\nContent-Length: 4000\r\n\r\n", addr)
					return err
				}
				_, err := io.WriteString(c, "e")
				return err
			})
			if strings.HasPrefix(got, "HTTP/1.1 2") {
				t.Errorf("a body that never ends was answered %q", firstLine(got))
			}
			t.Logf("a trickled body: %q", firstLine(got))
		})
		t.Run("requests", func(t *testing.T) {
			t.Parallel()
			r := r.as(t)
			t.Run("refused tokens", func(t *testing.T) { testHostileTokens(t, r, h) })
			t.Run("oversized headers", func(t *testing.T) { testOversizedHeaders(t, r) })
			t.Run("unauthenticated routes", func(t *testing.T) { testRouteAuth(t, r, alice.Sub, grant.ID) })
			t.Run("consent flow tampering", func(t *testing.T) { testFlowTampering(t, r, aliceBrowser, alice, bob) })
			t.Run("path tricks", func(t *testing.T) { testPathTricks(t, r, grant.ID) })
			if after := r.snapshot(ctx, alice.Sub); after != before {
				t.Errorf("state changed under attack:\n before %+v\n after  %+v", before, after)
			}
			t.Run("many connections", func(t *testing.T) { testManyConnections(t, r) })
		})
	})

	// The many-connections case delivered one sound SET about a subject
	// riscd does not know: alice's grants, account and audit log are still
	// as they were.
	after := r.snapshot(ctx, alice.Sub)
	before.newestEvent, after.newestEvent = 0, 0
	if after != before {
		t.Errorf("state changed under attack:\n before %+v\n after  %+v", before, after)
	}
	r.stop()
	r.checkStore(ctx)
}

// stateSnapshot is what an attack must not change.
type stateSnapshot struct {
	grants      string // the subject's grants: id, status, reason, token held
	account     string // the subject's account as the admin API shows it
	newestEvent uint64 // the newest inbox entry
	newestAudit uint64 // the subject's newest audit entry
}

func (r *rig) snapshot(ctx context.Context, sub string) stateSnapshot {
	r.t.Helper()
	var gl struct {
		Grants []struct {
			ID, Sub, Status, Reason string
			HasAccessToken          bool `json:"has_access_token"`
		} `json:"grants"`
	}
	r.adminJSON(ctx, "/admin/grants?limit=1000&sub="+sub, &gl)
	var acct map[string]any
	r.adminJSON(ctx, "/admin/accounts/"+sub, &acct)
	delete(acct, "history")
	var audit struct {
		Entries []struct {
			ID uint64 `json:"id"`
		} `json:"entries"`
	}
	r.adminJSON(ctx, "/admin/audit?limit=1&sub="+sub, &audit)
	s := stateSnapshot{grants: fmt.Sprint(gl.Grants), account: fmt.Sprint(acct), newestEvent: r.newestEventID(ctx)}
	if len(audit.Entries) > 0 {
		s.newestAudit = audit.Entries[0].ID
	}
	return s
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}

// testHostileTokens posts every hostile token: 400 with its err code, the
// RFC 8935 error shape, and no new inbox entry.
func testHostileTokens(t *testing.T, r *rig, h *hostile.Env) {
	ctx := context.Background()
	r = r.as(t)
	cases := hostileTokens()
	if len(cases) < 50 {
		t.Fatalf("only %d hostile tokens", len(cases))
	}
	newest := r.newestEventID(ctx)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			r := r.as(t)
			tok := tc.Token(t, h)
			code, body, err := r.tr.Send(ctx, r.riscURL(), tok)
			if err != nil {
				t.Fatal(err)
			}
			var answer struct {
				Err         string `json:"err"`
				Description string `json:"description"`
			}
			if code != http.StatusBadRequest || json.Unmarshal(body, &answer) != nil || answer.Err != tc.Want {
				t.Errorf("answer = %d %s, want 400 %q", code, body, tc.Want)
			}
			if answer.Description == "" || len(answer.Description) > 160 {
				t.Errorf("description %q, want a short text", answer.Description)
			}
			if got := r.newestEventID(ctx); got != newest {
				t.Errorf("newest inbox entry %d after a refused token, want %d", got, newest)
			}
		})
	}
}

// testOversizedHeaders: a header block beyond riscd's 32 KiB limit gets
// 431 on both listeners.
func testOversizedHeaders(t *testing.T, r *rig) {
	for _, tc := range []struct{ base, method, path string }{
		{r.public, http.MethodPost, "/risc"}, {r.public, http.MethodGet, "/"},
		{r.internal, http.MethodGet, "/admin/grants"}, {r.internal, http.MethodPost, "/v1/token"},
	} {
		big := http.Header{"X-Padding": {strings.Repeat("p", 64<<10)}}
		if a := rawRequest(t, tc.base, tc.method, tc.path, big, ""); a.status != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s %s with 64 KiB of headers = %d, want 431", tc.method, tc.path, a.status)
		}
		many := http.Header{}
		for i := range 2000 {
			many.Set(fmt.Sprintf("X-H%d", i), "0123456789abcdef")
		}
		if a := rawRequest(t, tc.base, tc.method, tc.path, many, ""); a.status != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s %s with 2000 headers = %d, want 431", tc.method, tc.path, a.status)
		}
	}
}

// testManyConnections holds many idle and half-written connections open
// on both listeners while a SET, a health check and an admin read still
// get through.
func testManyConnections(t *testing.T, r *rig) {
	ctx := context.Background()
	r = r.as(t)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range 1200 {
		base := r.public
		if i%4 == 0 {
			base = r.internal
		}
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		if i%3 == 0 {
			_, _ = io.WriteString(c, "POST /risc HTTP/1.1\r\nHost: x\r\n")
		}
	}
	tok, err := r.tr.Sign(googlesim.SessionsRevoked("9hostile-many-connections"), googlesim.WithJTI("HOSTILE-MANY-1"))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := r.deliver(ctx, tok); err != nil || res.status != http.StatusAccepted || res.retried != 0 {
		t.Errorf("a SET among %d open connections: %+v %v, want 202 at once", len(conns), res, err)
	}
	if code, _, err := r.do(ctx, http.MethodGet, r.internal+"/readyz", "", nil); err != nil || code != http.StatusOK {
		t.Errorf("/readyz among %d open connections = %d %v", len(conns), code, err)
	}
	if code, _, err := r.do(ctx, http.MethodGet, r.internal+"/admin/grants", r.adminToken, nil); err != nil || code != http.StatusOK {
		t.Errorf("/admin/grants among %d open connections = %d %v", len(conns), code, err)
	}
}
