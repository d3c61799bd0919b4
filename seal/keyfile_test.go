package seal_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/seal"
)

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.key")
	k, created, err := seal.LoadOrCreateKeyFile(path)
	if err != nil || !created || k.IsZero() {
		t.Fatalf("first call: %v, created %v, %v", k, created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	again, created, err := seal.LoadOrCreateKeyFile(path)
	if err != nil || created || !again.Equal(k) {
		t.Fatalf("second call: %v (want %v), created %v, %v", again, k, created, err)
	}
	read, err := seal.ReadKeyFile(path)
	if err != nil || !read.Equal(k) {
		t.Fatalf("ReadKeyFile: %v, %v", read, err)
	}
}

func TestReadKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := seal.ReadKeyFile(filepath.Join(dir, "missing.key"))
	if err == nil || err.Error() != "no such file" || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v, want \"no such file\" wrapping fs.ErrNotExist", err)
	}
	bad := filepath.Join(dir, "bad.key")
	const text = "not-a-key-but-a-secret-looking-text"
	if err := os.WriteFile(bad, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = seal.ReadKeyFile(bad)
	if !errors.Is(err, riscd.ErrInvalid) || strings.Contains(err.Error(), text) {
		t.Fatalf("bad key file: %v, want ErrInvalid without the file's text", err)
	}
	// A bad file that exists is reported, never replaced.
	if _, created, err := seal.LoadOrCreateKeyFile(bad); err == nil || created {
		t.Fatalf("LoadOrCreateKeyFile of a bad file: created %v, %v", created, err)
	}
	if data, _ := os.ReadFile(bad); string(data) != text {
		t.Fatalf("bad key file rewritten: %q", data)
	}
}
