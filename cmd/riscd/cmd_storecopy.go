package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/config"
	"github.com/riscd/riscd/store"
)

// storeName names the store opts open, for messages: never a secret (a
// database URL's password).
func storeName(opts store.Options) string {
	return config.Store{Engine: opts.Engine, Path: opts.Path, URL: opts.URL}.Where() + " (" + engineName(opts.Engine) + ")"
}

func engineName(e string) string {
	if e == "" {
		return store.EngineBolt
	}
	return e
}

// sameStore reports whether a and b open the same store: for bbolt, the
// same file, whatever the path that names it.
func sameStore(a, b store.Options) bool {
	if engineName(a.Engine) != engineName(b.Engine) {
		return false
	}
	if engineName(a.Engine) != store.EngineBolt {
		return storeName(a) == storeName(b)
	}
	pa, erra := filepath.Abs(a.Path)
	pb, errb := filepath.Abs(b.Path)
	if erra == nil && errb == nil && pa == pb {
		return true
	}
	fa, erra := os.Stat(a.Path)
	fb, errb := os.Stat(b.Path)
	return erra == nil && errb == nil && os.SameFile(fa, fb)
}

// errCopyMismatch is returned (exit status 1) when the counts or the check
// of a copy do not agree; what disagrees is printed before.
var errCopyMismatch = errors.New("the copy does not match its source; do not use the target")

func cmdStoreCopy(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "store copy", "store copy --from FILE --to FILE\n\n"+
		"Copies every record of the store the configuration --from names into the store --to names, which\n"+
		"must be empty (a bbolt file that does not exist is made): to move a deployment between engines\n"+
		"(bbolt to PostgreSQL and back) or between bbolt files. Secrets are sealed again under the target's\n"+
		"key. riscd must be stopped on the source; no record is written to it. Then prints the records of each\n"+
		"kind in both stores and checks both; exit status 1 when they differ. Sign-ins to the admin pages\n"+
		"are not copied.")
	from := fs.String("from", "", "configuration file of the store to copy")
	to := fs.String("to", "", "configuration file of the (empty) store to copy into")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return usageError{errors.New("--from and --to are required")}
	}
	var opts [2]store.Options
	var cfgs [2]*loaded
	for i, path := range []string{*from, *to} {
		l, err := load(path, env.environ, secretsOptions{needKey: true})
		if err != nil {
			return err
		}
		cfgs[i] = l
		opts[i] = storeOptions(l.cfg, l.secrets)
		opts[i].Logger = newLogger(env.stderr, "text", "warn")
	}
	if sameStore(opts[0], opts[1]) {
		return usageError{fmt.Errorf("--from and --to name the same store, %s", storeName(opts[0]))}
	}

	src, err := store.Open(ctx, opts[0])
	if err != nil {
		return storeOpenError(*from, cfgs[0].cfg.Store, redact(err, cfgs[0].cfg.Store, cfgs[0].secrets))
	}
	defer src.Close()
	dst, err := store.Open(ctx, opts[1])
	if err != nil {
		return storeOpenError(*to, cfgs[1].cfg.Store, redact(err, cfgs[1].cfg.Store, cfgs[1].secrets))
	}
	defer dst.Close()
	if c, err := dst.Count(ctx); err != nil {
		return fmt.Errorf("store copy: target %s: %w", storeName(opts[1]), err)
	} else if c != (riscd.Counts{}) {
		return fmt.Errorf("store copy: the target %s is not empty (%d grants, %d accounts, %d inbox entries, %d audit entries, ...); copy into an empty store",
			storeName(opts[1]), c.Grants, c.Accounts, c.Inbox, c.Audit)
	}

	var copied riscd.Counts
	err = dst.Import(ctx, func(ctx context.Context, fn func(riscd.Record) error) error {
		return src.Export(ctx, func(r riscd.Record) error {
			tally(&copied, r)
			return fn(r)
		})
	})
	if err != nil {
		if c, cerr := dst.Count(ctx); cerr == nil && c == (riscd.Counts{}) {
			return fmt.Errorf("store copy: %w; nothing was written to the target", err)
		}
		return fmt.Errorf("store copy: %w; the target %s holds part of the copy: remove it (or empty it) before copying again",
			err, storeName(opts[1]))
	}

	var counts [2]riscd.Counts
	for i, db := range []riscd.DB{src, dst} {
		if counts[i], err = db.Count(ctx); err != nil {
			return fmt.Errorf("store copy: count %s: %w", storeName(opts[i]), err)
		}
	}
	fmt.Fprintf(env.stdout, "copied %s to %s\n", storeName(opts[0]), storeName(opts[1]))
	ok := printCounts(env, copied, counts[0], counts[1])
	for i, db := range []riscd.DB{src, dst} {
		name := [...]string{"source", "target"}[i]
		if err := db.Check(ctx); err != nil {
			fmt.Fprintf(env.stdout, "check of the %s: failed\n", name)
			printProblems(env, err)
			ok = false
			continue
		}
		fmt.Fprintf(env.stdout, "check of the %s: ok\n", name)
	}
	if !ok {
		return errCopyMismatch
	}
	return nil
}

