package boltdb_test

import (
	"bytes"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/boltdb"
	"github.com/riscd/riscd/store/storetest"
)

// dirState is a directory's file names and contents.
func dirState(tb testing.TB, dir string) map[string][]byte {
	tb.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func sameDir(tb testing.TB, dir string, before map[string][]byte) {
	tb.Helper()
	after := dirState(tb, dir)
	if len(after) != len(before) {
		tb.Fatalf("directory now holds %d files, had %d", len(after), len(before))
	}
	for name, b := range before {
		if !bytes.Equal(after[name], b) {
			tb.Fatalf("%s changed (%d bytes, had %d)", name, len(after[name]), len(b))
		}
	}
}

// storedSchema reads the schema version a closed store file records.
func storedSchema(tb testing.TB, path string) string {
	tb.Helper()
	var schema string
	writeBolt(tb, path, func(tx *bolt.Tx) error {
		schema = string(tx.Bucket([]byte("meta")).Get([]byte("schema")))
		return nil
	})
	return schema
}

// writeBolt makes a bbolt file and lets fn fill it.
func writeBolt(tb testing.TB, path string, fn func(*bolt.Tx) error) {
	tb.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		tb.Fatal(err)
	}
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
}

func TestOpenCreatesPrivateFileAndReopens(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "riscd.db")
	key := mustKey(t)
	db := mustOpen(t, boltdb.Options{Path: path, Key: key})
	if db.Path() != path {
		t.Fatalf("Path() = %q, want %q", db.Path(), path)
	}
	g, err := db.CreateGrant(t.Context(), riscd.Grant{Sub: "s", RefreshToken: riscd.Secret(storetest.RefreshToken(1))})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := db.Grant(t.Context(), g.ID); !errors.Is(err, riscd.ErrClosed) {
		t.Fatalf("Grant after Close: got %v, want ErrClosed", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Fatalf("file mode %v, want 0600", got)
	}
	if files := dirState(t, dir); len(files) != 3 || files["riscd.db"] == nil || files["riscd.db-journal"] == nil || files["riscd.db-journal.1"] == nil {
		t.Fatalf("directory holds %d files, want only riscd.db and its journal's two", len(files))
	}
	for _, jp := range boltdb.JournalPaths(path) {
		if fi, err := os.Stat(jp); err != nil {
			t.Fatal(err)
		} else if got := fi.Mode().Perm(); got != 0o600 {
			t.Fatalf("journal %s mode %v, want 0600", jp, got)
		}
	}

	db = mustOpen(t, boltdb.Options{Path: path, Key: key})
	got, err := db.Grant(t.Context(), g.ID)
	if err != nil {
		t.Fatalf("Grant after reopen: %v", err)
	}
	if got.RefreshToken.Reveal() != storetest.RefreshToken(1) {
		t.Fatal("refresh token differs after reopen")
	}
}

