package store

import (
	"context"
	"strings"
)

// GrantsByVerifiedEmail returns the grants, oldest first, whose email
// equals email ignoring case and was marked verified by the ID token that
// gave it (Grant.EmailVerified). An email not marked verified never
// matches: it proves nothing about who holds the account. None is not an
// error.
//
// It reads every grant record (without opening the tokens of those that do
// not match): it serves events of other transmitters that name a user by
// email, which are rare beside Google's own.
func (t *Tx) GrantsByVerifiedEmail(email string) ([]Grant, error) {
	if email == "" {
		return nil, nil
	}
	b, err := t.bucket(bucketGrants)
	if err != nil {
		return nil, err
	}
	var out []Grant
	err = scanAsc(b, nil, func(k, v []byte) (bool, error) {
		r, err := decodeGrant(k, v)
		if err != nil {
			return false, err
		}
		if !r.EmailOK || !strings.EqualFold(r.Email, email) {
			return true, nil
		}
		key := clone(k)
		g, err := t.openGrant(key, &r)
		if err != nil {
			return false, err
		}
		out = append(out, g)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GrantsByVerifiedEmail runs Tx.GrantsByVerifiedEmail in its own
// transaction.
func (db *DB) GrantsByVerifiedEmail(ctx context.Context, email string) ([]Grant, error) {
	return view(ctx, db, func(t *Tx) ([]Grant, error) { return t.GrantsByVerifiedEmail(email) })
}
