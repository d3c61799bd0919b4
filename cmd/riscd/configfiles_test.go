package main

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/riscd/riscd/config"
)

// testFiles writes a valid configuration and the files it names into a temp
// dir and returns the config path. Extra YAML is appended to the file.
type testFiles struct {
	dir, config, secrets, key, admin, app string
}

const testClientID = "123-abc.apps.googleusercontent.com"

func writeTestFiles(t *testing.T, extraYAML string) testFiles {
	t.Helper()
	dir := t.TempDir()
	f := testFiles{
		dir:     dir,
		config:  filepath.Join(dir, "riscd.yaml"),
		secrets: filepath.Join(dir, "client_secret.json"),
		key:     filepath.Join(dir, "store.key"),
		admin:   filepath.Join(dir, "admin.token"),
		app:     filepath.Join(dir, "app.token"),
	}
	mustWrite(t, f.secrets, `{"web":{"client_id":"`+testClientID+`","project_id":"p","auth_uri":"http://127.0.0.1:1/o/oauth2/v2/auth","token_uri":"http://127.0.0.1:1/token","client_secret":"GOCSPX-test-secret","redirect_uris":["https://riscd.example.com/oauth2callback","http://localhost:8080/oauth2callback"]}}`)
	mustWrite(t, f.key, base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n")
	mustWrite(t, f.admin, "admin-token-0123456789abcdef\n")
	mustWrite(t, f.app, "app-token-0123456789abcdef\n")
	mustWrite(t, f.config, `public_url: https://riscd.example.com
listen: 127.0.0.1:0
internal:
  listen: 127.0.0.1:0
  admin_token_file: `+f.admin+`
  app_token_file: `+f.app+`
store:
  path: `+filepath.Join(dir, "riscd.db")+`
  key_file: `+f.key+`
google:
  client_secrets_file: `+f.secrets+`
`+extraYAML)
	return f
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// configErrors loads and validates path (as serve does) and returns the problems.
func configErrors(t *testing.T, path string, environ []string) config.Errors {
	t.Helper()
	_, err := load(path, environ, secretsOptions{needKey: true})
	if err == nil {
		return nil
	}
	var ce config.Errors
	if !errors.As(err, &ce) {
		t.Fatalf("load: got %T %v, want config.Errors", err, err)
	}
	return ce
}
