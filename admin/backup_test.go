package admin_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/admin/admintest"
	"github.com/riscd/riscd/store/boltdb"
)

// POST /admin/store/backup streams a whole store file holding what the
// store holds; it needs the admin token.
func TestBackupStore(t *testing.T) {
	key, _, err := boltdb.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	src, err := boltdb.Open(context.Background(), boltdb.Options{Path: filepath.Join(t.TempDir(), "riscd.db"), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	g, err := src.CreateGrant(context.Background(), riscd.Grant{Sub: "alice", Scopes: []string{"openid"}, Status: riscd.GrantActive})
	if err != nil {
		t.Fatal(err)
	}
	e := admintest.New(t, func(cfg *admin.Config) { cfg.Store = src })
	if r := e.Do(http.MethodPost, "/admin/store/backup", "", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("without the token: status %d, want 401", r.Status)
	}
	r := e.Do(http.MethodPost, "/admin/store/backup", admintest.AdminToken, nil)
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("backup: status %d, type %q", r.Status, r.Header.Get("Content-Type"))
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(path, r.Body, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := boltdb.Open(context.Background(), boltdb.Options{Path: path, Key: key})
	if err != nil {
		t.Fatalf("open the backup: %v", err)
	}
	defer db.Close()
	if got, err := db.Grant(context.Background(), g.ID); err != nil || got.Sub != "alice" {
		t.Errorf("the backup's grant %s: %+v %v", g.ID, got, err)
	}
}

// noBackup is a store whose engine has no online backup.
type noBackup struct{ admin.Store }

// An engine without an online backup answers 501, saying to use the
// database's own tools.
func TestBackupStoreUnsupported(t *testing.T) {
	e := admintest.New(t, func(cfg *admin.Config) { cfg.Store = noBackup{cfg.Store} })
	r := e.Do(http.MethodPost, "/admin/store/backup", admintest.AdminToken, nil)
	if r.Status != http.StatusNotImplemented || r.ErrorCode(t) != admin.CodeNotImplemented {
		t.Errorf("backup without support: %d %s", r.Status, r.Body)
	}
}
