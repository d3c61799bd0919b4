package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/seal"
)

// Secrets is everything riscd reads from the files (or environment variables)
// the config points at: the OAuth client, the store keys and the internal
// bearer tokens. None of it is ever logged.
type Secrets struct {
	ClientID     string
	ClientSecret riscd.Secret
	AuthURI      string
	TokenURI     string
	RedirectURIs []string

	// StorePassword is the PostgreSQL password from store.password_file or
	// PGPASSWORD, "" when store.url carries it or none is needed.
	StorePassword riscd.Secret
	StoreKey      seal.Key
	OldKeys       []seal.Key
	HaveKey       bool
	AdminToken    riscd.Secret
	AppToken      riscd.Secret
	WebhookSecret riscd.Secret
}

// clientSecretsFile is the shape of Google's downloaded client_secret.json.
type clientSecretsFile struct {
	Web *struct {
		ClientID     string   `json:"client_id"`
		ClientSecret string   `json:"client_secret"`
		AuthURI      string   `json:"auth_uri"`
		TokenURI     string   `json:"token_uri"`
		RedirectURIs []string `json:"redirect_uris"`
	} `json:"web"`
	Installed json.RawMessage `json:"installed"`
}

// SecretsOptions says which secrets the command at hand needs.
type SecretsOptions struct {
	NeedKey bool // serve and rotate-key need the store key; config check only checks it when set
}

