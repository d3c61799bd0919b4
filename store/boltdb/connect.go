package boltdb

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/internal/record"
	bolt "go.etcd.io/bbolt"
)

// Connect sessions and app-user links (schema 5).
const (
	bucketConnect = "connect" // id -> record.Connect

	bucketLinksByAppUser = "links.by_app_user" // len|app_user|len|sub -> record.Link
	bucketLinksBySub     = "links.by_sub"      // len|sub|len|app_user -> ""
)

// writeConnect writes the connect session s under its ID.
func (t *Tx) writeConnect(b *bolt.Bucket, s riscd.ConnectSession) error {
	k := []byte(s.ID)
	r := record.SealConnect(t.keys, s)
	data, err := record.Encode(r)
	if err != nil {
		return fmt.Errorf("store: connect session: encode: %w", err)
	}
	if err := b.Put(k, data); err != nil {
		return fmt.Errorf("store: connect session: %w", err)
	}
	return nil
}

// CreateConnectSession stores a new connect session. CreatedAt becomes now
// if zero. Errors: ErrInvalid without an ID, a status, an expiry or a valid
// app user; ErrExists if the ID is taken.
func (t *Tx) CreateConnectSession(ctx context.Context, s riscd.ConnectSession) error {
	if err := record.CheckConnect(s); err != nil {
		return err
	}
	b, err := t.bucket(bucketConnect)
	if err != nil {
		return err
	}
	if b.Get([]byte(s.ID)) != nil {
		return fmt.Errorf("store: create connect session: %w", ErrExists)
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = t.now()
	}
	return t.writeConnect(b, s)
}

// PutConnectSession replaces the existing connect session s.ID, expired or
// not. ErrNotFound if there is none; ErrInvalid as CreateConnectSession.
func (t *Tx) PutConnectSession(ctx context.Context, s riscd.ConnectSession) error {
	if err := record.CheckConnect(s); err != nil {
		return err
	}
	b, err := t.bucket(bucketConnect)
	if err != nil {
		return err
	}
	if b.Get([]byte(s.ID)) == nil {
		return fmt.Errorf("store: put connect session: %w", ErrNotFound)
	}
	return t.writeConnect(b, s)
}

// ConnectSession returns the connect session id, expired or not.
// ErrNotFound if there is none.
func (t *Tx) ConnectSession(ctx context.Context, id string) (riscd.ConnectSession, error) {
	b, err := t.bucket(bucketConnect)
	if err != nil {
		return riscd.ConnectSession{}, err
	}
	k := []byte(id)
	v := b.Get(k)
	if id == "" || v == nil {
		return riscd.ConnectSession{}, fmt.Errorf("store: connect session: %w", ErrNotFound)
	}
	r, err := record.DecodeConnect(k, v)
	if err != nil {
		return riscd.ConnectSession{}, err
	}
	return r.Open(t.keys, k)
}

