package boltdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/riscd/riscd"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Options configures Open. Path and Key are required.
type Options struct {
	// Path of the store file. Its directory must exist. A missing file is
	// created (mode 0600).
	Path string
	// Key seals everything written.
	Key Key
	// OldKeys are still accepted for reading, during and after a key rotation.
	OldKeys []Key
	// LockTimeout is how long Open waits for another process to release the
	// file before failing with ErrLocked. Default 1s.
	LockTimeout time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives the store's rare log lines. Default: discard.
	Logger *slog.Logger
	// NoSync skips fsync on commit. For benchmarks only: a crash may lose or
	// corrupt the store.
	NoSync bool
}

// Open opens the store at opts.Path, creating it if the file does not exist.
//
// A new store is built under a temporary name and linked into place, so the
// path holds either a complete store or nothing. An existing file is checked
// before it is opened for writing: an empty file, a file that is not bbolt, a
// bbolt file without riscd's metadata (ErrNotStore) or one written by a
// newer riscd (ErrNewerSchema) is refused and left byte for byte as it was. A
// file another process holds fails with ErrLocked after opts.LockTimeout. A
// store whose secrets were sealed with a key not among opts.Key and
// opts.OldKeys fails with ErrWrongKey (a RotationError when a key rotation
// did not finish), also without being modified. A file shorter than its
// bbolt metadata says (truncated) fails with ErrDamaged, unmodified; one of
// whose two bbolt meta pages is damaged opens from the other, which Open
// then rewrites. An existing file is written only once everything that can
// fail before the first write (keys, schema, the journal files) has passed,
// so a failed Open leaves it as it was. A missing directory is an error
// wrapping fs.ErrNotExist; it is not created.
func Open(ctx context.Context, opts Options) (*DB, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts.Path == "" {
		return nil, fmt.Errorf("store: open: no path: %w", ErrInvalid)
	}
	keys, err := newKeyring(opts.Key, opts.OldKeys)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	path := opts.Path

	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("store: open %s: directory %s: %w", path, dir, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("store: open %s: %s is not a directory: %w", path, dir, fs.ErrInvalid)
	}

	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := create(path, keys, opts); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	case !fi.Mode().IsRegular():
		return nil, notStore(path, "not a regular file", nil)
	case fi.Size() == 0:
		return nil, notStore(path, "the file is empty", nil)
	}

	bf, err := inspect(path, keys, opts.LockTimeout)
	if err != nil {
		return nil, err
	}

	// The hash map freelist. With bbolt's default (a sorted array), every
	// write transaction begins by merging the pages the last ones freed
	// into a new copy of the whole free list, while it holds the lock that
	// read transactions take to begin and to end. The inbox's dedupe index
	// takes random inserts, which free pages all over the file, so the list
	// is long. At half the benchmark's peak rate, the journal's dedupe
	// lookup (a read transaction, under the journal's lock) spent 5 to
	// 16 ms waiting for that lock at the end of its transaction during the
	// applier's commits, and held up every SET behind it. The map merges
	// only what was freed; with it, the receiver's p99 at half peak fell
	// from a median of 37 ms to 22 (README, Performance). The file format
	// is the same either way; etcd uses the map by default.
	bdb, err := openBolt(path, &bolt.Options{Timeout: opts.LockTimeout, NoSync: opts.NoSync, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, err
	}
	db := &DB{bolt: bdb, path: path, now: opts.Now, log: opts.Logger, keys: keys, rotateChunk: 500, noSync: opts.NoSync}
	db.Shortcuts = riscd.Shortcuts{Store: db}
	if err := db.prepare(ctx, bf.damaged); err != nil {
		_ = bdb.Close()
		return nil, err
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		opts.Logger.WarnContext(ctx, "store file is readable by other users", "path", path, "mode", fi.Mode().Perm().String())
	}
	return db, nil
}

// inspect reads an existing file's bbolt meta pages (readBoltFile), then
// opens it read-only (a shared lock, no writes) and refuses it unless it is
// a riscd store of a schema this riscd reads, whose secrets the configured
// keys open.
func inspect(path string, keys *keyring, timeout time.Duration) (_ *boltFile, err error) {
	bf, err := readBoltFile(path)
	if err != nil {
		return nil, err
	}
	bdb, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: timeout})
	if err != nil {
		return nil, err
	}
	defer bdb.Close()
	defer recovered(path, slog.New(slog.DiscardHandler), &err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	err = bdb.View(func(btx *bolt.Tx) error {
		if err := checkMeta(btx, path); err != nil {
			return err
		}
		return checkKeys(btx, keys, path)
	})
	if err != nil {
		return nil, err
	}
	return bf, nil
}

