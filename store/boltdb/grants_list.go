package boltdb

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/internal/record"
)

// ListGrants returns a page of matching grants, newest first, and the cursor
// of the next page ("" after the last). Sub uses an index, and so does
// Status without Sub; the other filters are applied while reading. Errors:
// ErrInvalid for a malformed cursor.
func (t *Tx) ListGrants(ctx context.Context, q GrantQuery) ([]Grant, string, error) {
	limit := riscd.PageLimit(q.Limit)
	var after []byte
	if q.Cursor != "" {
		k, err := grantKey(q.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("store: list grants: bad cursor: %w", ErrInvalid)
		}
		after = k
	}
	index, prefix := bucketGrants, []byte(nil)
	switch {
	case q.Sub != "":
		index, prefix = bucketGrantsBySub, appendString(nil, q.Sub)
	case q.Status != "":
		index, prefix = bucketGrantsByStatus, appendString(nil, string(q.Status))
	}
	b, err := t.bucket(index)
	if err != nil {
		return nil, "", err
	}
	var before []byte
	if after != nil {
		before = append(clone(prefix), after...)
	}
	var out []Grant
	next := ""
	err = scanDesc(b, prefix, before, func(k, v []byte) (bool, error) {
		key := clone(k[len(prefix):])
		var r record.Grant
		var err error
		if index == bucketGrants {
			r, err = record.DecodeGrant(key, v)
		} else {
			r, err = t.loadGrant(key)
		}
		if err != nil {
			return skipGrant(q, key, err)
		}
		if (q.Status != "" && GrantStatus(r.Status) != q.Status) || (q.Scope != "" && !slices.Contains(r.Scopes, q.Scope)) {
			return true, nil
		}
		if len(out) == limit {
			next = out[len(out)-1].ID
			return false, nil
		}
		g, err := r.Open(t.keys, key)
		if err != nil {
			return skipGrant(q, key, err)
		}
		out = append(out, g)
		return true, nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// skipGrant reports an undecodable grant to q.Skip and goes on, or stops the
// scan with err when q.Skip is unset or err is not ErrCorrupt.
func skipGrant(q GrantQuery, key []byte, err error) (bool, error) {
	if q.Skip == nil || !errors.Is(err, ErrCorrupt) {
		return false, err
	}
	q.Skip(hex.EncodeToString(key), err)
	return true, nil
}
