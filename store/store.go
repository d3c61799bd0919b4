// Package store opens the store engine a configuration names. The store
// contract (riscd.Store, riscd.ReadTx, riscd.Tx) is package riscd's; each
// engine lives in a package of its own (store/boltdb, the embedded default,
// or store/postgres) and passes the behavioural suite of package store/storetest. Code that
// uses the store imports package riscd and, to open one, this package; never
// an engine.
package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/seal"
	"github.com/riscd/riscd/store/boltdb"
	"github.com/riscd/riscd/store/postgres"
)

// Engine names.
const (
	EngineBolt     = "bbolt"    // one file on local disk: store/boltdb
	EnginePostgres = "postgres" // a PostgreSQL database several replicas share: store/postgres
)

// Options say which engine to open and how.
type Options struct {
	// Engine is EngineBolt (the default when "") or EnginePostgres.
	Engine string
	// Path is the bbolt file. Its directory must exist.
	Path string
	// URL is the PostgreSQL connection URL (EnginePostgres). Its password
	// never appears in errors or logs.
	URL string
	// Key seals everything written, on every engine.
	Key seal.Key
	// OldKeys are still accepted for reading, during and after a key
	// rotation.
	OldKeys []seal.Key
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives the store's rare log lines. Default: discard.
	Logger *slog.Logger
	// Password is the database password when the engine's URL carries
	// none (from store.password_file or PGPASSWORD); the bbolt engine has
	// no use for it. Never logged.
	Password riscd.Secret
}

// Open opens the store opts names; see each engine's Open for what it
// refuses.
func Open(ctx context.Context, opts Options) (riscd.DB, error) {
	switch opts.Engine {
	case "", EngineBolt:
		db, err := boltdb.Open(ctx, boltdb.Options{
			Path: opts.Path, Key: opts.Key, OldKeys: opts.OldKeys, Now: opts.Now, Logger: opts.Logger,
		})
		if err != nil {
			return nil, err
		}
		return db, nil
	case EnginePostgres:
		db, err := postgres.Open(ctx, postgres.Options{
			URL: opts.URL, Password: opts.Password, Key: opts.Key, OldKeys: opts.OldKeys, Now: opts.Now, Logger: opts.Logger,
		})
		if err != nil {
			return nil, err
		}
		return db, nil
	default:
		return nil, fmt.Errorf("store: unknown engine %q", opts.Engine)
	}
}
