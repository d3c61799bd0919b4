package boltdb

import (
	"context"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the open store to w, while it stays in
// use, and returns the bytes written. Every inbox entry AppendInbox
// acknowledged before the call is in it: Backup first waits for the
// journal's applier to move them into the inbox (FlushInbox), then writes
// the file as one read transaction sees it (bbolt's Tx.WriteTo), so the copy
// is a whole store of its own; it needs no journal file. It fails with
// FlushInbox's error when the applier cannot move them (a full disk), and
// with w's error; a copy cut short is refused by CheckFile and Open (it is
// shorter than its meta page says).
func (db *DB) Backup(ctx context.Context, w io.Writer) (int64, error) {
	if err := db.FlushInbox(ctx); err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n int64
	err := db.bolt.View(func(btx *bolt.Tx) error {
		var err error
		n, err = btx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("store: backup: %w", boltErr(err))
	}
	return n, nil
}
