package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/riscd/riscd/config"
	"github.com/riscd/riscd/store"
)

// storeOptions are the store.Options of the configured engine: the bbolt
// file, or the PostgreSQL database and its password (from store.url,
// store.password_file or PGPASSWORD).
func (m *Main) storeOptions() store.Options {
	opts := storeOptions(m.Config, m.Secrets)
	opts.Now, opts.Logger = m.Now, m.Logger.With("component", "store")
	return opts
}

// storeOptions is the one translation of a configuration's store section
// (and the secrets loaded for it) into package store's Options.
func storeOptions(cfg *config.Config, secrets *config.Secrets) store.Options {
	c := cfg.Store
	return store.Options{
		Engine:   c.Engine,
		Path:     c.Path,
		URL:      c.URL,
		Key:      secrets.StoreKey,
		OldKeys:  secrets.OldKeys,
		Password: secrets.StorePassword,
	}
}

// storeKey is the configuration key naming where the store is.
func storeKey(c config.Store) string {
	if c.Engine == config.EnginePostgres {
		return "store.url"
	}
	return "store.path"
}

// redactedError is an error whose text had secrets cut out.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact returns err with every occurrence of the store's URL and password
// replaced, so that an engine's error quoting its connection string cannot
// print them.
func redact(err error, c config.Store, s *config.Secrets) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	secrets := []string{c.URL}
	if s != nil {
		secrets = append(secrets, s.StorePassword.Reveal())
	}
	if u, err := url.Parse(c.URL); err == nil {
		if pw, ok := u.User.Password(); ok {
			secrets = append(secrets, pw, url.QueryEscape(pw), url.PathEscape(pw))
		}
		if pw := u.Query().Get("password"); pw != "" {
			secrets = append(secrets, pw, url.QueryEscape(pw))
		}
	}
	changed := false
	for _, v := range secrets {
		if v != "" && strings.Contains(msg, v) {
			msg, changed = strings.ReplaceAll(msg, v, "[redacted]"), true
		}
	}
	if !changed {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// bboltOnly refuses a maintenance command on another engine than bbolt.
func bboltOnly(cmd string, c config.Store) error {
	if c.Engine == config.EnginePostgres {
		return usageError{fmt.Errorf("riscd store %s works on the bbolt engine only (store.engine is postgres): use PostgreSQL's own tools", cmd)}
	}
	return nil
}
