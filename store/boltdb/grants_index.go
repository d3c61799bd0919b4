package boltdb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"

	"github.com/riscd/riscd"
)

// prefixHash is the index key part for a refresh token's prefix.
func prefixHash(prefix string) []byte {
	h := sha256.Sum256([]byte(prefix))
	return h[:]
}

// grantIndexKey is a grant's key in an index by a string: its subject
// (grants.by_sub) or its status (grants.by_status).
func grantIndexKey(s string, key []byte) []byte {
	return append(appendString(make([]byte, 0, len(s)+2+len(key)), s), key...)
}

// indexGrantStatus moves a grant's status index entry from old ("" for a
// new grant) to status ("" for a deleted grant).
func (t *Tx) indexGrantStatus(key []byte, old, status string) error {
	if old == status {
		return nil
	}
	b, err := t.bucket(bucketGrantsByStatus)
	if err != nil {
		return err
	}
	if old != "" {
		if err := b.Delete(grantIndexKey(old, key)); err != nil {
			return fmt.Errorf("store: index grant %x: %w", key, err)
		}
	}
	if status != "" {
		if err := b.Put(grantIndexKey(status, key), nil); err != nil {
			return fmt.Errorf("store: index grant %x: %w", key, err)
		}
	}
	return nil
}

// indexGrant adds a grant's index entries: subject, refresh-token digest
// (unique: ErrExists if another grant holds it) and refresh-token prefix
// (tokens shorter than RefreshPrefixLen are not prefix-indexed).
func (t *Tx) indexGrant(key []byte, sub string, rt Secret) error {
	bs, err := t.buckets(bucketGrantsBySub, bucketGrantsByDigest, bucketGrantsByPrefix)
	if err != nil {
		return err
	}
	if err := bs[0].Put(grantIndexKey(sub, key), nil); err != nil {
		return fmt.Errorf("store: index grant %x: %w", key, err)
	}
	if rt == "" {
		return nil
	}
	d := riscd.RefreshTokenDigest(rt.Reveal())
	if other := bs[1].Get(d); other != nil && !bytes.Equal(other, key) {
		return fmt.Errorf("store: grant %x: refresh token already held by grant %x: %w", key, other, ErrExists)
	}
	if err := bs[1].Put(d, key); err != nil {
		return fmt.Errorf("store: index grant %x: %w", key, err)
	}
	if len(rt) < riscd.RefreshPrefixLen {
		return nil
	}
	if err := bs[2].Put(append(prefixHash(rt.Reveal()[:riscd.RefreshPrefixLen]), key...), nil); err != nil {
		return fmt.Errorf("store: index grant %x: %w", key, err)
	}
	return nil
}

// unindexGrant removes what indexGrant added.
func (t *Tx) unindexGrant(key []byte, sub string, rt Secret) error {
	bs, err := t.buckets(bucketGrantsBySub, bucketGrantsByDigest, bucketGrantsByPrefix)
	if err != nil {
		return err
	}
	if err := bs[0].Delete(grantIndexKey(sub, key)); err != nil {
		return fmt.Errorf("store: unindex grant %x: %w", key, err)
	}
	if rt == "" {
		return nil
	}
	d := riscd.RefreshTokenDigest(rt.Reveal())
	if bytes.Equal(bs[1].Get(d), key) {
		if err := bs[1].Delete(d); err != nil {
			return fmt.Errorf("store: unindex grant %x: %w", key, err)
		}
	}
	if len(rt) < riscd.RefreshPrefixLen {
		return nil
	}
	if err := bs[2].Delete(append(prefixHash(rt.Reveal()[:riscd.RefreshPrefixLen]), key...)); err != nil {
		return fmt.Errorf("store: unindex grant %x: %w", key, err)
	}
	return nil
}

// grantsByKeys loads grants whose keys follow prefix in an index bucket.
func (t *Tx) grantsByIndex(index string, prefix []byte) ([]Grant, error) {
	b, err := t.bucket(index)
	if err != nil {
		return nil, err
	}
	var out []Grant
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		key := clone(k[len(prefix):])
		r, err := t.loadGrant(key)
		if err != nil {
			return nil, fmt.Errorf("store: index %s: %w", index, err)
		}
		g, err := r.Open(t.keys, key)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// GrantsBySub returns the subject's grants, oldest first; none is not an
// error.
func (t *Tx) GrantsBySub(ctx context.Context, sub string) ([]Grant, error) {
	return t.grantsByIndex(bucketGrantsBySub, appendString(nil, sub))
}

// GrantByRefreshDigest returns the grant whose refresh token has this
// digest (see RefreshTokenDigest; 64 raw bytes). A match is proof the grant
// holds that token. Errors: ErrInvalid for a digest of another size,
// ErrNotFound if no grant matches.
func (t *Tx) GrantByRefreshDigest(ctx context.Context, digest []byte) (Grant, error) {
	if len(digest) != sha512.Size {
		return Grant{}, fmt.Errorf("store: refresh digest is %d bytes, want %d: %w", len(digest), sha512.Size, ErrInvalid)
	}
	b, err := t.bucket(bucketGrantsByDigest)
	if err != nil {
		return Grant{}, err
	}
	v := b.Get(digest)
	if v == nil {
		return Grant{}, fmt.Errorf("store: grant by refresh digest: %w", ErrNotFound)
	}
	key := clone(v)
	r, err := t.loadGrant(key)
	if err != nil {
		return Grant{}, fmt.Errorf("store: index %s: %w", bucketGrantsByDigest, err)
	}
	return r.Open(t.keys, key)
}

// GrantsByRefreshPrefix returns the grants whose refresh token starts with
// prefix (exactly RefreshPrefixLen characters), oldest first. Several
// grants may share a prefix, so each is a candidate, not proof: compare the
// whole token. None is not an error; a prefix of another length is
// ErrInvalid.
func (t *Tx) GrantsByRefreshPrefix(ctx context.Context, prefix string) ([]Grant, error) {
	if len(prefix) != riscd.RefreshPrefixLen {
		return nil, fmt.Errorf("store: refresh prefix is %d characters, want %d: %w", len(prefix), riscd.RefreshPrefixLen, ErrInvalid)
	}
	return t.grantsByIndex(bucketGrantsByPrefix, prefixHash(prefix))
}

// CountGrants counts grants by status from the status index: it reads
// index keys only, no grant record.
func (t *Tx) CountGrants(ctx context.Context) (map[GrantStatus]int, error) {
	b, err := t.bucket(bucketGrantsByStatus)
	if err != nil {
		return nil, err
	}
	counts := map[GrantStatus]int{}
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n, w := binary.Uvarint(k)
		if w <= 0 || uint64(len(k)-w) < n {
			return nil, fmt.Errorf("store: index %s: malformed key %x: %w", bucketGrantsByStatus, k, ErrCorrupt)
		}
		counts[GrantStatus(k[w:w+int(n)])]++
	}
	return counts, nil
}
