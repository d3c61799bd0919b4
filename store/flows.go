package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// flowRecord is a consent flow on disk, keyed by SHA-256 of its ID.
type flowRecord struct {
	V            int      `json:"v"`
	State        []byte   `json:"state,omitempty"`
	PKCEVerifier []byte   `json:"pkce,omitempty"`
	Nonce        []byte   `json:"nonce,omitempty"`
	Features     []string `json:"features,omitempty"`
	Scopes       []string `json:"scopes,omitempty"`
	Sub          string   `json:"sub,omitempty"`
	CreatedAt    stamp    `json:"ca,omitzero"`
}

func decodeFlow(key, v []byte) (flowRecord, error) {
	var r flowRecord
	if err := json.Unmarshal(v, &r); err != nil || r.V < 1 || r.V > recordVersion {
		return flowRecord{}, fmt.Errorf("store: flow %x: undecodable record: %w", key[:8], ErrCorrupt)
	}
	return r, nil
}

// CreateFlow stores a consent flow, keeping only the SHA-256 of its ID.
// CreatedAt becomes now if zero. Errors: ErrInvalid for an empty ID,
// ErrExists if the ID is taken.
func (t *Tx) CreateFlow(f Flow) error {
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
	r := flowRecord{
		V:            recordVersion,
		State:        t.keys.seal(f.State.Reveal(), bucketFlows, key, "state"),
		PKCEVerifier: t.keys.seal(f.PKCEVerifier.Reveal(), bucketFlows, key, "pkce"),
		Nonce:        t.keys.seal(f.Nonce.Reveal(), bucketFlows, key, "nonce"),
		Features:     f.Features,
		Scopes:       f.Scopes,
		Sub:          f.Sub,
		CreatedAt:    stampOf(f.CreatedAt),
	}
	data, err := json.Marshal(&r)
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
func (t *Tx) TakeFlow(id Secret) (Flow, error) {
	b, err := t.bucket(bucketFlows)
	if err != nil {
		return Flow{}, err
	}
	key := secretKey(id)
	v := b.Get(key)
	if v == nil {
		return Flow{}, fmt.Errorf("store: flow: %w", ErrNotFound)
	}
	r, err := decodeFlow(key, v)
	if err != nil {
		return Flow{}, err
	}
	f := Flow{ID: id, Features: r.Features, Scopes: r.Scopes, Sub: r.Sub, CreatedAt: r.CreatedAt.time()}
	for _, s := range []struct {
		field string
		ct    []byte
		dst   *Secret
	}{{"state", r.State, &f.State}, {"pkce", r.PKCEVerifier, &f.PKCEVerifier}, {"nonce", r.Nonce, &f.Nonce}} {
		plain, err := t.keys.open(s.ct, bucketFlows, key, s.field)
		if err != nil {
			return Flow{}, fmt.Errorf("store: flow %x: %w", key[:8], err)
		}
		*s.dst = Secret(plain)
	}
	if err := b.Delete(key); err != nil {
		return Flow{}, fmt.Errorf("store: take flow: %w", err)
	}
	return f, nil
}

// DeleteFlowsBefore removes the flows created before t (abandoned consent
// attempts) and returns how many it removed. It reads every flow.
func (t *Tx) DeleteFlowsBefore(before time.Time) (int, error) {
	b, err := t.bucket(bucketFlows)
	if err != nil {
		return 0, err
	}
	var keys [][]byte
	err = b.ForEach(func(k, v []byte) error {
		r, err := decodeFlow(k, v)
		if err != nil {
			return err
		}
		if r.CreatedAt.time().Before(before) {
			keys = append(keys, clone(k))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return 0, fmt.Errorf("store: delete flow: %w", err)
		}
	}
	return len(keys), nil
}

// CreateFlow runs Tx.CreateFlow in its own transaction.
func (db *DB) CreateFlow(ctx context.Context, f Flow) error {
	return db.Update(ctx, func(t *Tx) error { return t.CreateFlow(f) })
}

// TakeFlow runs Tx.TakeFlow in its own transaction: of concurrent callers
// with the same ID, exactly one gets the flow.
func (db *DB) TakeFlow(ctx context.Context, id Secret) (Flow, error) {
	return update(ctx, db, func(t *Tx) (Flow, error) { return t.TakeFlow(id) })
}

// DeleteFlowsBefore runs Tx.DeleteFlowsBefore in its own transaction.
func (db *DB) DeleteFlowsBefore(ctx context.Context, before time.Time) (int, error) {
	return update(ctx, db, func(t *Tx) (int, error) { return t.DeleteFlowsBefore(before) })
}
