package boltdb_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/boltdb"
	"github.com/riscd/riscd/store/boltdb/bolttest"
	"github.com/riscd/riscd/store/storetest"
	bolt "go.etcd.io/bbolt"
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
	bolttest.TruncateHalf(t, path)
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
	page := bolttest.ZeroLeafHolding(t, path, []byte("damage-sub-150"))

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
	bolttest.ZeroMetaPage0(t, path)

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

// TestListGrantsSkipsAnUndecodableGrant: a grant record that no longer
// decodes fails ListGrants, unless the query's Skip is set: then Skip is
// told its ID and the page holds every other grant.
func TestListGrantsSkipsAnUndecodableGrant(t *testing.T) {
	key := mustKey(t)
	path := filepath.Join(t.TempDir(), "riscd.db")
	db := mustOpen(t, boltdb.Options{Path: path, Key: key})
	var ids []string
	for i := range 3 {
		g, err := db.CreateGrant(t.Context(), riscd.Grant{Sub: "s", RefreshToken: riscd.Secret(storetest.RefreshToken(uint64(i)))})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, g.ID)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	k, err := hex.DecodeString(ids[1])
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("grants")).Put(k, []byte("not a grant record")) })
	if cerr := bdb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	db = mustOpen(t, boltdb.Options{Path: path, Key: key})
	for _, q := range []riscd.GrantQuery{{}, {Sub: "s"}, {Status: riscd.GrantActive}} {
		if _, _, err := db.ListGrants(t.Context(), q); !errors.Is(err, riscd.ErrCorrupt) {
			t.Errorf("ListGrants(%+v) without Skip: %v, want ErrCorrupt", q, err)
		}
		var skipped []string
		q.Skip = func(id string, err error) {
			if !errors.Is(err, riscd.ErrCorrupt) {
				t.Errorf("Skip(%s) told %v, want ErrCorrupt", id, err)
			}
			skipped = append(skipped, id)
		}
		gs, next, err := db.ListGrants(t.Context(), q)
		if err != nil {
			t.Fatalf("ListGrants with Skip: %v", err)
		}
		if len(gs) != 2 || gs[0].ID != ids[2] || gs[1].ID != ids[0] || next != "" || len(skipped) != 1 || skipped[0] != ids[1] {
			t.Errorf("ListGrants with Skip: %d grants (next %q), skipped %v; want %s and %s, skipped %s", len(gs), next, skipped, ids[2], ids[0], ids[1])
		}
	}
}
