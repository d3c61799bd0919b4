package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/config"
)

const dbPassword = "s3cret-Pa55word"

// With store.engine postgres, no command prints the database password,
// whether it comes from store.url, store.password_file or PGPASSWORD:
// config check (passing or failing), serve and store check failing to open
// the store, and the bbolt-only store commands, which refuse to run.
func TestStorePasswordNeverPrinted(t *testing.T) {
	f := writeTestFiles(t, "")
	pwFile := filepath.Join(f.dir, "db.password")
	mustWrite(t, pwFile, dbPassword+"\n")
	inURL := "postgres://riscd:" + dbPassword + "@127.0.0.1:1/riscd?sslmode=disable"
	plain := "postgres://riscd@127.0.0.1:1/riscd?sslmode=disable"
	cases := []struct {
		name    string
		environ []string
		args    []string
		code    int
	}{
		{"config check, password in the URL", []string{"RISCD_STORE_URL=" + inURL}, []string{"config", "check"}, exitOK},
		{"config check, password file", []string{"RISCD_STORE_URL=" + plain, "RISCD_STORE_PASSWORD_FILE=" + pwFile}, []string{"config", "check"}, exitOK},
		{"config check, password twice", []string{"RISCD_STORE_URL=" + inURL, "RISCD_STORE_PASSWORD_FILE=" + pwFile}, []string{"config", "check"}, exitUsage},
		{"config check, bad URL", []string{"RISCD_STORE_URL=postgres://riscd:" + dbPassword + "@127.0.0.1:port/%zz"}, []string{"config", "check"}, exitUsage},
		{"serve, password in the URL", []string{"RISCD_STORE_URL=" + inURL}, []string{"serve"}, exitUsage},
		{"serve, PGPASSWORD", []string{"RISCD_STORE_URL=" + plain, "PGPASSWORD=" + dbPassword}, []string{"serve"}, exitUsage},
		{"store check", []string{"RISCD_STORE_URL=" + inURL}, []string{"store", "check"}, exitUsage},
		{"store rotate-key", []string{"RISCD_STORE_URL=" + inURL}, []string{"store", "rotate-key", "--new-key-file", filepath.Join(f.dir, "new.key")}, exitUsage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			environ := append([]string{"RISCD_STORE_ENGINE=postgres"}, c.environ...)
			code, out, errOut := runCLI(t, environ, append(c.args, "--config", f.config)...)
			if code != c.code {
				t.Errorf("exit %d, want %d; stdout %q, stderr %q", code, c.code, out, errOut)
			}
			if strings.Contains(out+errOut, dbPassword) {
				t.Errorf("the output shows the password: stdout %q, stderr %q", out, errOut)
			}
		})
	}
}

// redact cuts the store URL and password out of an engine's error, and
// keeps it matchable.
func TestRedactStoreError(t *testing.T) {
	c := config.Store{Engine: config.EnginePostgres, URL: "postgres://riscd:p%40ss@db/riscd?sslmode=disable"}
	s := &config.Secrets{StorePassword: riscd.Secret("other-secret")}
	for _, err := range []error{
		fmt.Errorf("cannot parse %s: %w", c.URL, riscd.ErrInvalid),
		fmt.Errorf("failed to connect to user=riscd password=p@ss: %w", riscd.ErrInvalid),
		fmt.Errorf("auth with other-secret failed: %w", riscd.ErrInvalid),
	} {
		got := redact(err, c, s)
		if msg := got.Error(); strings.Contains(msg, "p@ss") || strings.Contains(msg, "p%40ss") || strings.Contains(msg, "other-secret") || !strings.Contains(msg, "[redacted]") {
			t.Errorf("redact(%q) = %q", err, msg)
		}
		if !errors.Is(got, riscd.ErrInvalid) {
			t.Errorf("redact(%q) no longer matches its sentinel", err)
		}
	}
	plain := errors.New("connection refused")
	if got := redact(plain, c, s); got != plain {
		t.Errorf("an error without secrets was changed: %v", got)
	}
}
