package boltdb

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzJournalLoad reads arbitrary bytes as a journal file. Loading never
// panics and returns only whole records; and once the journal starts its
// next generation, as Open does after replaying, what the file held before
// is never read again: a reopen gives back exactly the records written
// since.
func FuzzJournalLoad(f *testing.F) {
	good := func(gen uint64, payloads ...string) []byte {
		dir := f.TempDir()
		j, _, err := openJournalFile(filepath.Join(dir, "j"), true)
		if err != nil {
			f.Fatal(err)
		}
		defer j.close()
		j.step = 64 // no zeros beyond the records, in the seeds
		if err := j.reset(gen); err != nil {
			f.Fatal(err)
		}
		var recs []byte
		for _, p := range payloads {
			recs = appendJournalRecord(recs, gen, []byte(p))
		}
		if err := j.write(recs); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "j"))
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	f.Add([]byte{})
	f.Add(good(1))
	f.Add(good(7, `{"v":1}`, `{"v":1,"jti":"x"}`))
	two := good(3, "a", "bb", "ccc")
	f.Add(two[:len(two)-1])
	f.Add(append(good(9, "new"), appendJournalRecord(nil, 8, []byte("old"))...))
	f.Add(append(append(good(4), bytes.Repeat([]byte("0"), 24)...), appendJournalRecord(nil, 4, []byte("stale"))...))
	f.Add(bytes.Repeat([]byte{0xff}, 200))

	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "j")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		j, payloads, err := openJournalFile(path, true)
		if err != nil {
			return // an unreadable file is refused, never misread
		}
		defer j.close()
		j.step = 64
		if (j.gen == 0) != (len(payloads) == 0 && j.off == 0) || (j.gen != 0 && j.off < journalHeaderSize) {
			t.Fatalf("opened at generation %d, offset %d, with %d records", j.gen, j.off, len(payloads))
		}
		if j.gen == 0 { // as replayJournal does
			j.gen = randomGeneration()
		}
		for _, p := range payloads {
			if len(p) == 0 || len(p) > journalMaxRecord {
				t.Fatalf("payload of %d bytes", len(p))
			}
		}
		if err := j.reset(j.gen + 1); err != nil {
			t.Fatal(err)
		}
		if err := j.write(appendJournalRecord(nil, j.gen, []byte("appended"))); err != nil {
			t.Fatal(err)
		}
		j2, again, err := openJournalFile(path, true)
		if err != nil {
			t.Fatalf("reopen after an append: %v", err)
		}
		defer j2.close()
		if len(again) != 1 || string(again[0]) != "appended" {
			t.Fatalf("reopen read %d records, want only the one appended since the new generation", len(again))
		}
	})
}
