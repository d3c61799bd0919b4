package boltdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/internal/record"
	bolt "go.etcd.io/bbolt"
)

// FileReport is what CheckFile found.
type FileReport struct {
	// Stats are the file's counts and sizes; zero when the pages are
	// damaged (the records were not read).
	Stats Stats
	// Notes describe what the file holds that is not a problem: a damaged
	// bbolt meta page (bbolt reads the other; riscd rewrites it when it
	// next opens the store), entries of the inbox journal not yet in the
	// inbox (riscd applies them when it next opens the store).
	Notes []string
	// JournalRecords counts the whole records of the journal's current
	// generations; JournalUnapplied those not yet in the inbox.
	JournalRecords, JournalUnapplied int
}

// CheckFile checks the store file at opts.Path without writing to it or
// beside it: bbolt opens it read-only (a shared lock: ErrLocked while a
// riscd holds it), no bbolt meta page is rewritten, and the inbox journal's
// files are read, not replayed, and not created when missing. It runs the
// checks of Check and reads the Stats.
//
// A missing file is an error wrapping fs.ErrNotExist (nothing is created);
// the refusals of Open (ErrNotStore, ErrNewerSchema, ErrWrongKey,
// ErrDamaged for a truncated file, ErrCorrupt and ErrDamaged for a damaged
// journal) are returned as errors. Problems the check finds are returned in
// problems, joined, wrapping ErrDamaged when the pages are damaged.
func CheckFile(ctx context.Context, opts Options) (report FileReport, problems error, err error) {
	if err := ctx.Err(); err != nil {
		return report, nil, err
	}
	if opts.Path == "" {
		return report, nil, fmt.Errorf("store: check: no path: %w", ErrInvalid)
	}
	keys, err := newKeyring(opts.Key, opts.OldKeys)
	if err != nil {
		return report, nil, fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	path := opts.Path
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return report, nil, fmt.Errorf("store: check %s: the file does not exist: %w", path, fs.ErrNotExist)
	case err != nil:
		return report, nil, fmt.Errorf("store: check %s: %w", path, err)
	case !fi.Mode().IsRegular():
		return report, nil, notStore(path, "not a regular file", nil)
	case fi.Size() == 0:
		return report, nil, notStore(path, "the file is empty", nil)
	}
	bf, err := readBoltFile(path)
	if err != nil {
		return report, nil, err
	}
	for _, d := range bf.damaged {
		report.Notes = append(report.Notes, "bbolt "+d+"; bbolt reads the other, and riscd rewrites it when it next opens the store")
	}
	// Hold the shared lock on the file itself throughout, so that no
	// riscd opens it meanwhile.
	bdb, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: opts.LockTimeout})
	if err != nil {
		return report, nil, err
	}
	defer bdb.Close()
	checked := path
	if len(bf.damaged) > 0 {
		// bbolt's page check stops at a damaged meta page. Check a copy
		// (in the temporary directory, not beside the file) whose damaged
		// meta page one commit rewrote, as Open would.
		tmp, cleanup, err := repairedCopy(path, opts.LockTimeout)
		if err != nil {
			return report, nil, err
		}
		defer cleanup()
		cdb, err := openBolt(tmp, &bolt.Options{ReadOnly: true, Timeout: opts.LockTimeout})
		if err != nil {
			return report, nil, err
		}
		defer cdb.Close()
		bdb, checked = cdb, tmp
	}
	db := &DB{bolt: bdb, path: checked, now: opts.Now, log: opts.Logger, keys: keys, readOnly: true}
	db.Shortcuts = riscd.Shortcuts{Store: db}

	var schema int
	err = func() (err error) {
		defer recovered(path, opts.Logger, &err)
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		return bdb.View(func(btx *bolt.Tx) error {
			if err := checkMeta(btx, path); err != nil {
				return err
			}
			schema, _ = strconv.Atoi(string(btx.Bucket([]byte(bucketMeta)).Get([]byte(metaSchema))))
			return checkKeys(btx, keys, path)
		})
	}()
	if err != nil {
		return report, nil, err
	}
	if schema < SchemaVersion {
		return report, nil, fmt.Errorf("store: check %s: written by an older riscd (schema %d, this riscd's is %d): start riscd on it once (it upgrades the file), then check it", path, schema, SchemaVersion)
	}
	payloads, err := readJournal(path)
	if err != nil {
		return report, nil, err
	}

	if problems = db.Check(ctx); errors.Is(problems, ErrDamaged) {
		return report, problems, nil
	}
	if report.Stats, err = db.Stats(ctx); err != nil {
		return report, problems, err
	}
	report.JournalRecords = len(payloads)
	err = db.viewTx(ctx, func(t *Tx) error {
		idx, err := t.bucket(bucketInboxByJTI)
		if err != nil {
			return err
		}
		for _, jp := range payloads {
			var r record.Inbox
			if err := json.Unmarshal(jp.payload, &r); err != nil || r.V < 1 || r.V > recordVersion || r.Iss == "" || r.JTI == "" {
				return fmt.Errorf("store: journal %s: record %d is not an inbox entry: %w", jp.path, jp.n, ErrCorrupt)
			}
			if idx.Get(record.JTIKey(r.Iss, r.JTI)) == nil {
				report.JournalUnapplied++
			}
		}
		return nil
	})
	if err != nil {
		return report, problems, err
	}
	if report.JournalUnapplied > 0 {
		report.Notes = append(report.Notes, fmt.Sprintf("the inbox journal holds %d entries not yet in the inbox; riscd moves them there when it next opens the store",
			report.JournalUnapplied))
	}
	return report, problems, nil
}

// journalPayload is one record of a journal file, read by readJournal.
type journalPayload struct {
	path    string
	n       int
	payload []byte
}

// readJournal reads the records of both files of the inbox journal of the
// store at path, opened read-only; a missing file holds none and is not
// created. A damaged file fails as it fails Open (ErrCorrupt, ErrDamaged).
func readJournal(path string) ([]journalPayload, error) {
	var out []journalPayload
	for _, jp := range JournalPaths(path) {
		f, err := os.Open(jp)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store: journal %s: %w", jp, err)
		}
		j := &journalFile{f: f, path: jp}
		payloads, err := j.load()
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("store: journal %s: %w", jp, err)
		}
		for n, p := range payloads {
			out = append(out, journalPayload{path: jp, n: n, payload: p})
		}
	}
	return out, nil
}

// repairedCopy copies the store file at path into a new temporary
// directory and commits once to the copy, which rewrites the meta page a
// commit of the next transaction ID writes: the damaged one, the older. It
// returns the copy's path and a function removing it.
func repairedCopy(path string, timeout time.Duration) (string, func(), error) {
	dir, err := os.MkdirTemp("", "riscd-check-")
	if err != nil {
		return "", nil, fmt.Errorf("store: check %s: %w", path, err)
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	tmp := filepath.Join(dir, "store.db")
	err = func() error {
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		dst, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(dst, src); err != nil {
			_ = dst.Close()
			return err
		}
		if err := dst.Close(); err != nil {
			return err
		}
		bdb, err := openBolt(tmp, &bolt.Options{Timeout: timeout, NoSync: true})
		if err != nil {
			return err
		}
		err = bdb.Update(func(*bolt.Tx) error { return nil })
		return errors.Join(err, bdb.Close())
	}()
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("store: check %s: a copy to check past its damaged meta page: %w", path, err)
	}
	return tmp, cleanup, nil
}
