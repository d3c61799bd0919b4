package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/lifecycle"
)

// riscd webhook-secret prints a new secret in the form riscd reads:
// "whsec_" and base64 of 32 random bytes; --file writes one to a new
// file of mode 0600 and refuses to overwrite.
func TestWebhookSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 2 {
		code, out, errOut := runCLI(t, nil, "webhook-secret")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		secret := strings.TrimSuffix(out, "\n")
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		if !strings.HasPrefix(secret, "whsec_") || err != nil || len(key) != 32 {
			t.Fatalf("printed %q: want whsec_ and base64 of 32 bytes (%v)", out, err)
		}
		if seen[secret] {
			t.Fatal("the same secret twice")
		}
		seen[secret] = true
		if _, err := lifecycle.New(lifecycle.Config{Store: riscd.Shortcuts{}, RevokeURL: "http://127.0.0.1:1/revoke",
			WebhookURL: "http://127.0.0.1:1/hooks", WebhookSecret: riscd.Secret(secret)}); err != nil {
			t.Errorf("riscd refuses the secret it printed: %v", err)
		}
	}

	path := filepath.Join(t.TempDir(), "webhook.secret")
	if code, out, errOut := runCLI(t, nil, "webhook-secret", "--file", path); code != exitOK || strings.Contains(out, "whsec_") {
		t.Fatalf("--file: exit %d, stdout %q, stderr %q; want 0 and no secret printed", code, out, errOut)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 || !strings.HasPrefix(string(data), "whsec_") {
		t.Errorf("file mode %v, content prefix %.6q; want 0600 and whsec_", fi.Mode().Perm(), data)
	}
	if code, _, errOut := runCLI(t, nil, "webhook-secret", "--file", path); code != exitUsage || !strings.Contains(errOut, "exists") {
		t.Errorf("over an existing file: exit %d, stderr %q; want a usage error", code, errOut)
	}
	if again, _ := os.ReadFile(path); string(again) != string(data) {
		t.Error("the existing secret file was changed")
	}
}
