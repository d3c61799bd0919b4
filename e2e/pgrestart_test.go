package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
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
// every /readyz ready again. Then the server is restarted at once, a few
// more times (more with RISCD_E2E_LONG=1), each ending every session and
// the locks they held. No SET acknowledged is lost, each is acted on once,
// and each script's subject ends in the state its events lead to.
func TestPostgresRestart(t *testing.T) {
	s := suiteSettings(t)
	restarts := 3
	if s.long {
		restarts = 10
	}
	pg := startPrivatePostgres(t)
	ctx := context.Background()
	users := simUsers("pgrs", 8)
	rs := newReplicaSet(t, rigOptions{users: users, webhooks: true, storeURL: testkit.PostgresDatabase(t, pg.url())}, nReplicas)
	rs.startAll()
	r := rs.front
	jtis := &jtiSource{prefix: "PGRS"}
	var scripts []script
	grantIDs := map[string]string{}
	for i, u := range users {
		grantIDs[u.Sub] = r.mustConsent(ctx, u).ID
		info, _ := r.sim.Grant(u.Sub)
		scripts = append(scripts, scriptFor(jtis, i, u, info.RefreshTokens[0]))
	}
	serverErrs := &r.ps.serverErrors // 5xx answers to the senders
	sendCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	snd := startScriptSenders(sendCtx, r, 2, uint64(time.Now().UnixNano()), restarts, jtis, scripts)
	acked := func() int { return len(snd.led.list()) }

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
			snd.led.add(p, 0)
		}
		return a
	}

	waitFor(t, 30*time.Second, "no SET acknowledged before the outage", func() bool { return acked() >= 20 })
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
	ackedDuring := acked()
	pg.start()
	waitFor(t, 60*time.Second, "a replica's /readyz not 200 again after the database came back", func() bool { return readyz() == nReplicas })
	outage5xx := serverErrs.Load()
	t.Logf("outage of %s: %d 5xx answers to the senders", time.Since(outage).Round(time.Millisecond), outage5xx)
	// Back to normal: every SET is accepted at its first delivery.
	for i := range 20 {
		if a := probe(); a.status != http.StatusAccepted {
			t.Errorf("SET %d after the database came back: %d %.200s, want 202", i, a.status, a.body)
		}
	}
	waitFor(t, 30*time.Second, "no SET acknowledged after the outage", func() bool { return acked() >= ackedDuring+40 })
	snd.round.Store(1)

	// Quick restarts: every session ends, with its locks, while events
	// are being handled.
	for i := 1; i < restarts; i++ {
		if err := snd.failed(); err != nil {
			t.Fatalf("sender: %v", err)
		}
		pg.stop()
		pg.start()
		waitFor(t, 60*time.Second, "a replica's /readyz not 200 after a restart of the database", func() bool { return readyz() == nReplicas })
		before := acked()
		waitFor(t, 30*time.Second, "no SET acknowledged after a restart", func() bool { return acked() >= before+20 })
		snd.round.Store(int64(i + 1))
	}
	list, _, err := snd.finish()
	if err != nil {
		t.Fatalf("sender: %v", err)
	}
	r.waitDrained(ctx, 2*time.Minute)
	rs.stopAll()
	t.Logf("%d restarts; %d SETs acknowledged; %d 5xx answers to the senders (%d in the first, long outage)", restarts, len(list), serverErrs.Load(), outage5xx)
	db := r.openDB(ctx)
	verifyAcked(t, ctx, db, r.hooks, list)
	checkScripts(t, ctx, db, scripts, grantIDs)
}