// openBolt opens the file with bbolt. Opening for writing reads the free
// list: a panic there (a damaged page) is an ErrDamaged error.
func openBolt(path string, opts *bolt.Options) (_ *bolt.DB, err error) {
	defer recovered(path, slog.New(slog.DiscardHandler), &err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	bdb, err := bolt.Open(path, 0o600, opts)
	if err != nil {
		return nil, openErr(path, err)
	}
	return bdb, nil
}

// prepare makes an opened store ready: it checks it again (under the
// write lock now), brings it up to date (missing buckets, an older schema,
// the primary key's check value, a damaged meta page) and replays the inbox
// journal. Everything that can fail is checked before the first write, so
// that a failed Open leaves the file as it was: a transaction commits only
// when there is something to write (bbolt writes a meta page on every
// commit), and only after the journal files have been read.
//
// damagedMeta lists the meta pages readBoltFile found damaged. bbolt reads
// the other one, and rewrites the damaged one on the next commit (each
// commit writes the meta page of its transaction ID's parity, the one
// older than the page in use); until then bbolt's page check fails on it,
// so Open commits at once.
func (db *DB) prepare(ctx context.Context, damagedMeta []string) (err error) {
	defer recovered(db.path, db.log, &err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	keys := db.keyring()
	var stale bool
	err = db.bolt.View(func(btx *bolt.Tx) error {
		if err := checkMeta(btx, db.path); err != nil {
			return err
		}
		if err := checkKeys(btx, keys, db.path); err != nil {
			return err
		}
		stale = len(damagedMeta) > 0 || needsUpdate(btx, keys)
		return nil
	})
	if err != nil {
		return err
	}
	if stale {
		if err := preflightJournal(db.path); err != nil {
			return err
		}
		err = db.bolt.Update(func(btx *bolt.Tx) error {
			for _, name := range bucketNames() {
				if _, err := btx.CreateBucketIfNotExists([]byte(name)); err != nil {
					return fmt.Errorf("store: create bucket %s: %w", name, err)
				}
			}
			if err := upgradeSchema(btx); err != nil {
				return err
			}
			return registerKey(btx, keys)
		})
		if err != nil {
			return err
		}
		for _, d := range damagedMeta {
			db.log.WarnContext(ctx, "store file: bbolt "+d+"; rewritten from the other", "path", db.path)
		}
	}
	jfs, cur, err := db.replayJournal()
	if err != nil {
		return err
	}
	db.journal = newInboxJournal(db, jfs, cur)
	return nil
}

// needsUpdate reports whether Open has to write to bring the store up to
// date: a bucket missing, an older schema, or the primary key's check value
// not yet recorded.
func needsUpdate(btx *bolt.Tx, keys *keyring) bool {
	for _, name := range bucketNames() {
		if btx.Bucket([]byte(name)) == nil {
			return true
		}
	}
	schema, _ := strconv.Atoi(string(btx.Bucket([]byte(bucketMeta)).Get([]byte(metaSchema))))
	return schema < SchemaVersion || btx.Bucket([]byte(bucketKeys)).Get(keys.Primary().RawID().Bytes()) == nil
}

// preflightJournal opens and reads the inbox journal's files as the replay
// will, and closes them, so that a journal the replay could not open fails
// Open before it writes to the store. A journal file it had to create is
// removed again if another one fails.
func preflightJournal(path string) error {
	var made []string
	for _, jp := range JournalPaths(path) {
		_, serr := os.Lstat(jp)
		f, _, err := openJournalFile(jp, true)
		if err != nil {
			for _, m := range made {
				_ = os.Remove(m)
			}
			return err
		}
		_ = f.close()
		if errors.Is(serr, fs.ErrNotExist) {
			made = append(made, jp)
		}
	}
	return nil
}

// pageSize is the page size of new stores. Grant records are large (two
// sealed tokens); bbolt keeps at least two records in the page it splits
// off the end of a bucket, so at 4 KiB pages hold three grants each (58%
// full) while 16 KiB pages hold eighteen (87%).
const pageSize = 16 << 10

// create builds a new store under a temporary name in the same directory
// and links it into place. If another process created the store meanwhile,
// its file wins and create returns nil.
func create(path string, keys *keyring, opts Options) error {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".new-"+hex.EncodeToString(rnd[:]))
	bdb, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: opts.LockTimeout, NoSync: opts.NoSync, PageSize: pageSize})
	if err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	defer os.Remove(tmp)
	err = bdb.Update(func(btx *bolt.Tx) error { return initStore(btx, keys, opts.Now()) })
	if cerr := bdb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		// No hard links on this file system: fall back to a rename, which
		// could replace a store created in the last instant.
		if _, serr := os.Lstat(path); !errors.Is(serr, fs.ErrNotExist) {
			return nil
		}
		if rerr := os.Rename(tmp, path); rerr != nil {
			return fmt.Errorf("store: create %s: %w", path, rerr)
		}
	}
	syncDir(filepath.Dir(path))
	return nil
}

// syncDir makes a new directory entry durable, where the system allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// openErr maps bbolt's open errors to the store's.
func openErr(path string, err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return &fileError{msg: "store " + path + " is in use by another riscd", kind: ErrLocked}
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum):
		return notStore(path, "not a bbolt database, or a damaged one", err)
	case errors.Is(err, berrors.ErrVersionMismatch):
		return notStore(path, "a bbolt file of another version", err)
	}
	return fmt.Errorf("store: open %s: %w", path, err)
}
