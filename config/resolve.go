package config

import (
	"fmt"

	"github.com/riscd/riscd/flowweb"
)

// Loaded is a configuration read, validated and resolved: the file's
// values with the environment applied, the secrets they point at, and the
// warnings worth printing (nothing in them is a secret).
type Loaded struct {
	Path     string
	Config   *Config
	Secrets  *Secrets
	Warnings []string
}

// Resolve reads the config file at path, applies the RISCD_* overrides of
// environ (os.Environ's form), validates every value and reads the files
// the config names (LoadSecrets with opts). risc.audiences defaults to the
// OAuth client's ID.
//
// Errors: every problem is reported at once as Errors, each naming the
// config file (or the environment variable at fault), the key and, when
// known, the line. Nothing is returned with them, and no message carries a
// secret value. Misspelt RISCD_* variables, secret files others can read
// and a disabled admin API are Warnings, not errors.
func Resolve(path string, environ []string, opts SecretsOptions) (*Loaded, error) {
	cfg, err := Load(path, environ)
	if err != nil {
		return nil, err
	}
	var errs Errors
	if err := cfg.Validate(path); err != nil {
		errs = append(errs, err.(Errors)...)
	}
	secrets, err := LoadSecrets(path, cfg, environ, opts)
	if err != nil {
		errs = append(errs, err.(Errors)...)
	}
	if len(errs) > 0 {
		return nil, WithLines(path, errs)
	}
	if len(cfg.RISC.Audiences) == 0 {
		cfg.RISC.Audiences = []string{secrets.ClientID}
	}
	l := &Loaded{Path: path, Config: cfg, Secrets: secrets}
	for _, name := range UnknownEnv(environ) {
		l.Warnings = append(l.Warnings, fmt.Sprintf("%s: riscd reads no such variable; it is ignored", name))
	}
	l.Warnings = append(l.Warnings, FileWarnings(path, cfg)...)
	if secrets.AdminToken.IsZero() {
		l.Warnings = append(l.Warnings, fmt.Sprintf("%s: internal.admin_token_file: not set (nor %s): the admin API is disabled", path, EnvAdminToken))
	}
	return l, nil
}

// CheckRedirectURI checks the redirect URI of c (public_url +
// /oauth2callback) against Google's rules (flowweb.CheckRedirectURI), as
// riscd config check does. The problem is reported as Errors naming file
// and public_url; nil means the URI passes.
func (c *Config) CheckRedirectURI(file string) error {
	if err := flowweb.CheckRedirectURI(c.RedirectURI()); err != nil {
		return Errors{{File: file, Key: "public_url",
			Msg: fmt.Sprintf("the redirect URI %s breaks Google's rules: %v", c.RedirectURI(), err)}}
	}
	return nil
}
