package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riscd/riscd"
	"github.com/riscd/riscd/seal"
	"github.com/riscd/riscd/store/internal/record"
)

//go:embed migrations/*.sql
var migrations embed.FS

// SchemaVersion is the newest schema this package knows: the highest
// migration in migrations/.
const SchemaVersion = 3

// versionTable is goose's table of applied migrations.
const versionTable = "riscd_schema_version"

// migrateLockID is the advisory lock goose holds while migrating.
const migrateLockID = 0x72697363_64000001 // "riscd" 1

// ErrNewerSchema: the database was migrated by a newer riscd. Open refuses
// it without changes. Check it with errors.Is.
var ErrNewerSchema = errors.New("database written by a newer riscd")

// Options say how to open the database.
type Options struct {
	// URL is a PostgreSQL connection URL or keyword/value string (see
	// pgxpool.ParseConfig). Without pool_max_conns, the pool holds up to
	// defaultMaxConns connections. Locks are held on one more connection,
	// outside the pool.
	URL string
	// Password is the database password when URL carries none (else
	// pgx's PGPASSWORD or passfile). Never logged.
	Password riscd.Secret
	// Key seals everything written.
	Key seal.Key
	// OldKeys are still accepted for reading.
	OldKeys []seal.Key
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives the store's rare log lines. Default: discard.
	Logger *slog.Logger
}

const defaultMaxConns = 16

// DB is an open PostgreSQL store, safe for concurrent use.
type DB struct {
	// Shortcuts, set to the DB itself, gives each ReadTx and Tx method as a
	// method of the DB run in its own transaction.
	riscd.Shortcuts

	pool   *pgxpool.Pool
	keys   *seal.Keyring
	now    func() time.Time
	log    *slog.Logger
	secret string // the URL's password, redacted from errors

	closed    atomic.Bool
	closeOnce sync.Once
	stop      context.CancelFunc // stops the listener and the notifier
	bg        sync.WaitGroup

	locks   lockSession
	locksMu sync.Mutex
	held    map[string]*heldLock // locks this process holds (or is taking), by name
	freed   chan struct{}        // closed when one of them is released

	writer  *inboxWriter
	own     ownJobs      // outbox jobs enqueued through this DB (OutboxEnqueuedHere)
	batch   batcher      // runs Batch calls together
	retries atomic.Int64 // transactions run again (SerializationRetries)
	applied *notifier
	// listening is closed once the listener first listens; listens counts
	// its LISTENs (one per connection), heard the notifications it
	// received (tests).
	listening chan struct{}
	listens   atomic.Int64
	heard     atomic.Int64
}

var (
	_ riscd.DB = (*DB)(nil)
	_ riscd.Tx = (*Tx)(nil)
)

// Open connects to the database opts.URL names, migrates its schema to this
// binary's (once, whatever number of replicas start at the same time),
// checks that opts' keys open what is sealed in it, and starts listening
// for other replicas' inbox commits. Errors: ErrNewerSchema, riscd.ErrWrongKey,
// or a connection or migration failure (its message free of the password).
func Open(ctx context.Context, opts Options) (*DB, error) {
	keys, err := seal.NewKeyring(opts.Key, opts.OldKeys)
	if err != nil {
		return nil, err
	}
	secret := urlPassword(opts.URL)
	cfg, err := pgxpool.ParseConfig(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("store: postgres URL: %s", redact(err.Error(), secret))
	}
	if cfg.ConnConfig.Password == "" && !opts.Password.IsZero() {
		cfg.ConnConfig.Password = opts.Password.Reveal()
	}
	if secret == "" {
		secret = cfg.ConnConfig.Password
	}
	if !strings.Contains(opts.URL, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	db := &DB{
		keys: keys, now: opts.Now, log: opts.Logger, secret: secret,
		listening: make(chan struct{}),
	}
	if db.now == nil {
		db.now = time.Now
	}
	if db.log == nil {
		db.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	db.Shortcuts = riscd.Shortcuts{Store: db}
	db.batch.db = db
	db.locks.cfg = cfg.ConnConfig.Copy()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, db.errorf("store: connect", err)
	}
	db.pool = pool
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, db.errorf("store: connect", err)
	}
	if err := db.migrate(ctx, cfg.ConnConfig); err != nil {
		pool.Close()
		return nil, err
	}
	if err := db.checkKeys(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	bg, stop := context.WithCancel(context.Background())
	db.stop = stop
	db.applied = newNotifier()
	db.writer = newInboxWriter(db)
	db.bg.Add(2)
	go func() { defer db.bg.Done(); db.applied.run(bg) }()
	go func() { defer db.bg.Done(); db.listen(bg, cfg.ConnConfig) }()
	return db, nil
}

// urlPassword returns the password a URL carries, if it parses as one.
func urlPassword(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return ""
	}
	pw, _ := u.User.Password()
	return pw
}

// redact removes secret from msg.
func redact(msg, secret string) string {
	if secret == "" {
		return msg
	}
	msg = strings.ReplaceAll(msg, secret, "xxxxx")
	return strings.ReplaceAll(msg, url.QueryEscape(secret), "xxxxx")
}

