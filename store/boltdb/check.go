package boltdb

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/internal/record"
	bolt "go.etcd.io/bbolt"
)

// Check checks the whole file. First its bbolt meta pages: the file is as
// long as they say, and a damaged one (bbolt reads the other, and the next
// write rewrites it) is reported. Then bbolt's consistency check (every
// page readable, reachable or free, none twice), and, only if that passed,
// riscd's own: every record decodes and opens with the configured keys, and
// every index entry matches a record and the reverse. It returns all
// problems found, joined, or nil; the problems wrap ErrDamaged when the
// pages are damaged, in which case the records were not read (bbolt cannot
// walk them safely). It holds the write lock while it runs (bbolt's check
// is not safe beside a writer otherwise) and reads the whole file.
func (db *DB) Check(ctx context.Context) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	// A read-only file (CheckFile) has no writer to exclude.
	btx, err := db.bolt.Begin(!db.readOnly)
	if err != nil {
		return boltErr(err)
	}
	defer btx.Rollback()
	defer recovered(db.path, db.log, &err)
	var errs []error
	bf, err := readBoltFile(db.path)
	if err != nil {
		return err
	}
	for _, d := range bf.damaged {
		if db.readOnly {
			break // CheckFile notes them
		}
		errs = append(errs, fmt.Errorf("store: check: bbolt %s; bbolt reads the other, and the next write rewrites it", d))
	}
	var pages []error
	for err := range btx.Check(bolt.WithKVStringer(hexKV{})) {
		pages = append(pages, fmt.Errorf("store: bbolt check: %w", err))
	}
	if len(pages) > 0 {
		pages = append(pages, damaged(db.path, "bbolt's page check failed, so its records were not checked"))
		return joinErrs(append(errs, pages...))
	}
	errs = append(errs, db.run(btx, func(t *Tx) error { return t.checkRecords() }))
	return joinErrs(errs)
}

// maxCheckErrors bounds the problems Check reports.
const maxCheckErrors = 20

// checker collects problems found by checkRecords.
type checker struct {
	t      *Tx
	errs   []error
	expect map[string]int // index bucket -> entries the records imply
}

func (c *checker) fail(format string, args ...any) {
	if len(c.errs) < maxCheckErrors {
		c.errs = append(c.errs, fmt.Errorf("store: check: "+format, args...))
	}
}

// want checks that index holds key (with value val, unless val is nil).
func (c *checker) want(index string, key, val []byte) {
	c.expect[index]++
	b, err := c.t.bucket(index)
	if err != nil {
		c.fail("%v", err)
		return
	}
	got := b.Get(key)
	switch {
	case got == nil:
		c.fail("%s: missing entry %x", index, key)
	case val != nil && !bytes.Equal(got, val):
		c.fail("%s: entry %x points to %x, want %x", index, key, got, val)
	}
}

// allow counts key as an entry the records imply when index holds it: an
// index entry tolerated, not required.
func (c *checker) allow(index string, key []byte) {
	b, err := c.t.bucket(index)
	if err != nil {
		c.fail("%v", err)
		return
	}
	if b.Get(key) != nil {
		c.expect[index]++
	}
}

func (c *checker) each(bucket string, fn func(k, v []byte) error) {
	b, err := c.t.bucket(bucket)
	if err != nil {
		c.fail("%v", err)
		return
	}
	_ = b.ForEach(func(k, v []byte) error {
		if err := fn(k, v); err != nil {
			c.fail("%s %x: %v", bucket, k, err)
		}
		return nil
	})
}

