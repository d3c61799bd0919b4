package main

import (
	"errors"
	"os"
	"testing"

	"github.com/riscd/riscd/config"
	"github.com/riscd/riscd/internal/testkit"
)

// testFiles are the files testkit.WriteConfigFiles writes, under the
// names these tests use.
type testFiles struct {
	dir, config, secrets, key, admin, app string
}

const testClientID = testkit.ConfigClientID

func writeTestFiles(t *testing.T, extraYAML string) testFiles {
	t.Helper()
	f := testkit.WriteConfigFiles(t, extraYAML)
	return testFiles{dir: f.Dir, config: f.Config, secrets: f.Secrets, key: f.Key, admin: f.Admin, app: f.App}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	testkit.MustWrite(t, path, content)
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
