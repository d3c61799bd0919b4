package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Relative paths in the configuration are relative to its folder, wherever
// riscd runs from; the paths riscd prints are absolute, so that a hint
// followed from another folder still names the right file.
func TestRelativePathsFollowTheConfigFile(t *testing.T) {
	f := writeTestFiles(t, "")
	cfg := readFile(t, f.config)
	for _, p := range []string{f.admin, f.app, filepath.Join(f.dir, "riscd.db"), f.key, f.secrets} {
		cfg = strings.ReplaceAll(cfg, p, filepath.Base(p))
	}
	mustWrite(t, f.config, cfg)
	if strings.Contains(cfg, f.dir) {
		t.Fatalf("the configuration still names its folder:\n%s", cfg)
	}
	elsewhere := t.TempDir()
	t.Chdir(elsewhere)

	if code, out, errOut := runCLI(t, nil, "config", "check", "--config", f.config); code != exitOK {
		t.Fatalf("config check from another folder: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	l, err := load(f.config, nil, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(f.dir, "riscd.db"); l.cfg.Store.Path != want {
		t.Errorf("store.path %q, want %q", l.cfg.Store.Path, want)
	}

	code, out, errOut := runCLI(t, nil, "store", "rotate-key", "--config", f.config, "--new-key-file", "store2.key")
	newKey := filepath.Join(elsewhere, "store2.key")
	if code != exitOK || !strings.Contains(out, "next: set store.key_file to "+newKey+" ") || !strings.Contains(out, "("+f.key+")") {
		t.Fatalf("rotate-key: exit %d, stdout %q, stderr %q; want the new key named %s and the old one %s", code, out, errOut, newKey, f.key)
	}
	if _, err := os.Stat(newKey); err != nil {
		t.Errorf("the new key is not where the hint says: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "riscd.db")); err != nil {
		t.Errorf("the store is not beside the configuration: %v", err)
	}
}
