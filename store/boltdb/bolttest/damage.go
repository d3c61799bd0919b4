// Package bolttest helps the tests of the bbolt engine and of riscd's
// bbolt-only maintenance commands: it damages a closed store file the way a
// disk or an interrupted copy does, for tests of how riscd meets it. The
// engine-neutral behavioural suite is package store/storetest.
package bolttest

import (
	"bytes"
	"os"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TruncateHalf cuts the file at path to half its size, as a copy
// interrupted midway leaves it.
func TruncateHalf(tb testing.TB, path string) {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()/2); err != nil {
		tb.Fatal(err)
	}
}

// ZeroLeafHolding zeroes the first leaf page in use that contains marker
// (a key or value known to be in it) and returns its page id. It fails the
// test when no leaf page holds it.
func ZeroLeafHolding(tb testing.TB, path string, marker []byte) int {
	tb.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	pageSize := db.Info().PageSize
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var leaf, next int
	err = db.View(func(tx *bolt.Tx) error {
		for id := 2; ; id = next {
			p, err := tx.Page(id)
			if err != nil || p == nil {
				return err
			}
			next = id + 1 + p.OverflowCount
			if p.Type != "leaf" {
				continue
			}
			buf := make([]byte, pageSize*(1+p.OverflowCount))
			if _, err := f.ReadAt(buf, int64(id)*int64(pageSize)); err != nil {
				return err
			}
			if bytes.Contains(buf, marker) {
				leaf = id
				return nil
			}
		}
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatal(err)
	}
	if leaf == 0 {
		tb.Fatalf("no leaf page of %s holds %q", path, marker)
	}
	writeAt(tb, path, make([]byte, pageSize), int64(leaf)*int64(pageSize))
	return leaf
}

// ZeroMetaPage0 zeroes bbolt's first meta page (page 0), after a commit
// that makes page 1 the newer one, so that bbolt, which then reads page 1,
// loses no transaction.
func ZeroMetaPage0(tb testing.TB, path string) {
	tb.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	pageSize := db.Info().PageSize
	// A commit writes the meta page of its transaction ID's parity.
	for range 2 {
		var txid int
		err = db.View(func(tx *bolt.Tx) error { txid = tx.ID(); return nil })
		if err != nil || txid%2 == 1 {
			break
		}
		err = db.Update(func(*bolt.Tx) error { return nil })
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatal(err)
	}
	writeAt(tb, path, make([]byte, pageSize), 0)
}

func writeAt(tb testing.TB, path string, b []byte, off int64) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	_, err = f.WriteAt(b, off)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatal(err)
	}
}
