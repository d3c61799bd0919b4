package boltdb

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// The inbox journal is a pair of append-only files beside the store file
// (JournalPaths) that makes a received SET durable with one contiguous
// write and one fdatasync, where a bbolt commit writes pages scattered over
// four trees and syncs twice. AppendInbox writes there; a background
// applier moves the records into the inbox buckets in large transactions;
// Open replays whatever the last process left unapplied. Records are
// idempotent (the (iss, jti) index dedupes them), so replaying one that was
// applied already changes nothing.
//
// Layout of each file: a header, then records.
//
//	header: "riscdJ01" | generation u64 | crc32c(first 16 bytes) u32
//	record: generation u64 | length u32 | crc32c(generation, length, payload) u32 | payload
//
// The payload is the inbox record as PrepareInbox encoded it. Appends go to
// one file until it holds journalResetSize bytes; then, once every record
// of the other file is applied, the other file is reset (its header gets
// the next generation, past both files') and appends go there, over its old
// records. Two files let a busy receiver start over while the applier is
// still moving the last records: one file would have to wait for a moment
// with nothing unapplied, which steady traffic never gives. Replay reads
// each file's records of its header's generation up to the first that is
// torn or older, the older generation's file first. A record is
// acknowledged only after the fdatasync that follows its write, and each
// write starts after the previous one's fdatasync returned, so a crash
// tears only the records of the last write: nothing acknowledged lies
// beyond them. A record that does not check but is followed by whole
// records of the same generation is not such a tail: the file was damaged
// after it was written (a flipped bit), and records acknowledged after the
// damaged one would be lost if replay stopped there. load then refuses the
// file (ErrCorrupt), and Open fails, leaving both files as they are, rather
// than lose them silently; SalvageJournal keeps every whole record. To keep
// a failed write's leftovers from passing for that, the next write covers
// them with zeros (journalFile.dirty). One tear looks the same: a power cut
// that left a later record of the last write whole and an earlier one
// torn (the disk need not write a write's blocks in order). It is refused
// too, and salvaged the same way: none of its records was acknowledged.
//
// A file grows in journalGrowStep steps of zeros written ahead of the
// records: a record written over blocks the file already has costs its
// fdatasync the data alone, where one that extends the file costs a
// journal commit of the filesystem's metadata too (on ext4 here, twice the
// latency and nearly three times the system CPU).

const (
	journalMagic      = "riscdJ01"
	journalHeaderSize = 64
	journalRecHeader  = 16
	// journalMaxRecord bounds a record's payload: an inbox record holds a
	// SET of at most 64 KiB, its claims and a few fields.
	journalMaxRecord = 1 << 20
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// journalGrowStep is how much a journal file grows by at a time.
const journalGrowStep = 1 << 20

// JournalPath is where the first file of the inbox journal of the store at
// path lives; JournalPaths names both. A copy of a stopped store needs all
// three files; see README's backup section.
func JournalPath(path string) string { return path + "-journal" }

// JournalPaths are the two files of the inbox journal of the store at path.
func JournalPaths(path string) [2]string { return [2]string{path + "-journal", path + "-journal.1"} }

// journalFile is the journal's file and write position. Its methods are not
// safe for concurrent use: the journal's mutex guards them.
type journalFile struct {
	f      *os.File
	path   string
	gen    uint64 // 0 until the first reset when the file had none readable
	off    int64  // where the next record goes
	size   int64  // the file's size: records up to here need no extension
	step   int64  // journalGrowStep; tests set less
	dirty  int64  // the end of the farthest write that failed since the position last moved
	noSync bool   // Options.NoSync: no fdatasync (benchmarks only)
}

// openJournalFile opens (creating if missing) the journal file at path and
// returns it with the payloads of its current generation, in order. A file
// that is new, or has neither header nor first record readable, has
// generation 0: reset it before writing.
func openJournalFile(path string, noSync bool) (*journalFile, [][]byte, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("store: journal %s: %w", path, err)
	}
	j := &journalFile{f: f, path: path, step: journalGrowStep, noSync: noSync}
	payloads, err := j.load()
	if err != nil {
		_ = f.Close()
		return nil, nil, fmt.Errorf("store: journal %s: %w", path, err)
	}
	return j, payloads, nil
}

// load reads the header and the current generation's records. A header
// that does not check (torn while a reset rewrote it) is replaced by the
// generation of the first record, if one is whole: replaying records that
// were applied already changes nothing. A file with neither is a journal
// never written past its creation: its generation stays 0. Records end at
// the first one that does not check, unless whole records of the
// generation follow it: then the file is damaged and load fails with
// ErrCorrupt (see the top of this file).
func (j *journalFile) load() ([][]byte, error) {
	data, err := io.ReadAll(io.NewSectionReader(j.f, 0, 1<<62))
	if err != nil {
		return nil, err
	}
	j.size = int64(len(data))
	gen, ok := parseJournalHeader(data)
	if !ok && len(data) >= journalHeaderSize+journalRecHeader {
		gen = binary.BigEndian.Uint64(data[journalHeaderSize:])
	}
	if gen == 0 {
		return nil, nil
	}
	var out [][]byte
	off := journalHeaderSize
	for off < len(data) {
		p, n, ok := parseJournalRecord(data[off:], gen)
		if !ok {
			break
		}
		out = append(out, p)
		off += n
	}
	if d := findDamage(data, off, gen); d != nil {
		d.record = len(out)
		return nil, d
	}
	if len(out) == 0 && !ok {
		return nil, nil
	}
	j.gen, j.off = gen, int64(off)
	return out, nil
}

