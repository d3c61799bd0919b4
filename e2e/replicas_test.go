package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
)

// nReplicas is how many riscd processes share the database.
const nReplicas = 3

// replicaSetup is a replica set with every script user's grant made
// through consent flows that start on one replica and end on another.
type replicaSetup struct {
	rs       *replicaSet
	jtis     *jtiSource
	scripts  []script
	grantIDs map[string]string // sub -> grant id
	extra    []googlesim.User  // users with grants and no script
	fresh    []googlesim.User  // users googlesim knows and riscd does not yet
}

// setUpReplicas starts nReplicas replicas on a database of their own and
// makes a grant for each of nScripts script users and nExtra more; nFresh
// more users are left without one.
func setUpReplicas(t *testing.T, prefix string, nScripts, nExtra, nFresh int) *replicaSetup {
	t.Helper()
	ctx := context.Background()
	dbURL := testkit.PostgresDatabase(t, "")
	users := simUsers(prefix, nScripts+nExtra+nFresh)
	rs := newReplicaSet(t, rigOptions{users: users, webhooks: true, storeURL: dbURL}, nReplicas)
	rs.startAll()
	r := rs.front
	su := &replicaSetup{rs: rs, jtis: &jtiSource{prefix: strings.ToUpper(prefix)}, grantIDs: map[string]string{},
		extra: users[nScripts : nScripts+nExtra], fresh: users[nScripts+nExtra:]}
	for i, u := range users[:nScripts+nExtra] {
		g := r.mustConsent(ctx, u)
		su.grantIDs[u.Sub] = g.ID
		// The flow's two requests to riscd went to two replicas: the
		// flow's state lives in the database, not in a process.
		auth, back := rs.proxy.public.replicasOf("/authorize"), rs.proxy.public.replicasOf("/oauth2callback")
		if len(auth) != i+1 || len(back) != i+1 {
			t.Fatalf("after %d flows: %d /authorize and %d /oauth2callback requests through the proxy", i+1, len(auth), len(back))
		}
		if auth[i] == back[i] {
			t.Fatalf("the flow of %s started and ended on replica %d: the proxy did not alternate", u.Email, auth[i])
		}
		if i >= nScripts {
			continue
		}
		info, ok := r.sim.Grant(u.Sub)
		if !ok || len(info.RefreshTokens) != 1 {
			t.Fatalf("googlesim grant of %s: %+v, want one refresh token", u.Email, info)
		}
		su.scripts = append(su.scripts, scriptFor(su.jtis, i, u, info.RefreshTokens[0]))
	}
	return su
}

// verify drains the replicas, stops them, runs riscd store check on the
// database and checks every acknowledged SET and every script's grant.
func (su *replicaSetup) verify(t *testing.T, acked []plannedSET) {
	t.Helper()
	ctx := context.Background()
	r := su.rs.front
	r.waitDrained(ctx, 2*time.Minute)
	su.rs.stopAll()
	out, err := runCLI(t, "store", "check", "--config", su.rs.reps[0].cfgPath)
	if err != nil || !strings.Contains(out, "ok:") {
		t.Errorf("riscd store check on the database: %v\n%s", err, out)
	}
	db := r.openDB(ctx)
	verifyAcked(t, ctx, db, r.hooks, acked)
	checkScripts(t, ctx, db, su.scripts, su.grantIDs)
	ids, deliveries := r.hooks.counts()
	t.Logf("webhooks: %d ids, %d deliveries (%d duplicates)", ids, deliveries, deliveries-ids)
}

// TestReplicasOnPostgres runs three replicas on one PostgreSQL database
// behind a round-robin proxy: consent flows cross replicas; SETs spread
// over all three are each acted on once and every webhook is delivered;
// fifty concurrent token calls for one expiring grant, spread over the
// replicas, make one refresh upstream.
func TestReplicasOnPostgres(t *testing.T) {
	ctx := context.Background()
	su := setUpReplicas(t, "repl", 12, 1+manyGrants, 0)
	rs, r := su.rs, su.rs.front

	t.Run("one refresh for concurrent token calls", func(t *testing.T) {
		tokenBurst(t, r.as(t), rs, su.extra[0], su.grantIDs[su.extra[0].Sub])
	})
	t.Run("many grants refreshed at once on one replica", func(t *testing.T) {
		manyRefreshes(t, r.as(t), rs.reps[0], su.extra[1:], su.grantIDs)
	})
	t.Run("admin page session across replicas", func(t *testing.T) {
		adminAcrossReplicas(t, r.as(t), rs)
	})

	sendCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	before := rs.proxy.public.perReplica()
	snd := startScriptSenders(sendCtx, r, 4, uint64(time.Now().UnixNano()), 0, su.jtis, su.scripts)
	// Send until every replica has taken its share, however slow the
	// machine: the proxy's counts are the signal, not a fixed time.
	testkit.Eventually(t, "every replica receiving SETs", func() bool {
		now := rs.proxy.public.perReplica()
		for i := range now {
			if now[i]-before[i] < 20 {
				return false
			}
		}
		return true
	})
	acked, retried, err := snd.finish()
	if err != nil {
		t.Fatalf("sender: %v", err)
	}
	after := rs.proxy.public.perReplica()
	for i := range after {
		if after[i]-before[i] == 0 {
			t.Errorf("replica %d received no SET (requests per replica %v)", i, after)
		}
	}
	t.Logf("%d SETs acknowledged over %d replicas (public requests per replica %v), %d retried", len(acked), nReplicas, after, retried)
	su.verify(t, acked)
}

