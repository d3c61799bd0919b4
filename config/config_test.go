package config

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/stream"
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

// configErrors loads and validates path (as serve does) and returns the problems.
func configErrors(t *testing.T, path string, environ []string) Errors {
	t.Helper()
	_, err := Resolve(path, environ, SecretsOptions{NeedKey: true})
	if err == nil {
		return nil
	}
	var ce Errors
	if !errors.As(err, &ce) {
		t.Fatalf("Resolve: got %T %v, want Errors", err, err)
	}
	return ce
}

func TestLoadValidConfig(t *testing.T) {
	f := writeTestFiles(t, "")
	l, err := Resolve(f.config, nil, SecretsOptions{NeedKey: true})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if got, want := l.Config.RedirectURI(), "https://riscd.example.com/oauth2callback"; got != want {
		t.Errorf("RedirectURI = %q, want %q", got, want)
	}
	if got, want := l.Config.RISC.Path, "/risc"; got != want {
		t.Errorf("risc.path default = %q, want %q", got, want)
	}
	if got := l.Config.RISC.Audiences; !slices.Equal(got, []string{testClientID}) {
		t.Errorf("risc.audiences default = %q, want the client id", got)
	}
	if got, want := l.Config.Google.RevokeURL, defaultRevokeURL; got != want {
		t.Errorf("google.revoke_url default = %q, want %q", got, want)
	}
	if got := l.Secrets.ClientSecret.Reveal(); got != "GOCSPX-test-secret" {
		t.Errorf("client secret not read")
	}
	if l.Secrets.AdminToken.Reveal() != "admin-token-0123456789abcdef" {
		t.Errorf("admin token not read (trailing newline must be trimmed)")
	}
}

func TestUnknownKeysNameKeyAndLine(t *testing.T) {
	f := writeTestFiles(t, "risc:\n  pathh: /x\n  audiences: [a]\nstor:\n  path: x\n")
	errs := configErrors(t, f.config, nil)
	if len(errs) != 2 {
		t.Fatalf("got %d errors, want 2: %v", len(errs), errs)
	}
	want := []struct {
		key  string
		line int
	}{{"risc.pathh", 13}, {"stor", 15}}
	for i, w := range want {
		if errs[i].Key != w.key || errs[i].Line != w.line || errs[i].File != f.config {
			t.Errorf("error %d = %+v, want key %q line %d in %s", i, errs[i], w.key, w.line, f.config)
		}
		if !strings.Contains(errs[i].Error(), "unknown key") {
			t.Errorf("error %d = %q, want it to say unknown key", i, errs[i])
		}
	}
	if got := errs[0].Error(); !strings.HasPrefix(got, f.config+":13: risc.pathh: unknown key") {
		t.Errorf("message = %q, want file:line: key: unknown key", got)
	}
}

func TestUnknownKeyInsideFeature(t *testing.T) {
	f := writeTestFiles(t, "  features:\n    drive:\n      scope: s\n      test_ur: https://x.example.com\n")
	errs := configErrors(t, f.config, nil)
	if len(errs) != 1 || errs[0].Key != "google.features.drive.test_ur" || errs[0].Line != 15 {
		t.Fatalf("got %v, want one unknown key google.features.drive.test_ur at line 15", errs)
	}
}

func TestConfigSyntaxAndTypeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"wrong type", "risc:\n  audiences: {a: b}\n", ".yaml:13: risc.audiences: cannot unmarshal"},
		{"wrong type in a list", "risc:\n  audiences: [[1]]\n", ".yaml:13: risc.audiences: cannot unmarshal"},
		{"not a duration", "risc:\n  stream_check_interval: 90d\n", `.yaml:13: risc.stream_check_interval: "90d" is not a duration`},
		{"duplicate key", "listen: 127.0.0.1:1\n", "already defined"},
		{"bad syntax", "risc: [\n", "line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := writeTestFiles(t, tc.yaml)
			errs := configErrors(t, f.config, nil)
			if len(errs) == 0 || !strings.Contains(errs.Error(), tc.want) || !strings.Contains(errs.Error(), f.config) {
				t.Fatalf("got %v, want an error naming the file and %q", errs, tc.want)
			}
		})
	}
}

func TestConfigFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	errs := configErrors(t, path, nil)
	if len(errs) != 1 || errs[0].Error() != path+": no such file" {
		t.Fatalf("got %v, want %q", errs, path+": no such file")
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	f := writeTestFiles(t, "")
	mustWrite(t, f.config, `public_url: ftp://x
listen: nope
internal:
  listen: 127.0.0.1:9
store:
  path: ""
google:
  revoke_url: not a url
  features:
    "Bad Name":
      scope: ""
risc:
  path: /authorize
  issuer: https://only-issuer.example.com
log:
  format: xml
`)
	errs := configErrors(t, f.config, nil)
	wantKeys := []string{
		"google.client_secrets_file", "google.features.Bad Name", "google.features.Bad Name.scope",
		"google.revoke_url", "listen", "log.format", "public_url", "risc.issuer", "risc.path", "store.key_file", "store.path",
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Key)
	}
	for _, k := range wantKeys {
		if !slices.Contains(got, k) {
			t.Errorf("no error for %s; got %q", k, got)
		}
	}
}

func TestEnvOverrides(t *testing.T) {
	f := writeTestFiles(t, "")
	dbPath := filepath.Join(f.dir, "other.db")
	environ := []string{
		"RISCD_STORE_PATH=" + dbPath,
		"RISCD_INTERNAL_LISTEN=127.0.0.1:0",
		"RISCD_PUBLIC_URL=http://localhost:8080",
		"RISCD_GOOGLE_SCOPES=openid, https://www.googleapis.com/auth/calendar.readonly",
		"RISCD_RISC_AUDIENCES=[aud-1, aud-2]",
		"RISCD_GOOGLE_FEATURES={drive: {scope: s1, test_url: 'https://t.example.com/x'}}",
		"RISCD_INTERNAL_ADMIN_TOKEN=env-admin-token-0123456789",
		"RISCD_STORE_KEY=" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"PATH=/usr/bin",
	}
	l, err := Resolve(f.config, environ, SecretsOptions{NeedKey: true})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	c := l.Config
	if c.Store.Path != dbPath || c.Internal.Listen != "127.0.0.1:0" || c.PublicURL != "http://localhost:8080" {
		t.Errorf("string overrides not applied: %+v", c)
	}
	if want := []string{"openid", "https://www.googleapis.com/auth/calendar.readonly"}; !slices.Equal(c.Google.Scopes, want) {
		t.Errorf("scopes = %q, want %q", c.Google.Scopes, want)
	}
	if want := []string{"aud-1", "aud-2"}; !slices.Equal(c.RISC.Audiences, want) {
		t.Errorf("audiences = %q, want %q", c.RISC.Audiences, want)
	}
	if got := c.Google.Features["drive"]; got.Scope != "s1" || got.TestURL != "https://t.example.com/x" {
		t.Errorf("features = %+v", c.Google.Features)
	}
	if l.Secrets.AdminToken.Reveal() != "env-admin-token-0123456789" {
		t.Errorf("RISCD_INTERNAL_ADMIN_TOKEN must win over the file")
	}
}

func TestEnvOverrideErrors(t *testing.T) {
	f := writeTestFiles(t, "")
	errs := configErrors(t, f.config, []string{
		"RISCD_GOOGLE_FEATURES={drive: {scop: x}}",
		"RISCD_RISC_AUDIENCES=[unclosed",
	})
	if len(errs) != 2 {
		t.Fatalf("got %v, want 2 errors", errs)
	}
	if !strings.Contains(errs.Error(), "RISCD_GOOGLE_FEATURES") || !strings.Contains(errs.Error(), "google.features.drive.scop") {
		t.Errorf("got %q, want the variable and the unknown key named", errs.Error())
	}
	if !strings.Contains(errs.Error(), "RISCD_RISC_AUDIENCES") {
		t.Errorf("got %q, want RISCD_RISC_AUDIENCES named", errs.Error())
	}
}

