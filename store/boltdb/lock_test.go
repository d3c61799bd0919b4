package boltdb_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/riscd/riscd/store/boltdb"
)

// TestOpenLockedByAnotherProcess runs a second copy of the test binary that
// holds the store open, as a second riscd would.
func TestOpenLockedByAnotherProcess(t *testing.T) {
	if path := os.Getenv("RISCD_STORE_LOCK_HELPER"); path != "" {
		holdStore(path)
		return
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "riscd.db")
	key, text, err := boltdb.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	db := mustOpen(t, boltdb.Options{Path: path, Key: key})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenLockedByAnotherProcess$")
	cmd.Env = append(os.Environ(), "RISCD_STORE_LOCK_HELPER="+path, "RISCD_STORE_LOCK_KEY="+string(text))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = t.Output()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("helper said %q, %v; want ready", line, err)
	}

	before := dirState(t, dir)
	_, err = boltdb.Open(t.Context(), boltdb.Options{Path: path, Key: key, LockTimeout: 20 * time.Millisecond})
	if !errors.Is(err, boltdb.ErrLocked) {
		t.Fatalf("Open while another process holds the store: got %v, want ErrLocked", err)
	}
	if want := "store " + path + " is in use by another riscd"; err.Error() != want {
		t.Fatalf("message %q, want %q", err.Error(), want)
	}
	sameDir(t, dir, before)

	stdin.Close() // the helper closes the store and exits
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	mustOpen(t, boltdb.Options{Path: path, Key: key})
}

// holdStore opens the store, says "ready" and keeps it open until stdin
// closes. It runs in the helper process.
func holdStore(path string) {
	key, err := boltdb.ParseKey([]byte(os.Getenv("RISCD_STORE_LOCK_KEY")))
	if err != nil {
		os.Exit(2)
	}
	db, err := boltdb.Open(context.Background(), boltdb.Options{Path: path, Key: key})
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(3)
	}
	os.Stdout.WriteString("ready\n")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := db.Close(); err != nil {
		os.Exit(4)
	}
}
