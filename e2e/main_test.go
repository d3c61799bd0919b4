package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// riscdBinary is the riscd executable TestMain builds. It is written once,
// before any test runs, and only read afterwards.
var riscdBinary string

// TestMain builds riscd (without -race, so the daemon runs at full speed)
// into a temporary directory, runs the tests and removes the directory.
// RISCD_E2E_BIN names a binary to use instead.
func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if bin := os.Getenv("RISCD_E2E_BIN"); bin != "" {
		riscdBinary = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "riscd-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		return 2
	}
	defer os.RemoveAll(dir)
	riscdBinary = filepath.Join(dir, "riscd")
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goTool, "build", "-o", riscdBinary, "github.com/riscd/riscd/cmd/riscd")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.Env = withoutEnv(os.Environ(), "GOFLAGS")
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: go build riscd:", err)
		return 2
	}
	return m.Run()
}

// withoutEnv returns environ without the variables named.
func withoutEnv(environ []string, names ...string) []string {
	out := make([]string, 0, len(environ))
next:
	for _, kv := range environ {
		for _, n := range names {
			if len(kv) > len(n) && kv[:len(n)+1] == n+"=" {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// TestBinaryRuns is the smallest end-to-end check: the built binary prints
// its version.
func TestBinaryRuns(t *testing.T) {
	out, err := exec.Command(riscdBinary, "version").CombinedOutput()
	if err != nil || len(out) < len("riscd ") || string(out[:6]) != "riscd " {
		t.Fatalf("riscd version = %q, %v; want a line starting with \"riscd \"", out, err)
	}
}
