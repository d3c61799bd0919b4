package boltdb

import (
	"context"
	"fmt"
	"os"

	"github.com/riscd/riscd"
	bolt "go.etcd.io/bbolt"
)

// Stats describes a store: record counts per kind and its size.
type Stats struct {
	riscd.Counts
	FileBytes int64    // size of the file, including space bbolt has allocated ahead
	DataBytes int64    // pages below the high-water mark, in use or free
	LiveBytes int64    // pages holding records and indexes; the rest of DataBytes is free
	KeyIDs    []string // ids of the keys whose check values the store holds (two while a rotation is unfinished)
}

// Stats counts the store's records. It reads every bucket's pages, so it
// costs time in proportion to the store's size; ctx's error if ctx is done.
func (db *DB) Stats(ctx context.Context) (Stats, error) {
	db.readInbox(ctx) // count every acknowledged entry
	var s Stats
	err := db.viewTx(ctx, func(t *Tx) error {
		count := func(name string) (int, error) {
			b, err := t.bucket(name)
			if err != nil {
				return 0, err
			}
			return b.Stats().KeyN, nil
		}
		for _, c := range []struct {
			bucket string
			dst    *int
		}{
			{bucketGrants, &s.Grants}, {bucketAccounts, &s.Accounts}, {bucketSessions, &s.Sessions},
			{bucketFlows, &s.Flows}, {bucketInbox, &s.Inbox}, {bucketOutbox, &s.Outbox},
			{bucketOutboxPending, &s.OutboxPending}, {bucketOutboxFailed, &s.OutboxFailed}, {bucketAudit, &s.Audit},
			{bucketMarks, &s.Marks}, {bucketConnect, &s.Connect}, {bucketLinksByAppUser, &s.AppUserLinks},
		} {
			n, err := count(c.bucket)
			if err != nil {
				return err
			}
			*c.dst = n
		}
		for st, dst := range map[InboxStatus]*int{InboxPending: &s.InboxPending, InboxDone: &s.InboxDone, InboxParked: &s.InboxParked} {
			n, err := t.CountInbox(ctx, st)
			if err != nil {
				return err
			}
			*dst = n
		}
		s.DataBytes = t.btx.Size()
		err := t.btx.ForEach(func(_ []byte, b *bolt.Bucket) error {
			bs := b.Stats()
			s.LiveBytes += int64(bs.BranchAlloc + bs.LeafAlloc)
			return nil
		})
		if err != nil {
			return err
		}
		return t.btx.Bucket([]byte(bucketKeys)).ForEach(func(id, _ []byte) error {
			s.KeyIDs = append(s.KeyIDs, fmt.Sprintf("%x", id))
			return nil
		})
	})
	if err != nil {
		return Stats{}, err
	}
	fi, err := os.Stat(db.path)
	if err != nil {
		return Stats{}, fmt.Errorf("store: stats: %w", err)
	}
	s.FileBytes = fi.Size()
	return s, nil
}

// Count is riscd.Store's Count: the record counts of Stats.
func (db *DB) Count(ctx context.Context) (riscd.Counts, error) {
	s, err := db.Stats(ctx)
	return s.Counts, err
}

// hexKV keeps bbolt's check messages free of record contents.
type hexKV struct{}

func (hexKV) KeyToString(k []byte) string   { return fmt.Sprintf("%x", k) }
func (hexKV) ValueToString(v []byte) string { return fmt.Sprintf("(%d bytes)", len(v)) }
