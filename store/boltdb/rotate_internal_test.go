package boltdb

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRotateKeyInterrupted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "riscd.db")
	k1, _, _ := GenerateKey()
	k2, _, _ := GenerateKey()
	open := func(t *testing.T, key Key, old ...Key) (*DB, error) {
		return Open(t.Context(), Options{Path: path, Key: key, OldKeys: old, LockTimeout: 50 * time.Millisecond})
	}
	db, err := open(t, k1)
	if err != nil {
		t.Fatal(err)
	}
	const grants = 9
	for i := range grants {
		if _, err := db.CreateGrant(t.Context(), Grant{Sub: "s", RefreshToken: Secret(fmt.Sprint("1//0token-number-", i))}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	db.rotateChunk = 2
	db.afterChunk = cancel // a crash after the first transaction
	n, err := db.RotateKey(ctx, k2)
	if !errors.Is(err, context.Canceled) || n != 2 {
		t.Fatalf("interrupted RotateKey: %d, %v; want 2, context.Canceled", n, err)
	}
	db.Close()

	for name, keys := range map[string][]Key{"old key": {k1}, "new key": {k2}} {
		_, err := open(t, keys[0])
		if !errors.Is(err, ErrWrongKey) {
			t.Fatalf("Open with the %s alone: got %v, want ErrWrongKey", name, err)
		}
		var re *RotationError
		if !errors.As(err, &re) || re.NewKeyID != k2.ID() || !strings.Contains(err.Error(), "a key rotation to key "+k2.ID()+" did not finish") {
			t.Fatalf("Open with the %s alone: %v; want a RotationError naming key %s", name, err, k2.ID())
		}
	}
	// As riscd store rotate-key opens it when given the new key again:
	// the configured key first, the new one beside it.
	db, err = open(t, k1, k2)
	if err != nil {
		t.Fatalf("Open with both keys: %v", err)
	}
	if err := db.Check(t.Context()); err != nil {
		t.Fatalf("Check with both keys: %v", err)
	}
	gs, err := db.GrantsBySub(t.Context(), "s")
	if err != nil || len(gs) != grants {
		t.Fatalf("GrantsBySub with both keys: %d grants, %v", len(gs), err)
	}
	if n, err := db.RotateKey(t.Context(), k2); err != nil || n != grants-2 {
		t.Fatalf("resumed RotateKey: %d, %v; want %d", n, err, grants-2)
	}
	db.Close()
	db, err = open(t, k2)
	if err != nil {
		t.Fatalf("Open with the new key after the rotation finished: %v", err)
	}
	defer db.Close()
	if err := db.Check(t.Context()); err != nil {
		t.Fatalf("Check: %v", err)
	}
}
