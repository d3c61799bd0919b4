package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/riscd/riscd/config"
	"github.com/riscd/riscd/seal"
	"github.com/riscd/riscd/store/boltdb"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

func cmdVersion(_ context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "version", "version")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, "riscd", buildVersion())
	return nil
}

func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}

// loaded is a configuration read, validated and resolved by config.Resolve.
type loaded struct {
	path     string
	cfg      *config.Config
	secrets  *config.Secrets
	warnings []string
}

// secretsOptions says which secrets a command needs (config.SecretsOptions).
type secretsOptions struct {
	needKey bool // serve and rotate-key need the store key; config check only checks it when set
}

// load is config.Resolve for the commands: every problem is reported at
// once as config.Errors.
func load(path string, environ []string, opts secretsOptions) (*loaded, error) {
	r, err := config.Resolve(path, environ, config.SecretsOptions{NeedKey: opts.needKey})
	if err != nil {
		return nil, err
	}
	return &loaded{path: r.Path, cfg: r.Config, secrets: r.Secrets, warnings: r.Warnings}, nil
}

func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lv = slog.LevelDebug
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func cmdServe(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "serve", "serve --config FILE [--log-format text|json] [--log-level LEVEL]")
	path := fs.String("config", "riscd.yaml", "configuration file")
	format := fs.String("log-format", "", "log format, text or json (overrides log.format)")
	level := fs.String("log-level", "", "debug, info, warn or error (overrides log.level)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	environ := env.environ
	if *format != "" {
		environ = append(environ, "RISCD_LOG_FORMAT="+*format)
	}
	if *level != "" {
		environ = append(environ, "RISCD_LOG_LEVEL="+*level)
	}
	l, err := load(*path, environ, secretsOptions{needKey: true})
	if err != nil {
		return err
	}
	logger := newLogger(env.stderr, l.cfg.Log.Format, l.cfg.Log.Level)
	for _, w := range l.warnings {
		logger.Warn(w)
	}
	m := &Main{Config: l.cfg, Secrets: l.secrets, Logger: logger, ConfigPath: l.path}
	if err := m.Run(ctx); err != nil {
		return err
	}
	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down", "timeout", shutdownTimeout)
	case runErr = <-m.Err():
	}
	if err := m.Close(); err != nil {
		return err
	}
	logger.Info("stopped")
	return runErr
}

func cmdConfig(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || args[0] != "check" {
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			fmt.Fprintln(env.stdout, "Usage: riscd config check --config FILE")
			return flag.ErrHelp
		}
		return usageError{errors.New("usage: riscd config check --config FILE")}
	}
	fs := newFlagSet(env, "config check", "config check --config FILE\n\nChecks the file strictly, the files it names (the store key, the client secrets, the service\n"+
		"account key), the store's folder, and the redirect URI against Google's rules: what serve and the\n"+
		"stream commands need.")
	path := fs.String("config", "riscd.yaml", "configuration file")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	l, err := load(*path, env.environ, secretsOptions{needKey: true})
	if err != nil {
		return err
	}
	errs, warnings := startProblems(ctx, *path, l.cfg)
	if err := l.cfg.CheckRedirectURI(*path); err != nil {
		errs = append(errs, err.(config.Errors)...)
	}
	if len(errs) > 0 {
		return config.WithLines(*path, errs)
	}
	for _, w := range append(l.warnings, warnings...) {
		fmt.Fprintln(env.stderr, "warning:", w)
	}
	fmt.Fprintf(env.stdout, "%s: OK (redirect URI %s, client %s)\n", *path, l.cfg.RedirectURI(), l.secrets.ClientID)
	return nil
}

// storeSub is one subcommand of riscd store.
type storeSub struct {
	name, usage string // usage: after "riscd store "
	run         func(ctx context.Context, env *cliEnv, args []string) error
}

// storeSubs are the subcommands of riscd store.
func storeSubs() []storeSub {
	return []storeSub{
		{"check", "check --config FILE [--store PATH]", cmdStoreCheck},
		{"backup", "backup DEST --config FILE (while riscd runs)", cmdStoreBackup},
		{"rotate-key", "rotate-key --config FILE --new-key-file FILE", cmdStoreRotateKey},
		{"salvage-journal", "salvage-journal --config FILE", cmdStoreSalvageJournal},
		{"copy", "copy --from FILE --to FILE", cmdStoreCopy},
	}
}

