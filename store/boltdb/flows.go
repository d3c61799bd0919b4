package boltdb

import (
	"context"
	"fmt"
	"time"

	"github.com/riscd/riscd/store/internal/record"
	bolt "go.etcd.io/bbolt"
)

// CreateFlow stores a consent flow, keeping only the SHA-256 of its ID.
// CreatedAt becomes now if zero. Errors: ErrInvalid for an empty ID,
// ErrExists if the ID is taken.
func (t *Tx) CreateFlow(ctx context.Context, f Flow) error {
	if f.ID.IsZero() {
		return fmt.Errorf("store: create flow: empty id: %w", ErrInvalid)
	}
	b, err := t.bucket(bucketFlows)
	if err != nil {
		return err
	}
	key := secretKey(f.ID)
	if b.Get(key) != nil {
		return fmt.Errorf("store: create flow: %w", ErrExists)
	}
	if f.CreatedAt.IsZero() {
		f.CreatedAt = t.now()
	}
	return t.writeFlow(b, key, f)
}

// writeFlow writes the flow f under key, the SHA-256 of its ID.
func (t *Tx) writeFlow(b *bolt.Bucket, key []byte, f Flow) error {
	r := record.SealFlow(t.keys, key, f)
	data, err := record.Encode(r)
	if err != nil {
		return fmt.Errorf("store: create flow: encode: %w", err)
	}
	if err := b.Put(key, data); err != nil {
		return fmt.Errorf("store: create flow: %w", err)
	}
	return nil
}

// TakeFlow returns the flow with this ID and deletes it: a flow is single
// use. ErrNotFound if there is none (or it was already taken). The caller
// judges the flow's age from CreatedAt.
func (t *Tx) TakeFlow(ctx context.Context, id Secret) (Flow, error) {
	b, err := t.bucket(bucketFlows)
	if err != nil {
		return Flow{}, err
	}
	key := secretKey(id)
	v := b.Get(key)
	if v == nil {
		return Flow{}, fmt.Errorf("store: flow: %w", ErrNotFound)
	}
	r, err := record.DecodeFlow(key, v)
	if err != nil {
		return Flow{}, err
	}
	f, err := r.Open(t.keys, key, id)
	if err != nil {
		return Flow{}, err
	}
	if err := b.Delete(key); err != nil {
		return Flow{}, fmt.Errorf("store: take flow: %w", err)
	}
	return f, nil
}

// flowSweepBatch is how many flow records one transaction of SweepFlows
// reads, so a sweep of many flows holds the writer for short turns.
const flowSweepBatch = 500

// DeleteFlowsBefore removes the flows created before t (abandoned consent
// attempts) and returns how many it removed. It reads every flow; a record
// it cannot decode is left alone.
func (t *Tx) DeleteFlowsBefore(ctx context.Context, before time.Time) (int, error) {
	var n int
	var from []byte
	for {
		sw, next, err := t.sweepFlows(before, from, 0)
		n += sw.Deleted
		if err != nil || next == nil {
			return n, err
		}
		from = next
	}
}

// sweepFlows deletes the flows created before t among at most limit
// records (0: all) from the key from on, and returns where to go on (nil at
// the end). Records it cannot decode are counted and left alone.
func (t *Tx) sweepFlows(before time.Time, from []byte, limit int) (FlowSweep, []byte, error) {
	var sw FlowSweep
	b, err := t.bucket(bucketFlows)
	if err != nil {
		return sw, nil, err
	}
	var keys [][]byte
	var next []byte
	c := b.Cursor()
	k, v := c.First()
	if from != nil {
		k, v = c.Seek(from)
	}
	read := 0
	for ; k != nil; k, v = c.Next() {
		if limit > 0 && read == limit {
			next = clone(k)
			break
		}
		read++
		r, err := record.DecodeFlow(k, v)
		if err != nil {
			sw.Undecodable++
			continue
		}
		if r.CreatedAt.Time().Before(before) {
			keys = append(keys, clone(k))
		}
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return sw, nil, fmt.Errorf("store: delete flow: %w", err)
		}
	}
	sw.Deleted = len(keys)
	return sw, next, nil
}

// SweepFlows removes the flows created before t, in transactions of at
// most flowSweepBatch records each, so that other writers wait for one
// batch at most. A record it cannot decode is logged, counted in
// FlowSweep.Undecodable and left alone; the sweep goes on past it.
func (db *DB) SweepFlows(ctx context.Context, before time.Time) (FlowSweep, error) {
	return record.SweepFlows(nil, func(from []byte) (FlowSweep, []byte, error) {
		var sw FlowSweep
		var next []byte
		err := db.updateTx(ctx, func(t *Tx) error {
			var err error
			sw, next, err = t.sweepFlows(before, from, flowSweepBatch)
			return err
		})
		return sw, next, err
	})
}
