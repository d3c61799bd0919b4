package boltdb

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/riscd/riscd"
)

// accountRecord is an account on disk.
type accountRecord struct {
	V                        int      `json:"v"`
	Email                    string   `json:"email,omitempty"`
	SessionsRevokedAt        stamp    `json:"sra,omitzero"`
	SigninDisabled           bool     `json:"signin_off,omitempty"`
	Held                     bool     `json:"held,omitempty"`
	Review                   bool     `json:"review,omitempty"`
	ReconsentRequired        bool     `json:"reconsent,omitempty"`
	CredentialChangeRequired bool     `json:"cred_change,omitempty"`
	Purged                   bool     `json:"purged,omitempty"`
	Flags                    []string `json:"flags,omitempty"`
	CreatedAt                stamp    `json:"ca,omitzero"`
	UpdatedAt                stamp    `json:"ua,omitzero"`
}

func accountToRecord(a Account) accountRecord {
	return accountRecord{
		V:                        recordVersion,
		Email:                    a.Email,
		SessionsRevokedAt:        stampOf(a.SessionsRevokedAt),
		SigninDisabled:           a.SigninDisabled,
		Held:                     a.Held,
		Review:                   a.Review,
		ReconsentRequired:        a.ReconsentRequired,
		CredentialChangeRequired: a.CredentialChangeRequired,
		Purged:                   a.Purged,
		Flags:                    a.Flags,
		CreatedAt:                stampOf(a.CreatedAt),
		UpdatedAt:                stampOf(a.UpdatedAt),
	}
}

func (r *accountRecord) account(sub string) Account {
	return Account{
		Sub:                      sub,
		Email:                    r.Email,
		SessionsRevokedAt:        r.SessionsRevokedAt.time(),
		SigninDisabled:           r.SigninDisabled,
		Held:                     r.Held,
		Review:                   r.Review,
		ReconsentRequired:        r.ReconsentRequired,
		CredentialChangeRequired: r.CredentialChangeRequired,
		Purged:                   r.Purged,
		Flags:                    r.Flags,
		CreatedAt:                r.CreatedAt.time(),
		UpdatedAt:                r.UpdatedAt.time(),
	}
}

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
	return decodeAccount(sub, v)
}

func decodeAccount(sub string, v []byte) (Account, error) {
	var r accountRecord
	if err := json.Unmarshal(v, &r); err != nil || r.V < 1 || r.V > recordVersion {
		return Account{}, fmt.Errorf("store: account %q: undecodable record: %w", sub, ErrCorrupt)
	}
	return r.account(sub), nil
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
	r := accountToRecord(a)
	data, err := json.Marshal(&r)
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
	return r.account(a.Sub), nil
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
