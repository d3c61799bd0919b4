package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/riscd/riscd/config"
	"github.com/riscd/riscd/store/boltdb"
)

// defaultBackupTimeout bounds a backup's whole answer.
const defaultBackupTimeout = 30 * time.Minute

func cmdStoreBackup(ctx context.Context, env *cliEnv, args []string) error {
	const usage = "store backup DEST --config FILE [connection flags]"
	fs := newFlagSet(env, "store backup", usage+"\n\n"+
		"Asks the running riscd, through its admin API, for a consistent copy of its store, with every event\n"+
		"it acknowledged before the request, writes it to DEST (refused if it exists), then checks the copy\n"+
		"read-only with the configuration's keys (as riscd store check does). The copy is a whole store file:\n"+
		"it needs no journal file. For store.engine postgres, use pg_dump.\n\nFlags:")
	conn := addConnFlags(fs)
	_ = fs.Lookup("timeout").Value.Set(defaultBackupTimeout.String())
	fs.Lookup("timeout").DefValue = defaultBackupTimeout.String()
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] == "" {
		return usageError{errors.New("usage: riscd " + usage)}
	}
	if conn.config == "" {
		conn.config = "riscd.yaml"
	}
	l, err := load(conn.config, env.environ, secretsOptions{needKey: true})
	if err != nil {
		return err
	}
	if l.cfg.Store.Engine == config.EnginePostgres {
		return usageError{errors.New("store.engine is postgres: back the database up with pg_dump (riscd store backup copies the bbolt file)")}
	}
	dest, err := filepath.Abs(pos[0])
	if err != nil {
		return usageError{err}
	}
	if _, err := os.Lstat(dest); !errors.Is(err, iofs.ErrNotExist) {
		return usageError{fmt.Errorf("%s exists: name a new file (a backup never overwrites one)", dest)}
	}
	if st, err := os.Stat(filepath.Dir(dest)); err != nil || !st.IsDir() {
		return usageError{fmt.Errorf("%s: its directory %s does not exist", dest, filepath.Dir(dest))}
	}
	s, err := conn.connect(env)
	if err != nil {
		return err
	}

	// The copy is written and checked under a temporary name, then linked
	// into place: DEST holds a checked copy or nothing.
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(dest), "."+filepath.Base(dest)+".partial-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("store backup: %w", err)
	}
	defer os.Remove(tmp)
	n, err := s.client.Backup(ctx, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return s.explain(fmt.Errorf("store backup: %w", err))
	}
	report, problems, err := boltdb.CheckFile(ctx, boltdb.Options{Path: tmp, Key: l.secrets.StoreKey, OldKeys: l.secrets.OldKeys})
	if err == nil {
		err = problems
	}
	if err != nil {
		return fmt.Errorf("store backup: the copy failed its check, and was not kept: %w", err)
	}
	if err := os.Link(tmp, dest); err != nil {
		if errors.Is(err, iofs.ErrExist) {
			return usageError{fmt.Errorf("%s appeared meanwhile: the backup was not written", dest)}
		}
		return fmt.Errorf("store backup: %w", err)
	}
	syncDir(filepath.Dir(dest))
	st := report.Stats
	fmt.Fprintf(env.stdout, "backup %s: %d bytes from %s\n", dest, n, s.url)
	fmt.Fprintf(env.stdout, "  grants %d, accounts %d, inbox %d, outbox %d, audit entries %d\n", st.Grants, st.Accounts, st.Inbox, st.Outbox, st.Audit)
	fmt.Fprintln(env.stdout, "ok: the copy passed the store check")
	return nil
}

// syncDir makes a new directory entry durable, where the system allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