// DeleteExpiredConnectSessions removes the connect sessions whose
// ExpiresAt is at or before now and returns how many. It reads every
// connect session; one it cannot decode is left alone (Check reports it).
func (t *Tx) DeleteExpiredConnectSessions(ctx context.Context) (int, error) {
	b, err := t.bucket(bucketConnect)
	if err != nil {
		return 0, err
	}
	now := t.now()
	var keys [][]byte
	err = b.ForEach(func(k, v []byte) error {
		r, err := record.DecodeConnect(k, v)
		if err == nil && !now.Before(r.ExpiresAt.Time()) {
			keys = append(keys, clone(k))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return 0, fmt.Errorf("store: delete connect session: %w", err)
		}
	}
	return len(keys), nil
}

func linkKey(first, second string) []byte {
	return appendString(appendString(nil, first), second)
}

// splitLinkKey is linkKey's inverse.
func splitLinkKey(k []byte) (string, string, error) {
	var out [2]string
	rest := k
	for i := range out {
		n, w := binary.Uvarint(rest)
		if w <= 0 || uint64(len(rest)-w) < n {
			return "", "", fmt.Errorf("store: link key %x: malformed: %w", k, ErrCorrupt)
		}
		out[i] = string(rest[w : w+int(n)])
		rest = rest[w+int(n):]
	}
	if len(rest) != 0 {
		return "", "", fmt.Errorf("store: link key %x: malformed: %w", k, ErrCorrupt)
	}
	return out[0], out[1], nil
}

func decodeLink(k, v []byte) (riscd.AppUserLink, error) {
	appUser, sub, err := splitLinkKey(k)
	if err != nil {
		return riscd.AppUserLink{}, err
	}
	var r record.Link
	if err := record.Decode(fmt.Sprintf("link %x", k), v, &r); err != nil {
		return riscd.AppUserLink{}, err
	}
	return riscd.AppUserLink{AppUser: appUser, Sub: sub, CreatedAt: r.CreatedAt.Time()}, nil
}

// LinkAppUser records l unless (l.AppUser, l.Sub) is linked already, and
// returns the link as stored and whether it recorded l. CreatedAt becomes
// now if zero. ErrInvalid for an empty Sub or an app user not of 1 to
// riscd.MaxAppUser bytes.
func (t *Tx) LinkAppUser(ctx context.Context, l riscd.AppUserLink) (riscd.AppUserLink, bool, error) {
	if err := record.CheckAppUser(l.AppUser); err != nil {
		return riscd.AppUserLink{}, false, err
	}
	if l.Sub == "" {
		return riscd.AppUserLink{}, false, fmt.Errorf("store: link: empty sub: %w", ErrInvalid)
	}
	bs, err := t.buckets(bucketLinksByAppUser, bucketLinksBySub)
	if err != nil {
		return riscd.AppUserLink{}, false, err
	}
	k := linkKey(l.AppUser, l.Sub)
	if v := bs[0].Get(k); v != nil {
		old, err := decodeLink(k, v)
		return old, false, err
	}
	if l.CreatedAt.IsZero() {
		l.CreatedAt = t.now()
	}
	if err := writeLink(bs[0], bs[1], l); err != nil {
		return riscd.AppUserLink{}, false, err
	}
	l.CreatedAt = record.Round(l.CreatedAt)
	return l, true, nil
}

func writeLink(byAppUser, bySub *bolt.Bucket, l riscd.AppUserLink) error {
	r := record.LinkOf(l)
	data, err := record.Encode(r)
	if err != nil {
		return fmt.Errorf("store: link: encode: %w", err)
	}
	if err := byAppUser.Put(linkKey(l.AppUser, l.Sub), data); err != nil {
		return fmt.Errorf("store: link: %w", err)
	}
	if err := bySub.Put(linkKey(l.Sub, l.AppUser), nil); err != nil {
		return fmt.Errorf("store: link: %w", err)
	}
	return nil
}

// UnlinkAppUser deletes the link (appUser, sub). ErrNotFound if there is
// none.
func (t *Tx) UnlinkAppUser(ctx context.Context, appUser, sub string) error {
	bs, err := t.buckets(bucketLinksByAppUser, bucketLinksBySub)
	if err != nil {
		return err
	}
	k := linkKey(appUser, sub)
	if bs[0].Get(k) == nil {
		return fmt.Errorf("store: unlink: %w", ErrNotFound)
	}
	if err := bs[0].Delete(k); err != nil {
		return fmt.Errorf("store: unlink: %w", err)
	}
	if err := bs[1].Delete(linkKey(sub, appUser)); err != nil {
		return fmt.Errorf("store: unlink: %w", err)
	}
	return nil
}

// LinksOfAppUser returns the links of appUser, in Sub order.
func (t *Tx) LinksOfAppUser(ctx context.Context, appUser string) ([]riscd.AppUserLink, error) {
	b, err := t.bucket(bucketLinksByAppUser)
	if err != nil {
		return nil, err
	}
	var out []riscd.AppUserLink
	err = scanAsc(b, appendString(nil, appUser), func(k, v []byte) (bool, error) {
		l, err := decodeLink(k, v)
		if err != nil {
			return false, err
		}
		out = append(out, l)
		return true, nil
	})
	// Keys are length-prefixed: sort by the strings themselves.
	slices.SortFunc(out, func(a, b riscd.AppUserLink) int { return strings.Compare(a.Sub, b.Sub) })
	return out, err
}

// LinksOfSub returns the links of sub, in AppUser order.
func (t *Tx) LinksOfSub(ctx context.Context, sub string) ([]riscd.AppUserLink, error) {
	idx, err := t.bucket(bucketLinksBySub)
	if err != nil {
		return nil, err
	}
	recs, err := t.bucket(bucketLinksByAppUser)
	if err != nil {
		return nil, err
	}
	var out []riscd.AppUserLink
	err = scanAsc(idx, appendString(nil, sub), func(k, _ []byte) (bool, error) {
		s, appUser, err := splitLinkKey(k)
		if err != nil {
			return false, err
		}
		rk := linkKey(appUser, s)
		v := recs.Get(rk)
		if v == nil {
			return false, fmt.Errorf("store: index %s: entry %x without its link: %w", bucketLinksBySub, k, ErrCorrupt)
		}
		l, err := decodeLink(rk, v)
		if err != nil {
			return false, err
		}
		out = append(out, l)
		return true, nil
	})
	slices.SortFunc(out, func(a, b riscd.AppUserLink) int { return strings.Compare(a.AppUser, b.AppUser) })
	return out, err
}

// checkConnect verifies that every connect session decodes and opens, and
// that every link decodes and has its index entry.
func (c *checker) checkConnect() {
	c.each(bucketConnect, func(k, v []byte) error {
		r, err := record.DecodeConnect(k, v)
		if err != nil {
			return err
		}
		_, err = r.Open(c.t.keys, k)
		return err
	})
	c.each(bucketLinksByAppUser, func(k, v []byte) error {
		l, err := decodeLink(k, v)
		if err != nil {
			return err
		}
		if !bytes.Equal(linkKey(l.AppUser, l.Sub), k) {
			return fmt.Errorf("malformed key (%w)", ErrCorrupt)
		}
		c.want(bucketLinksBySub, linkKey(l.Sub, l.AppUser), nil)
		return nil
	})
}

// importConnect writes an exported connect session.
func (t *Tx) importConnect(s riscd.ConnectSession) error {
	if err := record.CheckConnect(s); err != nil {
		return err
	}
	b, err := t.bucket(bucketConnect)
	if err != nil {
		return err
	}
	if b.Get([]byte(s.ID)) != nil {
		return fmt.Errorf("connect session %q: given twice: %w", s.ID, ErrExists)
	}
	return t.writeConnect(b, s)
}

// importLink writes an exported app-user link.
func (t *Tx) importLink(l riscd.AppUserLink) error {
	if err := record.CheckAppUser(l.AppUser); err != nil {
		return err
	}
	if l.Sub == "" {
		return fmt.Errorf("link without a sub: %w", ErrInvalid)
	}
	bs, err := t.buckets(bucketLinksByAppUser, bucketLinksBySub)
	if err != nil {
		return err
	}
	if bs[0].Get(linkKey(l.AppUser, l.Sub)) != nil {
		return fmt.Errorf("link %q: given twice: %w", l.AppUser, ErrExists)
	}
	return writeLink(bs[0], bs[1], l)
}

// exportLinks hands every link to fn in (AppUser, Sub) order, as strings
// sort: the order of the key every engine exports them in (this one's keys
// are length-prefixed, so it sorts them first).
func (t *Tx) exportLinks(ctx context.Context, fn func(riscd.Record) error) error {
	b, err := t.bucket(bucketLinksByAppUser)
	if err != nil {
		return err
	}
	var links []riscd.AppUserLink
	err = b.ForEach(func(k, v []byte) error {
		l, err := decodeLink(k, v)
		if err != nil {
			return fmt.Errorf("store: export: %w", err)
		}
		links = append(links, l)
		return ctx.Err()
	})
	if err != nil {
		return err
	}
	slices.SortFunc(links, func(a, b riscd.AppUserLink) int {
		if c := strings.Compare(a.AppUser, b.AppUser); c != 0 {
			return c
		}
		return strings.Compare(a.Sub, b.Sub)
	})
	for i := range links {
		if err := fn(riscd.Record{Link: &links[i]}); err != nil {
			return err
		}
	}
	return nil
}
