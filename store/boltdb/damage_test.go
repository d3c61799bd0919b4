package boltdb_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/boltdb"
	"github.com/riscd/riscd/store/storetest"
)

// filledStore makes a closed store of a few hundred grants (a file of
// many pages) whose subjects start with "damage-sub-".
func filledStore(t *testing.T, key boltdb.Key) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "riscd.db")
	db := mustOpen(t, boltdb.Options{Path: path, Key: key})
	err := db.Update(t.Context(), func(tx riscd.Tx) error {
		for i := range 300 {
			g := riscd.Grant{Sub: fmt.Sprint("damage-sub-", i), RefreshToken: riscd.Secret(storetest.RefreshToken(uint64(i))),
				AccessToken: riscd.Secret(storetest.AccessToken(uint64(i))), Status: riscd.GrantActive}
			if _, err := tx.CreateGrant(t.Context(), g); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOpenRefusesTruncatedFile(t *testing.T) {
	key := mustKey(t)
	path := filledStore(t, key)
	storetest.TruncateHalf(t, path)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = boltdb.Open(t.Context(), boltdb.Options{Path: path, Key: key})
	if !errors.Is(err, boltdb.ErrDamaged) {
		t.Fatalf("Open of a truncated file: got %v, want ErrDamaged", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, path+" is damaged: the file is ") || !strings.Contains(msg, "truncated") {
		t.Fatalf("message %q, want it to name the file and say it was truncated", msg)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Fatal("Open modified the truncated file")
	}
}

func TestZeroedLeafPage(t *testing.T) {
	key := mustKey(t)
	path := filledStore(t, key)
	page := storetest.ZeroLeafHolding(t, path, []byte("damage-sub-150"))

	// The meta pages are sound, so Open succeeds; what reaches the page
	// fails with ErrDamaged instead of taking the process down.
	db := mustOpen(t, boltdb.Options{Path: path, Key: key, Logger: testLogger(t)})
	err := db.Check(t.Context())
	if !errors.Is(err, boltdb.ErrDamaged) {
		t.Fatalf("Check: got %v, want ErrDamaged", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "store: bbolt check: ") || !strings.Contains(msg, "records were not checked") {
		t.Fatalf("Check: %q, want bbolt's findings and that the records were not checked", msg)
	}
	if !strings.Contains(msg, fmt.Sprint(page)) {
		t.Errorf("Check: %q does not name page %d", msg, page)
	}
	for i := 140; i < 160; i++ {
		_, err := db.GrantsBySub(t.Context(), fmt.Sprint("damage-sub-", i))
		if errors.Is(err, boltdb.ErrDamaged) {
			return
		}
	}
	t.Fatal("no grant lookup near the zeroed page failed with ErrDamaged")
}

func TestOpenWithDamagedMetaPage0(t *testing.T) {
	key := mustKey(t)
	path := filledStore(t, key)
	storetest.ZeroMetaPage0(t, path)

	// bbolt reads meta page 1; Open rewrites page 0 and says so.
	var logs bytes.Buffer
	db := mustOpen(t, boltdb.Options{Path: path, Key: key, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if !strings.Contains(logs.String(), "meta page 0 is damaged") {
		t.Errorf("Open logged %q; want the damaged meta page named", logs.String())
	}
	gs, err := db.GrantsBySub(t.Context(), "damage-sub-7")
	if err != nil || len(gs) != 1 || gs[0].RefreshToken.Reveal() != storetest.RefreshToken(7) {
		t.Fatalf("grant after reopening on meta page 1: %d grants, %v", len(gs), err)
	}
	if err := db.Check(t.Context()); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

func TestFailedOpenLeavesFileUnchanged(t *testing.T) {
	for _, tc := range []struct {
		name string
		// newKey opens with a key the store has not seen (the old one
		// listed beside it), so Open has a key check to record.
		newKey bool
	}{{"store up to date", false}, {"store Open would update", true}} {
		t.Run(tc.name, func(t *testing.T) {
			key := mustKey(t)
			path := filledStore(t, key)
			// A journal file Open cannot use: a directory in its place.
			journal := boltdb.JournalPaths(path)[1]
			if err := os.Remove(journal); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(journal, 0o700); err != nil {
				t.Fatal(err)
			}
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			opts := boltdb.Options{Path: path, Key: key}
			if tc.newKey {
				opts = boltdb.Options{Path: path, Key: mustKey(t), OldKeys: []boltdb.Key{key}}
			}
			if db, err := boltdb.Open(t.Context(), opts); err == nil {
				db.Close()
				t.Fatal("Open succeeded with a directory for a journal file")
			} else if !strings.Contains(err.Error(), journal) {
				t.Fatalf("Open: %v; want the journal file named", err)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
				t.Fatal("the failed Open modified the store file")
			}
		})
	}
}
