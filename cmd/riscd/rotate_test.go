package main

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riscd/riscd/store"
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

func TestRotateKeyCommandFinishesAnInterruptedRotation(t *testing.T) {
	cfg := simConfig(t, startSim(t))
	l, err := load(cfg, nil, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	newKeyFile := filepath.Join(t.TempDir(), "new.key")
	newKey, _, err := loadOrCreateKey(newKeyFile)
	if err != nil {
		t.Fatal(err)
	}

	// A rotation stopped right after it made the new key the store's
	// primary: its records are still sealed under the old key.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	db, err := store.Open(ctx, store.Options{Path: l.cfg.Store.Path, Key: l.secrets.StoreKey,
		Logger: slog.New(cancelOn{msg: "store key rotation started", cancel: cancel})})
	if err != nil {
		t.Fatal(err)
	}
	g, err := db.CreateGrant(ctx, store.Grant{Sub: "110248495921238986420", RefreshToken: "1//0rotate-me-refresh", Status: store.GrantActive})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.RotateKey(ctx, newKey); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted RotateKey: %v, want context.Canceled", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

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
	db, err = store.Open(t.Context(), store.Options{Path: l.cfg.Store.Path, Key: newKey})
	if err != nil {
		t.Fatalf("open with the new key alone after the rotation finished: %v", err)
	}
	defer db.Close()
	got, err := db.Grant(t.Context(), g.ID)
	if err != nil || got.RefreshToken.Reveal() != "1//0rotate-me-refresh" {
		t.Fatalf("grant after the rotation: %v", err)
	}
	if err := db.Check(t.Context()); err != nil {
		t.Fatalf("check after the rotation: %v", err)
	}
}