func cmdStore(ctx context.Context, env *cliEnv, args []string) error {
	subs := storeSubs()
	var names, usages []string
	for _, s := range subs {
		names = append(names, s.name)
		usages = append(usages, "riscd store "+s.usage)
	}
	usage := "usage: riscd store " + strings.Join(names, "|") + " ..."
	if len(args) == 0 {
		return usageError{errors.New(usage)}
	}
	if args[0] == "--help" || args[0] == "-h" {
		fmt.Fprintln(env.stdout, "Usage: "+strings.Join(usages, "\n       "))
		return flag.ErrHelp
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(ctx, env, args[1:])
		}
	}
	return usageError{fmt.Errorf("unknown store command %q (%s)", args[0], usage)}
}

func cmdStoreRotateKey(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "store rotate-key", "store rotate-key --config FILE --new-key-file FILE\n\n"+
		"Re-encrypts every secret in the store under the key in --new-key-file (made, mode 0600, if the file\n"+
		"does not exist). riscd must be stopped. Afterwards point store.key_file at the new key; keep the old\n"+
		"one in store.previous_key_files while backups made under it may be restored. If it is interrupted, run\n"+
		"it again with the same flags (and configuration) to finish.")
	path := fs.String("config", "riscd.yaml", "configuration file")
	newKeyFile := fs.String("new-key-file", "", "file holding the new key (created if missing)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *newKeyFile == "" {
		return usageError{errors.New("--new-key-file is required")}
	}
	// Named absolute in what it prints: the configuration resolves a
	// relative store.key_file against its own folder, not this one.
	if abs, err := filepath.Abs(*newKeyFile); err == nil {
		*newKeyFile = abs
	}
	l, err := load(*path, env.environ, secretsOptions{needKey: true})
	if err != nil {
		return err
	}
	if err := bboltOnly("rotate-key", l.cfg.Store); err != nil {
		return err
	}
	newKey, created, err := seal.LoadOrCreateKeyFile(*newKeyFile)
	if err != nil {
		return usageError{fmt.Errorf("--new-key-file: %s: %w", *newKeyFile, err)}
	}
	// The new key is among the keys the store opens with: a rotation to it
	// that was interrupted left secrets sealed under it, and this run
	// finishes that one.
	db, err := boltdb.Open(ctx, boltdb.Options{
		Path:    l.cfg.Store.Path,
		Key:     l.secrets.StoreKey,
		OldKeys: append(slices.Clone(l.secrets.OldKeys), newKey),
	})
	if err != nil {
		return storeOpenError(*path, l.cfg.Store, err)
	}
	// The key in use is refused, unless the store is rotating to it (the
	// configuration was moved to the new key before the rotation finished).
	if newKey.ID() == l.secrets.StoreKey.ID() {
		if to, err := db.UnfinishedRotation(ctx); err != nil || to != newKey.ID() {
			_ = db.Close()
			if err != nil {
				return fmt.Errorf("rotate key: %w", err)
			}
			return usageError{fmt.Errorf("--new-key-file: %s holds the key already in use", *newKeyFile)}
		}
	}
	n, err := db.RotateKey(ctx, newKey)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("rotate key: %w; run the same command again to finish the rotation", err)
	}
	if created {
		fmt.Fprintf(env.stdout, "made a new key in %s\n", *newKeyFile)
	}
	fmt.Fprintf(env.stdout, "re-encrypted %d records under key %s\n", n, newKey.ID())
	old := "the old key file"
	if l.cfg.Store.KeyFile != "" {
		old += " (" + l.cfg.Store.KeyFile + ")"
	}
	fmt.Fprintf(env.stdout, "next: set store.key_file to %s and add %s to store.previous_key_files\n", *newKeyFile, old)
	return nil
}

// storeOpenError is the start-up error for a store that did not open,
// under configuration file configPath. For a key rotation left unfinished
// it says how to finish it.
func storeOpenError(configPath string, c config.Store, err error) error {
	var re *boltdb.RotationError
	if errors.As(err, &re) {
		if configPath == "" {
			configPath = "FILE"
		} else if abs, aerr := filepath.Abs(configPath); aerr == nil {
			configPath = abs // followed from another folder, it still names the file
		}
		err = fmt.Errorf("%w; to finish it, run riscd store rotate-key --config %s --new-key-file NEW, with store.key_file still naming the key the rotation started from and NEW the file holding key %s",
			err, configPath, re.NewKeyID)
	}
	return &StartupError{fmt.Errorf("%s: %w", storeKey(c), err)}
}
