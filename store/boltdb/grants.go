package boltdb

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/riscd/riscd/store/internal/record"
	bolt "go.etcd.io/bbolt"
)

// grantKeySize is the size of a grant's bbolt key: 8 bytes of creation time
// (Unix nanoseconds, big-endian, strictly increasing) and 4 random bytes.
// A grant ID is the key in hex.
const grantKeySize = record.GrantKeySize

func grantKey(id string) ([]byte, error) {
	k, err := hex.DecodeString(id)
	if err != nil || len(k) != grantKeySize {
		return nil, fmt.Errorf("store: grant %q: malformed id: %w", id, ErrNotFound)
	}
	return k, nil
}

// newGrantKey makes a key later than every existing one.
func newGrantKey(b *bolt.Bucket, now time.Time) []byte {
	ts := uint64(now.UnixNano())
	if last, _ := b.Cursor().Last(); len(last) == grantKeySize {
		if prev := binary.BigEndian.Uint64(last); ts <= prev {
			ts = prev + 1
		}
	}
	k := binary.BigEndian.AppendUint64(make([]byte, 0, grantKeySize), ts)
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	return append(k, rnd[:]...)
}

// loadGrant reads and decodes one grant record; ErrNotFound if absent.
func (t *Tx) loadGrant(key []byte) (record.Grant, error) {
	b, err := t.bucket(bucketGrants)
	if err != nil {
		return record.Grant{}, err
	}
	v := b.Get(key)
	if v == nil {
		return record.Grant{}, fmt.Errorf("store: grant %x: %w", key, ErrNotFound)
	}
	return record.DecodeGrant(key, v)
}

func (t *Tx) putGrantRecord(key []byte, r *record.Grant) error {
	b, err := t.bucket(bucketGrants)
	if err != nil {
		return err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("store: grant %x: encode: %w", key, err)
	}
	if err := b.Put(key, data); err != nil {
		return fmt.Errorf("store: grant %x: %w", key, err)
	}
	return nil
}

// CreateGrant stores a new grant. It assigns the ID (sortable by creation
// time), sets CreatedAt and UpdatedAt to now and Status to GrantActive if
// empty, and indexes the grant by subject and refresh token. It returns the
// grant as stored. Errors: ErrInvalid without a Sub, ErrExists if another
// grant holds the same refresh token.
func (t *Tx) CreateGrant(ctx context.Context, g Grant) (Grant, error) {
	if g.Sub == "" {
		return Grant{}, fmt.Errorf("store: create grant: no sub: %w", ErrInvalid)
	}
	b, err := t.bucket(bucketGrants)
	if err != nil {
		return Grant{}, err
	}
	now := t.now()
	key := newGrantKey(b, now)
	g.CreatedAt, g.UpdatedAt = now, now
	if g.Status == "" {
		g.Status = GrantActive
	}
	if err := t.indexGrant(key, g.Sub, g.RefreshToken); err != nil {
		return Grant{}, err
	}
	if err := t.indexGrantStatus(key, "", string(g.Status)); err != nil {
		return Grant{}, err
	}
	r := record.SealGrant(t.keys, key, g)
	if err := t.indexGrantEmail(key, nil, &r); err != nil {
		return Grant{}, err
	}
	if err := t.putGrantRecord(key, &r); err != nil {
		return Grant{}, err
	}
	return r.Grant(key, g.RefreshToken, g.AccessToken), nil
}

// Grant returns the grant with the given ID, tokens decrypted. ErrNotFound
// if there is none (or the ID is malformed).
func (t *Tx) Grant(ctx context.Context, id string) (Grant, error) {
	key, err := grantKey(id)
	if err != nil {
		return Grant{}, err
	}
	r, err := t.loadGrant(key)
	if err != nil {
		return Grant{}, err
	}
	return r.Open(t.keys, key)
}

// PutGrant replaces an existing grant (matched by ID). CreatedAt keeps its
// stored value and UpdatedAt is set to now. When the subject or the refresh
// token changed, the indexes follow in the same transaction. Errors:
// ErrNotFound if the grant does not exist, ErrInvalid without a Sub or a
// Status, ErrExists if another grant holds the new refresh token.
func (t *Tx) PutGrant(ctx context.Context, g Grant) error {
	_, err := t.putGrant(g)
	return err
}

func (t *Tx) putGrant(g Grant) (Grant, error) {
	key, err := grantKey(g.ID)
	if err != nil {
		return Grant{}, err
	}
	if g.Sub == "" || g.Status == "" {
		return Grant{}, fmt.Errorf("store: put grant %s: sub and status are required: %w", g.ID, ErrInvalid)
	}
	old, err := t.loadGrant(key)
	if err != nil {
		return Grant{}, err
	}
	oldRT, err := old.OpenRefreshToken(t.keys, key)
	if err != nil {
		return Grant{}, err
	}
	if old.Sub != g.Sub || oldRT != g.RefreshToken {
		if err := t.unindexGrant(key, old.Sub, oldRT); err != nil {
			return Grant{}, err
		}
		if err := t.indexGrant(key, g.Sub, g.RefreshToken); err != nil {
			return Grant{}, err
		}
	}
	if err := t.indexGrantStatus(key, old.Status, string(g.Status)); err != nil {
		return Grant{}, err
	}
	g.CreatedAt = old.CreatedAt.Time()
	g.UpdatedAt = t.now()
	r := record.SealGrant(t.keys, key, g)
	if err := t.indexGrantEmail(key, &old, &r); err != nil {
		return Grant{}, err
	}
	if err := t.putGrantRecord(key, &r); err != nil {
		return Grant{}, err
	}
	return r.Grant(key, g.RefreshToken, g.AccessToken), nil
}

// DeleteGrant removes a grant and its index entries. ErrNotFound if it does
// not exist.
func (t *Tx) DeleteGrant(ctx context.Context, id string) error {
	key, err := grantKey(id)
	if err != nil {
		return err
	}
	r, err := t.loadGrant(key)
	if err != nil {
		return err
	}
	rt, err := r.OpenRefreshToken(t.keys, key)
	if err != nil {
		return err
	}
	if err := t.unindexGrant(key, r.Sub, rt); err != nil {
		return err
	}
	if err := t.indexGrantStatus(key, r.Status, ""); err != nil {
		return err
	}
	if err := t.indexGrantEmail(key, &r, nil); err != nil {
		return err
	}
	b, err := t.bucket(bucketGrants)
	if err != nil {
		return err
	}
	if err := b.Delete(key); err != nil {
		return fmt.Errorf("store: delete grant %s: %w", id, err)
	}
	return nil
}
