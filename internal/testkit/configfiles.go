package testkit

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
)

// ConfigClientID is the OAuth client ID of the client_secret.json that
// WriteConfigFiles writes.
const ConfigClientID = "123-abc.apps.googleusercontent.com"

// ConfigFiles are the paths WriteConfigFiles wrote, all in Dir.
type ConfigFiles struct {
	Dir, Config, Secrets, Key, Admin, App string
}

// WriteConfigFiles writes a valid riscd configuration and every file it
// names (client secrets, store key, admin and app tokens; the store itself
// is left to be created) into a new temporary directory. extraYAML is
// appended to the configuration.
func WriteConfigFiles(tb testing.TB, extraYAML string) ConfigFiles {
	tb.Helper()
	dir := tb.TempDir()
	f := ConfigFiles{
		Dir:     dir,
		Config:  filepath.Join(dir, "riscd.yaml"),
		Secrets: filepath.Join(dir, "client_secret.json"),
		Key:     filepath.Join(dir, "store.key"),
		Admin:   filepath.Join(dir, "admin.token"),
		App:     filepath.Join(dir, "app.token"),
	}
	MustWrite(tb, f.Secrets, `{"web":{"client_id":"`+ConfigClientID+`","project_id":"p","auth_uri":"http://127.0.0.1:1/o/oauth2/v2/auth","token_uri":"http://127.0.0.1:1/token","client_secret":"GOCSPX-test-secret","redirect_uris":["https://riscd.example.com/oauth2callback","http://localhost:8080/oauth2callback"]}}`)
	MustWrite(tb, f.Key, base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n")
	MustWrite(tb, f.Admin, "admin-token-0123456789abcdef\n")
	MustWrite(tb, f.App, "app-token-0123456789abcdef\n")
	MustWrite(tb, f.Config, `public_url: https://riscd.example.com
listen: 127.0.0.1:0
internal:
  listen: 127.0.0.1:0
  admin_token_file: `+f.Admin+`
  app_token_file: `+f.App+`
store:
  path: `+filepath.Join(dir, "riscd.db")+`
  key_file: `+f.Key+`
google:
  client_secrets_file: `+f.Secrets+`
`+extraYAML)
	return f
}

// MustWrite writes content to path with mode 0600, or fails tb.
func MustWrite(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
}