// journalDamage describes a journal file whose records go on past one that
// does not check. Its message names offsets and counts, never a record's
// bytes.
type journalDamage struct {
	record      int   // how many whole records come before it
	offset      int   // where it starts
	next        int   // where the first whole record after it starts
	intact      int   // whole records of the generation after offset
	intactBytes int64 // their size
}

func (d *journalDamage) Error() string {
	return fmt.Sprintf("the record at byte %d (after %d whole ones) does not check, but %d whole records (%d bytes) of the same generation follow it from byte %d: "+
		"the file was damaged after it was written, and replaying only the records before the damage would lose the later ones; "+
		"the journal is left as it is (riscd store salvage-journal keeps every whole record)", d.offset, d.record, d.intact, d.intactBytes, d.next)
}

// Unwrap makes journal damage both ErrCorrupt and ErrDamaged: the file was
// damaged below its records, as a damaged bbolt page is.
func (d *journalDamage) Unwrap() []error { return []error{ErrCorrupt, ErrDamaged} }

// findDamage looks past the end of the readable records, at off, for
// whole records of generation gen: it returns nil when there are none (the
// end of the records, or a torn tail).
func findDamage(data []byte, off int, gen uint64) *journalDamage {
	var d *journalDamage
	for at := off + 1; at+journalRecHeader <= len(data); {
		if binary.BigEndian.Uint64(data[at:]) != gen {
			at++
			continue
		}
		_, n, ok := parseJournalRecord(data[at:], gen)
		if !ok {
			at++
			continue
		}
		if d == nil {
			d = &journalDamage{offset: off, next: at}
		}
		d.intact++
		d.intactBytes += int64(n)
		at += n
	}
	return d
}

// randomGeneration is a non-zero generation no earlier journal is likely
// to have used.
func randomGeneration() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return binary.BigEndian.Uint64(b[:])>>1 | 1
}

func parseJournalHeader(b []byte) (uint64, bool) {
	if len(b) < journalHeaderSize || string(b[:8]) != journalMagic {
		return 0, false
	}
	if crc32.Checksum(b[:16], crc32c) != binary.BigEndian.Uint32(b[16:20]) {
		return 0, false
	}
	gen := binary.BigEndian.Uint64(b[8:16])
	return gen, gen != 0
}

// parseJournalRecord returns the payload of the record at the start of b
// and the record's size, if a whole record of generation gen is there.
func parseJournalRecord(b []byte, gen uint64) ([]byte, int, bool) {
	if len(b) < journalRecHeader || binary.BigEndian.Uint64(b) != gen {
		return nil, 0, false
	}
	n := binary.BigEndian.Uint32(b[8:12])
	if n == 0 || n > journalMaxRecord || len(b) < journalRecHeader+int(n) {
		return nil, 0, false
	}
	sum := crc32.Update(crc32.Checksum(b[:12], crc32c), crc32c, b[journalRecHeader:journalRecHeader+n])
	if sum != binary.BigEndian.Uint32(b[12:16]) {
		return nil, 0, false
	}
	return b[journalRecHeader : journalRecHeader+n], journalRecHeader + int(n), true
}

// appendJournalRecord appends payload as a record of generation gen.
func appendJournalRecord(dst []byte, gen uint64, payload []byte) []byte {
	start := len(dst)
	dst = binary.BigEndian.AppendUint64(dst, gen)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	sum := crc32.Update(crc32.Checksum(dst[start:start+12], crc32c), crc32c, payload)
	dst = binary.BigEndian.AppendUint32(dst, sum)
	return append(dst, payload...)
}

// write appends records (encoded by appendJournalRecord with j.gen) and
// makes them durable. On error the position does not move: the next write
// goes over whatever part of records reached the file, and zeros follow its
// records over the rest (dirty), so no whole record of a write that failed
// stays behind the records that replay reads. Records that would reach past
// the file's end go after zeros that grow it to the next journalGrowStep
// boundary, all in one write.
func (j *journalFile) write(records []byte) error {
	end := j.off + int64(len(records))
	buf, size := records, j.size
	if covered := max(end, j.dirty); covered > j.size {
		size = (covered + j.step - 1) / j.step * j.step
		buf = make([]byte, size-j.off)
		copy(buf, records)
	} else if covered > end {
		buf = make([]byte, covered-j.off)
		copy(buf, records)
	}
	if _, err := j.f.WriteAt(buf, j.off); err != nil {
		j.dirty = max(j.dirty, end)
		return err
	}
	j.size = size
	if err := j.sync(); err != nil {
		j.dirty = max(j.dirty, end)
		return err
	}
	j.off, j.dirty = end, 0
	return nil
}

// reset starts generation gen: the header is rewritten and synced, and the
// next record goes right after it. Every record of older generations must
// be applied already: replay will not read them again. A new file grows to
// one step, its directory entry made durable.
func (j *journalFile) reset(gen uint64) error {
	var h [journalHeaderSize]byte
	copy(h[:], journalMagic)
	binary.BigEndian.PutUint64(h[8:], gen)
	binary.BigEndian.PutUint32(h[16:], crc32.Checksum(h[:16], crc32c))
	buf := h[:]
	if j.size < j.step {
		buf = make([]byte, j.step)
		copy(buf, h[:])
	}
	if _, err := j.f.WriteAt(buf, 0); err != nil {
		return err
	}
	if err := j.sync(); err != nil {
		return err
	}
	if j.size < j.step {
		j.size = j.step
		syncDir(filepath.Dir(j.path))
	}
	j.gen, j.off, j.dirty = gen, journalHeaderSize, 0
	return nil
}

func (j *journalFile) sync() error {
	if j.noSync {
		return nil
	}
	return fdatasync(j.f)
}

// records is how many bytes the current generation's records take.
func (j *journalFile) records() int64 { return max(0, j.off-journalHeaderSize) }

func (j *journalFile) close() error { return j.f.Close() }
