package e2e

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// tmpfsSize is the size of the filesystem the store lives on.
const tmpfsSize = "32m"

// mountTmpfs mounts a tmpfs of tmpfsSize on a new directory and unmounts it
// at the end of the test. The suite needs root (CI runs as root); without
// it the test fails saying so.
func mountTmpfs(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+tmpfsSize+",mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("the disk-full suite puts the store on a small tmpfs and needs to mount one: "+
			"run the tests as root (or with CAP_SYS_ADMIN) where mount -t tmpfs works; mount said: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			_ = exec.Command("umount", "-l", dir).Run()
			t.Logf("umount %s: %v %s (unmounted lazily)", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes a file in dir until the filesystem is full and returns
// its path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{1 << 20, 4 << 10, 512} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("fill %s: %v", dir, err)
				}
				break
			}
		}
	}
	return path
}

// TestDiskFull puts the store on a small tmpfs and fills it while SETs
// stream in: riscd answers 503 (never 400, never a crash) and keeps
// serving reads; when space returns it accepts again and handles every
// event. A second time the disk fills, riscd is killed while full and
// restarted once space is back. Nothing acknowledged is lost, every
// webhook arrives, and the store passes its check.
func TestDiskFull(t *testing.T) {
	t.Parallel() // mostly waiting: it overlaps the other waiting suites
	ctx := context.Background()
	dir := mountTmpfs(t)
	users := simUsers("disk", 6)
	r := newRig(t, rigOptions{users: users, webhooks: true, storeDir: dir})
	r.start()
	for _, u := range users {
		r.mustConsent(ctx, u)
	}
	var led ledger
	jtis := &jtiSource{prefix: "DISK"}
	rng := rand.New(rand.NewPCG(3, 3))
	next := func() plannedSET {
		if rng.IntN(2) == 0 {
			u := users[rng.IntN(len(users))]
			if rng.IntN(2) == 0 {
				return sessionsRevoked(jtis, u.Sub)
			}
			return credentialChange(jtis, u.Sub)
		}
		return unknownSubjectSET(jtis, rng, "disk")
	}
	// A few SETs while there is room.
	for range 20 {
		p := next()
		res, err := r.deliverPlanned(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		led.add(p, res.retried)
	}

	for round, killWhileFull := range []bool{false, true} {
		filler := fillDisk(t, dir)
		// Push once each (no retry) until riscd has refused 20 in a row
		// with 503; those it refused are retried once space returns.
		var refused []plannedSET
		streak := 0
		deadline := time.Now().Add(2 * time.Minute)
		for streak < 20 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: riscd never answered 20 SETs in a row with 503 on a full disk (%d refused)", round, len(refused))
			}
			p := next()
			tok, err := r.sign(p)
			if err != nil {
				t.Fatal(err)
			}
			code, body, err := r.tr.Send(ctx, r.riscURL(), tok)
			switch {
			case err != nil:
				t.Fatalf("round %d: push on a full disk: %v (riscd died?) log:\n%s", round, err, tail(r.logPath, 20))
			case code == http.StatusAccepted:
				led.add(p, 0)
				streak = 0
			case code == http.StatusServiceUnavailable:
				refused = append(refused, p)
				streak++
			default:
				t.Fatalf("round %d: push on a full disk = %d %s, want 202 or 503", round, code, body)
			}
		}
		// Reads still work.
		if code, _, err := r.do(ctx, http.MethodGet, r.internal+"/admin/grants", r.adminToken, nil); err != nil || code != http.StatusOK {
			t.Errorf("round %d: GET /admin/grants on a full disk = %d %v, want 200", round, code, err)
		}
		if killWhileFull {
			r.kill()
		}
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		if killWhileFull {
			r.start()
		}
		for _, p := range refused {
			res, err := r.deliverPlanned(ctx, p)
			if err != nil {
				t.Fatalf("round %d: after space returned: %v", round, err)
			}
			led.add(p, res.retried+1)
		}
		t.Logf("round %d: %d SETs refused with 503 on the full disk, all accepted once space returned", round, len(refused))
	}
	r.waitDrained(ctx, 5*time.Minute)
	r.stop()
	db := r.checkStore(ctx)
	verifyAcked(t, ctx, db, r.hooks, led.list())
}