// checkRecords verifies that every record decodes and opens and that the
// indexes hold exactly the entries the records imply.
func (t *Tx) checkRecords() error {
	c := &checker{t: t, expect: map[string]int{}}
	c.each(bucketGrants, func(k, v []byte) error {
		r, err := record.DecodeGrant(k, v)
		if err != nil {
			return err
		}
		g, err := r.Open(t.keys, k)
		if err != nil {
			return err
		}
		c.want(bucketGrantsBySub, grantIndexKey(g.Sub, k), nil)
		c.want(bucketGrantsByStatus, grantIndexKey(r.Status, k), nil)
		if emailIndexed(&r) {
			c.want(bucketGrantsByEmail, grantEmailKey(r.Email, k), nil)
		}
		if g.RefreshToken != "" {
			c.want(bucketGrantsByDigest, riscd.RefreshTokenDigest(g.RefreshToken.Reveal()), k)
			if len(g.RefreshToken) >= riscd.RefreshPrefixLen {
				c.want(bucketGrantsByPrefix, append(prefixHash(g.RefreshToken.Reveal()[:riscd.RefreshPrefixLen]), k...), nil)
			}
		}
		return nil
	})
	c.each(bucketAccounts, func(k, _ []byte) error {
		a, err := t.account(string(k))
		if err == nil && a.NeedsAttention() {
			c.want(bucketAccountsAttention, k, nil)
		}
		return err
	})
	c.each(bucketSessions, func(k, v []byte) error {
		var r record.Session
		if err := json.Unmarshal(v, &r); err != nil {
			return err
		}
		if _, err := t.keys.Open(r.CSRF, bucketSessions, k, "csrf"); err != nil {
			return err
		}
		if r.Sub != "" {
			c.want(bucketSessionsBySub, sessionSubKey(r.Sub, r.CreatedAt.Time(), k), nil)
		}
		return nil
	})
	c.checkAdminSessions(t)
	c.each(bucketFlows, func(k, v []byte) error {
		r, err := record.DecodeFlow(k, v)
		if err != nil {
			return err
		}
		_, err = r.Open(t.keys, k, "")
		return err
	})
	c.each(bucketInbox, func(k, v []byte) error {
		e, err := decodeInbox(t.keys, k, v)
		if err != nil {
			return err
		}
		c.want(bucketInboxByJTI, record.JTIKey(e.Iss, e.JTI), k)
		c.want(bucketInboxByStatus, inboxStatusKey(e.Status, e.ID), nil)
		switch {
		case subjectIndexed(e):
			c.want(bucketInboxBySubject, inboxSubjectKey(e.Subject, e.ID), nil)
		case e.Subject != "":
			c.allow(bucketInboxBySubject, inboxSubjectKey(e.Subject, e.ID))
		}
		return nil
	})
	c.each(bucketOutbox, func(k, v []byte) error {
		j, err := t.outboxJob(binary.BigEndian.Uint64(k))
		if err != nil {
			return err
		}
		switch j.Status {
		case OutboxPending:
			c.want(bucketOutboxPending, k, nil)
		case OutboxFailed:
			c.want(bucketOutboxFailed, k, nil)
		}
		return nil
	})
	c.each(bucketAudit, func(k, v []byte) error {
		e, err := decodeAudit(k, v)
		if err != nil {
			return err
		}
		if e.Sub != "" {
			c.want(bucketAuditBySub, binary.BigEndian.AppendUint64(appendString(nil, e.Sub), e.ID), nil)
		}
		return nil
	})
	c.checkMarks()
	c.checkConnect()
	for _, index := range []string{
		bucketAccountsAttention, bucketGrantsBySub, bucketGrantsByStatus, bucketGrantsByEmail, bucketGrantsByDigest, bucketGrantsByPrefix, bucketSessionsBySub,
		bucketInboxByJTI, bucketInboxByStatus, bucketInboxBySubject, bucketOutboxPending, bucketOutboxFailed, bucketAuditBySub,
		bucketLinksBySub,
	} {
		b, err := t.bucket(index)
		if err != nil {
			c.fail("%v", err)
			continue
		}
		if got, want := b.Stats().KeyN, c.expect[index]; got != want {
			c.fail("%s: %d entries, the records imply %d", index, got, want)
		}
	}
	return joinErrs(c.errs)
}

func joinErrs(errs []error) error { return errors.Join(errs...) }
