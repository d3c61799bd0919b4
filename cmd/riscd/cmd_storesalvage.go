package main

import (
	"context"
	"fmt"

	"github.com/riscd/riscd/store/boltdb"
)

func cmdStoreSalvageJournal(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "store salvage-journal", "store salvage-journal --config FILE\n\n"+
		"Rewrites each damaged file of the store's inbox journal (riscd refuses to start, and store check\n"+
		"fails, naming it) with every whole record it holds, so that riscd replays them at its next start.\n"+
		"The damaged records are lost; the damaged file is kept beside it, named FILE.damaged-TIME. riscd must\n"+
		"be stopped. A journal without damage is left alone.")
	path := fs.String("config", "riscd.yaml", "configuration file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	l, err := load(*path, env.environ, secretsOptions{})
	if err != nil {
		return err
	}
	if err := bboltOnly("salvage-journal", l.cfg.Store); err != nil {
		return err
	}
	done, err := boltdb.SalvageJournal(ctx, l.cfg.Store.Path, 0)
	for _, s := range done {
		fmt.Fprintf(env.stdout, "%s: kept %d whole records, skipped %d damaged bytes; the damaged file is %s\n",
			s.Path, s.Records, s.SkippedBytes, s.Kept)
	}
	if err != nil {
		return &StartupError{fmt.Errorf("store.path: %w", err)}
	}
	if len(done) == 0 {
		fmt.Fprintln(env.stdout, "the inbox journal is not damaged: nothing to do")
	}
	return nil
}
