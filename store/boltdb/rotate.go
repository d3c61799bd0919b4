package boltdb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/riscd/riscd/seal"
	"github.com/riscd/riscd/store/internal/record"
)

// RotateKey re-encrypts every secret in the store under newKey, the inbox's
// SETs and claims included (and those an earlier riscd left in plaintext
// sealed for the first time). It first
// makes newKey the primary key (recorded in the store, so a later Open
// demands it), then rewrites the records still sealed under other keys in
// transactions of a few hundred records, so the store stays usable, and
// finally forgets the old keys' check values: from then on the store opens
// with newKey alone. Old keys remain accepted in memory until Close.
//
// It returns how many records it rewrote. If it is interrupted (ctx done,
// crash), the store holds secrets under both keys, opens only with both
// (Open fails with a RotationError naming the new key otherwise), and
// running RotateKey again with the same key finishes the job. Errors:
// ErrInvalid for the zero Key, ctx's error (with the count so far), or a
// storage error.
func (db *DB) RotateKey(ctx context.Context, newKey Key) (int, error) {
	if newKey.IsZero() {
		return 0, fmt.Errorf("store: rotate key: zero key: %w", ErrInvalid)
	}
	next := db.keyring().WithPrimary(newKey)
	err := db.updateTx(ctx, func(t *Tx) error {
		if err := registerKey(t.btx, next); err != nil {
			return err
		}
		return t.btx.Bucket([]byte(bucketMeta)).Put([]byte(metaRotating), []byte(newKey.ID()))
	})
	if err != nil {
		return 0, fmt.Errorf("store: rotate key: %w", err)
	}
	// Writers that committed before this line sealed with the old key; the
	// pass below starts after it and rewrites their records too.
	db.setKeyring(next)
	db.log.InfoContext(ctx, "store key rotation started", "key_id", newKey.ID())

	total := 0
	for _, bucket := range []string{bucketGrants, bucketSessions, bucketAdminSessions, bucketFlows, bucketOutbox, bucketInbox, bucketConnect} {
		var after []byte
		for {
			if err := ctx.Err(); err != nil {
				return total, fmt.Errorf("store: rotate key: interrupted: %w", err)
			}
			var n int
			var last []byte
			err := db.updateTx(ctx, func(t *Tx) error {
				var err error
				n, last, err = t.resealChunk(bucket, after, db.rotateChunk)
				return err
			})
			if err != nil {
				return total, fmt.Errorf("store: rotate key: %w", err)
			}
			total += n
			if db.afterChunk != nil {
				db.afterChunk()
			}
			if last == nil {
				break
			}
			after = last
		}
	}

	err = db.updateTx(ctx, func(t *Tx) error {
		b, err := t.bucket(bucketKeys)
		if err != nil {
			return err
		}
		var stale [][]byte
		_ = b.ForEach(func(id, _ []byte) error {
			if !bytes.Equal(id, newKey.RawID().Bytes()) {
				stale = append(stale, clone(id))
			}
			return nil
		})
		for _, id := range stale {
			if err := b.Delete(id); err != nil {
				return err
			}
		}
		return t.btx.Bucket([]byte(bucketMeta)).Delete([]byte(metaRotating))
	})
	if err != nil {
		return total, fmt.Errorf("store: rotate key: forget old keys: %w", err)
	}
	db.log.InfoContext(ctx, "store key rotation finished", "key_id", newKey.ID(), "records", total)
	return total, nil
}

// UnfinishedRotation returns the id of the key a RotateKey started
// re-encrypting under and did not finish, or "" when there is none.
func (db *DB) UnfinishedRotation(ctx context.Context) (string, error) {
	return view(ctx, db, func(t *Tx) (string, error) {
		b, err := t.bucket(bucketMeta)
		if err != nil {
			return "", err
		}
		return string(b.Get([]byte(metaRotating))), nil
	})
}

// resealChunk rewrites up to limit records of bucket after the key after
// (nil: from the start) whose secrets are not all sealed under the primary
// key. It returns how many it rewrote and the last key it looked at, or nil
// when the bucket is done.
func (t *Tx) resealChunk(bucket string, after []byte, limit int) (int, []byte, error) {
	b, err := t.bucket(bucket)
	if err != nil {
		return 0, nil, err
	}
	type put struct{ k, v []byte }
	var puts []put
	var last []byte
	seen := 0
	c := b.Cursor()
	k, v := c.First()
	if after != nil {
		if k, v = c.Seek(after); bytes.Equal(k, after) {
			k, v = c.Next()
		}
	}
	for ; k != nil; k, v = c.Next() {
		if seen == limit {
			break
		}
		seen++
		last = clone(k)
		nv, changed, err := t.reseal(bucket, last, v)
		if err != nil {
			return 0, nil, err
		}
		if changed {
			puts = append(puts, put{last, nv})
		}
	}
	if k == nil {
		last = nil
	}
	for _, p := range puts {
		if err := b.Put(p.k, p.v); err != nil {
			return 0, nil, fmt.Errorf("store: reseal %s %x: %w", bucket, p.k, err)
		}
	}
	return len(puts), last, nil
}

// reseal re-encrypts one record's secrets under the primary key. It
// reports false when all of them already are.
func (t *Tx) reseal(bucket string, key, v []byte) ([]byte, bool, error) {
	var rec any
	var fields []struct {
		name string
		ct   *[]byte
	}
	add := func(name string, ct *[]byte) {
		fields = append(fields, struct {
			name string
			ct   *[]byte
		}{name, ct})
	}
	switch bucket {
	case bucketGrants:
		r := new(record.Grant)
		rec = r
		add("rt", &r.RefreshToken)
		add("at", &r.AccessToken)
	case bucketSessions:
		r := new(record.Session)
		rec = r
		add("csrf", &r.CSRF)
	case bucketAdminSessions:
		r := new(record.AdminSession)
		rec = r
		add("csrf", &r.CSRF)
	case bucketFlows:
		r := new(record.Flow)
		rec = r
		add("state", &r.State)
		add("pkce", &r.PKCEVerifier)
		add("nonce", &r.Nonce)
	case bucketOutbox:
		r := new(record.Outbox)
		rec = r
		add("tok", &r.Token)
	case bucketConnect:
		r := new(record.Connect)
		rec = r
		add("hint", &r.LoginHint)
		add("email", &r.Email)
	case bucketInbox:
		return t.resealInbox(key, v)
	default:
		return nil, false, fmt.Errorf("store: reseal: bucket %s holds no secrets", bucket)
	}
	if err := json.Unmarshal(v, rec); err != nil {
		return nil, false, fmt.Errorf("store: reseal %s %x: undecodable record: %w", bucket, key, ErrCorrupt)
	}
	changed := false
	for _, f := range fields {
		if seal.SealedBy(*f.ct, t.keys.Primary()) {
			continue
		}
		plain, err := t.keys.Open(*f.ct, bucket, key, f.name)
		if err != nil {
			return nil, false, fmt.Errorf("store: reseal %s %x: %w", bucket, key, err)
		}
		*f.ct = t.keys.Seal(plain, bucket, key, f.name)
		changed = true
	}
	if !changed {
		return nil, false, nil
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, false, fmt.Errorf("store: reseal %s %x: encode: %w", bucket, key, err)
	}
	return data, true, nil
}
