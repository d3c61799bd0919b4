package boltdb

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/riscd/riscd/internal/testkit"
)

// A backup taken right after AppendInbox acknowledged entries holds them,
// although the applier had not moved them into the inbox when the backup
// was asked for: Backup waits for it.
func TestBackupHoldsAcknowledgedEntries(t *testing.T) {
	key, _, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), Options{Path: filepath.Join(t.TempDir(), "riscd.db"), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })

	// Hold the applier until the backup has asked for the journal to be
	// applied (or, were it not to ask, has finished).
	release := make(chan struct{})
	db.journal.mu.Lock()
	db.journal.beforeApply = func() { <-release }
	db.journal.mu.Unlock()
	const n = 5
	for i := range n {
		p, err := db.PrepareInbox(writerEntry(fmt.Sprint("backup-", i)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.AppendInbox(context.Background(), []PreparedInbox{p}); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	done := make(chan error, 1)
	go func() {
		_, err := db.Backup(context.Background(), &buf)
		done <- err
	}()
	var backupErr error
	finished := false
	testkit.Eventually(t, "the backup to finish or to ask for the journal to be applied", func() bool {
		select {
		case backupErr = <-done:
			finished = true
			return true
		default:
		}
		return len(db.journal.flush) == 1
	})
	db.journal.mu.Lock()
	db.journal.beforeApply = nil
	db.journal.mu.Unlock()
	close(release)
	if !finished {
		backupErr = <-done
	}
	if backupErr != nil {
		t.Fatal(backupErr)
	}

	copyPath := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(copyPath, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	report, problems, err := CheckFile(context.Background(), Options{Path: copyPath, Key: key})
	if err != nil || problems != nil {
		t.Fatalf("CheckFile of the backup: %v, %v", err, problems)
	}
	if report.Stats.Inbox != n {
		t.Errorf("the backup holds %d inbox entries, want the %d acknowledged before it", report.Stats.Inbox, n)
	}
}
