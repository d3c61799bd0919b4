package boltdb

import (
	"context"
	"fmt"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/internal/record"
)

// Account returns the account of a Google subject. ErrNotFound if riscd has
// none.
func (t *Tx) Account(ctx context.Context, sub string) (Account, error) {
	return t.account(sub)
}

// account is Account without a context, for the store's own code
// (integrity checks, journal replay, lookups inside other methods).
func (t *Tx) account(sub string) (Account, error) {
	b, err := t.bucket(bucketAccounts)
	if err != nil {
		return Account{}, err
	}
	v := b.Get([]byte(sub))
	if v == nil {
		return Account{}, fmt.Errorf("store: account %q: %w", sub, ErrNotFound)
	}
	return record.DecodeAccount(sub, v)
}

// PutAccount creates or replaces an account. UpdatedAt is set to now;
// CreatedAt keeps its stored value, or becomes now for a new account.
// ErrInvalid without a Sub.
func (t *Tx) PutAccount(ctx context.Context, a Account) error {
	_, err := t.putAccount(a)
	return err
}

func (t *Tx) putAccount(a Account) (Account, error) {
	if a.Sub == "" {
		return Account{}, fmt.Errorf("store: put account: no sub: %w", ErrInvalid)
	}
	now := t.now()
	old, err := t.account(a.Sub)
	switch {
	case err == nil:
		a.CreatedAt = old.CreatedAt
	case isNotFound(err):
		a.CreatedAt = now
	default:
		return Account{}, err
	}
	if was, is := old.NeedsAttention(), a.NeedsAttention(); was != is {
		idx, err := t.bucket(bucketAccountsAttention)
		if err != nil {
			return Account{}, err
		}
		if is {
			err = idx.Put([]byte(a.Sub), nil)
		} else {
			err = idx.Delete([]byte(a.Sub))
		}
		if err != nil {
			return Account{}, fmt.Errorf("store: account %q: %w", a.Sub, err)
		}
	}
	a.UpdatedAt = now
	r := record.AccountOf(a)
	data, err := record.Encode(r)
	if err != nil {
		return Account{}, fmt.Errorf("store: account %q: encode: %w", a.Sub, err)
	}
	b, err := t.bucket(bucketAccounts)
	if err != nil {
		return Account{}, err
	}
	if err := b.Put([]byte(a.Sub), data); err != nil {
		return Account{}, fmt.Errorf("store: account %q: %w", a.Sub, err)
	}
	return r.Account(a.Sub), nil
}

// AccountsNeedingAttention returns up to limit accounts that NeedsAttention,
// in order of Sub, starting after the Sub after ("" for the first)
// (DefaultLimit if limit <= 0, at most MaxLimit).
func (t *Tx) AccountsNeedingAttention(ctx context.Context, after string, limit int) ([]Account, error) {
	limit = riscd.PageLimit(limit)
	idx, err := t.bucket(bucketAccountsAttention)
	if err != nil {
		return nil, err
	}
	var out []Account
	c := idx.Cursor()
	k, _ := c.Seek([]byte(after))
	if k != nil && after != "" && string(k) == after {
		k, _ = c.Next()
	}
	for ; k != nil && len(out) < limit; k, _ = c.Next() {
		a, err := t.Account(ctx, string(k))
		if err != nil {
			return nil, fmt.Errorf("store: index %s: %w", bucketAccountsAttention, err)
		}
		out = append(out, a)
	}
	return out, nil
}
