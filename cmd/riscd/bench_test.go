package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/config"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
)

// BenchmarkEventToEffect measures, through the whole daemon, the time from
// the receiver's 202 to the grant's status change: Google-format
// account-disabled (hijacking) SETs for distinct subjects, each with an
// active grant, pushed over HTTP at a fixed 1,000 SETs/s. The effect time is
// the inbox entry's DoneAt, stamped after the lifecycle's transaction (grant
// held, sessions ended, audit, webhook job) committed, so the figure is an
// upper bound. RISCD_BENCH_SECONDS sets the length of the run (default 1).
// RISCD_BENCH_ENGINE=postgres runs the daemon on a fresh PostgreSQL
// database (on the server RISCD_TEST_POSTGRES_URL names) instead of bbolt.
func BenchmarkEventToEffect(b *testing.B) {
	const rate = 1000 // SETs per second
	seconds := 1
	if s, err := strconv.Atoi(os.Getenv("RISCD_BENCH_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	n := rate * seconds
	ctx := context.Background()
	sim := startSim(b)
	cfg := simConfig(b, sim)
	// Every SET comes from one loopback address, and at 1,000 a second
	// more than the default 64 connections per client are open whenever
	// acknowledgements take over 64 ms: lift the bound, as the e2e rig does.
	appendConfig(b, cfg, "public:", "  max_connections: 4096", "  max_connections_per_client: 4096")
	switch engine := os.Getenv("RISCD_BENCH_ENGINE"); engine {
	case "", config.EngineBolt:
	case config.EnginePostgres:
		usePostgres(b, cfg, testkit.PostgresDatabase(b, ""))
	default:
		b.Fatalf("RISCD_BENCH_ENGINE=%q: want %s or %s", engine, config.EngineBolt, config.EnginePostgres)
	}
	m := mustRunMainTB(b, cfg)
	waitReadyTB(b, "http://"+m.InternalAddr())

	tr := sim.Transmitter()
	tokens := make([]string, n)
	err := m.DB().Update(ctx, func(tx riscd.Tx) error {
		for i := range n {
			sub := fmt.Sprintf("bench-%06d", i)
			if _, err := tx.CreateGrant(ctx, riscd.Grant{
				Sub: sub, Scopes: []string{"openid", "email"}, Status: riscd.GrantActive,
				RefreshToken: riscd.Secret(fmt.Sprintf("1//0bench-refresh-%06d", i)), AccessToken: "ya29.bench",
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		sub := fmt.Sprintf("bench-%06d", i)
		tok, err := tr.Sign(googlesim.AccountDisabled(sub, googlesim.ReasonHijacking), googlesim.WithJTI(fmt.Sprintf("bench-jti-%06d", i)))
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = tok
	}

	target := "http://" + m.PublicAddr() + "/risc"
	acked := make([]time.Time, n)
	var wg sync.WaitGroup
	var failed sync.Once
	if path := os.Getenv("RISCD_BENCH_CPUPROFILE"); path != "" { // the measured window only
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	// An engine that retries transactions failing to serialize counts
	// them (PostgreSQL's): reported per event.
	retrier, _ := m.DB().(interface{ SerializationRetries() int64 })
	var retries0 int64
	if retrier != nil {
		retries0 = retrier.SerializationRetries()
	}
	b.ResetTimer()
	tick := time.NewTicker(time.Second / rate)
	for i := range n {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, err := tr.Send(ctx, target, tokens[i])
			acked[i] = time.Now()
			if err != nil || code != http.StatusAccepted {
				failed.Do(func() { b.Errorf("SET %d: %d %v", i, code, err) })
			}
		}()
	}
	tick.Stop()
	wg.Wait()

	if b.Failed() { // a SET not acknowledged: its event never comes
		return
	}
	testkit.Eventually(b, fmt.Sprintf("%d events done", n), func() bool {
		done, err := m.DB().CountInbox(ctx, riscd.InboxDone)
		if err != nil {
			b.Fatal(err)
		}
		return done == n
	})
	b.StopTimer()
	if retrier != nil {
		b.ReportMetric(float64(retrier.SerializationRetries()-retries0)/float64(n), "retries/event")
	}

	lat := make([]time.Duration, 0, n)
	for i := range n {
		e, err := m.DB().InboxByJTI(ctx, sim.URL(), fmt.Sprintf("bench-jti-%06d", i))
		if err != nil {
			b.Fatal(err)
		}
		g, err := m.DB().GrantsBySub(ctx, fmt.Sprintf("bench-%06d", i))
		if err != nil || len(g) != 1 || g[0].Status != riscd.GrantHeld {
			b.Fatalf("grant of subject %d not held: %v %+v", i, err, g)
		}
		lat = append(lat, max(e.DoneAt.Sub(acked[i]), 0))
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(n), "events")
}

// usePostgres points the config file at path to the PostgreSQL database at
// dbURL in place of its bbolt file.
func usePostgres(tb testing.TB, path, dbURL string) {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	found := false
	for i, l := range lines {
		if strings.HasPrefix(l, "  path: ") && i > 0 && lines[i-1] == "store:" {
			lines[i] = "  engine: " + config.EnginePostgres + "\n  url: " + dbURL
			found = true
		}
	}
	if !found {
		tb.Fatalf("%s: no store.path to replace", path)
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// appendConfig appends lines to the config file at path.
func appendConfig(tb testing.TB, path string, lines ...string) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.Join(lines, "\n") + "\n"); err != nil {
		tb.Fatal(err)
	}
}
