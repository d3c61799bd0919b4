package main

import (
	"context"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/riscd/riscd/store"
)

func TestStoreCheckCommand(t *testing.T) {
	sim := startSim(t)
	cfg := simConfig(t, sim)
	m := MustRunMain(t, cfg)
	if _, err := m.DB().CreateGrant(context.Background(), store.Grant{
		Sub: "110248495921238986420", RefreshToken: "1//0check-me-refresh", AccessToken: "ya29.check-me", Status: store.GrantActive,
	}); err != nil {
		t.Fatal(err)
	}

	// While riscd runs the file is locked: the check says so and reads nothing.
	code, _, errOut := runCLI(t, nil, "store", "check", "--config", cfg)
	if code != exitUsage || !strings.Contains(errOut, "in use") {
		t.Errorf("check beside a running riscd: exit %d, stderr %q; want %d and a message that the store is in use", code, errOut, exitUsage)
	}
	m.Close()

	code, out, errOut := runCLI(t, nil, "store", "check", "--config", cfg)
	if code != exitOK || !strings.Contains(out, "grants 1,") || !strings.Contains(out, "ok:") {
		t.Fatalf("check of a sound store: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if strings.Contains(out+errOut, "check-me") {
		t.Errorf("check output shows a token: %q %q", out, errOut)
	}

	// Damage an index behind the store's back: the check finds it.
	l, err := load(cfg, nil, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	bdb, err := bolt.Open(l.cfg.Store.Path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("grants.by_sub"))
		k, _ := b.Cursor().First()
		if k == nil {
			t.Fatal("grants.by_sub is empty")
		}
		return b.Delete(k)
	})
	if cerr := bdb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, nil, "store", "check", "--config", cfg)
	if code != exitFailure || !strings.Contains(errOut, "problem:") {
		t.Errorf("check of a damaged store: exit %d, stderr %q; want %d and the problem named", code, errOut, exitFailure)
	}
}
