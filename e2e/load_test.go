package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riscd/riscd/googlesim"
)

// loadRates are the requests per second of each kind at scale 1.
var loadRates = []struct {
	kind string
	rate float64
}{
	{"set", 100}, {"token", 40}, {"subject", 20}, {"admin", 10}, {"consent", 2},
}

// maxInFlight bounds the load generator's concurrent requests; a request
// that finds it full waits for a slot, and the wait is counted.
const maxInFlight = 256

// latencies collects request durations and errors per route.
type latencies struct {
	mu     sync.Mutex
	byKey  map[string][]time.Duration
	errors map[string]int
	first  []string // the first error messages
}

func (l *latencies) add(route string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byKey[route] = append(l.byKey[route], d)
}

func (l *latencies) fail(route, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errors[route]++
	if len(l.first) < 10 {
		l.first = append(l.first, route+": "+msg)
	}
}

// percentile returns the q-quantile (0..1) of sorted durations.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

// TestLoad drives riscd with mixed traffic, a fixed number of requests of
// each kind paced at fixed rates, for about
// RISCD_E2E_LOAD_SECONDS (10 s by default, 60 s with RISCD_E2E_LONG=1):
// SETs of every type, companion token and subject calls, admin reads and
// whole consent flows. Every answer must be the expected one; it reports
// throughput, p50/p99/p99.9 per route, peak RSS and store growth as
// E2E-LOAD lines, then checks that every event was handled and every
// webhook delivered.
func TestLoad(t *testing.T) {
	s := suiteSettings(t)
	ctx := context.Background()
	users := simUsers("load", 24)
	r := newRig(t, rigOptions{users: users, webhooks: true})
	r.start()
	for _, u := range users {
		r.mustConsent(ctx, u)
	}
	tokenUsers, eventUsers, flowUsers := users[:8], users[8:20], users[20:]
	refresh := map[string]string{}
	for _, u := range eventUsers {
		info, _ := r.sim.Grant(u.Sub)
		refresh[u.Sub] = info.RefreshTokens[0]
	}
	sizeBefore := fileSize(t, r.storePath)

	var (
		led  ledger
		lat  = &latencies{byKey: map[string][]time.Duration{}, errors: map[string]int{}}
		jtis = &jtiSource{prefix: "LOAD"}
		wg   sync.WaitGroup
	)
	// timed runs one request and records its duration under route, or an
	// error when it fails or answers other than want.
	timed := func(route string, want int, do func() (int, error)) {
		t0 := time.Now()
		code, err := do()
		d := time.Since(t0)
		switch {
		case err != nil:
			lat.fail(route, err.Error())
		case code != want:
			lat.fail(route, fmt.Sprintf("answered %d, want %d", code, want))
		default:
			lat.add(route, d)
		}
	}
	kinds := map[string]func(rng *rand.Rand){
		"set": func(rng *rand.Rand) {
			p := loadSET(jtis, rng, tokenUsers, eventUsers, refresh)
			tok, err := r.sign(p)
			if err != nil {
				lat.fail("POST /risc", err.Error())
				return
			}
			timed("POST /risc", http.StatusAccepted, func() (int, error) {
				code, _, err := r.tr.Send(ctx, r.riscURL(), tok)
				return code, err
			})
			led.add(p, 0)
		},
		"token": func(rng *rand.Rand) {
			u := tokenUsers[rng.IntN(len(tokenUsers))]
			timed("POST /v1/token", http.StatusOK, func() (int, error) {
				code, _, err := r.do(ctx, http.MethodPost, r.internal+"/v1/token", r.appToken,
					map[string]any{"sub": u.Sub, "scopes": []string{"openid", "email"}})
				return code, err
			})
		},
		"subject": func(rng *rand.Rand) {
			u := users[rng.IntN(len(users))]
			timed("GET /v1/subjects/{sub}", http.StatusOK, func() (int, error) {
				code, _, err := r.do(ctx, http.MethodGet, r.internal+"/v1/subjects/"+u.Sub, r.appToken, nil)
				return code, err
			})
		},
		"admin": func(rng *rand.Rand) {
			path := []string{"/admin/grants?limit=50", "/admin/events?limit=50", "/admin/audit?limit=50",
				"/admin/outbox?limit=50", "/admin/accounts/" + users[rng.IntN(len(users))].Sub}[rng.IntN(5)]
			route, _, _ := strings.Cut(path, "?")
			if strings.HasPrefix(route, "/admin/accounts/") {
				route = "/admin/accounts/{sub}"
			}
			timed("GET "+route, http.StatusOK, func() (int, error) {
				code, _, err := r.do(ctx, http.MethodGet, r.internal+path, r.adminToken, nil)
				return code, err
			})
		},
		"consent": func(rng *rand.Rand) {
			u := flowUsers[rng.IntN(len(flowUsers))]
			_, ft, err := r.consent(ctx, u, "")
			if err != nil {
				lat.fail("consent flow", err.Error())
				return
			}
			lat.add("GET /authorize", ft.authorize)
			lat.add("GET /oauth2callback", ft.callback)
		},
	}

	// Each kind sends a fixed number of requests, paced by its rate. A
	// slow machine stretches the run rather than changing what is sent,
	// so the assertions below hold on any machine; the rates achieved are
	// figures to read, not pass/fail (speed targets live in benchmarks).
	duration := time.Duration(s.loadSeconds) * time.Second
	slots := make(chan struct{}, maxInFlight)
	var behind atomic.Int64 // requests that waited for a free slot
	planned := map[string]int{}
	start := time.Now()
	for i, lr := range loadRates {
		rate := lr.rate * s.loadScale
		n := max(1, int(rate*duration.Seconds()))
		planned[lr.kind] = n
		run := kinds[lr.kind]
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 11))
			tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
			defer tick.Stop()
			for range n {
				<-tick.C
				select {
				case slots <- struct{}{}:
				default:
					behind.Add(1)
					slots <- struct{}{}
				}
				wg.Add(1)
				go func(rng *rand.Rand) {
					defer wg.Done()
					defer func() { <-slots }()
					run(rng)
				}(rand.New(rand.NewPCG(rng.Uint64(), 0)))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	rss, err := procStatusKiB(r.pid(), "VmHWM")
	if err != nil {
		t.Errorf("peak RSS: %v", err)
	}
	sizeAfterLoad := fileSize(t, r.storePath)
	drainStart := time.Now()
	r.waitDrained(ctx, 5*time.Minute)
	drain := time.Since(drainStart)
	sizeAfter := fileSize(t, r.storePath)
	r.stop()
	db := r.checkStore(ctx)
	st, err := db.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}

	var lines []string
	total, totalErrs := 0, 0
	routes := make([]string, 0, len(lat.byKey))
	for k := range lat.byKey {
		routes = append(routes, k)
	}
	for k := range lat.errors {
		if _, ok := lat.byKey[k]; !ok {
			routes = append(routes, k)
		}
	}
	slices.Sort(routes)
	for _, route := range routes {
		ds := slices.Clone(lat.byKey[route])
		slices.Sort(ds)
		total += len(ds)
		totalErrs += lat.errors[route]
		var maxD time.Duration
		if len(ds) > 0 {
			maxD = ds[len(ds)-1]
		}
		lines = append(lines, fmt.Sprintf("E2E-LOAD route=%q n=%d rps=%.1f p50_ms=%s p99_ms=%s p999_ms=%s max_ms=%s errors=%d",
			route, len(ds), float64(len(ds))/elapsed.Seconds(), ms(percentile(ds, .5)), ms(percentile(ds, .99)),
			ms(percentile(ds, .999)), ms(maxD), lat.errors[route]))
	}
	sets := len(led.list())
	perSet := int64(0)
	if sets > 0 {
		perSet = st.LiveBytes / int64(sets)
	}
	lines = append(lines, fmt.Sprintf("E2E-LOAD total seconds=%.1f requests=%d rps=%.1f errors=%d sets=%d peak_rss_kib=%d "+
		"store_bytes_before=%d store_bytes_after_load=%d store_bytes_after_drain=%d store_live_bytes=%d store_bytes_per_set=%d "+
		"inbox=%d audit=%d outbox=%d drain_seconds=%.1f waited_for_slot=%d",
		elapsed.Seconds(), total, float64(total)/elapsed.Seconds(), totalErrs, sets, rss,
		sizeBefore, sizeAfterLoad, sizeAfter, st.LiveBytes, perSet, st.Inbox, st.Audit, st.Outbox, drain.Seconds(), behind.Load()))
	for _, l := range lines {
		t.Log(l)
	}
	if s.reportPath != "" {
		if err := os.WriteFile(s.reportPath, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Errorf("write %s: %v", s.reportPath, err)
		}
	}
	if totalErrs > 0 {
		t.Errorf("%d requests failed under load, first: %v", totalErrs, lat.first)
	}
	if sets != planned["set"] {
		t.Errorf("%d SETs sent, want %d", sets, planned["set"])
	}
	verifyAcked(t, ctx, db, r.hooks, led.list())
}