func TestUnknownEnvIsWarned(t *testing.T) {
	f := writeTestFiles(t, "")
	l, err := Resolve(f.config, []string{"RISCD_STORE_PAHT=x", "RISCD_STORE_PATH=" + filepath.Join(f.dir, "a.db")}, SecretsOptions{NeedKey: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(l.Warnings, func(w string) bool { return strings.HasPrefix(w, "RISCD_STORE_PAHT:") }) {
		t.Errorf("warnings = %q, want RISCD_STORE_PAHT reported", l.Warnings)
	}
}

func TestSecretsErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(f testFiles)
		environ []string
		key     string
		want    string
	}{
		{"secrets file missing", func(f testFiles) { os.Remove(f.secrets) }, nil, "google.client_secrets_file", "no such file"},
		{"secrets not json", func(f testFiles) { mustWrite(t, f.secrets, "{") }, nil, "google.client_secrets_file", "invalid JSON"},
		{"installed client", func(f testFiles) { mustWrite(t, f.secrets, `{"installed":{}}`) }, nil, "google.client_secrets_file", "Web application"},
		{"missing client_secret", func(f testFiles) {
			mustWrite(t, f.secrets, `{"web":{"client_id":"x","auth_uri":"https://a.example.com","token_uri":"https://t.example.com","redirect_uris":[]}}`)
		}, nil, "google.client_secrets_file", "missing web.client_secret"},
		{"redirect uri not registered", func(f testFiles) {
			mustWrite(t, f.secrets, `{"web":{"client_id":"x","client_secret":"s","auth_uri":"https://a.example.com","token_uri":"https://t.example.com","redirect_uris":["https://riscd.example.com/oauth2callback/"]}}`)
		}, nil, "public_url", "not among the redirect_uris"},
		{"key wrong size", func(f testFiles) { mustWrite(t, f.key, base64.StdEncoding.EncodeToString(make([]byte, 16))) }, nil, "store.key_file", "16 bytes, want 32"},
		{"key wrong size: how to make one", func(f testFiles) { mustWrite(t, f.key, base64.StdEncoding.EncodeToString(make([]byte, 16))) }, nil, "store.key_file", "head -c 32 /dev/urandom | base64 >"},
		{"key not base64", func(f testFiles) { mustWrite(t, f.key, "!!!not base64!!!") }, nil, "store.key_file", ""},
		{"key file missing", func(f testFiles) { os.Remove(f.key) }, nil, "store.key_file", "no such file"},
		{"key env wrong size", nil, []string{"RISCD_STORE_KEY=" + base64.StdEncoding.EncodeToString(make([]byte, 31))}, "RISCD_STORE_KEY", "head -c 32 /dev/urandom | base64"},
		{"admin token too short", func(f testFiles) { mustWrite(t, f.admin, "short") }, nil, "internal.admin_token_file", "at least 16"},
		{"admin token empty", func(f testFiles) { mustWrite(t, f.admin, "\n") }, nil, "internal.admin_token_file", "empty"},
		{"same tokens", func(f testFiles) { mustWrite(t, f.app, "admin-token-0123456789abcdef") }, nil, "internal.app_token_file", "differ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := writeTestFiles(t, "")
			if tc.prepare != nil {
				tc.prepare(f)
			}
			errs := configErrors(t, f.config, tc.environ)
			if len(errs) != 1 {
				t.Fatalf("got %d errors %v, want 1", len(errs), errs)
			}
			if errs[0].Key != tc.key || !strings.Contains(errs[0].Msg, tc.want) || errs[0].File != f.config {
				t.Errorf("got %q, want key %q and %q in %s", errs[0].Error(), tc.key, tc.want, f.config)
			}
			if strings.Contains(errs.Error(), "GOCSPX-test-secret") || strings.Contains(errs.Error(), "admin-token-0123456789abcdef") {
				t.Errorf("error message leaks a secret: %q", errs.Error())
			}
		})
	}
}

