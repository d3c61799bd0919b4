package postgres

import (
	"slices"

	"github.com/riscd/riscd"
)

// rowCache keeps, for one transaction, the documents of the rows it read
// or wrote by their keys, so that a read-modify-write (PutGrant after
// Grant, PutAccount, PutMark, PutInboxEntry) does not read the row again.
//
// Only write transactions keep one. What it returns is what reading again
// would: Update's and Batch's transactions read one snapshot for their
// whole length (SERIALIZABLE, PostgreSQL 15 manual, 13.2.3), so a row
// changes in their view only by their own writes, and every write of the
// cached tables in a transaction updates the cache (PutGrant, PutAccount,
// PutMark, PutInboxEntry, DeleteSessionsOf) or forgets what it may change
// (CreateGrant, DeleteGrant, the sessions' and links' other writes, the
// import). A transaction that fails is never retried with its cache: each
// attempt is a new Tx.
//
// Documents are kept as stored (sealed), and decoded and opened at each
// read, so that no caller shares a value with another.
type rowCache struct {
	grants   map[string][]byte   // by id
	accounts map[string][]byte   // by sub; nil: no such account
	marks    map[string][]byte   // by key hash; nil: no such mark
	inbox    map[int64]inboxDocs // by id

	// Lists by sub, read by a prefetch (see Tx.prefetch): each complete
	// when present, or absent.
	grantsOf   map[string][]string            // grant ids in id order, their documents in grants
	sessionsOf map[string][]int64             // the created_ns of each session
	linksOf    map[string][]riscd.AppUserLink // in AppUser order
}

// inboxDocs is an inbox row's jti_hash and document.
type inboxDocs struct{ jh, doc []byte }

// newRowCache returns an empty cache; its maps are made at their first
// row (most read-only transactions keep none).
func newRowCache() *rowCache { return &rowCache{} }

// put sets m[k] to v, making m first if need be.
func put[K comparable, V any](m *map[K]V, k K, v V) {
	if *m == nil {
		*m = make(map[K]V)
	}
	(*m)[k] = v
}

// reset forgets every row.
func (c *rowCache) reset() {
	if c != nil {
		*c = rowCache{}
	}
}

// The lookups return ok false when the row is not in the cache; c may be
// nil (a read outside a transaction: nothing is kept).

func (c *rowCache) grant(id string) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	d, ok := c.grants[id]
	return d, ok
}

func (c *rowCache) putGrant(id string, doc []byte) {
	if c != nil {
		put(&c.grants, id, doc)
	}
}

func (c *rowCache) dropGrant(id string) {
	if c != nil {
		delete(c.grants, id)
	}
}

func (c *rowCache) account(sub string) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	d, ok := c.accounts[sub]
	return d, ok
}

func (c *rowCache) putAccount(sub string, doc []byte) {
	if c != nil {
		put(&c.accounts, sub, doc)
	}
}

func (c *rowCache) mark(hash []byte) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	d, ok := c.marks[string(hash)]
	return d, ok
}

func (c *rowCache) putMark(hash, doc []byte) {
	if c != nil {
		put(&c.marks, string(hash), doc)
	}
}

func (c *rowCache) entry(id int64) (inboxDocs, bool) {
	if c == nil {
		return inboxDocs{}, false
	}
	d, ok := c.inbox[id]
	return d, ok
}

func (c *rowCache) putEntry(id int64, jh, doc []byte) {
	if c != nil {
		put(&c.inbox, id, inboxDocs{jh: jh, doc: doc})
	}
}

// grantsOfSub returns the grants of sub, as documents by id, in id order.
func (c *rowCache) grantsOfSub(sub string) (ids []string, docs [][]byte, ok bool) {
	if c == nil {
		return nil, nil, false
	}
	ids, ok = c.grantsOf[sub]
	if !ok {
		return nil, nil, false
	}
	for _, id := range ids {
		d, ok := c.grants[id]
		if !ok {
			return nil, nil, false
		}
		docs = append(docs, d)
	}
	return ids, docs, true
}

// grantsChanged forgets the grant lists of the given subs, or of every
// sub when none is given.
func (c *rowCache) grantsChanged(subs ...string) {
	if c == nil {
		return
	}
	if len(subs) == 0 {
		clear(c.grantsOf)
	}
	for _, s := range subs {
		delete(c.grantsOf, s)
	}
}

func (c *rowCache) sessionsOfSub(sub string) ([]int64, bool) {
	if c == nil {
		return nil, false
	}
	s, ok := c.sessionsOf[sub]
	return s, ok
}

func (c *rowCache) putSessionsOf(sub string, created []int64) {
	if c != nil {
		put(&c.sessionsOf, sub, created)
	}
}

// sessionsChanged forgets the session lists of the given subs, or of
// every sub when none is given.
func (c *rowCache) sessionsChanged(subs ...string) {
	if c == nil {
		return
	}
	if len(subs) == 0 {
		clear(c.sessionsOf)
	}
	for _, s := range subs {
		delete(c.sessionsOf, s)
	}
}

func (c *rowCache) linksOfSub(sub string) ([]riscd.AppUserLink, bool) {
	if c == nil {
		return nil, false
	}
	l, ok := c.linksOf[sub]
	return slices.Clone(l), ok
}

func (c *rowCache) linksChanged(sub string) {
	if c != nil {
		delete(c.linksOf, sub)
	}
}
