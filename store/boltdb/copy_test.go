package boltdb_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/store/boltdb"
	"github.com/riscd/riscd/store/storetest"
)

// The engine-neutral behaviour of Export and Import is store/storetest's;
// these tests are of what bbolt does of a copy: its file, and its import
// transactions' size.

// copyStart is the clocks' reading: nanosecond precision, so a copy that
// truncates times fails.
var copyStart = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

// openCopyPair opens two fresh stores, each under a key of its own, on one
// clock.
func openCopyPair(t *testing.T) (src, dst *boltdb.DB, clock *testkit.Clock, dstPath string) {
	t.Helper()
	clock = testkit.NewClock(copyStart)
	dir := t.TempDir()
	dstPath = filepath.Join(dir, "dst.db")
	src = mustOpen(t, boltdb.Options{Path: filepath.Join(dir, "src.db"), Key: mustKey(t), Now: clock.Now, Logger: testLogger(t)})
	dst = mustOpen(t, boltdb.Options{Path: dstPath, Key: mustKey(t), Now: clock.Now, Logger: testLogger(t)})
	return src, dst, clock, dstPath
}

// TestCopyBolt: every secret of a copy is sealed again under the target's
// key: the target's file holds none in plaintext.
func TestCopyBolt(t *testing.T) {
	src, dst, clock, dstPath := openCopyPair(t)
	secrets := storetest.Fill(t, src, clock)
	if err := dst.Import(t.Context(), src.Export); err != nil {
		t.Fatalf("Import: %v", err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(dstPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte("sub-a")) {
		t.Fatal("the target file does not look like the store just written")
	}
	for _, s := range secrets {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("the target file holds a secret in plaintext (%d bytes)", len(s))
		}
	}
}

// TestImportBatches copies more records than one import transaction
// writes: every one arrives, and the sequences continue after the last.
func TestImportBatches(t *testing.T) {
	src, dst, _, _ := openCopyPair(t)
	ctx := t.Context()
	const n = 2500 // over two of Import's transactions
	err := src.Update(ctx, func(tx riscd.Tx) error {
		for i := range n {
			if _, err := tx.AppendAudit(ctx, riscd.AuditEntry{Sub: fmt.Sprintf("sub-%d", i%7), Action: "a"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := dst.Import(ctx, src.Export); err != nil {
		t.Fatalf("Import: %v", err)
	}
	c, err := dst.Count(ctx)
	if err != nil || c.Audit != n {
		t.Fatalf("Count after import: %+v, %v; want %d audit entries", c, err, n)
	}
	e, err := dst.AppendAudit(ctx, riscd.AuditEntry{Action: "after"})
	if err != nil || e.ID != n+1 {
		t.Errorf("AppendAudit after import: ID %d, %v; want %d", e.ID, err, n+1)
	}
	if err := dst.Check(ctx); err != nil {
		t.Errorf("Check after import: %v", err)
	}
}
