package store

import (
	"context"
	"fmt"
)

// CreateGrant runs Tx.CreateGrant in its own transaction.
func (db *DB) CreateGrant(ctx context.Context, g Grant) (Grant, error) {
	return update(ctx, db, func(t *Tx) (Grant, error) { return t.CreateGrant(ctx, g) })
}

// Grant runs Tx.Grant in its own transaction.
func (db *DB) Grant(ctx context.Context, id string) (Grant, error) {
	return view(ctx, db, func(t *Tx) (Grant, error) { return t.Grant(ctx, id) })
}

// PutGrant runs Tx.PutGrant in its own transaction.
func (db *DB) PutGrant(ctx context.Context, g Grant) error {
	return db.updateTx(ctx, func(t *Tx) error { return t.PutGrant(ctx, g) })
}

// DeleteGrant runs Tx.DeleteGrant in its own transaction.
func (db *DB) DeleteGrant(ctx context.Context, id string) error {
	return db.updateTx(ctx, func(t *Tx) error { return t.DeleteGrant(ctx, id) })
}

// GrantsBySub runs Tx.GrantsBySub in its own transaction.
func (db *DB) GrantsBySub(ctx context.Context, sub string) ([]Grant, error) {
	return view(ctx, db, func(t *Tx) ([]Grant, error) { return t.GrantsBySub(ctx, sub) })
}

// GrantByRefreshDigest runs Tx.GrantByRefreshDigest in its own transaction.
func (db *DB) GrantByRefreshDigest(ctx context.Context, digest []byte) (Grant, error) {
	return view(ctx, db, func(t *Tx) (Grant, error) { return t.GrantByRefreshDigest(ctx, digest) })
}

// GrantsByRefreshPrefix runs Tx.GrantsByRefreshPrefix in its own transaction.
func (db *DB) GrantsByRefreshPrefix(ctx context.Context, prefix string) ([]Grant, error) {
	return view(ctx, db, func(t *Tx) ([]Grant, error) { return t.GrantsByRefreshPrefix(ctx, prefix) })
}

// ListGrants runs Tx.ListGrants in its own transaction.
func (db *DB) ListGrants(ctx context.Context, q GrantQuery) ([]Grant, string, error) {
	var out []Grant
	var next string
	err := db.viewTx(ctx, func(t *Tx) error {
		var err error
		out, next, err = t.ListGrants(ctx, q)
		return err
	})
	return out, next, err
}

// UpdateGrant applies fn to the grant with this ID and stores the result, in
// one transaction, so concurrent updates never lose one another. The ID
// cannot change. It returns the grant as stored. Errors: ErrNotFound, fn's
// error (nothing is written), or PutGrant's.
func (db *DB) UpdateGrant(ctx context.Context, id string, fn func(Grant) (Grant, error)) (Grant, error) {
	return update(ctx, db, func(t *Tx) (Grant, error) {
		g, err := t.Grant(ctx, id)
		if err != nil {
			return Grant{}, err
		}
		g, err = fn(g)
		if err != nil {
			return Grant{}, fmt.Errorf("store: update grant %s: %w", id, err)
		}
		g.ID = id
		return t.putGrant(g)
	})
}