// tally counts r in c by kind, as Count does.
func tally(c *riscd.Counts, r riscd.Record) {
	switch {
	case r.Grant != nil:
		c.Grants++
	case r.Account != nil:
		c.Accounts++
	case r.Session != nil:
		c.Sessions++
	case r.Flow != nil:
		c.Flows++
	case r.Inbox != nil:
		c.Inbox++
		switch r.Inbox.Status {
		case riscd.InboxPending:
			c.InboxPending++
		case riscd.InboxDone:
			c.InboxDone++
		case riscd.InboxParked:
			c.InboxParked++
		}
	case r.Outbox != nil:
		c.Outbox++
		switch r.Outbox.Status {
		case riscd.OutboxPending:
			c.OutboxPending++
		case riscd.OutboxFailed:
			c.OutboxFailed++
		}
	case r.Audit != nil:
		c.Audit++
	case r.Mark != nil:
		c.Marks++
	case r.Connect != nil:
		c.Connect++
	case r.Link != nil:
		c.AppUserLinks++
	}
}

// printCounts prints the records of each kind copied and in each store,
// and reports whether all three agree.
func printCounts(env *cliEnv, copied, src, dst riscd.Counts) bool {
	rows := []struct {
		name    string
		c, s, d int
	}{
		{"grants", copied.Grants, src.Grants, dst.Grants},
		{"accounts", copied.Accounts, src.Accounts, dst.Accounts},
		{"sessions", copied.Sessions, src.Sessions, dst.Sessions},
		{"consent flows", copied.Flows, src.Flows, dst.Flows},
		{"inbox", copied.Inbox, src.Inbox, dst.Inbox},
		{"  pending", copied.InboxPending, src.InboxPending, dst.InboxPending},
		{"  done", copied.InboxDone, src.InboxDone, dst.InboxDone},
		{"  parked", copied.InboxParked, src.InboxParked, dst.InboxParked},
		{"outbox", copied.Outbox, src.Outbox, dst.Outbox},
		{"  pending", copied.OutboxPending, src.OutboxPending, dst.OutboxPending},
		{"  failed", copied.OutboxFailed, src.OutboxFailed, dst.OutboxFailed},
		{"audit entries", copied.Audit, src.Audit, dst.Audit},
		{"marks", copied.Marks, src.Marks, dst.Marks},
		{"connect", copied.Connect, src.Connect, dst.Connect},
		{"app-user links", copied.AppUserLinks, src.AppUserLinks, dst.AppUserLinks},
	}
	ok := true
	fmt.Fprintf(env.stdout, "  %-14s %10s %10s %10s\n", "", "copied", "source", "target")
	for _, r := range rows {
		mark := ""
		if r.c != r.s || r.s != r.d {
			mark, ok = "  MISMATCH", false
		}
		fmt.Fprintf(env.stdout, "  %-14s %10d %10d %10d%s\n", r.name, r.c, r.s, r.d, mark)
	}
	return ok
}
