package boltdb

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// descKeys walks the keys of one bucket that start with prefix, from the
// last one before before (the end of the prefix when before is nil) down.
type descKeys struct {
	c      *bolt.Cursor
	prefix []byte
	k      []byte // the current key, nil when done
}

func newDescKeys(b *bolt.Bucket, prefix, before []byte) *descKeys {
	d := &descKeys{c: b.Cursor(), prefix: prefix}
	seek := before
	if seek == nil {
		seek = prefixEnd(prefix)
	}
	switch {
	case seek == nil:
		d.k, _ = d.c.Last()
	default:
		if k, _ := d.c.Seek(seek); k == nil {
			d.k, _ = d.c.Last()
		} else {
			d.k, _ = d.c.Prev()
		}
	}
	d.check()
	return d
}

func (d *descKeys) next() {
	d.k, _ = d.c.Prev()
	d.check()
}

func (d *descKeys) check() {
	if d.k != nil && !bytes.HasPrefix(d.k, d.prefix) {
		d.k = nil
	}
}

// id returns the id at the end of the current key, 0 when done (ids start
// at 1).
func (d *descKeys) id() uint64 {
	if d.k == nil {
		return 0
	}
	return binary.BigEndian.Uint64(d.k[len(d.prefix):])
}

// eachSubjectDesc calls fn with the entries of subject whose ID is below
// before (all when before is 0), newest first, until fn returns false or an
// error. It merges the two places such entries are found: the subject index
// (entries no longer pending, see subjectIndexed) and the pending entries
// of the status index, read and filtered by subject. An entry in both (a
// schema 1 store's) is given once. Without withPending, only the subject
// index is read (for a query of another status).
func (t *Tx) eachSubjectDesc(subject string, before uint64, withPending bool, fn func(InboxEntry) (bool, error)) error {
	bs, err := t.buckets(bucketInboxBySubject, bucketInboxByStatus)
	if err != nil {
		return err
	}
	subPrefix := appendString(nil, subject)
	pendPrefix := appendString(nil, string(InboxPending))
	var subBefore, pendBefore []byte
	if before != 0 {
		subBefore = append(clone(subPrefix), u64Key(before)...)
		pendBefore = append(clone(pendPrefix), u64Key(before)...)
	}
	indexed := newDescKeys(bs[0], subPrefix, subBefore)
	pending := &descKeys{} // done
	if withPending {
		pending = newDescKeys(bs[1], pendPrefix, pendBefore)
	}
	for {
		a, b := indexed.id(), pending.id()
		if a == 0 && b == 0 {
			return nil
		}
		id, index := max(a, b), bucketInboxBySubject
		if b > a {
			index = bucketInboxByStatus
		}
		e, err := t.inboxEntry(id)
		if err != nil {
			return fmt.Errorf("store: index %s: %w", index, err)
		}
		if a == id {
			indexed.next()
		}
		if b == id {
			pending.next()
			if a != id && e.Subject != subject {
				continue
			}
		}
		if more, err := fn(e); err != nil || !more {
			return err
		}
	}
}
