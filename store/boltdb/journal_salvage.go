package boltdb

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SalvagedJournal is what SalvageJournal did with one damaged journal file.
type SalvagedJournal struct {
	// Path is the journal file, which now holds Records whole records.
	Path string
	// Kept is the damaged file as it was, left beside it for inspection.
	Kept string
	// Records were kept; SkippedBytes (the damaged records) were not.
	Records      int
	SkippedBytes int64
}

// SalvageJournal rewrites each damaged file of the inbox journal of the
// store at path (the files Open refuses with ErrCorrupt: a record that does
// not check with whole records after it) with every whole record of its
// generation, in order, so that the next Open replays them. The damaged
// records are lost; the file as it was is kept beside it, named
// "<file>.damaged-<UTC time>". The store must not be open: like Open,
// SalvageJournal fails with ErrLocked if another process holds it. A
// journal without damage is left alone, and the result is empty.
func SalvageJournal(ctx context.Context, path string, lockTimeout time.Duration) ([]SalvagedJournal, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if lockTimeout <= 0 {
		lockTimeout = time.Second
	}
	// Hold the store's lock meanwhile: a riscd starting now would replay
	// the files being rewritten.
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if err != nil {
		return nil, openErr(path, err)
	}
	defer bdb.Close()
	var out []SalvagedJournal
	for _, jpath := range JournalPaths(path) {
		s, err := salvageJournalFile(jpath, time.Now().UTC())
		if err != nil {
			return out, fmt.Errorf("store: salvage journal %s: %w", jpath, err)
		}
		if s != nil {
			out = append(out, *s)
		}
	}
	return out, nil
}

// salvageJournalFile rewrites the journal file at path with its whole
// records if it is damaged; nil if it is not (or does not exist).
func salvageJournalFile(path string, now time.Time) (*SalvagedJournal, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	gen, ok := parseJournalHeader(data)
	if !ok && len(data) >= journalHeaderSize+journalRecHeader {
		gen = binary.BigEndian.Uint64(data[journalHeaderSize:])
	}
	if gen == 0 {
		return nil, nil
	}
	var payloads [][]byte
	var skipped int64
	damaged := false
	for off := journalHeaderSize; off < len(data); {
		if p, n, ok := parseJournalRecord(data[off:], gen); ok {
			payloads = append(payloads, p)
			off += n
			continue
		}
		d := findDamage(data, off, gen)
		if d == nil {
			break // the end of the records, or a torn tail
		}
		damaged = true
		skipped += int64(d.next - off)
		off = d.next
	}
	if !damaged {
		return nil, nil
	}

	// The whole records go to a new file, which then takes the damaged
	// one's place; the damaged one stays under another name. A crash on
	// the way leaves the damaged file in place, or the new one.
	tmp := path + ".salvage"
	_ = os.Remove(tmp)
	j, _, err := openJournalFile(tmp, false)
	if err != nil {
		return nil, err
	}
	err = j.reset(gen)
	if err == nil && len(payloads) > 0 {
		var recs []byte
		for _, p := range payloads {
			recs = appendJournalRecord(recs, gen, p)
		}
		err = j.write(recs)
	}
	if cerr := j.close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return nil, err
	}
	kept := path + ".damaged-" + now.Format("20060102T150405Z")
	if err := os.Link(path, kept); err != nil {
		_ = os.Remove(tmp)
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	syncDir(filepath.Dir(path))
	return &SalvagedJournal{Path: path, Kept: kept, Records: len(payloads), SkippedBytes: skipped}, nil
}
