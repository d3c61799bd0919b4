package boltdb

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/riscd/riscd/store/internal/record"
	bolt "go.etcd.io/bbolt"
)

// decodeInbox reads the record v stored under k, opening its sealed fields
// with keys.
func decodeInbox(keys *keyring, k, v []byte) (InboxEntry, error) {
	id := binary.BigEndian.Uint64(k)
	return record.DecodeInbox(keys, id, nil, v)
}

func inboxStatusKey(s InboxStatus, id uint64) []byte {
	return binary.BigEndian.AppendUint64(appendString(nil, string(s)), id)
}

func inboxSubjectKey(subject string, id uint64) []byte {
	return binary.BigEndian.AppendUint64(appendString(nil, subject), id)
}

// PutInbox stores a verified SET. (Iss, JTI) is unique: if an entry with
// the same pair exists, PutInbox returns it and false and writes nothing.
// Otherwise it assigns the ID (arrival order), sets ReceivedAt to now if
// zero and Status to InboxPending if empty, and returns the new entry and
// true. ErrInvalid without Iss or JTI, or with Claims that are not JSON in UTF-8.
func (t *Tx) PutInbox(ctx context.Context, e InboxEntry) (InboxEntry, bool, error) {
	if e.Iss == "" || e.JTI == "" {
		return InboxEntry{}, false, fmt.Errorf("store: put inbox: iss and jti are required: %w", ErrInvalid)
	}
	return t.putInbox(e, nil)
}

// putInbox is PutInbox for e, which p holds encoded unless p is nil.
func (t *Tx) putInbox(e InboxEntry, p *PreparedInbox) (InboxEntry, bool, error) {
	bs, err := t.buckets(bucketInbox, bucketInboxByJTI, bucketInboxByStatus, bucketInboxBySubject)
	if err != nil {
		return InboxEntry{}, false, err
	}
	idx := inboxIndexes{bs[0], bs[2], bs[3]}
	var jk []byte
	if p != nil {
		jk = p.jti
	} else {
		jk = record.JTIKey(e.Iss, e.JTI)
	}
	if v := bs[1].Get(jk); v != nil {
		old, err := t.inboxEntry(binary.BigEndian.Uint64(v))
		if err != nil {
			return InboxEntry{}, false, fmt.Errorf("store: index %s: %w", bucketInboxByJTI, err)
		}
		return old, false, nil
	}
	id, err := bs[0].NextSequence()
	if err != nil {
		return InboxEntry{}, false, fmt.Errorf("store: put inbox: %w", err)
	}
	if p == nil {
		e = inboxDefaults(e, t.now)
	}
	e.ID = id
	if err := bs[1].Put(jk, u64Key(id)); err != nil {
		return InboxEntry{}, false, fmt.Errorf("store: put inbox: %w", err)
	}
	if p != nil && !p.stale(t.keys) {
		if err := idx.write(e, p.rec, nil); err != nil {
			return InboxEntry{}, false, err
		}
		return p.stored(id), true, nil
	}
	var kept []byte
	if p != nil {
		// Sealed under a key that is no longer the primary one (a key
		// rotation since it was prepared), or plaintext from an earlier
		// riscd's journal: sealed again here, its claims as they were
		// accepted.
		if e, err = decodeInbox(t.keys, u64Key(id), p.rec); err != nil {
			return InboxEntry{}, false, err
		}
		e.ID = id
		kept = e.Claims
	}
	stored, data, err := encodeInbox(t.keys, e, kept)
	if err != nil {
		return InboxEntry{}, false, fmt.Errorf("store: inbox entry %d: %w", e.ID, err)
	}
	if err := idx.write(e, data, nil); err != nil {
		return InboxEntry{}, false, err
	}
	stored.ID = id
	return stored, true, nil
}

// inboxDefaults gives a new entry its ReceivedAt (now) and Status (pending)
// when they are unset.
func inboxDefaults(e InboxEntry, now func() time.Time) InboxEntry {
	if e.ReceivedAt.IsZero() {
		e.ReceivedAt = now()
	}
	if e.Status == "" {
		e.Status = InboxPending
	}
	return e
}

// encodeInbox returns e as stored (as decodeInbox will read it: Claims
// compacted, times in UTC; ID 0) and its record's encoding, with Raw and
// Claims sealed under keys' primary key. kept is the claims the store holds
// for e already, nil for a new entry (see sealedInboxRecord). Errors wrap
// ErrInvalid (claims that are not JSON in UTF-8) and want a prefix naming
// the entry.
func encodeInbox(keys *keyring, e InboxEntry, kept []byte) (InboxEntry, []byte, error) {
	r, err := record.SealInbox(keys, e, kept)
	if err != nil {
		return InboxEntry{}, nil, err
	}
	data, err := marshalInboxRecord(&r.Inbox)
	if err != nil {
		return InboxEntry{}, nil, err
	}
	stored := r.Entry(0)
	stored.Raw, stored.Claims = e.Raw, r.PlainClaims
	return stored, data, nil
}

