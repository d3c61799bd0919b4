package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd/googlesim"
)

// pushResult is the end of delivering one SET as Google would.
type pushResult struct {
	status   int // the last answer: 202, or 400 when refused
	body     []byte
	attempts int // answers and connection failures
	retried  int // 5xx answers and connection failures retried
}

// deliver pushes a signed SET until riscd answers 202 or 400, retrying
// connection failures and 5xx answers (a restart, a full disk, unreachable
// keys) as Google does, with a short pause, until ctx ends.
func (r *rig) deliver(ctx context.Context, token string) (pushResult, error) {
	var res pushResult
	pause := 20 * time.Millisecond
	for {
		res.attempts++
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		code, body, err := r.tr.Send(actx, r.riscURL(), token)
		cancel()
		if err == nil && code < 500 {
			res.status, res.body = code, body
			return res, nil
		}
		res.retried++
		if err == nil {
			r.ps.serverErrors.Add(1)
		}
		if ctx.Err() != nil {
			return res, fmt.Errorf("deliver: gave up after %d attempts (last %d %v): %w", res.attempts, code, err, ctx.Err())
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		pause = min(pause*2, 500*time.Millisecond)
	}
}

// do sends one request to riscd with a bearer token (none when empty) and
// returns the status and body.
func (r *rig) do(ctx context.Context, method, url, bearer string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, b, err
}

// adminJSON GETs an admin route with the admin token and decodes a 200
// answer into v; any other answer fails the test.
func (r *rig) adminJSON(ctx context.Context, path string, v any) {
	r.t.Helper()
	code, body, err := r.do(ctx, http.MethodGet, r.internal+path, r.adminToken, nil)
	if err != nil || code != http.StatusOK {
		r.t.Fatalf("GET %s = %d %.300s %v, want 200", path, code, body, err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		r.t.Fatalf("GET %s: %v", path, err)
	}
}

// adminGrant is a grant as GET /admin/grants shows it.
type adminGrant struct {
	ID     string   `json:"id"`
	Sub    string   `json:"sub"`
	Status string   `json:"status"`
	Scopes []string `json:"scopes"`
}

// grantsOf lists a subject's grants through the admin API.
func (r *rig) grantsOf(ctx context.Context, sub string) []adminGrant {
	r.t.Helper()
	var out struct {
		Grants []adminGrant `json:"grants"`
	}
	r.adminJSON(ctx, "/admin/grants?sub="+url.QueryEscape(sub), &out)
	return out.Grants
}

// pendingWork reports the inbox entries not done yet and the outbox jobs
// pending, through the admin API.
func (r *rig) pendingWork(ctx context.Context) (events, parked, jobs int) {
	r.t.Helper()
	var ev struct {
		Events []json.RawMessage `json:"events"`
	}
	r.adminJSON(ctx, "/admin/events?status=pending&limit=1000", &ev)
	events = len(ev.Events)
	r.adminJSON(ctx, "/admin/events?status=parked&limit=1000", &ev)
	parked = len(ev.Events)
	var ob struct {
		Jobs []json.RawMessage `json:"jobs"`
	}
	r.adminJSON(ctx, "/admin/outbox?limit=1000", &ob)
	return events, parked, len(ob.Jobs)
}

// waitDrained waits until no event is pending and no outbox job is left,
// failing the test after limit. Parked events fail it at once.
func (r *rig) waitDrained(ctx context.Context, limit time.Duration) {
	r.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ev, parked, jobs := r.pendingWork(ctx)
		if parked > 0 {
			r.t.Fatalf("%d events parked, want none", parked)
		}
		if ev == 0 && jobs == 0 {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("after %s: %d events pending and %d outbox jobs left, want none", limit, ev, jobs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// newestEventID is the ID of the newest inbox entry (0 for none): a refused
// request must leave it unchanged.
func (r *rig) newestEventID(ctx context.Context) uint64 {
	r.t.Helper()
	var ev struct {
		Events []struct {
			ID uint64 `json:"id"`
		} `json:"events"`
	}
	r.adminJSON(ctx, "/admin/events?limit=1", &ev)
	if len(ev.Events) == 0 {
		return 0
	}
	return ev.Events[0].ID
}

// browser is a user agent with its own cookies that does not follow
// redirects.
func newBrowser(r *rig) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar: jar, Timeout: 60 * time.Second, Transport: r.client.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// flowTimes are the durations of a consent flow's two riscd requests.
type flowTimes struct {
	authorize, callback time.Duration
}

// consent runs the whole consent flow for user in a fresh browser: riscd's
// /authorize, googlesim's consent page, riscd's callback (303 to /). It
// returns the browser (signed in to riscd) and the riscd request times.
func (r *rig) consent(ctx context.Context, user googlesim.User, features string) (*http.Client, flowTimes, error) {
	b := newBrowser(r)
	var ft flowTimes
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.public+"/authorize?features="+url.QueryEscape(features), nil)
	if err != nil {
		return nil, ft, err
	}
	t0 := time.Now()
	resp, err := b.Do(req)
	if err != nil {
		return nil, ft, fmt.Errorf("GET /authorize: %w", err)
	}
	resp.Body.Close()
	ft.authorize = time.Since(t0)
	if resp.StatusCode != http.StatusFound {
		return nil, ft, fmt.Errorf("GET /authorize = %d, want 302", resp.StatusCode)
	}
	back, err := googlesim.Consent(ctx, b, resp.Header.Get("Location"), googlesim.Choice{User: user.Email})
	if err != nil {
		return nil, ft, err
	}
	req, err = http.NewRequestWithContext(ctx, http.MethodGet, back.String(), nil)
	if err != nil {
		return nil, ft, err
	}
	t0 = time.Now()
	resp, err = b.Do(req)
	if err != nil {
		return nil, ft, fmt.Errorf("GET callback: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ft.callback = time.Since(t0)
	if resp.StatusCode != http.StatusSeeOther || strings.Contains(resp.Header.Get("Location"), "code=") {
		return nil, ft, fmt.Errorf("callback = %d to %q, want 303 without the code; page: %.200s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	return b, ft, nil
}

// mustConsent is consent that fails the test on error and returns the
// user's one grant.
func (r *rig) mustConsent(ctx context.Context, user googlesim.User) adminGrant {
	r.t.Helper()
	if _, _, err := r.consent(ctx, user, ""); err != nil {
		r.t.Fatalf("consent of %s: %v", user.Email, err)
	}
	gs := r.grantsOf(ctx, user.Sub)
	if len(gs) != 1 || gs[0].Status != "active" {
		r.t.Fatalf("grants of %s after consent: %+v, want one active", user.Email, gs)
	}
	return gs[0]
}

// simUsers makes n googlesim accounts with distinct subs and emails.
func simUsers(prefix string, n int) []googlesim.User {
	users := make([]googlesim.User, n)
	for i := range users {
		users[i] = googlesim.User{
			Sub:   fmt.Sprintf("1%s%05d", prefix, i),
			Email: fmt.Sprintf("user%d-%s@example.com", i, prefix),
			Name:  fmt.Sprintf("User %d", i),
		}
	}
	return users
}

// waitFor polls cond every 50 ms until it holds, failing the test with
// what after limit.
func waitFor(tb testing.TB, limit time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("after %s: %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