// manyGrants is how many grants manyRefreshes refreshes at once: more
// than the connections of a replica's database pool.
const manyGrants = 40

// manyRefreshes makes users' grants expire within a minute, then asks one
// replica for all their tokens at once: each refresh holds its grant's
// lock while it reads and writes the grant, and every call must be
// answered 200 with a new token.
func manyRefreshes(t *testing.T, r, rep *rig, users []googlesim.User, grantIDs map[string]string) {
	ctx := context.Background()
	db := r.openDB(ctx)
	for _, u := range users {
		if _, err := db.UpdateGrant(ctx, grantIDs[u.Sub], func(g riscd.Grant) (riscd.Grant, error) {
			g.Expiry = time.Now().Add(20 * time.Second)
			return g, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(users))
	start := make(chan struct{})
	t0 := time.Now()
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			code, body, err := r.do(ctx, http.MethodPost, rep.internal+"/v1/token", r.appToken,
				map[string]any{"sub": u.Sub, "scopes": []string{"openid", "email"}})
			if err == nil && code != http.StatusOK {
				err = fmt.Errorf("answered %d %.200s", code, body)
			}
			errs[i] = err
		}()
	}
	close(start)
	wg.Wait()
	t.Logf("%d grants refreshed at once on one replica in %s", len(users), time.Since(t0).Round(time.Millisecond))
	failed := 0
	for i, err := range errs {
		if err != nil {
			if failed++; failed <= 5 {
				t.Errorf("token call for %s: %v", users[i].Sub, err)
			}
		}
	}
	if failed > 5 {
		t.Errorf("... %d token calls failed in all", failed)
	}
}

// tokenBurst makes user's grant expire within a minute (written to the
// database, as another replica's refresh would), then sends 50 concurrent
// POST /v1/token for it through the proxy: googlesim's token endpoint
// must see exactly one refresh, and every caller get the token it issued.
func tokenBurst(t *testing.T, r *rig, rs *replicaSet, user googlesim.User, grantID string) {
	ctx := context.Background()
	db := r.openDB(ctx)
	old, err := db.UpdateGrant(ctx, grantID, func(g riscd.Grant) (riscd.Grant, error) {
		g.Expiry = time.Now().Add(20 * time.Second)
		return g, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	refreshes := func() int {
		info, _ := r.sim.Grant(user.Sub)
		n := 0
		for _, rt := range info.RefreshTokens {
			n += r.sim.RefreshCount(rt)
		}
		return n
	}
	base := refreshes()
	const calls = 50
	tokens := make([]string, calls)
	errs := make([]error, calls)
	var wg sync.WaitGroup
	start := make(chan struct{})
	before := rs.proxy.internal.perReplica()
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			code, body, err := r.do(ctx, http.MethodPost, r.internal+"/v1/token", r.appToken,
				map[string]any{"sub": user.Sub, "scopes": []string{"openid", "email"}})
			if err == nil && code != http.StatusOK {
				err = fmt.Errorf("answered %d %.200s", code, body)
			}
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			if err == nil {
				err = json.Unmarshal(body, &tok)
			}
			tokens[i], errs[i] = tok.AccessToken, err
		}()
	}
	close(start)
	wg.Wait()
	after := rs.proxy.internal.perReplica()
	for i, err := range errs {
		if err != nil {
			t.Errorf("token call %d: %v", i, err)
		}
	}
	for i := range after {
		if after[i] == before[i] {
			t.Errorf("replica %d got no token call (per replica before %v, after %v)", i, before, after)
		}
	}
	n := refreshes() - base
	t.Logf("%d concurrent token calls over %d replicas: %d refresh(es) reached googlesim", calls, nReplicas, n)
	if n != 1 {
		t.Errorf("%d refreshes reached googlesim's token endpoint, want exactly 1", n)
	}
	for i, tok := range tokens {
		if tok == "" || tok == old.AccessToken.Reveal() || tok != tokens[0] {
			t.Errorf("token call %d got a different or the expiring access token", i)
			break
		}
	}
}