func TestOpenRefusesForeignFiles(t *testing.T) {
	random := make([]byte, 64<<10)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	bboltHeader := func(t *testing.T, path string) {
		// bbolt's magic, then garbage: passes a first glance, not bbolt's checks.
		writeBolt(t, path, func(*bolt.Tx) error { return nil })
		b, _ := os.ReadFile(path)
		for i := 32; i < len(b); i++ {
			b[i] ^= 0x5a
		}
		os.WriteFile(path, b, 0o600)
	}
	tests := []struct {
		name    string
		make    func(t *testing.T, path string)
		want    error
		message string // "" for the default "<path> is not a riscd store: ..."
	}{
		{"random bytes", func(t *testing.T, p string) { os.WriteFile(p, random, 0o600) }, boltdb.ErrNotStore, ""},
		{"a few bytes", func(t *testing.T, p string) { os.WriteFile(p, []byte("hello"), 0o600) }, boltdb.ErrNotStore, ""},
		{"empty file", func(t *testing.T, p string) { os.WriteFile(p, nil, 0o600) }, boltdb.ErrNotStore, ""},
		{"damaged bbolt file", bboltHeader, boltdb.ErrNotStore, ""},
		{"bbolt without riscd metadata", func(t *testing.T, p string) {
			writeBolt(t, p, func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket([]byte("meta"))
				if err != nil {
					return err
				}
				return b.Put([]byte("format"), []byte("something-else"))
			})
		}, boltdb.ErrNotStore, ""},
		{"newer schema", func(t *testing.T, p string) {
			db := mustOpen(t, boltdb.Options{Path: p, Key: mustKey(t)})
			db.Close()
			writeBolt(t, p, func(tx *bolt.Tx) error { return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("99")) })
		}, boltdb.ErrNewerSchema, " was written by a newer riscd (schema 99, this riscd reads up to 6)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "riscd.db")
			tc.make(t, path)
			before := dirState(t, dir)
			db, err := boltdb.Open(t.Context(), boltdb.Options{Path: path, Key: mustKey(t), LockTimeout: 50 * time.Millisecond})
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open: got %v, want %v", err, tc.want)
			}
			if tc.message != "" && err.Error() != path+tc.message {
				t.Fatalf("message %q, want %q", err.Error(), path+tc.message)
			}
			if prefix := path + " is not a riscd store: "; tc.message == "" && !bytes.HasPrefix([]byte(err.Error()), []byte(prefix)) {
				t.Fatalf("message %q, want it to start with %q", err.Error(), prefix)
			}
			sameDir(t, dir, before)
		})
	}
}

func TestOpenRefusesWrongKeyWithoutWriting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "riscd.db")
	right, wrong := mustKey(t), mustKey(t)
	db := mustOpen(t, boltdb.Options{Path: path, Key: right})
	if _, err := db.CreateGrant(t.Context(), riscd.Grant{Sub: "s", AccessToken: "ya29.x"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := dirState(t, dir)
	for _, opts := range []boltdb.Options{
		{Path: path, Key: wrong},
		{Path: path, Key: wrong, OldKeys: []boltdb.Key{mustKey(t)}},
	} {
		_, err := boltdb.Open(t.Context(), opts)
		if !errors.Is(err, riscd.ErrWrongKey) {
			t.Fatalf("Open with a wrong key: got %v, want ErrWrongKey", err)
		}
		if !bytes.Contains([]byte(err.Error()), []byte(right.ID())) {
			t.Fatalf("message %q does not name the store's key id %s", err, right.ID())
		}
	}
	sameDir(t, dir, before)
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "riscd.db")
	key := mustKey(t)
	mustOpen(t, boltdb.Options{Path: path, Key: key})
	before := dirState(t, dir)
	_, err := boltdb.Open(t.Context(), boltdb.Options{Path: path, Key: key, LockTimeout: 20 * time.Millisecond})
	if !errors.Is(err, boltdb.ErrLocked) {
		t.Fatalf("second Open: got %v, want ErrLocked", err)
	}
	if want := "store " + path + " is in use by another riscd"; err.Error() != want {
		t.Fatalf("message %q, want %q", err.Error(), want)
	}
	sameDir(t, dir, before)
}

func TestOpenBadArguments(t *testing.T) {
	dir := t.TempDir()
	key := mustKey(t)
	tests := []struct {
		name string
		opts boltdb.Options
		want error
	}{
		{"missing directory", boltdb.Options{Path: filepath.Join(dir, "nodir", "riscd.db"), Key: key}, fs.ErrNotExist},
		{"no path", boltdb.Options{Key: key}, riscd.ErrInvalid},
		{"no key", boltdb.Options{Path: filepath.Join(dir, "riscd.db")}, riscd.ErrInvalid},
		{"zero old key", boltdb.Options{Path: filepath.Join(dir, "riscd.db"), Key: key, OldKeys: []boltdb.Key{{}}}, riscd.ErrInvalid},
		{"a directory", boltdb.Options{Path: dir, Key: key}, boltdb.ErrNotStore},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := boltdb.Open(t.Context(), tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open: got %v, want %v", err, tc.want)
			}
			if n := len(dirState(t, dir)); n != 0 {
				t.Fatalf("Open left %d files behind", n)
			}
		})
	}
}
