package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/boltdb"
)

// store backup copies the store of a running riscd through its admin API,
// with the SETs it acknowledged just before, checks the copy, and refuses
// to overwrite a file.
func TestStoreBackupWhileRunning(t *testing.T) {
	sim := startSim(t)
	cfg := simConfig(t, sim)
	m := MustRunMain(t, cfg)
	internal := "http://" + m.InternalAddr()
	if _, err := m.DB().CreateGrant(context.Background(), riscd.Grant{
		Sub: "110248495921238986420", RefreshToken: "1//0backup-refresh", Status: riscd.GrantActive,
	}); err != nil {
		t.Fatal(err)
	}
	db := m.DB().(*boltdb.DB)
	for i := range 3 {
		p, err := db.PrepareInbox(riscd.InboxEntry{Iss: "https://accounts.google.com", JTI: fmt.Sprint("backup-jti-", i),
			Raw: "h.p.s", Claims: []byte(`{"events":{}}`)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.AppendInbox(context.Background(), []boltdb.PreparedInbox{p}); err != nil {
			t.Fatal(err)
		}
	}

	dir := t.TempDir()
	dest := filepath.Join(dir, "backup.db")
	code, out, errOut := runCLI(t, nil, "store", "backup", dest, "--config", cfg, "--internal-url", internal)
	if code != exitOK || !strings.Contains(out, "grants 1,") || !strings.Contains(out, "inbox 3,") || !strings.Contains(out, "ok:") {
		t.Fatalf("store backup: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the backup's directory holds %v, want the backup alone", entries)
	}
	code, out, errOut = runCLI(t, nil, "store", "check", "--config", cfg, "--store", dest)
	if code != exitOK || !strings.Contains(out, "grants 1,") || !strings.Contains(out, "inbox 3 ") {
		t.Errorf("store check of the backup: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	before, _ := os.ReadFile(dest)
	code, _, errOut = runCLI(t, nil, "store", "backup", dest, "--config", cfg, "--internal-url", internal)
	if code != exitUsage || !strings.Contains(errOut, dest+" exists") {
		t.Errorf("backup over an existing file: exit %d, stderr %q; want %d and a refusal", code, errOut, exitUsage)
	}
	if after, _ := os.ReadFile(dest); string(after) != string(before) {
		t.Error("a refused backup changed the existing file")
	}
}
