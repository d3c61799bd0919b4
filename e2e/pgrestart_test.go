package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
)

// pgBin is where Debian's PostgreSQL 15 server programs live.
const pgBin = "/usr/lib/postgresql/15/bin"

// privatePostgres is a PostgreSQL server of the test's own, run as the
// postgres OS user (the server refuses root) on a free loopback port with
// trust authentication, so that the test can stop and start it.
type privatePostgres struct {
	t    testing.TB
	dir  string // owned by postgres: data/, the socket and the log
	port string
}

// startPrivatePostgres initialises and starts a server, stopped and
// removed at the end of the test. It needs root (to run the server as
// postgres) and PostgreSQL 15's programs: without them the test skips,
// or fails when CI=true.
func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	unavailable := func(why string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("a private PostgreSQL server cannot run here: %s", why)
		}
		t.Skipf("a private PostgreSQL server cannot run here (%s); run as root with PostgreSQL 15 installed in %s", why, pgBin)
	}
	if os.Geteuid() != 0 {
		unavailable("not root: the server must run as the postgres user")
	}
	if _, err := os.Stat(filepath.Join(pgBin, "pg_ctl")); err != nil {
		unavailable(err.Error())
	}
	pgUser, err := user.Lookup("postgres")
	if err != nil {
		unavailable("no postgres user: " + err.Error())
	}
	uid, _ := strconv.Atoi(pgUser.Uid)
	gid, _ := strconv.Atoi(pgUser.Gid)
	// Not t.TempDir: its parents are root's alone and the server could not
	// reach its directory.
	dir, err := os.MkdirTemp("", "riscd-e2e-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	p := &privatePostgres{t: t, dir: dir, port: strings.TrimPrefix(freeAddr(t), "127.0.0.1:")}
	p.run("initdb", "-D", p.data(), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
	p.start()
	t.Cleanup(func() {
		// Whatever state the test left it in.
		_ = exec.Command("runuser", "-u", "postgres", "--", filepath.Join(pgBin, "pg_ctl"), "-D", p.data(), "stop", "-m", "immediate").Run()
	})
	return p
}

func (p *privatePostgres) data() string { return filepath.Join(p.dir, "data") }

// url is the server's maintenance database.
func (p *privatePostgres) url() string {
	return "postgres://postgres@127.0.0.1:" + p.port + "/postgres?sslmode=disable"
}

// run runs one of the server's programs as postgres.
func (p *privatePostgres) run(prog string, args ...string) {
	p.t.Helper()
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(pgBin, prog)}, args...)...)
	cmd.Dir = p.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("%s %s: %v\n%s\nserver log:\n%s", prog, strings.Join(args, " "), err, out, tail(filepath.Join(p.dir, "server.log"), 20))
	}
}

// start starts the server and waits until it accepts connections.
func (p *privatePostgres) start() {
	p.t.Helper()
	p.run("pg_ctl", "-D", p.data(), "-l", filepath.Join(p.dir, "server.log"), "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %s -k %s -c listen_addresses=127.0.0.1", p.port, p.dir), "start")
}

// stop stops the server the fast way: clients are disconnected, open
// transactions rolled back, and the server shuts down cleanly.
func (p *privatePostgres) stop() {
	p.t.Helper()
	p.run("pg_ctl", "-D", p.data(), "-w", "-t", "60", "stop", "-m", "fast")
}

