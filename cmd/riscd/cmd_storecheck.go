package main

import (
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"path/filepath"
	"strings"

	"github.com/riscd/riscd/config"
	"github.com/riscd/riscd/store"
	"github.com/riscd/riscd/store/boltdb"
)

// errStoreDamaged is returned (exit status 1) when store check finds
// problems; they are printed before.
var errStoreDamaged = errors.New("the store failed its check")

// errStorePages is returned (exit status 3, as boltdb.ErrDamaged) when
// bbolt's page check fails: the records were not read.
var errStorePages = damagedError("the store file's pages are damaged: restore it from a backup")

// damagedError is a message that errors.Is finds as boltdb.ErrDamaged.
type damagedError string

func (e damagedError) Error() string { return string(e) }
func (e damagedError) Unwrap() error { return boltdb.ErrDamaged }

func cmdStoreCheck(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "store check", "store check --config FILE [--store PATH]\n\n"+
		"Checks the store file read-only (nothing is written to it or beside it): bbolt's page check, then\n"+
		"every record decodes and opens with the configured keys and every index matches its records; the\n"+
		"inbox journal is read, not applied. --store checks another file (a backup, a copy) with the\n"+
		"configuration's keys. The file is locked while riscd runs: stop it, or check a backup (riscd store\n"+
		"backup). Prints the counts of what the store holds; exit status 1 when a problem is found, 3 when the\n"+
		"file itself is damaged (truncated, or pages bbolt cannot read). With store.engine postgres it runs\n"+
		"the database's own check (every record opens with the configured keys, the tables agree), and\n"+
		"riscd may keep running.")
	path := fs.String("config", "riscd.yaml", "configuration file")
	storePath := fs.String("store", "", "store file to check (default: store.path of the configuration)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	l, err := load(*path, env.environ, secretsOptions{needKey: true})
	if err != nil {
		return err
	}
	if l.cfg.Store.Engine == config.EnginePostgres {
		if *storePath != "" {
			return usageError{errors.New("--store names a bbolt file; with store.engine postgres the database is store.url")}
		}
		return checkDatabase(ctx, env, *path, l)
	}
	file := l.cfg.Store.Path
	if *storePath != "" {
		if file, err = filepath.Abs(*storePath); err != nil {
			return usageError{err}
		}
	}
	return checkBoltFile(ctx, env, l, file)
}

// checkBoltFile checks the bbolt file at file read-only and prints what it
// found.
func checkBoltFile(ctx context.Context, env *cliEnv, l *loaded, file string) error {
	report, checkErr, err := boltdb.CheckFile(ctx, boltdb.Options{
		Path:    file,
		Key:     l.secrets.StoreKey,
		OldKeys: l.secrets.OldKeys,
	})
	if errors.Is(err, iofs.ErrNotExist) {
		return usageError{fmt.Errorf("store check: %s does not exist (nothing was created): check the path", file)}
	}
	if err != nil {
		return storeOpenError(l.path, l.cfg.Store, err)
	}
	for _, n := range report.Notes {
		fmt.Fprintf(env.stderr, "note: %s\n", n)
	}
	if errors.Is(checkErr, boltdb.ErrDamaged) {
		// The records cannot be walked safely: no counts.
		printProblems(env, checkErr)
		return errStorePages
	}
	st := report.Stats
	fmt.Fprintf(env.stdout, "store %s\n", file)
	fmt.Fprintf(env.stdout, "  grants %d, accounts %d, sessions %d, consent flows %d\n", st.Grants, st.Accounts, st.Sessions, st.Flows)
	fmt.Fprintf(env.stdout, "  inbox %d (pending %d, parked %d), outbox %d (pending %d, failed %d), audit entries %d\n",
		st.Inbox, st.InboxPending, st.InboxParked, st.Outbox, st.OutboxPending, st.OutboxFailed, st.Audit)
	fmt.Fprintf(env.stdout, "  journal %d records, %d not yet in the inbox\n", report.JournalRecords, report.JournalUnapplied)
	fmt.Fprintf(env.stdout, "  file %d bytes, %d in use; keys %s\n", st.FileBytes, st.LiveBytes, strings.Join(st.KeyIDs, ", "))
	if checkErr != nil {
		printProblems(env, checkErr)
		return errStoreDamaged
	}
	fmt.Fprintln(env.stdout, "ok: every page, record and index checked")
	return nil
}

// printProblems writes each of a check's problems on a line of its own.
func printProblems(env *cliEnv, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(env.stderr, "problem: %s\n", line)
	}
}

// checkDatabase is store check on an engine other than bbolt: the
// engine's Check through package store, and the counts.
func checkDatabase(ctx context.Context, env *cliEnv, path string, l *loaded) error {
	opts := storeOptions(l.cfg, l.secrets)
	opts.Logger = newLogger(env.stderr, "text", "warn")
	db, err := store.Open(ctx, opts)
	if err != nil {
		return storeOpenError(path, l.cfg.Store, redact(err, l.cfg.Store, l.secrets))
	}
	defer db.Close()
	c, err := db.Count(ctx)
	if err != nil {
		return fmt.Errorf("store check: %w", redact(err, l.cfg.Store, l.secrets))
	}
	fmt.Fprintf(env.stdout, "store %s\n", storeName(opts))
	fmt.Fprintf(env.stdout, "  grants %d, accounts %d, sessions %d, consent flows %d\n", c.Grants, c.Accounts, c.Sessions, c.Flows)
	fmt.Fprintf(env.stdout, "  inbox %d (pending %d, parked %d), outbox %d (pending %d, failed %d), audit entries %d\n",
		c.Inbox, c.InboxPending, c.InboxParked, c.Outbox, c.OutboxPending, c.OutboxFailed, c.Audit)
	if err := db.Check(ctx); err != nil {
		printProblems(env, redact(err, l.cfg.Store, l.secrets))
		return errStoreDamaged
	}
	fmt.Fprintln(env.stdout, "ok: every record and index checked")
	return nil
}