// LoadSecrets reads the client secrets file, the store keys, the internal
// tokens and the webhook secret that c names, or takes them from the
// RISCD_* secret variables of environ (EnvStoreKey and the others). It
// also checks that the client's redirect_uris hold c's redirect URI.
//
// Errors: every problem at once as Errors naming file (the config file),
// the key and the file read, never a secret value.
func LoadSecrets(file string, c *Config, environ []string, opts SecretsOptions) (*Secrets, error) {
	env := envMap(environ)
	var errs Errors
	bad := func(key, format string, args ...any) {
		errs = append(errs, Error{File: file, Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	s := &Secrets{}

	if p := c.Google.ClientSecretsFile; p != "" {
		if err := readClientSecrets(p, s); err != nil {
			bad("google.client_secrets_file", "%s: %v", p, err)
		} else if !slices.Contains(s.RedirectURIs, c.RedirectURI()) {
			bad("public_url", "the redirect URI %s (public_url + %s) is not among the redirect_uris of %s; add it to the OAuth client in the Google Cloud console and download the file again",
				c.RedirectURI(), CallbackPath, p)
		}
	}

	switch {
	case env[EnvStoreKey] != "":
		k, err := seal.ParseKey([]byte(env[EnvStoreKey]))
		if err != nil {
			bad(EnvStoreKey, "%v; make one with: head -c 32 /dev/urandom | base64", err)
		}
		s.StoreKey, s.HaveKey = k, err == nil
	case c.Store.KeyFile != "":
		k, err := seal.ReadKeyFile(c.Store.KeyFile)
		if err != nil {
			bad("store.key_file", "%s: %v%s", c.Store.KeyFile, err, makeKeyHint(err, c.Store.KeyFile))
		}
		s.StoreKey, s.HaveKey = k, err == nil
	case opts.NeedKey:
		bad("store.key_file", "required (or set %s): 32 random bytes, base64; make one with: head -c 32 /dev/urandom | base64", EnvStoreKey)
	}
	for i, p := range c.Store.PreviousKeyFiles {
		k, err := seal.ReadKeyFile(p)
		if err != nil {
			bad(fmt.Sprintf("store.previous_key_files[%d]", i), "%s: %v", p, err)
			continue
		}
		s.OldKeys = append(s.OldKeys, k)
	}

	if c.Store.Engine == EnginePostgres && !urlHasPassword(c.Store.URL) {
		switch {
		case c.Store.PasswordFile != "":
			data, err := os.ReadFile(c.Store.PasswordFile)
			switch {
			case err != nil:
				bad("store.password_file", "%s: %s", c.Store.PasswordFile, FileProblem(err))
			case strings.TrimSpace(string(data)) == "":
				bad("store.password_file", "%s: empty file", c.Store.PasswordFile)
			default:
				s.StorePassword = riscd.Secret(strings.TrimSpace(string(data)))
			}
		case env[EnvPGPassword] != "":
			s.StorePassword = riscd.Secret(env[EnvPGPassword])
		}
	}

	s.AdminToken = readToken(env[EnvAdminToken], EnvAdminToken, c.Internal.AdminTokenFile, "internal.admin_token_file", bad)
	s.AppToken = readToken(env[EnvAppToken], EnvAppToken, c.Internal.AppTokenFile, "internal.app_token_file", bad)
	if !s.AdminToken.IsZero() && s.AdminToken == s.AppToken {
		bad("internal.app_token_file", "the app token must differ from the admin token")
	}
	s.WebhookSecret = readToken(env[EnvWebhookKey], EnvWebhookKey, c.Companion.WebhookSecretFile, "companion.webhook_secret_file", bad)
	if c.Companion.WebhookURL != "" && s.WebhookSecret.IsZero() {
		bad("companion.webhook_secret_file", "required with companion.webhook_url (or set %s): a Standard Webhooks secret, whsec_ + base64 of 24 random bytes", EnvWebhookKey)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

func readClientSecrets(path string, s *Secrets) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s", FileProblem(err))
	}
	var f clientSecretsFile
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("not a client_secret.json file (invalid JSON)")
	}
	if f.Web == nil {
		if f.Installed != nil {
			return fmt.Errorf("is for an installed (desktop) app; riscd needs a client of type \"Web application\"")
		}
		return fmt.Errorf("has no \"web\" object; download the Web application client's JSON from the Google Cloud console")
	}
	w := f.Web
	var missing []string
	for name, v := range map[string]string{"client_id": w.ClientID, "client_secret": w.ClientSecret, "auth_uri": w.AuthURI, "token_uri": w.TokenURI} {
		if v == "" {
			missing = append(missing, "web."+name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	if !IsHTTPURL(w.AuthURI) || !IsHTTPURL(w.TokenURI) {
		return fmt.Errorf("web.auth_uri and web.token_uri must be absolute http or https URLs")
	}
	s.ClientID, s.ClientSecret = w.ClientID, riscd.Secret(w.ClientSecret)
	s.AuthURI, s.TokenURI, s.RedirectURIs = w.AuthURI, w.TokenURI, w.RedirectURIs
	return nil
}

// readToken takes an internal bearer token from its environment variable or
// its file. An empty result means the listener's API is disabled.
func readToken(envValue, envName, path, key string, bad func(key, format string, args ...any)) riscd.Secret {
	tok, where, whereKey := strings.TrimSpace(envValue), envName, envName
	if tok == "" && path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			bad(key, "%s: %s", path, FileProblem(err))
			return ""
		}
		tok, where, whereKey = strings.TrimSpace(string(data)), path, key
		if tok == "" {
			bad(key, "%s: empty file", path)
			return ""
		}
	}
	if tok != "" && len(tok) < minInternalTokenLength {
		bad(whereKey, "%s: the token must be at least %d characters (use e.g. head -c 32 /dev/urandom | base64)", where, minInternalTokenLength)
		return ""
	}
	return riscd.Secret(tok)
}

// FileWarnings reports secret files that others can read or that lie inside
// a git work tree, where they could be committed by mistake.
func FileWarnings(file string, c *Config) []string {
	var out []string
	check := func(key, path string) {
		if path == "" {
			return
		}
		fi, err := os.Stat(path)
		if err != nil {
			return
		}
		if fi.Mode().Perm()&0o044 != 0 {
			out = append(out, fmt.Sprintf("%s: %s: %s is readable by group or others (mode %04o); run chmod 600 %s",
				file, key, path, fi.Mode().Perm(), path))
		}
		if root := gitWorkTree(path); root != "" {
			out = append(out, fmt.Sprintf("%s: %s: %s lies inside the git work tree %s; keep secrets outside source trees",
				file, key, path, root))
		}
	}
	check("google.client_secrets_file", c.Google.ClientSecretsFile)
	check("store.key_file", c.Store.KeyFile)
	check("store.password_file", c.Store.PasswordFile)
	for i, p := range c.Store.PreviousKeyFiles {
		check(fmt.Sprintf("store.previous_key_files[%d]", i), p)
	}
	check("internal.admin_token_file", c.Internal.AdminTokenFile)
	check("internal.app_token_file", c.Internal.AppTokenFile)
	check("companion.webhook_secret_file", c.Companion.WebhookSecretFile)
	return out
}

// gitWorkTree returns the root of the git work tree holding path, or "".
func gitWorkTree(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
			return dir
		}
		if parent := filepath.Dir(dir); parent == dir {
			return ""
		}
	}
}

// makeKeyHint tells how to make a key file when err says the file's text
// is not a key (the wrong size, not base64), and nothing otherwise.
func makeKeyHint(err error, path string) string {
	if !errors.Is(err, riscd.ErrInvalid) {
		return ""
	}
	return fmt.Sprintf("; make a key file with: (umask 077; head -c 32 /dev/urandom | base64 > %s)", path)
}
