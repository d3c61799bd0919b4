package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/riscd/riscd/config"
)

// startProblems checks what serve and the stream commands need beyond the
// configuration's values and the files config.Resolve reads: the store's
// folder (serve creates the bbolt file, never its folder) and the service
// account key the stream commands and the stream check read. It returns the
// problems, naming the file and key, and warnings.
func startProblems(ctx context.Context, file string, cfg *config.Config) (config.Errors, []string) {
	var errs config.Errors
	var warnings []string
	bad := func(key, msg string) { errs = append(errs, config.Error{File: file, Key: key, Msg: msg}) }
	if cfg.Store.Engine != config.EnginePostgres {
		p := cfg.Store.Path
		dir := filepath.Dir(p)
		switch st, err := os.Stat(dir); {
		case err != nil:
			bad("store.path", p+": its folder "+dir+": "+config.FileProblem(err)+" (riscd creates the store file, not its folder)")
		case !st.IsDir():
			bad("store.path", p+": "+dir+" is not a folder")
		}
		if st, err := os.Stat(p); err == nil && !st.Mode().IsRegular() {
			bad("store.path", p+": not a regular file")
		}
	}
	if cfg.RISC.ServiceAccountFile == "" {
		warnings = append(warnings, file+": risc.service_account_file: not set: riscd stream commands and the stream check need it")
	} else if _, err := newStreamAPIClient(ctx, file, cfg); err != nil {
		if ce, ok := err.(config.Errors); ok {
			errs = append(errs, ce...)
		} else {
			bad("risc.service_account_file", err.Error())
		}
	}
	return errs, warnings
}
