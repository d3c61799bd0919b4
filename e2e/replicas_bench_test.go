package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riscd/riscd"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/store"
)

// BenchmarkReplicasCPU measures what running three riscd replicas over
// one PostgreSQL database costs against running one: the CPU time of the
// riscd processes and of PostgreSQL (the backends serving the benchmark's
// database and the server's own processes: WAL writer, checkpointer...)
// per acknowledged SET, read from /proc/<pid>/stat (utime+stime) before and
// after each phase.
//
// Each phase sends b.N pre-signed account-disabled (hijacking) SETs, one
// per subject with an active grant, at a fixed rate (RISCD_BENCH_RATE,
// default 300 SETs/s), round-robin over the running replicas, and ends
// when every event is handled and every outbox job finished. "single" is
// one replica, "three" three over the same database; the two alternate
// (twice each when b.N >= 100) so that a change in the machine's load
// weighs on both. It reports single-cpu-ms/SET, three-cpu-ms/SET, their
// cpu-ratio (target <= 1.3), the PostgreSQL share of each, and errors: SETs
// not answered 202, events not done, and ERROR lines in the replicas'
// logs (the benchmark fails on any). single-xacts/SET and three-xacts/SET
// are the database's transactions (pg_stat_database, autocommitted
// statements included) per SET: where the work went. With -v it logs each
// phase's figures, and RISCD_BENCH_IDLE (a duration) first measures the
// replicas and the database idle for that long.
//
// The other processes sharing the machine's PostgreSQL server weigh on its
// own processes' figures; the backends of other databases are left out.
//
//	go test -run x -bench ReplicasCPU -benchtime 6000x ./e2e/  (20 s a phase)
//
// CI runs it with -benchtime 1x: one SET a phase, a few seconds.
func BenchmarkReplicasCPU(b *testing.B) {
	rate := 300.0
	if v, err := strconv.ParseFloat(os.Getenv("RISCD_BENCH_RATE"), 64); err == nil && v > 0 {
		rate = v
	}
	ctx := context.Background()
	dbURL := testkit.PostgresDatabase(b, "")
	r := newRig(b, rigOptions{storeURL: dbURL, logLevel: "warn"})
	rounds := 1
	if b.N >= 100 {
		rounds = 2
	}
	phases := 2 * rounds
	total := phases * b.N

	// The grants the SETs disable, written before any replica starts.
	db, err := store.Open(ctx, store.Options{Engine: store.EnginePostgres, URL: dbURL, Key: r.storeKey})
	if err != nil {
		b.Fatal(err)
	}
	const batch = 1000
	for start := 0; start < total; start += batch {
		err := db.Update(ctx, func(tx riscd.Tx) error {
			for i := start; i < min(start+batch, total); i++ {
				if _, err := tx.CreateGrant(ctx, riscd.Grant{
					Sub: replicaSub(i), Scopes: []string{"openid", "email"}, Status: riscd.GrantActive,
					RefreshToken: riscd.Secret(fmt.Sprintf("1//0replica-refresh-%07d", i)), AccessToken: "ya29.replica",
				}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	_ = db.Close()
	tokens := make([]string, total)
	for i := range tokens {
		tok, err := r.tr.Sign(googlesim.AccountDisabled(replicaSub(i), googlesim.ReasonHijacking),
			googlesim.WithJTI(fmt.Sprintf("replica-jti-%07d", i)))
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = tok
	}

	// One plain connection watches the database; its own backend is left
	// out of the CPU counted.
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var self int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&self); err != nil {
		b.Fatal(err)
	}
	dbName := dbNameOf(b, dbURL)

	replicas := make([]*replica, 3)
	for i := range replicas {
		replicas[i] = newReplica(b, r, i)
	}
	type tally struct {
		riscd, pg time.Duration
		sets      int
		xacts     int64
	}
	var single, three tally
	var bad atomic.Int64
	sent := 0
	for phase := range phases {
		n := 1
		if phase%2 == 1 {
			n = 3
		}
		running := replicas[:n]
		for _, rp := range running {
			rp.start(b)
		}
		pids := func() []int {
			ps := make([]int, len(running))
			for i, rp := range running {
				ps[i] = rp.proc.cmd.Process.Pid
			}
			return ps
		}()
		if idle, err := time.ParseDuration(os.Getenv("RISCD_BENCH_IDLE")); err == nil && idle > 0 {
			// What the replicas and the database cost with no load.
			r0, p0 := cpuOf(b, pids), pgCPU(b, ctx, conn, dbName, self)
			time.Sleep(idle)
			b.Logf("phase %d, %d replica(s) idle for %v: riscd %v, postgres %v", phase, n, idle,
				cpuOf(b, pids)-r0, pgCPU(b, ctx, conn, dbName, self).minus(p0))
		}
		riscdBefore := cpuOf(b, pids)
		pgBefore := pgCPU(b, ctx, conn, dbName, self)
		xactsBefore := xacts(b, ctx, conn, dbName)

		interval := time.Duration(float64(time.Second) / rate)
		var wg sync.WaitGroup
		begin := time.Now()
		for i := range b.N {
			if d := time.Until(begin.Add(time.Duration(i) * interval)); d > 0 {
				time.Sleep(d)
			}
			target := running[i%n].public + "/risc"
			tok := tokens[sent+i]
			wg.Go(func() {
				code, _, err := r.tr.Send(ctx, target, tok)
				if err != nil || code != http.StatusAccepted {
					if bad.Add(1) == 1 {
						b.Errorf("SET to %s: %d %v", target, code, err)
					}
				}
			})
		}
		wg.Wait()
		sent += b.N
		waitHandled(b, ctx, conn, sent)

		riscdCPU := cpuOf(b, pids) - riscdBefore
		pgAfter := pgCPU(b, ctx, conn, dbName, self)
		pgUsed := pgAfter.minus(pgBefore)
		per := make([]string, len(pids))
		for i, pid := range pids {
			t, _ := procCPU(pid)
			per[i] = fmt.Sprint(t)
		}
		xactsUsed := xacts(b, ctx, conn, dbName) - xactsBefore
		b.Logf("phase %d, %d replica(s): %s, riscd %v (each since its start: %v), postgres %v over %d processes, %.1f transactions a SET",
			phase, n, time.Since(begin).Round(time.Millisecond), riscdCPU, per, pgUsed, len(pgAfter),
			float64(xactsUsed)/float64(b.N))
		t := &single
		if n == 3 {
			t = &three
		}
		t.riscd += riscdCPU
		t.pg += pgUsed
		t.sets += b.N
		t.xacts += xactsUsed
		for _, rp := range running {
			rp.stop(b)
		}
	}
	b.StopTimer()

	errLines := 0
	for _, rp := range replicas {
		errLines += countErrorLines(b, rp.logPath)
	}
	per := func(t tally) float64 {
		return float64((t.riscd + t.pg).Microseconds()) / 1000 / float64(t.sets)
	}
	b.ReportMetric(per(single), "single-cpu-ms/SET")
	b.ReportMetric(per(three), "three-cpu-ms/SET")
	b.ReportMetric(per(three)/per(single), "cpu-ratio")
	b.ReportMetric(float64(single.pg.Microseconds())/1000/float64(single.sets), "single-pg-ms/SET")
	b.ReportMetric(float64(three.pg.Microseconds())/1000/float64(three.sets), "three-pg-ms/SET")
	b.ReportMetric(float64(single.xacts)/float64(single.sets), "single-xacts/SET")
	b.ReportMetric(float64(three.xacts)/float64(three.sets), "three-xacts/SET")
	b.ReportMetric(float64(bad.Load()+int64(errLines)), "errors")
	if errLines > 0 {
		b.Errorf("%d ERROR lines in the replicas' logs", errLines)
	}
}

func replicaSub(i int) string { return fmt.Sprintf("replica-%07d", i) }

// replica is one riscd process of the rig's installation, with its own
// listeners, config file and log, over the rig's store.
type replica struct {
	cfgPath, logPath string
	public, internal string
	proc             *proc
	starts           int
	rig              *rig
}

// newReplica writes replica i's config: the rig's, listening on ports of
// its own (public_url stays the rig's, as behind a load balancer).
func newReplica(b *testing.B, r *rig, i int) *replica {
	b.Helper()
	data, err := os.ReadFile(r.cfgPath)
	if err != nil {
		b.Fatal(err)
	}
	rp := &replica{
		cfgPath: filepath.Join(r.dir, fmt.Sprintf("riscd-%d.yaml", i)),
		logPath: filepath.Join(r.dir, fmt.Sprintf("riscd-%d.log", i)),
		public:  "http://" + freeAddr(b), internal: "http://" + freeAddr(b), rig: r,
	}
	cfg := strings.Replace(string(data), "\nlisten: "+strings.TrimPrefix(r.public, "http://")+"\n",
		"\nlisten: "+strings.TrimPrefix(rp.public, "http://")+"\n", 1)
	cfg = strings.Replace(cfg, "  listen: "+strings.TrimPrefix(r.internal, "http://")+"\n",
		"  listen: "+strings.TrimPrefix(rp.internal, "http://")+"\n", 1)
	if cfg == string(data) {
		b.Fatal("replica config: listeners not found")
	}
	if err := os.WriteFile(rp.cfgPath, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if rp.proc != nil {
			rp.proc.kill()
		}
		if b.Failed() {
			b.Logf("replica %d log (last lines):\n%s", i, tail(rp.logPath, 25))
		}
	})
	return rp
}

// start runs the replica and waits until it is ready.
func (rp *replica) start(b *testing.B) {
	b.Helper()
	rp.starts++
	p, err := startProc(rp.logPath, rp.starts, riscdBinary, "serve", "--config", rp.cfgPath)
	if err != nil {
		b.Fatal(err)
	}
	rp.proc = p
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-p.done:
			b.Fatalf("replica exited during start-up (%v):\n%s", p.err, tail(rp.logPath, 30))
		default:
		}
		if resp, err := rp.rig.client.Get(rp.internal + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("replica not ready after 60 s:\n%s", tail(rp.logPath, 30))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the replica with SIGTERM, which must be clean.
func (rp *replica) stop(b *testing.B) {
	b.Helper()
	p := rp.proc
	rp.proc = nil
	if err := p.stop(45 * time.Second); err != nil {
		b.Fatalf("stop replica: %v\n%s", err, tail(rp.logPath, 30))
	}
	rp.rig.client.CloseIdleConnections()
}

// waitHandled waits until the inbox holds want entries, none pending, and
// no outbox job is pending; every entry must be done.
func waitHandled(b *testing.B, ctx context.Context, conn *pgx.Conn, want int) {
	b.Helper()
	testkit.Eventually(b, fmt.Sprintf("%d events handled", want), func() bool {
		var all, pending, jobs int
		err := conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = $1),
			(SELECT count(*) FROM riscd_outbox WHERE status = $2) FROM riscd_inbox`,
			string(riscd.InboxPending), string(riscd.OutboxPending)).Scan(&all, &pending, &jobs)
		if err != nil {
			b.Fatal(err)
		}
		return all == want && pending == 0 && jobs == 0
	})
	var done int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM riscd_inbox WHERE status = $1`, string(riscd.InboxDone)).Scan(&done); err != nil {
		b.Fatal(err)
	}
	if done != want {
		b.Fatalf("%d of %d events done", done, want)
	}
}

// pgSnapshot is the CPU time of each PostgreSQL process counted.
type pgSnapshot map[int]time.Duration

// minus is the CPU time used since before: processes new since then count
// in full, processes gone since then (a connection closed, an autovacuum
// worker that ended) are lost.
func (s pgSnapshot) minus(before pgSnapshot) time.Duration {
	var d time.Duration
	for pid, t := range s {
		d += t - before[pid]
	}
	return d
}

// pgCPU reads the CPU time of the backends connected to database dbName
// (but self) and of the server's own processes (those with no database).
func pgCPU(b *testing.B, ctx context.Context, conn *pgx.Conn, dbName string, self int) pgSnapshot {
	b.Helper()
	rows, err := conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE (datname = $1 OR datname IS NULL) AND pid <> $2`, dbName, self)
	if err != nil {
		b.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	s := pgSnapshot{}
	for _, pid := range pids {
		if t, ok := procCPU(int(pid)); ok {
			s[int(pid)] = t
		}
	}
	return s
}

// cpuOf is the CPU time the processes used so far; each must be running.
func cpuOf(b *testing.B, pids []int) time.Duration {
	b.Helper()
	var d time.Duration
	for _, pid := range pids {
		t, ok := procCPU(pid)
		if !ok {
			b.Fatalf("process %d: no /proc/%d/stat", pid, pid)
		}
		d += t
	}
	return d
}

// procCPU reads utime+stime from /proc/<pid>/stat (proc(5)), in clock
// ticks of 1/100 s (USER_HZ, 100 on Linux's every architecture).
func procCPU(pid int) (time.Duration, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// fields 14 (utime) and 15 (stime) count from after its ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+st) * 10 * time.Millisecond, true
}

// countErrorLines counts the log's ERROR lines (JSON log format).
func countErrorLines(b *testing.B, path string) int {
	b.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return strings.Count(string(data), `"level":"ERROR"`)
}

// dbNameOf is the database a postgres:// URL names.
func dbNameOf(b *testing.B, dbURL string) string {
	b.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		b.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

// xacts is the number of transactions the database has seen, as far as
// the server's statistics (flushed by each backend at most once a second)
// know.
func xacts(b *testing.B, ctx context.Context, conn *pgx.Conn, dbName string) int64 {
	b.Helper()
	var n int64
	if _, err := conn.Exec(ctx, "SELECT pg_stat_clear_snapshot()"); err != nil {
		b.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1`, dbName).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}