// loadSET is one SET of the load mix: every Google event type about the
// event users (whose grants may end revoked or purged) and strangers, and
// only harmless ones about the users whose tokens the app asks for.
func loadSET(j *jtiSource, rng *rand.Rand, tokenUsers, eventUsers []googlesim.User, refresh map[string]string) plannedSET {
	switch n := rng.IntN(10); {
	case n < 3:
		u := tokenUsers[rng.IntN(len(tokenUsers))]
		switch rng.IntN(3) {
		case 0:
			return sessionsRevoked(j, u.Sub)
		case 1:
			return credentialChange(j, u.Sub)
		default:
			return accountDisabled(j, u.Sub, googlesim.ReasonBulkAccount)
		}
	case n < 7:
		// Their order is random, so what each does depends on the ones
		// before (a token already revoked, an account purged): only the
		// audit log's own record of queued webhooks is checked for them.
		p := eventUserSET(j, rng, eventUsers, refresh)
		p.action, p.notify = "", false
		return p
	default:
		return unknownSubjectSET(j, rng, "load")
	}
}

// eventUserSET is an event of any Google type about one of users.
func eventUserSET(j *jtiSource, rng *rand.Rand, users []googlesim.User, refresh map[string]string) plannedSET {
	u := users[rng.IntN(len(users))]
	switch rng.IntN(9) {
	case 0:
		return sessionsRevoked(j, u.Sub)
	case 1:
		return tokensRevoked(j, u.Sub)
	case 2:
		return tokenRevoked(j, u.Sub, refresh[u.Sub], googlesim.IdentifierHash)
	case 3:
		return accountDisabled(j, u.Sub, googlesim.ReasonHijacking)
	case 4:
		return accountDisabled(j, u.Sub, "")
	case 5:
		return accountEnabled(j, u.Sub)
	case 6:
		return credentialChange(j, u.Sub)
	case 7:
		return accountPurged(j, u.Sub)
	default:
		return verification(j)
	}
}

func fileSize(tb testing.TB, path string) int64 {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	return fi.Size()
}