// redactedError is a driver error whose message has the password removed.
// It unwraps to riscd's sentinels the cause matches, and to the driver's
// error for SQLSTATE checks, but its own message is the only one shown.
type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.cause }

// errorf wraps a driver error with context, its message redacted.
func (db *DB) errorf(what string, err error) error {
	if err == nil {
		return nil
	}
	if db.closed.Load() || errors.Is(err, riscd.ErrClosed) {
		return fmt.Errorf("%s: %w", what, riscd.ErrClosed)
	}
	var re *redactedError
	if errors.As(err, &re) || isSentinel(err) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return &redactedError{msg: what + ": " + redact(err.Error(), db.secret), cause: err}
}

func isSentinel(err error) bool {
	for _, s := range []error{riscd.ErrNotFound, riscd.ErrExists, riscd.ErrInvalid, riscd.ErrWrongKey,
		riscd.ErrCorrupt, riscd.ErrClosed, riscd.ErrBusy, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// migrate applies the embedded migrations under goose's session lock,
// unless the schema is already this binary's (the usual restart, which
// takes no lock).
func (db *DB) migrate(ctx context.Context, cc *pgx.ConnConfig) error {
	v, err := db.schemaVersion(ctx)
	if err != nil {
		return err
	}
	if v > SchemaVersion {
		return newerSchema(v)
	}
	if v == SchemaVersion {
		return nil
	}
	sqlDB := stdlib.OpenDB(*cc.Copy())
	defer sqlDB.Close()
	if err := db.gooseUp(ctx, sqlDB); err != nil {
		return err
	}
	if v, err = db.schemaVersion(ctx); err != nil {
		return err
	}
	if v > SchemaVersion {
		return newerSchema(v)
	}
	return nil
}

func (db *DB) gooseUp(ctx context.Context, sqlDB *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	// Probe the lock every second, for up to five minutes: a replica
	// waits while another migrates.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrateLockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, fsys,
		goose.WithSessionLocker(locker), goose.WithTableName(versionTable),
		goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return db.errorf("store: migrate", err)
	}
	for _, r := range res {
		db.log.Info("store schema migrated", "version", r.Source.Version, "took", r.Duration)
	}
	return nil
}

// schemaVersion is the highest migration applied; 0 on a new database.
func (db *DB) schemaVersion(ctx context.Context) (int64, error) {
	var exists bool
	if err := db.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, versionTable).Scan(&exists); err != nil {
		return 0, db.errorf("store: read schema version", err)
	}
	if !exists {
		return 0, nil
	}
	var v int64
	err := db.pool.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM `+versionTable+` WHERE is_applied`).Scan(&v)
	if err != nil {
		return 0, db.errorf("store: read schema version", err)
	}
	return v, nil
}

func newerSchema(v int64) error {
	return fmt.Errorf("store: the database was migrated by a newer riscd (schema %d, this riscd knows up to %d): %w",
		v, SchemaVersion, ErrNewerSchema)
}

// keyCheck is what each key seals in riscd_keys.
const keyCheck = "riscd key check"

// checkKeys verifies that the configured keys open every key check in the
// database, then records the primary key's.
func (db *DB) checkKeys(ctx context.Context) error {
	rows, err := db.pool.Query(ctx, `SELECT id, check_value FROM riscd_keys ORDER BY id`)
	if err != nil {
		return db.errorf("store: read key checks", err)
	}
	type check struct{ id, ct []byte }
	checks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (check, error) {
		var c check
		return c, r.Scan(&c.id, &c.ct)
	})
	if err != nil {
		return db.errorf("store: read key checks", err)
	}
	var missing []string
	for _, c := range checks {
		plain, err := db.keys.Open(c.ct, record.TableKeys, c.id, "check")
		if err != nil || plain != keyCheck {
			missing = append(missing, fmt.Sprintf("%x", c.id))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("store: none of the configured keys (%s) opens the secrets sealed with key %s: %w",
			strings.Join(db.keys.KeyIDs(), ", "), strings.Join(missing, ", "), riscd.ErrWrongKey)
	}
	id := db.keys.Primary().RawID().Bytes()
	_, err = db.pool.Exec(ctx, `INSERT INTO riscd_keys (id, check_value) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
		id, db.keys.Seal(keyCheck, record.TableKeys, id, "check"))
	return db.errorf("store: register key", err)
}

// Health is nil when the database answers and accepts writes.
func (db *DB) Health(ctx context.Context) error {
	if db.closed.Load() {
		return fmt.Errorf("store: %w", riscd.ErrClosed)
	}
	var ro string
	if err := db.pool.QueryRow(ctx, `SHOW transaction_read_only`).Scan(&ro); err != nil {
		return db.errorf("store: database unreachable", err)
	}
	if ro != "off" {
		return errors.New("store: the database is read-only (a standby?)")
	}
	return nil
}

// Close stops the listener and the inbox writer and closes the pool. Later
// calls fail with riscd.ErrClosed; Close itself may be called again.
func (db *DB) Close() error {
	first := false
	db.closeOnce.Do(func() {
		first = true
		db.closed.Store(true)
		db.writer.close()
		db.stop()
		db.bg.Wait()
		db.dropLocks()
		db.pool.Close()
	})
	if !first {
		return fmt.Errorf("store: %w", riscd.ErrClosed)
	}
	return nil
}
