package main

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/store/boltdb"
)

// startSim starts a Google stand-in on loopback for the test.
func startSim(t testing.TB) *googlesim.Server {
	t.Helper()
	sim, err := googlesim.New(googlesim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

// simConfig writes a riscd config wired to sim into a temp dir and returns its path.
func simConfig(t testing.TB, sim *googlesim.Server) string {
	t.Helper()
	public, err := freeAddr("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	path, err := writeDemoFiles(t.TempDir(), sim, "http://"+public, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// MustRunMain starts the whole daemon from a config file and stops it at cleanup.
func MustRunMain(t *testing.T, configPath string) *Main { return mustRunMainTB(t, configPath) }

func mustRunMainTB(t testing.TB, configPath string) *Main {
	t.Helper()
	l, err := load(configPath, nil, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: l.cfg, Secrets: l.secrets}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func getStatus(t testing.TB, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitReady polls /readyz until it answers 200: transmitter keys load in the
// background after start-up.
func waitReady(t *testing.T, internalURL string) { waitReadyTB(t, internalURL) }

func waitReadyTB(t testing.TB, internalURL string) {
	t.Helper()
	testkit.Eventually(t, internalURL+"/readyz to answer 200", func() bool {
		return getStatus(t, internalURL+"/readyz") == http.StatusOK
	})
}

// waitDemoStarted waits until the demo running in the background (its exit
// code comes on done) prints banner, failing at once if it exits first.
func waitDemoStarted(t *testing.T, done <-chan int, out, errOut *testkit.SyncBuffer, banner string) {
	t.Helper()
	testkit.Eventually(t, "the demo to print "+strconv.Quote(banner), func() bool {
		select {
		case code := <-done:
			t.Fatalf("demo exited %d early: %s %s", code, out.String(), errOut.String())
		default:
		}
		return strings.Contains(out.String(), banner)
	})
}

func TestMainRunsAndStops(t *testing.T) {
	sim := startSim(t)
	cfg := simConfig(t, sim)
	m := MustRunMain(t, cfg)

	if got := getStatus(t, "http://"+m.InternalAddr()+"/healthz"); got != http.StatusOK {
		t.Errorf("GET /healthz = %d, want 200", got)
	}
	waitReady(t, "http://"+m.InternalAddr())

	// A second riscd on the same store is refused with a clear message.
	l, err := load(cfg, []string{"RISCD_LISTEN=127.0.0.1:0"}, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	second := &Main{Config: l.cfg, Secrets: l.secrets}
	err = second.Run(context.Background())
	var se *StartupError
	if !errors.As(err, &se) || !errors.Is(err, boltdb.ErrLocked) || !strings.Contains(err.Error(), "in use by another riscd") {
		t.Fatalf("second Run = %v, want a StartupError saying the store is in use", err)
	}

	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// The store was closed cleanly: it opens again and passes its check.
	db, err := boltdb.Open(context.Background(), boltdb.Options{Path: l.cfg.Store.Path, Key: l.secrets.StoreKey})
	if err != nil {
		t.Fatalf("reopen after Close: %v", err)
	}
	defer db.Close()
	if err := db.Check(context.Background()); err != nil {
		t.Errorf("store check: %v", err)
	}
}

func TestRotateKeyCommand(t *testing.T) {
	sim := startSim(t)
	cfg := simConfig(t, sim)
	m := MustRunMain(t, cfg)
	g, err := m.DB().CreateGrant(context.Background(), riscd.Grant{
		Sub: "110248495921238986420", RefreshToken: "1//0rotate-me-refresh", AccessToken: "ya29.rotate-me", Status: riscd.GrantActive,
	})
	if err != nil {
		t.Fatal(err)
	}
	m.Close()

	newKey := filepath.Join(t.TempDir(), "new.key")
	code, out, errOut := runCLI(t, nil, "store", "rotate-key", "--config", cfg, "--new-key-file", newKey)
	if code != exitOK || !strings.Contains(out, "re-encrypted") {
		t.Fatalf("rotate-key: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if fi, err := os.Stat(newKey); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("new key file: %v, mode %v; want it made with mode 0600", err, fi.Mode())
	}

	// With the new key alone the grant's tokens read back.
	l, err := load(cfg, []string{"RISCD_STORE_KEY_FILE=" + newKey}, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	db, err := boltdb.Open(context.Background(), boltdb.Options{Path: l.cfg.Store.Path, Key: l.secrets.StoreKey})
	if err != nil {
		t.Fatalf("open with the new key only: %v", err)
	}
	got, err := db.Grant(context.Background(), g.ID)
	if err != nil || got.RefreshToken.Reveal() != "1//0rotate-me-refresh" {
		t.Fatalf("grant after rotation: %v, refresh token readable: %v", err, err == nil && got.RefreshToken.Reveal() == "1//0rotate-me-refresh")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Rotating to the key already in use is refused (no rotation to it is
	// unfinished).
	code, _, errOut = runCLI(t, []string{"RISCD_STORE_KEY_FILE=" + newKey}, "store", "rotate-key", "--config", cfg, "--new-key-file", newKey)
	if code != exitUsage || !strings.Contains(errOut, "already in use") {
		t.Errorf("rotate to the same key: exit %d, stderr %q", code, errOut)
	}
}

func TestDemoStartsWithNoArguments(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut testkit.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo"}, nil, &out, &errOut)
	}()
	waitDemoStarted(t, done, &out, &errOut, "riscd demo is running")
	var internal string
	for line := range strings.SplitSeq(out.String(), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "riscd" && f[1] == "(internal)" {
			internal = f[2]
		}
	}
	waitReady(t, internal)
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("demo exit %d after cancel, want 0; stderr %s", code, errOut.String())
	}
}

// TestServeBinaryStopsOnSIGTERM builds the real binary, runs riscd serve
// against a running googlesim, and stops it with SIGTERM.
func TestServeBinaryStopsOnSIGTERM(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "riscd")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sim := startSim(t)
	cfg := simConfig(t, sim)

	cmd := exec.Command(bin, "serve", "--config", cfg, "--log-format", "json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })

	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var internal string
	var logged []string
	for internal == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("riscd exited before starting: %q", logged)
			}
			logged = append(logged, line)
			if strings.Contains(line, `"msg":"riscd started"`) {
				_, rest, _ := strings.Cut(line, `"internal":"`)
				internal, _, _ = strings.Cut(rest, `"`)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("riscd did not start: %q", logged)
		}
	}
	waitReady(t, "http://"+internal)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() {
		for line := range lines {
			logged = append(logged, line)
		}
		exited <- cmd.Wait()
	}()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("riscd exit: %v; log %q", err, logged)
		}
	case <-time.After(shutdownTimeout + 20*time.Second):
		t.Fatalf("riscd did not stop on SIGTERM")
	}
	if !strings.Contains(strings.Join(logged, "\n"), `"msg":"stopped"`) {
		t.Errorf("no clean-stop log line: %q", logged)
	}
	for _, line := range logged {
		if strings.Contains(line, sim.ClientSecret()) {
			t.Errorf("log line leaks the client secret: %s", line)
		}
	}
}