// TestPostgresRestart stops the PostgreSQL server of three replicas while
// SETs flow through their proxy, for RISCD_E2E_OUTAGE (3 s by default),
// and starts it again: meanwhile SETs are answered 503 with Retry-After
// (the transmitter redelivers) and every replica's /readyz reports it not
// ready; afterwards SETs are answered 202 at their first delivery and
// every /readyz ready again; no SET acknowledged is lost and each is
// acted on once.
func TestPostgresRestart(t *testing.T) {
	s := suiteSettings(t)
	pg := startPrivatePostgres(t)
	ctx := context.Background()
	users := simUsers("pgrs", 4)
	rs := newReplicaSet(t, rigOptions{users: users, webhooks: true, storeURL: testkit.PostgresDatabase(t, pg.url())}, nReplicas)
	rs.startAll()
	r := rs.front
	for _, u := range users {
		r.mustConsent(ctx, u)
	}

	var (
		led        ledger
		jtis       = &jtiSource{prefix: "PGRS"}
		stop       atomic.Bool
		wg         sync.WaitGroup
		failures   = make(chan error, 2)
		serverErrs = &r.ps.serverErrors // 5xx answers to the senders
	)
	sendCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for !stop.Load() {
				var p plannedSET
				if rng.IntN(2) == 0 {
					p = credentialChange(jtis, users[rng.IntN(len(users))].Sub)
				} else {
					p = unknownSubjectSET(jtis, rng, "pgrs")
				}
				res, err := r.deliverPlanned(sendCtx, p)
				if err != nil {
					failures <- err
					return
				}
				led.add(p, res.retried)
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	// readyz reports how many replicas answer /readyz 200.
	readyz := func() int {
		n := 0
		for _, rep := range rs.reps {
			if code, _, err := rep.do(ctx, http.MethodGet, rep.internal+"/readyz", "", nil); err == nil && code == http.StatusOK {
				n++
			}
		}
		return n
	}
	// probe delivers one SET once, without retrying; one acknowledged goes
	// in the ledger.
	probe := func() rawAnswer {
		p := verification(jtis)
		tok, err := r.sign(p)
		if err != nil {
			t.Fatal(err)
		}
		a := rawRequest(t, r.public, http.MethodPost, "/risc",
			http.Header{"Content-Type": {googlesim.ContentTypeSET}, "Accept": {"application/json"}}, tok)
		if a.status == http.StatusAccepted {
			led.add(p, 0)
		}
		return a
	}

	waitFor(t, 30*time.Second, "no SET acknowledged before the outage", func() bool { return len(led.list()) >= 20 })
	pg.stop()
	outage := time.Now()
	waitFor(t, 30*time.Second, "a replica's /readyz still 200 with the database stopped", func() bool { return readyz() == 0 })
	a := probe()
	if a.status < 500 || a.header.Get("Retry-After") == "" {
		t.Errorf("a SET during the outage: %d (Retry-After %q) %.200s, want a 5xx with Retry-After", a.status, a.header.Get("Retry-After"), a.body)
	}
	waitFor(t, 30*time.Second, "the senders saw no 5xx during the outage", func() bool { return serverErrs.Load() > 0 })
	time.Sleep(time.Until(outage.Add(s.outage))) // the outage lasts
	if n := readyz(); n != 0 {
		t.Errorf("%d replicas ready with the database stopped", n)
	}
	ackedDuring := len(led.list())
	pg.start()
	waitFor(t, 60*time.Second, "a replica's /readyz not 200 again after the database came back", func() bool { return readyz() == nReplicas })
	t.Logf("outage of %s: %d 5xx answers to the senders", time.Since(outage).Round(time.Millisecond), serverErrs.Load())
	// Back to normal: every SET is accepted at its first delivery.
	for i := range 20 {
		if a := probe(); a.status != http.StatusAccepted {
			t.Errorf("SET %d after the database came back: %d %.200s, want 202", i, a.status, a.body)
		}
	}
	waitFor(t, 30*time.Second, "no SET acknowledged after the outage", func() bool { return len(led.list()) >= ackedDuring+20 })
	stop.Store(true)
	wg.Wait()
	close(failures)
	for err := range failures {
		t.Fatalf("sender: %v", err)
	}
	r.waitDrained(ctx, 2*time.Minute)
	rs.stopAll()
	acked := led.list()
	t.Logf("%d SETs acknowledged, %d 5xx answers to the senders", len(acked), serverErrs.Load())
	verifyAcked(t, ctx, r.openDB(ctx), r.hooks, acked)
}
