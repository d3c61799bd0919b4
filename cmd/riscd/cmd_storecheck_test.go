package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/jackc/pgx/v5"
	"github.com/riscd/riscd"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/store"
	"github.com/riscd/riscd/store/boltdb"
	"github.com/riscd/riscd/store/boltdb/bolttest"
)

func TestStoreCheckCommand(t *testing.T) {
	sim := startSim(t)
	cfg := simConfig(t, sim)
	m := MustRunMain(t, cfg)
	if _, err := m.DB().CreateGrant(context.Background(), riscd.Grant{
		Sub: "110248495921238986420", RefreshToken: "1//0check-me-refresh", AccessToken: "ya29.check-me", Status: riscd.GrantActive,
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

// damagedStoreConfig makes a configuration whose store holds a few hundred
// grants (a file of many pages), with subjects "damage-sub-N".
func damagedStoreConfig(t *testing.T) (cfg, path string) {
	t.Helper()
	cfg = simConfig(t, startSim(t))
	l, err := load(cfg, nil, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	db, err := boltdb.Open(t.Context(), boltdb.Options{Path: l.cfg.Store.Path, Key: l.secrets.StoreKey})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(t.Context(), func(tx riscd.Tx) error {
		for i := range 300 {
			g := riscd.Grant{Sub: fmt.Sprint("damage-sub-", i), RefreshToken: riscd.Secret(fmt.Sprint("1//0damage-refresh-", i)), Status: riscd.GrantActive}
			if _, err := tx.CreateGrant(t.Context(), g); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return cfg, l.cfg.Store.Path
}

func TestStoreCheckDamagedFile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
		want   []string // in stderr
	}{
		{"truncated to half", func(t *testing.T, p string) { bolttest.TruncateHalf(t, p) }, []string{"is damaged: the file is ", "truncated"}},
		{"zeroed leaf page", func(t *testing.T, p string) { bolttest.ZeroLeafHolding(t, p, []byte("damage-sub-150")) },
			[]string{"problem: store: bbolt check: ", "records were not checked", "pages are damaged"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, path := damagedStoreConfig(t)
			tc.damage(t, path)
			code, out, errOut := runCLI(t, nil, "store", "check", "--config", cfg)
			if code != exitDamaged {
				t.Errorf("store check: exit %d, want %d", code, exitDamaged)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("store check: stderr %q, want %q in it", errOut, w)
				}
			}
			if strings.Contains(out+errOut, "damage-refresh") {
				t.Errorf("check output shows a token: %q %q", out, errOut)
			}
		})
	}
}

func TestServeRefusesTruncatedStore(t *testing.T) {
	cfg, path := damagedStoreConfig(t)
	bolttest.TruncateHalf(t, path)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, nil, "serve", "--config", cfg)
	if code != exitDamaged || !strings.Contains(errOut, "store.path: "+path+" is damaged: ") {
		t.Errorf("serve on a truncated store: exit %d, stderr %q; want %d and the file named as damaged", code, errOut, exitDamaged)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Error("serve modified the damaged store file")
	}
}

func TestStoreCheckDamagedMetaPage(t *testing.T) {
	cfg, path := damagedStoreConfig(t)
	bolttest.ZeroMetaPage0(t, path)
	code, out, errOut := runCLI(t, nil, "store", "check", "--config", cfg)
	if code != exitOK || !strings.Contains(out, "grants 300,") {
		t.Errorf("store check: exit %d, stdout %q, stderr %q; want %d and every grant counted", code, out, errOut, exitOK)
	}
	if !strings.Contains(errOut, "meta page 0 is damaged") {
		t.Errorf("store check: stderr %q; want the damaged meta page named", errOut)
	}
}

// store check writes nothing: a mistyped path is refused, not created; a
// copy of the store (the file alone, as a backup holds it) is checked with
// --store and left byte for byte, its directory as it was (no journal
// files, no rewritten meta page); damage in the copy is still reported.
func TestStoreCheckReadOnly(t *testing.T) {
	cfg, path := damagedStoreConfig(t)

	missing := filepath.Join(t.TempDir(), "typo.db")
	code, out, errOut := runCLI(t, nil, "store", "check", "--config", cfg, "--store", missing)
	if code == exitOK || strings.Contains(out, "ok:") || !strings.Contains(errOut, missing+" does not exist") {
		t.Errorf("check of a missing file: exit %d, stdout %q, stderr %q; want a refusal naming it", code, out, errOut)
	}
	if entries, _ := os.ReadDir(filepath.Dir(missing)); len(entries) != 0 {
		t.Errorf("check of a missing file created %v", entries)
	}

	dir := t.TempDir()
	copyPath := filepath.Join(dir, "backup.db")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copyPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	listing := func() string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			fi, _ := e.Info()
			names = append(names, fmt.Sprint(e.Name(), " ", fi.Size(), " ", fi.ModTime().UnixNano()))
		}
		return strings.Join(names, "\n")
	}
	before := listing()
	code, out, errOut = runCLI(t, nil, "store", "check", "--config", cfg, "--store", copyPath)
	if code != exitOK || !strings.Contains(out, "grants 300,") || !strings.Contains(out, "store "+copyPath) {
		t.Errorf("check of a copy: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if after, _ := os.ReadFile(copyPath); !bytes.Equal(after, b) {
		t.Error("store check changed the copy's bytes")
	}
	if after := listing(); after != before {
		t.Errorf("store check changed the copy's directory:\n%s\nwant\n%s", after, before)
	}

	// The copy's meta page 0 damaged: noted, not rewritten.
	bolttest.ZeroMetaPage0(t, copyPath)
	b, _ = os.ReadFile(copyPath)
	code, out, errOut = runCLI(t, nil, "store", "check", "--config", cfg, "--store", copyPath)
	if code != exitOK || !strings.Contains(out, "grants 300,") || !strings.Contains(errOut, "meta page 0 is damaged") {
		t.Errorf("check of a copy with a damaged meta page: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if after, _ := os.ReadFile(copyPath); !bytes.Equal(after, b) {
		t.Error("store check rewrote the copy's damaged meta page")
	}

	// A damaged page in the copy is still found.
	bolttest.ZeroLeafHolding(t, copyPath, []byte("damage-sub-150"))
	code, _, errOut = runCLI(t, nil, "store", "check", "--config", cfg, "--store", copyPath)
	if code != exitDamaged || !strings.Contains(errOut, "pages are damaged") {
		t.Errorf("check of a damaged copy: exit %d, stderr %q; want %d", code, errOut, exitDamaged)
	}
}

// With store.engine postgres, store check runs the database's check: a
// sound database passes with its counts; a column that disagrees with its
// record is a problem (exit status 1).
func TestStoreCheckPostgres(t *testing.T) {
	ctx := context.Background()
	dbURL := testkit.PostgresDatabase(t, "")
	f := writeTestFiles(t, "")
	environ := []string{"RISCD_STORE_ENGINE=postgres", "RISCD_STORE_URL=" + dbURL}
	l, err := load(f.config, environ, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, storeOptions(l.cfg, l.secrets))
	if err != nil {
		t.Fatal(err)
	}
	g, err := db.CreateGrant(ctx, riscd.Grant{Sub: "s1", Status: riscd.GrantActive, RefreshToken: "1//refresh", CreatedAt: time.Now()})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, environ, "store", "check", "--config", f.config)
	if code != exitOK || !strings.Contains(out, "grants 1,") || !strings.Contains(out, "ok:") {
		t.Fatalf("store check of a sound database: exit %d, stdout %q, stderr %q; want %d, its counts and ok", code, out, errOut, exitOK)
	}

	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE riscd_grants SET status = 'revoked'`); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, environ, "store", "check", "--config", f.config)
	if code != 1 || !strings.Contains(out, "grants 1,") || !strings.Contains(errOut, "problem: ") || !strings.Contains(errOut, "grant "+g.ID) {
		t.Errorf("store check of a grant whose status column was changed: exit %d, stdout %q, stderr %q; want 1, the counts and the problem", code, out, errOut)
	}
	if strings.Contains(out+errOut, dbURL) {
		t.Errorf("store check printed the database URL: %q %q", out, errOut)
	}
}