// writeInbox writes an entry and moves its index entries from old (nil for
// a new entry).
func (t *Tx) writeInbox(e InboxEntry, old *InboxEntry) (InboxEntry, error) {
	var kept []byte
	if old != nil {
		kept = old.Claims
	}
	stored, data, err := encodeInbox(t.keys, e, kept)
	if err != nil {
		return InboxEntry{}, fmt.Errorf("store: inbox entry %d: %w", e.ID, err)
	}
	bs, err := t.buckets(bucketInbox, bucketInboxByStatus, bucketInboxBySubject)
	if err != nil {
		return InboxEntry{}, err
	}
	if err := (inboxIndexes{bs[0], bs[1], bs[2]}).write(e, data, old); err != nil {
		return InboxEntry{}, err
	}
	stored.ID = e.ID
	return stored, nil
}

// subjectIndexed reports whether e belongs in the subject index: it has a
// subject and is no longer pending. A new entry is pending, so storing a
// received SET makes no random insert into the subject index; the entry is
// indexed by the write that ends its pending state (the dispatcher's), and
// until then ListInbox finds it through the pending entries of the status
// index. Stores of schema 1 also indexed pending entries; such leftovers
// are tolerated, read once, and removed when their entry is next written.
func subjectIndexed(e InboxEntry) bool {
	return e.Subject != "" && e.Status != InboxPending
}

// inboxIndexes are the buckets an entry's record and its index entries go to.
type inboxIndexes struct {
	records, byStatus, bySubject *bolt.Bucket
}

// write stores the encoded record data of e and moves its index entries
// from old (nil for a new entry). The subject index holds only the entries
// subjectIndexed accepts.
func (x inboxIndexes) write(e InboxEntry, data []byte, old *InboxEntry) error {
	if err := x.records.Put(u64Key(e.ID), data); err != nil {
		return fmt.Errorf("store: inbox entry %d: %w", e.ID, err)
	}
	if old == nil || old.Status != e.Status {
		if old != nil {
			if err := x.byStatus.Delete(inboxStatusKey(old.Status, e.ID)); err != nil {
				return fmt.Errorf("store: inbox entry %d: %w", e.ID, err)
			}
		}
		if err := x.byStatus.Put(inboxStatusKey(e.Status, e.ID), nil); err != nil {
			return fmt.Errorf("store: inbox entry %d: %w", e.ID, err)
		}
	}
	if old != nil && old.Subject != "" && !(subjectIndexed(e) && old.Subject == e.Subject) {
		// A missing key deletes nothing: a pending entry has none, unless
		// a schema 1 store wrote it.
		if err := x.bySubject.Delete(inboxSubjectKey(old.Subject, e.ID)); err != nil {
			return fmt.Errorf("store: inbox entry %d: %w", e.ID, err)
		}
	}
	if subjectIndexed(e) && !(old != nil && subjectIndexed(*old) && old.Subject == e.Subject) {
		if err := x.bySubject.Put(inboxSubjectKey(e.Subject, e.ID), nil); err != nil {
			return fmt.Errorf("store: inbox entry %d: %w", e.ID, err)
		}
	}
	return nil
}

// InboxEntry returns the entry with this ID. ErrNotFound if there is none.
func (t *Tx) InboxEntry(ctx context.Context, id uint64) (InboxEntry, error) {
	return t.inboxEntry(id)
}

// inboxEntry is InboxEntry without a context, for the store's own code
// (integrity checks, journal replay, lookups inside other methods).
func (t *Tx) inboxEntry(id uint64) (InboxEntry, error) {
	b, err := t.bucket(bucketInbox)
	if err != nil {
		return InboxEntry{}, err
	}
	k := u64Key(id)
	v := b.Get(k)
	if v == nil {
		return InboxEntry{}, fmt.Errorf("store: inbox entry %d: %w", id, ErrNotFound)
	}
	return decodeInbox(t.keys, k, v)
}

// InboxByJTI returns the entry for (iss, jti). ErrNotFound if there is none.
func (t *Tx) InboxByJTI(ctx context.Context, iss, jti string) (InboxEntry, error) {
	b, err := t.bucket(bucketInboxByJTI)
	if err != nil {
		return InboxEntry{}, err
	}
	v := b.Get(record.JTIKey(iss, jti))
	if v == nil {
		return InboxEntry{}, fmt.Errorf("store: inbox entry %q %q: %w", iss, jti, ErrNotFound)
	}
	return t.InboxEntry(ctx, binary.BigEndian.Uint64(v))
}

// PutInboxEntry replaces an existing entry (matched by ID), typically to
// record a processing attempt or a new status; indexes follow. Errors:
// ErrNotFound if it does not exist, ErrInvalid if Iss or JTI differ from the
// stored entry's or Status is empty.
func (t *Tx) PutInboxEntry(ctx context.Context, e InboxEntry) error {
	_, err := t.putInboxEntry(e)
	return err
}

func (t *Tx) putInboxEntry(e InboxEntry) (InboxEntry, error) {
	old, err := t.inboxEntry(e.ID)
	if err != nil {
		return InboxEntry{}, err
	}
	if e.Iss != old.Iss || e.JTI != old.JTI {
		return InboxEntry{}, fmt.Errorf("store: inbox entry %d: iss and jti cannot change: %w", e.ID, ErrInvalid)
	}
	if e.Status == "" {
		return InboxEntry{}, fmt.Errorf("store: inbox entry %d: empty status: %w", e.ID, ErrInvalid)
	}
	return t.writeInbox(e, &old)
}
