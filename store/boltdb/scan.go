package boltdb

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
)

// prefixEnd returns the smallest key greater than every key starting with
// p, or nil if there is none.
func prefixEnd(p []byte) []byte {
	end := clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// scanDesc calls fn for the keys starting with prefix, from the greatest
// down; with before set, only keys strictly less than before. fn returns
// false to stop. k and v belong to the transaction.
func scanDesc(b *bolt.Bucket, prefix, before []byte, fn func(k, v []byte) (bool, error)) error {
	c := b.Cursor()
	var k, v []byte
	seek := before
	if seek == nil {
		seek = prefixEnd(prefix)
	}
	if seek == nil {
		k, v = c.Last()
	} else if k, _ = c.Seek(seek); k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
		more, err := fn(k, v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// scanAsc calls fn for the keys starting with prefix, from the smallest up.
// fn returns false to stop. k and v belong to the transaction.
func scanAsc(b *bolt.Bucket, prefix []byte, fn func(k, v []byte) (bool, error)) error {
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		more, err := fn(k, v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// countPrefix counts the keys starting with prefix.
func countPrefix(b *bolt.Bucket, prefix []byte) int {
	n := 0
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}
