package boltdb_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/boltdb"
	"github.com/riscd/riscd/store/storetest"
)

// fillSecrets writes records of every kind that holds secrets and returns
// how many records hold at least one.
func fillSecrets(t *testing.T, db *boltdb.DB, grants int) int {
	t.Helper()
	ctx := t.Context()
	err := db.Update(ctx, func(tx riscd.Tx) error {
		for i := range grants {
			g := riscd.Grant{Sub: fmt.Sprint("sub-", i%7), RefreshToken: riscd.Secret(storetest.RefreshToken(uint64(i))),
				AccessToken: riscd.Secret(storetest.AccessToken(uint64(i)))}
			if _, err := tx.CreateGrant(ctx, g); err != nil {
				return err
			}
		}
		if err := tx.CreateSession(ctx, riscd.Session{ID: "sid", Sub: "sub-1", CSRF: "csrf"}); err != nil {
			return err
		}
		if err := tx.CreateSession(ctx, riscd.Session{ID: "sid-no-csrf", Sub: "sub-1"}); err != nil {
			return err
		}
		if err := tx.CreateAdminSession(ctx, riscd.AdminSession{ID: "admin-sid", CSRF: "admin-csrf", Operator: "operator"}, 10); err != nil {
			return err
		}
		if err := tx.CreateFlow(ctx, riscd.Flow{ID: "fid", State: "st", PKCEVerifier: "pv", Nonce: "n"}); err != nil {
			return err
		}
		if err := tx.CreateConnectSession(ctx, riscd.ConnectSession{ID: "cid", AppUser: "u", Status: riscd.ConnectConnected,
			LoginHint: "ann@example.com", Email: "ann@example.com", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			return err
		}
		if _, err := tx.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxRevoke, Token: "tok"}); err != nil {
			return err
		}
		_, err := tx.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return grants + 5
}

// readAll reads back every secret fillSecrets wrote.
func readAll(t *testing.T, db *boltdb.DB, grants int) {
	t.Helper()
	ctx := t.Context()
	for i := range grants {
		g, err := db.GrantByRefreshDigest(ctx, riscd.RefreshTokenDigest(storetest.RefreshToken(uint64(i))))
		if err != nil {
			t.Fatalf("grant %d: %v", i, err)
		}
		if g.AccessToken.Reveal() != storetest.AccessToken(uint64(i)) {
			t.Fatalf("grant %d: access token differs", i)
		}
	}
	if s, err := db.Session(ctx, "sid"); err != nil || s.CSRF != "csrf" {
		t.Fatalf("session: %v", err)
	}
	if s, err := db.AdminSession(ctx, "admin-sid"); err != nil || s.CSRF != "admin-csrf" {
		t.Fatalf("admin session: %v", err)
	}
	if s, err := db.ConnectSession(ctx, "cid"); err != nil || s.LoginHint != "ann@example.com" || s.Email != "ann@example.com" {
		t.Fatalf("connect session: %v", err)
	}
	if err := db.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

func TestRotateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "riscd.db")
	oldKey, newKey := mustKey(t), mustKey(t)
	const grants = 1100 // more than one rotation transaction
	db := mustOpen(t, boltdb.Options{Path: path, Key: oldKey})
	want := fillSecrets(t, db, grants)

	n, err := db.RotateKey(t.Context(), newKey)
	if err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	if n != want {
		t.Fatalf("RotateKey rewrote %d records, want %d", n, want)
	}
	readAll(t, db, grants)
	g, err := db.CreateGrant(t.Context(), riscd.Grant{Sub: "late", AccessToken: "ya29.late"})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := db.RotateKey(t.Context(), newKey); err != nil || n != 0 {
		t.Fatalf("second RotateKey: %d, %v; want 0, nil", n, err)
	}
	if s, err := db.Stats(t.Context()); err != nil || !slices.Equal(s.KeyIDs, []string{newKey.ID()}) {
		t.Fatalf("Stats.KeyIDs = %v (%v), want [%s]", s.KeyIDs, err, newKey.ID())
	}
	db.Close()

	t.Run("new key alone opens everything", func(t *testing.T) {
		db := mustOpen(t, boltdb.Options{Path: path, Key: newKey})
		readAll(t, db, grants)
		if got, err := db.Grant(t.Context(), g.ID); err != nil || got.AccessToken != "ya29.late" {
			t.Fatalf("grant written after the switch: %v", err)
		}
		db.Close()
	})
	t.Run("old key alone is refused", func(t *testing.T) {
		_, err := boltdb.Open(t.Context(), boltdb.Options{Path: path, Key: oldKey})
		if !errors.Is(err, riscd.ErrWrongKey) {
			t.Fatalf("Open with the old key: got %v, want ErrWrongKey", err)
		}
	})
}

func TestNewPrimaryKeyWithoutRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "riscd.db")
	oldKey, newKey := mustKey(t), mustKey(t)
	db := mustOpen(t, boltdb.Options{Path: path, Key: oldKey})
	want := fillSecrets(t, db, 3)
	db.Close()

	// Configured with a new key and the old one: old records read, new ones
	// are sealed with the new key, so from now on both are needed.
	db = mustOpen(t, boltdb.Options{Path: path, Key: newKey, OldKeys: []boltdb.Key{oldKey}})
	readAll(t, db, 3)
	if _, err := db.CreateGrant(t.Context(), riscd.Grant{Sub: "s", AccessToken: "ya29.new"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for name, k := range map[string]boltdb.Key{"old": oldKey, "new": newKey} {
		if _, err := boltdb.Open(t.Context(), boltdb.Options{Path: path, Key: k}); !errors.Is(err, riscd.ErrWrongKey) {
			t.Fatalf("Open with the %s key alone: got %v, want ErrWrongKey", name, err)
		}
	}
	db = mustOpen(t, boltdb.Options{Path: path, Key: newKey, OldKeys: []boltdb.Key{oldKey}})
	if n, err := db.RotateKey(t.Context(), newKey); err != nil || n != want {
		t.Fatalf("RotateKey: %d, %v; want %d records", n, err, want)
	}
	db.Close()
	db = mustOpen(t, boltdb.Options{Path: path, Key: newKey})
	readAll(t, db, 3)
}
