package config

import (
	"path/filepath"
	"strings"
	"testing"
)

const storePassword = "s3cret-Pa55word"

// storeResolve resolves the test configuration under environ and returns
// what it loaded or the problems.
func storeResolve(t *testing.T, environ []string) (*Loaded, Errors) {
	t.Helper()
	f := writeTestFiles(t, "")
	r, err := Resolve(f.config, environ, SecretsOptions{NeedKey: true})
	if err != nil {
		errs, ok := err.(Errors)
		if !ok {
			t.Fatalf("Resolve: %T %v, want Errors", err, err)
		}
		return nil, errs
	}
	return r, nil
}

// The engine is bbolt unless store.engine says postgres; postgres needs a
// postgres:// URL and takes no path.
func TestStoreEngine(t *testing.T) {
	r, errs := storeResolve(t, nil)
	if errs != nil || r.Config.Store.Engine != EngineBolt || r.Config.Store.Where() != r.Config.Store.Path {
		t.Fatalf("default: %v, engine %q", errs, r.Config.Store.Engine)
	}
	r, errs = storeResolve(t, []string{"RISCD_STORE_ENGINE=postgres", "RISCD_STORE_URL=postgres://riscd@db.example.com:5432/riscd?sslmode=verify-full", "RISCD_STORE_PATH="})
	if errs != nil {
		t.Fatalf("postgres: %v", errs)
	}
	if got, want := r.Config.Store.Where(), "postgres://db.example.com:5432/riscd"; got != want {
		t.Errorf("Where = %q, want %q", got, want)
	}
	if !r.Secrets.StorePassword.IsZero() {
		t.Error("a password appeared from nowhere")
	}

	for _, c := range []struct {
		name    string
		environ []string
		key     string
		msg     string
	}{
		{"unknown engine", []string{"RISCD_STORE_ENGINE=sqlite"}, "store.engine", "must be bbolt"},
		{"bbolt without path", []string{"RISCD_STORE_PATH="}, "store.path", "required with store.engine bbolt"},
		{"postgres without url", []string{"RISCD_STORE_ENGINE=postgres"}, "store.url", "required with store.engine postgres"},
		{"another scheme", []string{"RISCD_STORE_ENGINE=postgres", "RISCD_STORE_URL=mysql://u:" + storePassword + "@h/db"}, "store.url", "postgres://"},
		{"no host", []string{"RISCD_STORE_ENGINE=postgres", "RISCD_STORE_URL=postgres:///db?password=" + storePassword}, "store.url", "host"},
		{"unparsable", []string{"RISCD_STORE_ENGINE=postgres", "RISCD_STORE_URL=postgres://u:" + storePassword + "@h:port/%zz"}, "store.url", "not a URL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errs := storeResolve(t, c.environ)
			if len(errs) != 1 || errs[0].Key != c.key || !strings.Contains(errs[0].Msg, c.msg) || !strings.HasSuffix(errs[0].File, "riscd.yaml") {
				t.Fatalf("errors %v, want one naming riscd.yaml, %s and %q", errs, c.key, c.msg)
			}
			if strings.Contains(errs.Error(), storePassword) {
				t.Errorf("the error shows the password: %v", errs)
			}
		})
	}
}

// The password comes from the URL, else store.password_file (trimmed),
// else PGPASSWORD; given both in the URL and in a file it is refused, and
// no message ever shows it.
func TestStorePassword(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "db.password")
	mustWrite(t, file, "  "+storePassword+"\n")
	empty := filepath.Join(dir, "empty")
	mustWrite(t, empty, "\n")
	pg := []string{"RISCD_STORE_ENGINE=postgres"}
	withURL := func(u string, more ...string) []string {
		return append(append(append([]string(nil), pg...), "RISCD_STORE_URL="+u), more...)
	}
	const plain = "postgres://riscd@db.example.com/riscd"

	r, errs := storeResolve(t, withURL(plain, "RISCD_STORE_PASSWORD_FILE="+file, "PGPASSWORD=other"))
	if errs != nil || r.Secrets.StorePassword.Reveal() != storePassword {
		t.Errorf("password file: %v, password read %v", errs, r != nil && r.Secrets.StorePassword.Reveal() == storePassword)
	}
	r, errs = storeResolve(t, withURL(plain, "PGPASSWORD="+storePassword))
	if errs != nil || r.Secrets.StorePassword.Reveal() != storePassword {
		t.Errorf("PGPASSWORD: %v, password taken %v", errs, r != nil && r.Secrets.StorePassword.Reveal() == storePassword)
	}
	r, errs = storeResolve(t, withURL("postgres://riscd:"+storePassword+"@db.example.com/riscd", "PGPASSWORD=other"))
	if errs != nil || !r.Secrets.StorePassword.IsZero() {
		t.Errorf("password in the URL: %v; StorePassword set %v, want empty (the URL has it)", errs, r != nil && !r.Secrets.StorePassword.IsZero())
	}
	if r != nil && strings.Contains(r.Config.Store.Where(), storePassword) {
		t.Errorf("Where shows the password: %s", r.Config.Store.Where())
	}

	for _, c := range []struct {
		name    string
		environ []string
		msg     string
	}{
		{"twice", withURL("postgres://riscd:"+storePassword+"@db.example.com/riscd", "RISCD_STORE_PASSWORD_FILE="+file), "given twice"},
		{"twice as a parameter", withURL(plain+"?password="+storePassword, "RISCD_STORE_PASSWORD_FILE="+file), "given twice"},
		{"missing file", withURL(plain, "RISCD_STORE_PASSWORD_FILE="+filepath.Join(dir, "nope")), "nope"},
		{"empty file", withURL(plain, "RISCD_STORE_PASSWORD_FILE="+empty), "empty file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errs := storeResolve(t, c.environ)
			if len(errs) != 1 || errs[0].Key != "store.password_file" || !strings.Contains(errs[0].Msg, c.msg) {
				t.Fatalf("errors %v, want one naming store.password_file and %q", errs, c.msg)
			}
			if strings.Contains(errs.Error(), storePassword) {
				t.Errorf("the error shows the password: %v", errs)
			}
		})
	}
}