// TestReplicaKills kills one replica at a time with SIGKILL while SETs
// stream in through the proxy, and restarts it: every SET acknowledged
// is in the database and acted on once, no grant is lost, every webhook
// reaches the app and the database passes riscd store check.
func TestReplicaKills(t *testing.T) {
	s := suiteSettings(t)
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("RISCD_E2E_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("RISCD_E2E_SEED=%q: %v", v, err)
		}
		seed = n
	}
	t.Logf("seed %d (RISCD_E2E_SEED reproduces the kill moments and the event mix)", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	su := setUpReplicas(t, "rkill", 12, 0, 16)
	rs := su.rs
	sendCtx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	snd := startScriptSenders(sendCtx, rs.front, crashSenders, seed, s.kills, su.jtis, su.scripts)
	// Consent flows meanwhile, one user after another: a flow that fails
	// (a replica killed under it, answered 502 by the proxy) is started
	// again, as the user would.
	consents := make(chan error, 1)
	flowRetries := 0
	go func() {
		for _, u := range su.fresh {
			for attempt := 1; ; attempt++ {
				_, _, err := rs.front.consent(sendCtx, u, "")
				if err == nil {
					break
				}
				if attempt == 30 {
					consents <- fmt.Errorf("consent of %s: %d attempts, last: %w", u.Email, attempt, err)
					return
				}
				flowRetries++
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(200 * time.Millisecond)
		}
		consents <- nil
	}()
	t0 := time.Now()
	for i := range s.kills {
		time.Sleep(time.Duration(100+rng.IntN(400)) * time.Millisecond)
		if err := snd.failed(); err != nil {
			t.Fatalf("sender: %v", err)
		}
		victim := rs.reps[i%nReplicas]
		victim.kill()
		if rng.IntN(2) == 0 {
			time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
		}
		snd.round.Store(int64(i + 1))
		victim.start()
	}
	acked, retried, err := snd.finish()
	if err != nil {
		t.Fatalf("sender: %v", err)
	}
	if err := <-consents; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d kills in %s; %d SETs acknowledged, %d deliveries retried after a 5xx or a dropped connection; %d consent flows, %d started again",
		s.kills, time.Since(t0).Round(time.Millisecond), len(acked), retried, len(su.fresh), flowRetries)
	if retried == 0 {
		t.Errorf("no delivery was ever retried: the kills did not interrupt the stream")
	}
	su.verify(t, acked)
	// Every consent made under the kills left its user one active grant.
	bySub := map[string][]riscd.Grant{}
	for _, g := range allGrants(t, context.Background(), rs.front.openDB(context.Background())) {
		bySub[g.Sub] = append(bySub[g.Sub], g)
	}
	for _, u := range su.fresh {
		if gs := bySub[u.Sub]; len(gs) != 1 || gs[0].Status != riscd.GrantActive {
			var st []riscd.GrantStatus
			for _, g := range gs {
				st = append(st, g.Status)
			}
			t.Errorf("grants of %s after a consent under the kills: %v, want one active", u.Email, st)
		}
	}
}

// adminAcrossReplicas signs in to the admin page on one replica and uses
// the session on the others (each request through the proxy goes to the
// next replica): a page, then an action with the session's CSRF token;
// after signing out on one replica, no other knows the session.
func adminAcrossReplicas(t *testing.T, r *rig, rs *replicaSet) {
	ctx := context.Background()
	b := newBrowser(r)
	send := func(method, path string, form url.Values) (int, string, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequestWithContext(ctx, method, r.internal+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", r.internal)
		}
		resp, err := b.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		page, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(page)
	}
	var seen []int
	note := func(path string) {
		all := rs.proxy.internal.replicasOf(path)
		seen = append(seen, all[len(all)-1])
	}
	code, loc, _ := send(http.MethodPost, "/admin/ui/login", url.Values{"token": {r.adminToken}})
	if code != http.StatusSeeOther || loc != "/admin/ui/grants" {
		t.Fatalf("sign-in = %d to %q, want 303 to the grants", code, loc)
	}
	note("/admin/ui/login")
	code, _, page := send(http.MethodGet, "/admin/ui/grants", nil)
	if code != http.StatusOK {
		t.Fatalf("the grants page on the next replica = %d, want 200: the session is not shared", code)
	}
	note("/admin/ui/grants")
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the grants page has no CSRF token")
	}
	code, loc, _ = send(http.MethodPost, "/admin/ui/logout", url.Values{"csrf": {html.UnescapeString(m[1])}})
	if code != http.StatusSeeOther {
		t.Fatalf("sign-out on a third replica = %d (to %q), want 303", code, loc)
	}
	note("/admin/ui/logout")
	for range nReplicas {
		code, loc, _ = send(http.MethodGet, "/admin/ui/grants", nil)
		if code != http.StatusSeeOther || loc != "/admin/ui/login" {
			t.Errorf("the grants page after signing out = %d to %q, want 303 to the sign-in page", code, loc)
		}
		note("/admin/ui/grants")
	}
	if seen[0] == seen[1] || seen[1] == seen[2] || seen[0] == seen[2] {
		t.Errorf("sign-in, page and sign-out went to replicas %v, want three different ones", seen[:3])
	}
}
