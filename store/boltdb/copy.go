package boltdb

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/internal/record"
	bolt "go.etcd.io/bbolt"
)

// Export is riscd.Store's Export: it first lets the inbox journal be
// applied (an entry it cannot apply fails the export, rather than be left
// out), then reads every record in one read transaction. A record that
// does not decode or open fails it; run riscd store check.
func (db *DB) Export(ctx context.Context, fn func(riscd.Record) error) error {
	if err := db.FlushInbox(ctx); err != nil {
		return fmt.Errorf("store: export: %w", err)
	}
	return db.viewTx(ctx, func(t *Tx) error { return t.export(ctx, fn) })
}

// exportKinds are the record buckets in the order Export reads them: what
// a record names (a mark's audit entry) before the record naming it.
var exportKinds = []string{
	bucketAccounts, bucketGrants, bucketAudit, bucketMarks, bucketSessions, bucketFlows, bucketInbox, bucketOutbox,
	bucketConnect, bucketLinksByAppUser,
}

func (t *Tx) export(ctx context.Context, fn func(riscd.Record) error) error {
	for _, name := range exportKinds {
		if name == bucketLinksByAppUser {
			if err := t.exportLinks(ctx, fn); err != nil {
				return err
			}
			continue
		}
		b, err := t.bucket(name)
		if err != nil {
			return err
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			r, err := t.exportRecord(name, k, v)
			if err != nil {
				return fmt.Errorf("store: export: %w", err)
			}
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// exportRecord decodes and opens the record v stored under k in bucket.
func (t *Tx) exportRecord(bucket string, k, v []byte) (riscd.Record, error) {
	switch bucket {
	case bucketAccounts:
		a, err := record.DecodeAccount(string(k), v)
		return riscd.Record{Account: &a}, err
	case bucketGrants:
		r, err := record.DecodeGrant(k, v)
		if err != nil {
			return riscd.Record{}, err
		}
		g, err := r.Open(t.keys, k)
		return riscd.Record{Grant: &g}, err
	case bucketAudit:
		e, err := decodeAudit(k, v)
		return riscd.Record{Audit: &e}, err
	case bucketMarks:
		m, err := record.DecodeMark(k, v)
		return riscd.Record{Mark: &m}, err
	case bucketSessions:
		r, err := t.loadSession(k)
		if err != nil {
			return riscd.Record{}, err
		}
		s, err := r.Open(t.keys, k, "")
		return riscd.Record{Session: &s, IDDigest: clone(k)}, err
	case bucketFlows:
		r, err := record.DecodeFlow(k, v)
		if err != nil {
			return riscd.Record{}, err
		}
		f, err := r.Open(t.keys, k, "")
		return riscd.Record{Flow: &f, IDDigest: clone(k)}, err
	case bucketInbox:
		e, err := decodeInbox(t.keys, k, v)
		return riscd.Record{Inbox: &e}, err
	case bucketOutbox:
		j, err := t.outboxJob(binary.BigEndian.Uint64(k))
		return riscd.Record{Outbox: &j}, err
	case bucketConnect:
		r, err := record.DecodeConnect(k, v)
		if err != nil {
			return riscd.Record{}, err
		}
		s, err := r.Open(t.keys, k)
		return riscd.Record{Connect: &s}, err
	}
	return riscd.Record{}, fmt.Errorf("store: export: no bucket %s", bucket)
}

// importBatch is how many records one transaction of Import writes.
const importBatch = record.ImportBatch

// Import is riscd.Store's Import. The first transaction checks that the
// store holds no record (after letting the inbox journal be applied) and
// writes nothing otherwise; each transaction writes up to importBatch
// records, and the indexes each record implies, as the store's own writes
// do.
func (db *DB) Import(ctx context.Context, src riscd.RecordSource) error {
	if err := db.FlushInbox(ctx); err != nil {
		return fmt.Errorf("store: import: %w", err)
	}
	return record.Import(ctx, src, func(batch []riscd.Record, first bool) error {
		return db.updateTx(ctx, func(t *Tx) error {
			if first {
				if err := t.checkEmpty(); err != nil {
					return err
				}
			}
			for i := range batch {
				if err := t.importRecord(&batch[i]); err != nil {
					return fmt.Errorf("store: import: %w", err)
				}
			}
			return nil
		})
	})
}

// checkEmpty fails with ErrExists if the store holds a record.
func (t *Tx) checkEmpty() error {
	for _, name := range exportKinds {
		b, err := t.bucket(name)
		if err != nil {
			return err
		}
		if k, _ := b.Cursor().First(); k != nil {
			return fmt.Errorf("store: import: the store is not empty (it holds %s): %w", name, ErrExists)
		}
	}
	return nil
}

// importRecord writes one record as it is given, and its index entries.
// Errors: ErrInvalid for a record without exactly one kind set or lacking
// what its kind requires, ErrExists for an ID or a unique key taken.
func (t *Tx) importRecord(r *riscd.Record) error {
	if err := record.CheckKinds(r); err != nil {
		return err
	}
	switch {
	case r.Grant != nil:
		return t.importGrant(*r.Grant)
	case r.Account != nil:
		return t.importAccount(*r.Account)
	case r.Session != nil:
		key, err := idDigest(r.Session.ID, r.IDDigest)
		if err != nil {
			return fmt.Errorf("session: %w", err)
		}
		bs, err := t.buckets(bucketSessions, bucketSessionsBySub)
		if err != nil {
			return err
		}
		if bs[0].Get(key) != nil {
			return fmt.Errorf("session %x: %w", key[:8], ErrExists)
		}
		return t.writeSession(bs[0], bs[1], key, *r.Session)
	case r.Flow != nil:
		key, err := idDigest(r.Flow.ID, r.IDDigest)
		if err != nil {
			return fmt.Errorf("flow: %w", err)
		}
		b, err := t.bucket(bucketFlows)
		if err != nil {
			return err
		}
		if b.Get(key) != nil {
			return fmt.Errorf("flow %x: %w", key[:8], ErrExists)
		}
		return t.writeFlow(b, key, *r.Flow)
	case r.Inbox != nil:
		return t.importInbox(*r.Inbox)
	case r.Outbox != nil:
		j := *r.Outbox
		if j.ID == 0 || j.Kind == "" || j.Status == "" {
			return fmt.Errorf("outbox job %d: id, kind and status are required: %w", j.ID, ErrInvalid)
		}
		b, err := t.importID(bucketOutbox, j.ID)
		if err != nil {
			return err
		}
		if _, err := t.writeOutbox(j, ""); err != nil {
			return err
		}
		return raiseSequence(b, j.ID)
	case r.Audit != nil:
		e := *r.Audit
		if e.ID == 0 {
			return fmt.Errorf("audit entry without an id: %w", ErrInvalid)
		}
		bs, err := t.buckets(bucketAudit, bucketAuditBySub)
		if err != nil {
			return err
		}
		if _, err := t.importID(bucketAudit, e.ID); err != nil {
			return err
		}
		if _, err := writeAudit(bs[0], bs[1], e); err != nil {
			return err
		}
		return raiseSequence(bs[0], e.ID)
	case r.Connect != nil:
		return t.importConnect(*r.Connect)
	case r.Link != nil:
		return t.importLink(*r.Link)
	default:
		return t.importMark(*r.Mark)
	}
}

// idDigest is the record key of a session or flow: digest if set, else
// the digest of id.
func idDigest(id Secret, digest []byte) ([]byte, error) {
	switch {
	case digest != nil && len(digest) != sha256.Size:
		return nil, fmt.Errorf("id digest of %d bytes, want %d: %w", len(digest), sha256.Size, ErrInvalid)
	case digest != nil:
		return clone(digest), nil
	case id.IsZero():
		return nil, fmt.Errorf("neither an id nor its digest: %w", ErrInvalid)
	}
	return secretKey(id), nil
}

// importID returns bucket, after checking that it holds no record id.
func (t *Tx) importID(bucket string, id uint64) (*bolt.Bucket, error) {
	b, err := t.bucket(bucket)
	if err != nil {
		return nil, err
	}
	if b.Get(u64Key(id)) != nil {
		return nil, fmt.Errorf("%s %d: id given twice: %w", bucket, id, ErrExists)
	}
	return b, nil
}

// raiseSequence makes b's next sequence number come after id.
func raiseSequence(b *bolt.Bucket, id uint64) error {
	if b.Sequence() >= id {
		return nil
	}
	if err := b.SetSequence(id); err != nil {
		return fmt.Errorf("sequence: %w", err)
	}
	return nil
}

func (t *Tx) importGrant(g Grant) error {
	key, err := grantKey(g.ID)
	if err != nil {
		return fmt.Errorf("grant %q: malformed id: %w", g.ID, ErrInvalid)
	}
	if g.Sub == "" || g.Status == "" {
		return fmt.Errorf("grant %s: sub and status are required: %w", g.ID, ErrInvalid)
	}
	b, err := t.bucket(bucketGrants)
	if err != nil {
		return err
	}
	if b.Get(key) != nil {
		return fmt.Errorf("grant %s: id given twice: %w", g.ID, ErrExists)
	}
	if err := t.indexGrant(key, g.Sub, g.RefreshToken); err != nil {
		return err
	}
	if err := t.indexGrantStatus(key, "", string(g.Status)); err != nil {
		return err
	}
	r := record.SealGrant(t.keys, key, g)
	if err := t.indexGrantEmail(key, nil, &r); err != nil {
		return err
	}
	return t.putGrantRecord(key, &r)
}

func (t *Tx) importAccount(a Account) error {
	if a.Sub == "" {
		return fmt.Errorf("account without a sub: %w", ErrInvalid)
	}
	bs, err := t.buckets(bucketAccounts, bucketAccountsAttention)
	if err != nil {
		return err
	}
	if bs[0].Get([]byte(a.Sub)) != nil {
		return fmt.Errorf("account %q: given twice: %w", a.Sub, ErrExists)
	}
	if a.NeedsAttention() {
		if err := bs[1].Put([]byte(a.Sub), nil); err != nil {
			return fmt.Errorf("account %q: %w", a.Sub, err)
		}
	}
	r := record.AccountOf(a)
	data, err := record.Encode(r)
	if err != nil {
		return fmt.Errorf("account %q: encode: %w", a.Sub, err)
	}
	if err := bs[0].Put([]byte(a.Sub), data); err != nil {
		return fmt.Errorf("account %q: %w", a.Sub, err)
	}
	return nil
}

func (t *Tx) importInbox(e InboxEntry) error {
	if e.ID == 0 || e.Iss == "" || e.JTI == "" || e.Status == "" {
		return fmt.Errorf("inbox entry %d: id, iss, jti and status are required: %w", e.ID, ErrInvalid)
	}
	bs, err := t.buckets(bucketInbox, bucketInboxByJTI, bucketInboxByStatus, bucketInboxBySubject)
	if err != nil {
		return err
	}
	if _, err := t.importID(bucketInbox, e.ID); err != nil {
		return err
	}
	jk := record.JTIKey(e.Iss, e.JTI)
	if bs[1].Get(jk) != nil {
		return fmt.Errorf("inbox entry %d: its (iss, jti) given twice: %w", e.ID, ErrExists)
	}
	// The claims come from a store, which may hold what an earlier riscd
	// accepted (see appendStoredJSON): they are kept as they are.
	_, data, err := encodeInbox(t.keys, e, e.Claims)
	if err != nil {
		return fmt.Errorf("inbox entry %d: %w", e.ID, err)
	}
	if err := bs[1].Put(jk, u64Key(e.ID)); err != nil {
		return fmt.Errorf("inbox entry %d: %w", e.ID, err)
	}
	if err := (inboxIndexes{bs[0], bs[2], bs[3]}).write(e, data, nil); err != nil {
		return err
	}
	return raiseSequence(bs[0], e.ID)
}

func (t *Tx) importMark(m Mark) error {
	if err := record.CheckMarkKey(m.Key); err != nil {
		return err
	}
	b, err := t.bucket(bucketMarks)
	if err != nil {
		return err
	}
	k := markKey(m.Key)
	if b.Get(k) != nil {
		return fmt.Errorf("mark %x: given twice: %w", k[:8], ErrExists)
	}
	r := record.MarkOf(m)
	data, err := record.Encode(r)
	if err != nil {
		return fmt.Errorf("mark: encode: %w", err)
	}
	if err := b.Put(k, data); err != nil {
		return fmt.Errorf("mark: %w", err)
	}
	return nil
}
