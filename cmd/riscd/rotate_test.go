package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/seal"
	"github.com/riscd/riscd/store/boltdb"
)

// cancelOn is a slog handler that cancels a context when a record with the
// given message is logged.
type cancelOn struct {
	msg    string
	cancel context.CancelFunc
}

func (h cancelOn) Enabled(context.Context, slog.Level) bool { return true }
func (h cancelOn) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h cancelOn) WithGroup(string) slog.Handler            { return h }
func (h cancelOn) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.cancel()
	}
	return nil
}

// halfRotated makes a configuration whose store holds one grant and a key
// rotation to a new key (in newKeyFile) stopped right after it made the new
// key the store's primary: the grant is still sealed under the old key.
func halfRotated(t *testing.T) (cfg, storePath, newKeyFile string, newKey boltdb.Key, grantID string) {
	t.Helper()
	cfg = simConfig(t, startSim(t))
	l, err := load(cfg, nil, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	newKeyFile = filepath.Join(t.TempDir(), "new.key")
	newKey, _, err = seal.LoadOrCreateKeyFile(newKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	db, err := boltdb.Open(ctx, boltdb.Options{Path: l.cfg.Store.Path, Key: l.secrets.StoreKey,
		Logger: slog.New(cancelOn{msg: "store key rotation started", cancel: cancel})})
	if err != nil {
		t.Fatal(err)
	}
	g, err := db.CreateGrant(ctx, riscd.Grant{Sub: "110248495921238986420", RefreshToken: "1//0rotate-me-refresh", Status: riscd.GrantActive})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.RotateKey(ctx, newKey); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted RotateKey: %v, want context.Canceled", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return cfg, l.cfg.Store.Path, newKeyFile, newKey, g.ID
}

// finishedRotation checks that the store opens with the new key alone and
// its grant reads back.
func finishedRotation(t *testing.T, storePath string, newKey boltdb.Key, grantID string) {
	t.Helper()
	db, err := boltdb.Open(t.Context(), boltdb.Options{Path: storePath, Key: newKey})
	if err != nil {
		t.Fatalf("open with the new key alone after the rotation finished: %v", err)
	}
	defer db.Close()
	got, err := db.Grant(t.Context(), grantID)
	if err != nil || got.RefreshToken.Reveal() != "1//0rotate-me-refresh" {
		t.Fatalf("grant after the rotation: %v", err)
	}
	if err := db.Check(t.Context()); err != nil {
		t.Fatalf("check after the rotation: %v", err)
	}
}

func TestRotateKeyCommandFinishesAnInterruptedRotation(t *testing.T) {
	cfg, storePath, newKeyFile, newKey, grantID := halfRotated(t)

	// The store no longer opens with the old key alone; the message says
	// what to run.
	code, _, errOut := runCLI(t, nil, "store", "check", "--config", cfg)
	want := "riscd store rotate-key --config " + cfg + " --new-key-file NEW"
	if code != exitUsage || !strings.Contains(errOut, "did not finish") || !strings.Contains(errOut, want) || !strings.Contains(errOut, newKey.ID()) {
		t.Fatalf("check of a half-rotated store: exit %d, stderr %q; want %d, %q and key %s", code, errOut, exitUsage, want, newKey.ID())
	}

	// The same command again finishes the rotation.
	code, out, errOut := runCLI(t, nil, "store", "rotate-key", "--config", cfg, "--new-key-file", newKeyFile)
	if code != exitOK || !strings.Contains(out, "re-encrypted 1 records") {
		t.Fatalf("rotate-key again: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	finishedRotation(t, storePath, newKey, grantID)
}

// The configuration was moved to the new key (the old one listed as
// previous) before the rotation finished: rotate-key to the key now in use
// finishes it, where it otherwise refuses the key in use.
func TestRotateKeyCommandFinishesWithTheNewKeyConfigured(t *testing.T) {
	cfg, storePath, newKeyFile, newKey, grantID := halfRotated(t)
	raw, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	old := regexp.MustCompile(`(?m)^  key_file: (.*)$`)
	m := old.FindSubmatch(raw)
	if m == nil {
		t.Fatalf("no store key_file line in %s", cfg)
	}
	moved := old.ReplaceAll(raw, []byte("  key_file: "+newKeyFile+"\n  previous_key_files: ["+string(m[1])+"]"))
	if err := os.WriteFile(cfg, moved, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, nil, "store", "rotate-key", "--config", cfg, "--new-key-file", newKeyFile)
	if code != exitOK || !strings.Contains(out, "re-encrypted 1 records") {
		t.Fatalf("rotate-key to the configured key of an unfinished rotation: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	finishedRotation(t, storePath, newKey, grantID)
}