func TestPreviousKeyFileMissing(t *testing.T) {
	f := writeTestFiles(t, "")
	cfg := strings.Replace(readFile(t, f.config), "  key_file:", "  previous_key_files: ["+filepath.Join(f.dir, "gone.key")+"]\n  key_file:", 1)
	mustWrite(t, f.config, cfg)
	errs := configErrors(t, f.config, nil)
	if len(errs) != 1 || errs[0].Key != "store.previous_key_files[0]" || !strings.Contains(errs[0].Msg, "no such file") {
		t.Fatalf("got %v, want store.previous_key_files[0]: no such file", errs)
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

func TestFileWarnings(t *testing.T) {
	f := writeTestFiles(t, "")
	if err := os.Chmod(f.secrets, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(f.dir, ".git"), 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := Resolve(f.config, nil, SecretsOptions{NeedKey: true})
	if err != nil {
		t.Fatal(err)
	}
	var perm, git int
	for _, w := range l.Warnings {
		if strings.Contains(w, "readable by group or others") {
			perm++
			if !strings.Contains(w, "google.client_secrets_file") {
				t.Errorf("permission warning %q does not name the key", w)
			}
		}
		if strings.Contains(w, "git work tree") {
			git++
		}
	}
	if perm != 1 {
		t.Errorf("got %d permission warnings, want 1 (only the secrets file is 0644): %q", perm, l.Warnings)
	}
	if git != 4 {
		t.Errorf("got %d git warnings, want 4 (secrets, key, admin and app token files): %q", git, l.Warnings)
	}
}

func TestTransmittersAndAlgorithms(t *testing.T) {
	t.Run("valid", func(t *testing.T) {
		f := writeTestFiles(t, `risc:
  algorithms: [RS256, ES256]
  transmitters:
    - name: okta
      configuration_url: https://okta.example.com/.well-known/ssf-configuration
      audiences: [riscd]
      format: ssf
    - name: keycloak
      issuer: https://kc.example.com/realms/x
      jwks_url: https://kc.example.com/realms/x/protocol/openid-connect/certs
      audiences: [riscd]
      format: ssf
`)
		l, err := Resolve(f.config, nil, SecretsOptions{NeedKey: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(l.Config.RISC.Transmitters); got != 2 {
			t.Errorf("got %d transmitters, want 2", got)
		}
	})
	t.Run("every problem", func(t *testing.T) {
		f := writeTestFiles(t, `risc:
  algorithms: [RS256, none, HS256]
  max_attempts: 0
  transmitters:
    - name: google
      configuration_url: https://x.example.com/c
      issuer: https://x.example.com
      audiences: [a]
      format: google
    - name: ""
      jwks_url: not-a-url
      format: saml
    - name: b
      issuer: https://b.example.com
      jwks_url: ftp://b.example.com/keys
      audiences: [a]
      format: ssf
`)
		errs := configErrors(t, f.config, nil)
		var got []string
		for _, e := range errs {
			got = append(got, e.Key)
		}
		for _, k := range []string{
			"risc.algorithms[1]", "risc.algorithms[2]", "risc.max_attempts",
			"risc.transmitters[0].name", "risc.transmitters[0]",
			"risc.transmitters[1].name", "risc.transmitters[1]", "risc.transmitters[1].audiences", "risc.transmitters[1].format",
			"risc.transmitters[2].jwks_url",
		} {
			if !slices.Contains(got, k) {
				t.Errorf("no error for %s; got %q", k, got)
			}
		}
	})
}

func TestTransmitterPolicyConfig(t *testing.T) {
	t.Run("valid", func(t *testing.T) {
		f := writeTestFiles(t, `risc:
  google: false
  algorithms: [PS256]
  transmitters:
    - name: idp
      issuer: https://idp.example.com
      jwks_url: https://idp.example.com/jwks
      audiences: [riscd]
      format: ssf
      algorithms: [ES256]
      subjects: [email, iss_sub]
      actions:
        caep:session-revoked: [end_sessions, notify]
    - name: other
      issuer: https://other.example.com
      jwks_url: https://other.example.com/jwks
      audiences: [riscd]
      format: ssf
`)
		l, err := Resolve(f.config, nil, SecretsOptions{NeedKey: true})
		if err != nil {
			t.Fatal(err)
		}
		c := l.Config
		if c.RISC.Google || !slices.Equal(c.TransmitterAlgorithms(c.RISC.Transmitters[0]), []string{"ES256"}) ||
			!slices.Equal(c.TransmitterAlgorithms(c.RISC.Transmitters[1]), []string{"PS256"}) {
			t.Errorf("google %v, algorithms %q and %q; want false, ES256, the default PS256", c.RISC.Google,
				c.TransmitterAlgorithms(c.RISC.Transmitters[0]), c.TransmitterAlgorithms(c.RISC.Transmitters[1]))
		}
		if d := Default(); !d.RISC.Google {
			t.Errorf("risc.google defaults to false, want true")
		}
	})
	t.Run("every problem", func(t *testing.T) {
		f := writeTestFiles(t, `risc:
  google: false
  service_account_file: /nonexistent/sa.json
  stream_check_interval: 1h
  transmitters:
    - name: idp
      issuer: https://idp.example.com
      jwks_url: https://idp.example.com/jwks
      audiences: [riscd]
      format: ssf
      algorithms: [HS256]
      subjects: [phone_number]
      actions:
        caep:session-revokd: [notify]
        caep:session-revoked: [explode]
`)
		errs := configErrors(t, f.config, nil)
		var got []string
		for _, e := range errs {
			got = append(got, e.Key)
		}
		for _, k := range []string{
			"risc.transmitters[0].algorithms[0]", "risc.transmitters[0].subjects[0]",
			"risc.transmitters[0].actions.caep:session-revokd", "risc.transmitters[0].actions.caep:session-revoked[0]",
			"risc.stream_check_interval",
		} {
			if !slices.Contains(got, k) {
				t.Errorf("no error for %s; got %q", k, got)
			}
		}
	})
	t.Run("google off without transmitters", func(t *testing.T) {
		f := writeTestFiles(t, "risc:\n  google: false\n")
		errs := configErrors(t, f.config, nil)
		if len(errs) != 1 || errs[0].Key != "risc.google" || !strings.Contains(errs[0].Msg, "risc.transmitters") {
			t.Errorf("got %v, want one error for risc.google naming risc.transmitters", errs)
		}
	})
}

func TestEnvOverridesStructuredValues(t *testing.T) {
	f := writeTestFiles(t, "")
	l, err := Resolve(f.config, []string{
		"RISCD_RISC_MAX_ATTEMPTS=3",
		"RISCD_RISC_TRANSMITTERS=[{name: okta, issuer: 'https://o.example.com', jwks_url: 'https://o.example.com/k', audiences: [r], format: ssf}]",
	}, SecretsOptions{NeedKey: true})
	if err != nil {
		t.Fatal(err)
	}
	if l.Config.RISC.MaxAttempts != 3 {
		t.Errorf("max_attempts = %d, want 3", l.Config.RISC.MaxAttempts)
	}
	if len(l.Config.RISC.Transmitters) != 1 || l.Config.RISC.Transmitters[0].Name != "okta" || l.Config.RISC.Transmitters[0].Format != "ssf" {
		t.Errorf("transmitters = %+v", l.Config.RISC.Transmitters)
	}
	errs := configErrors(t, f.config, []string{"RISCD_RISC_MAX_ATTEMPTS=many", "RISCD_RISC_TRANSMITTERS=[{nam: x}]"})
	if len(errs) != 2 || errs[0].Key != "risc.transmitters.nam" || errs[1].Key != "risc.max_attempts" {
		t.Errorf("got %v, want errors for risc.max_attempts and the unknown key nam", errs)
	}
}

// TestExampleConfig checks that config.example.yaml decodes strictly and
// documents every key riscd reads.
func TestExampleConfig(t *testing.T) {
	path := filepath.Join("..", "config.example.yaml")
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatalf("config.example.yaml: %v", err)
	}
	if err := cfg.Validate(path); err != nil {
		t.Errorf("config.example.yaml does not validate: %v", err)
	}
	text := readFile(t, path)
	for _, v := range envOverrides(cfg) {
		leaf := v.key[strings.LastIndex(v.key, ".")+1:]
		if !strings.Contains(text, leaf+":") {
			t.Errorf("config.example.yaml does not document %s", v.key)
		}
	}
}

func TestActionsAndCompanionConfig(t *testing.T) {
	f := writeTestFiles(t, `risc:
  dry_run: true
  actions:
    sessions-revoked: [end_sessions, revoke_grants, notify]
    account-disabled/hijacking: [hold_grants]
companion:
  webhook_url: https://app.example.com/hooks
  webhook_secret_file: `+filepath.Join(t.TempDir(), "missing")+`
`)
	errs := configErrors(t, f.config, []string{"RISCD_COMPANION_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	if errs != nil {
		t.Fatalf("valid actions and webhook config refused: %v", errs)
	}
	l, err := Resolve(f.config, []string{"RISCD_COMPANION_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, SecretsOptions{NeedKey: true})
	if err != nil {
		t.Fatal(err)
	}
	if !l.Config.RISC.DryRun || len(l.Config.RISC.Actions["sessions-revoked"]) != 3 || l.Secrets.WebhookSecret.IsZero() {
		t.Errorf("dry_run %v, actions %v, webhook secret set %v", l.Config.RISC.DryRun, l.Config.RISC.Actions, !l.Secrets.WebhookSecret.IsZero())
	}

	f = writeTestFiles(t, `risc:
  actions:
    sessions-revokd: [end_sessions]
    account-disabled/flu: [record]
    tokens-revoked: [end_sessions, explode]
companion:
  webhook_url: not a url
  return_urls: [https://app.example.com/after, "https://app.example.com/x?y=1", "ftp://app.example.com/"]
`)
	errs = configErrors(t, f.config, []string{"RISCD_RISC_DRY_RUN=perhaps"})
	var got []string
	for _, e := range errs {
		got = append(got, e.Key)
	}
	for _, k := range []string{"risc.dry_run"} {
		if !slices.Contains(got, k) {
			t.Errorf("no error for %s; got %q", k, got)
		}
	}
	errs = configErrors(t, f.config, nil)
	got = nil
	for _, e := range errs {
		got = append(got, e.Key)
	}
	for _, k := range []string{"risc.actions.sessions-revokd", "risc.actions.account-disabled/flu", "risc.actions.tokens-revoked[1]", "companion.webhook_url", "companion.webhook_secret_file"} {
		if !slices.Contains(got, k) {
			t.Errorf("no error for %s; got %q", k, got)
		}
	}
	var returnErrs []string
	for _, e := range errs {
		if e.Key == "companion.return_urls" {
			returnErrs = append(returnErrs, e.Msg)
		}
	}
	if len(returnErrs) != 2 || !strings.Contains(returnErrs[0], "x?y=1") || !strings.Contains(returnErrs[1], "ftp:") {
		t.Errorf("companion.return_urls errors %q, want the URL with a query and the ftp one", returnErrs)
	}
}

func TestStreamConfig(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		f := writeTestFiles(t, "")
		l, err := Resolve(f.config, nil, SecretsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c := l.Config
		if c.RISC.ManagementURL != stream.DefaultBaseURL || c.RISC.ServiceAccountFile != "" || c.RISC.StreamCheckInterval != 0 {
			t.Errorf("stream defaults = %q %q %v", c.RISC.ManagementURL, c.RISC.ServiceAccountFile, c.RISC.StreamCheckInterval)
		}
		want := []string{
			events.TypeSessionsRevoked, events.TypeTokensRevoked, events.TypeTokenRevoked, events.TypeAccountDisabled,
			events.TypeAccountEnabled, events.TypeAccountCredentialChangeRequired, events.TypeAccountPurged, events.TypeRISCVerification,
		}
		if got := c.StreamEvents(); !slices.Equal(got, want) {
			t.Errorf("StreamEvents() = %q, want %q", got, want)
		}
		if got := c.DeliveryURL(); got != "https://riscd.example.com/risc" {
			t.Errorf("DeliveryURL() = %q", got)
		}
	})
	t.Run("file and environment", func(t *testing.T) {
		f := writeTestFiles(t, `risc:
  path: /events/risc
  service_account_file: /etc/riscd/sa.json
  management_url: http://127.0.0.1:9/v1beta
  events: [account-disabled, "https://schemas.openid.net/secevent/risc/event-type/verification", "urn:example:custom"]
  stream_check_interval: 1h
`)
		l, err := Resolve(f.config, nil, SecretsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c := l.Config
		if got, want := c.StreamEvents(), []string{events.TypeAccountDisabled, events.TypeRISCVerification, "urn:example:custom"}; !slices.Equal(got, want) {
			t.Errorf("StreamEvents() = %q, want %q", got, want)
		}
		if c.RISC.ServiceAccountFile != "/etc/riscd/sa.json" || c.RISC.ManagementURL != "http://127.0.0.1:9/v1beta" ||
			time.Duration(c.RISC.StreamCheckInterval) != time.Hour || c.DeliveryURL() != "https://riscd.example.com/events/risc" {
			t.Errorf("stream keys = %+v, delivery %s", c.RISC, c.DeliveryURL())
		}
		l, err = Resolve(f.config, []string{
			"RISCD_RISC_EVENTS=verification, sessions-revoked",
			"RISCD_RISC_STREAM_CHECK_INTERVAL=90m",
			"RISCD_RISC_SERVICE_ACCOUNT_FILE=/other.json",
			"RISCD_RISC_MANAGEMENT_URL=https://risc.example.com/v1beta",
		}, SecretsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c = l.Config
		if got, want := c.StreamEvents(), []string{events.TypeRISCVerification, events.TypeSessionsRevoked}; !slices.Equal(got, want) {
			t.Errorf("env StreamEvents() = %q, want %q", got, want)
		}
		if time.Duration(c.RISC.StreamCheckInterval) != 90*time.Minute || c.RISC.ServiceAccountFile != "/other.json" || c.RISC.ManagementURL != "https://risc.example.com/v1beta" {
			t.Errorf("env overrides not applied: %+v", c.RISC)
		}
		if len(l.Warnings) != 0 {
			t.Errorf("warnings %q: the stream variables must be known", l.Warnings)
		}
	})
	for _, tc := range []struct {
		name, yaml string
		environ    []string
		keys       []string
		want       string
	}{
		{"bad management url", "risc:\n  management_url: risc.googleapis.com\n", nil, []string{"risc.management_url"}, "absolute"},
		{"no events", "risc:\n  events: []\n", nil, []string{"risc.events"}, "at least one"},
		{"unknown short name", "risc:\n  events: [account-disabld]\n", nil, []string{"risc.events[0]"}, "neither"},
		{"risc namespace token event", "risc:\n  events: [verification, 'https://schemas.openid.net/secevent/risc/event-type/tokens-revoked']\n", nil, []string{"risc.events[1]"}, "oauth namespace"},
		{"twice", "risc:\n  events: [verification, 'https://schemas.openid.net/secevent/risc/event-type/verification']\n", nil, []string{"risc.events[1]"}, "twice"},
		{"interval too short", "risc:\n  service_account_file: /sa.json\n  stream_check_interval: 30s\n", nil, []string{"risc.stream_check_interval"}, "at least 1m"},
		{"interval without key", "risc:\n  stream_check_interval: 1h\n", nil, []string{"risc.stream_check_interval"}, "service_account_file"},
		{"interval without verification", "risc:\n  service_account_file: /sa.json\n  stream_check_interval: 1h\n  events: [account-disabled]\n", nil, []string{"risc.stream_check_interval"}, "verification"},
		{"interval not a duration", "", []string{"RISCD_RISC_STREAM_CHECK_INTERVAL=hourly"}, []string{"risc.stream_check_interval"}, "not a duration"},
		{"events wrong type", "risc:\n  events: {a: b}\n", nil, []string{"risc.events"}, "cannot unmarshal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := writeTestFiles(t, tc.yaml)
			_, err := Resolve(f.config, tc.environ, SecretsOptions{})
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Resolve = %v, want Errors", err)
			}
			var got []string
			for _, e := range errs {
				got = append(got, e.Key)
			}
			if !slices.Equal(got, tc.keys) || !strings.Contains(errs.Error(), tc.want) {
				t.Fatalf("got %q (%v), want keys %q and %q", got, errs, tc.keys, tc.want)
			}
		})
	}
}

func TestStoreRetention(t *testing.T) {
	tests := []struct {
		name      string
		retention string // the store.retention line's value; "" for none
		environ   []string
		want      time.Duration
		bad       bool
	}{
		{"default", "", nil, 90 * 24 * time.Hour, false},
		{"keep everything", "0s", nil, 0, false},
		{"a year", "8760h", nil, 8760 * time.Hour, false},
		{"from the environment", "", []string{"RISCD_STORE_RETENTION=720h"}, 720 * time.Hour, false},
		{"under a week", "24h", nil, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := writeTestFiles(t, "")
			if tc.retention != "" {
				mustWrite(t, f.config, strings.Replace(readFile(t, f.config), "store:\n", "store:\n  retention: "+tc.retention+"\n", 1))
			}
			l, err := Resolve(f.config, tc.environ, SecretsOptions{NeedKey: true})
			if tc.bad {
				var ce Errors
				if !errors.As(err, &ce) || len(ce) != 1 || ce[0].Key != "store.retention" || !strings.Contains(err.Error(), f.config) {
					t.Fatalf("Resolve = %v, want one error naming %s and store.retention", err, f.config)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := time.Duration(l.Config.Store.Retention); got != tc.want {
				t.Errorf("retention %s, want %s", got, tc.want)
			}
		})
	}
}

// The redirect URI breaking one of Google's rules is an error naming the
// file and public_url, with the rule; a loopback http URI passes.
func TestCheckRedirectURI(t *testing.T) {
	f := writeTestFiles(t, "")
	cfg, err := Load(f.config, []string{"RISCD_PUBLIC_URL=http://riscd.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.CheckRedirectURI(f.config)
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].File != f.config || es[0].Key != "public_url" || !strings.Contains(es[0].Msg, "https") {
		t.Fatalf("CheckRedirectURI = %v, want one error naming the file, public_url and the https rule", err)
	}
	cfg.PublicURL = "http://localhost:8080"
	if err := cfg.CheckRedirectURI(f.config); err != nil {
		t.Errorf("loopback http: %v", err)
	}
}

// An error found after decoding (a secret file, a value out of range) names
// the line of its key, as a decoding error does.
func TestLaterErrorsNameTheLine(t *testing.T) {
	f := writeTestFiles(t, "")
	mustWrite(t, f.key, base64.StdEncoding.EncodeToString(make([]byte, 16)))
	errs := configErrors(t, f.config, nil)
	want := 0
	for i, line := range strings.Split(readFile(t, f.config), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "key_file:") {
			want = i + 1
		}
	}
	if len(errs) != 1 || errs[0].Key != "store.key_file" || want == 0 || errs[0].Line != want {
		t.Fatalf("got %v, want store.key_file at line %d", errs, want)
	}
}
