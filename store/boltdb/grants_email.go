package boltdb

import (
	"context"
	"fmt"
	"strings"

	"github.com/riscd/riscd/store/internal/record"
)

// emailIndexed reports whether a grant belongs in grants.by_email: it has
// an email its ID token marked verified.
func emailIndexed(r *record.Grant) bool { return r.EmailOK && r.Email != "" }

// grantEmailKey is a grant's key in grants.by_email: its email lower-cased
// (ASCII and Unicode simple case folding through strings.ToLower), then the
// grant key.
func grantEmailKey(email string, key []byte) []byte {
	return grantIndexKey(strings.ToLower(email), key)
}

// indexGrantEmail moves a grant's grants.by_email entry from old to r (either
// nil for a grant created or deleted).
func (t *Tx) indexGrantEmail(key []byte, old, r *record.Grant) error {
	was, is := old != nil && emailIndexed(old), r != nil && emailIndexed(r)
	if was && is && strings.ToLower(old.Email) == strings.ToLower(r.Email) {
		return nil
	}
	if !was && !is {
		return nil
	}
	b, err := t.bucket(bucketGrantsByEmail)
	if err != nil {
		return err
	}
	if was {
		if err := b.Delete(grantEmailKey(old.Email, key)); err != nil {
			return fmt.Errorf("store: index grant %x: %w", key, err)
		}
	}
	if is {
		if err := b.Put(grantEmailKey(r.Email, key), nil); err != nil {
			return fmt.Errorf("store: index grant %x: %w", key, err)
		}
	}
	return nil
}

// GrantsByVerifiedEmail returns the grants, oldest first, whose email
// equals email ignoring case and was marked verified by the ID token that
// gave it (Grant.EmailVerified), from the grants.by_email index. An email
// not marked verified never matches: it proves nothing about who holds the
// account. None is not an error.
func (t *Tx) GrantsByVerifiedEmail(ctx context.Context, email string) ([]Grant, error) {
	if email == "" {
		return nil, nil
	}
	return t.grantsByIndex(bucketGrantsByEmail, appendString(nil, strings.ToLower(email)))
}
