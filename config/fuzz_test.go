package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzLoadConfig feeds arbitrary YAML and RISCD_* environment to
// Load and then Validate: neither may panic, and every problem they
// report is an Error naming where it is: the file, or the environment
// variable whose value is wrong. The environment is one NAME=value per line.
func FuzzLoadConfig(f *testing.F) {
	// Small seeds: the fuzzer minimises every new input it finds, which is
	// slow for long ones (config.example.yaml is covered by config_test.go).
	f.Add([]byte("public_url: https://riscd.example.com\nlisten: 127.0.0.1:8080\ninternal:\n  listen: 127.0.0.1:9090\n"+
		"store:\n  path: riscd.db\n  key_file: k\ngoogle:\n  client_secrets_file: c.json\n"), "RISCD_STORE_PATH=/tmp/x.db\nRISCD_RISC_MAX_ATTEMPTS=3")
	f.Add([]byte("risc:\n  path: /risc\n  algorithms: [RS256, ES256]\n  max_attempts: 10\n  dry_run: true\n"), "")
	f.Add([]byte("log:\n  format: json\n  level: debug\n"), "RISCD_LOG_LEVEL=warn")
	f.Add([]byte("public_url: https://riscd.example.com\n"), "RISCD_GOOGLE_SCOPES=[a, b]")
	f.Add([]byte("risc:\n  actions:\n    account-disabled/hijacking: [end_sessions, notify]\n"), "RISCD_RISC_ACTIONS={sessions-revoked: [record]}")
	f.Add([]byte("risc:\n  transmitters:\n    - name: okta\n      format: ssf\n"), "RISCD_RISC_TRANSMITTERS=[{name: x, issuer: https://x, jwks_url: https://x/k, audiences: [a], format: google}]")
	f.Add([]byte("google:\n  features: {drive: {scope: s, test_url: 'http://127.0.0.1/x'}}\n"), "RISCD_GOOGLE_FEATURES={a: {scope: b}}")
	f.Add([]byte("companion:\n  refresh_lead_time: 90s\n  keepalive_interval: 720h\n"), "RISCD_COMPANION_RECENT_USE_WINDOW=-1h")
	f.Add([]byte("- a\n- b\n"), "")
	f.Add([]byte("a: &x [*x]\n"), "")
	f.Add([]byte("listen: {a: b}\nunknown: 1\n"), "RISCD_NOPE=1\nRISCD_LISTEN")
	f.Add([]byte("\xff\xfe"), "RISCD_RISC_DRY_RUN=maybe")
	f.Fuzz(func(t *testing.T, data []byte, env string) {
		path := filepath.Join(t.TempDir(), "riscd.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		environ := strings.Split(env, "\n")
		cfg, err := Load(path, environ)
		if err != nil {
			wantNamesFile(t, "Load", path, environ, err)
			return
		}
		if err := cfg.Validate(path); err != nil {
			wantNamesFile(t, "Validate", path, environ, err)
		}
	})
}

// wantNamesFile checks that err is Errors whose every entry names
// the file or a RISCD_ variable set in environ, and that the error's text
// has one line per entry, starting with that name.
func wantNamesFile(t *testing.T, what, path string, environ []string, err error) {
	t.Helper()
	var ces Errors
	if !errors.As(err, &ces) || len(ces) == 0 {
		t.Fatalf("%s error %T %q, want Errors", what, err, err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(ces) {
		t.Errorf("%s: %d problems in %d lines of text, want one line each", what, len(ces), len(lines))
	}
	for i, ce := range ces {
		where := ce.File == path || (strings.HasPrefix(ce.File, envPrefix) && slices.ContainsFunc(environ, func(kv string) bool {
			return strings.HasPrefix(kv, ce.File+"=")
		}))
		if !where {
			t.Errorf("%s: problem %q names %q, want the file %q or a variable of the environment", what, ce.Msg, ce.File, path)
		}
		if i < len(lines) && !strings.HasPrefix(lines[i], ce.File) {
			t.Errorf("%s: error line %q does not start with %q", what, lines[i], ce.File)
		}
	}
}
