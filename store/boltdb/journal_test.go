package boltdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openJournalTestDB(t *testing.T, path string, key Key) *DB {
	t.Helper()
	db, err := Open(t.Context(), Options{Path: path, Key: key, LockTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// newJournalTestDB opens a new store in a temporary directory.
func newJournalTestDB(t *testing.T) (db *DB, path string, key Key) {
	t.Helper()
	key, _, _ = GenerateKey()
	path = filepath.Join(t.TempDir(), "riscd.db")
	return openJournalTestDB(t, path, key), path, key
}

// crashedStore is a new store as a crash would leave it after these
// appends (each one AppendInbox call) and before any apply: the copy's path.
func crashedStore(t *testing.T, key Key, appends ...[]string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "riscd.db")
	db := openJournalTestDB(t, path, key)
	release := holdApplier(db)
	for _, jtis := range appends {
		mustAppend(t, db, jtis...)
	}
	crashed := crashCopy(t, path)
	release()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return crashed
}

func journalEntry(jti string) InboxEntry {
	return InboxEntry{Transmitter: "google", Iss: "https://accounts.google.com", JTI: jti, Subject: "iss-sub:x",
		Types: []string{"https://schemas.openid.net/secevent/risc/event-type/account-disabled"},
		Raw:   "header.payload-" + jti + ".sig", Claims: []byte(`{"jti": "` + jti + `", "events": {}}`)}
}

func mustAppend(t *testing.T, db *DB, jtis ...string) []Appended {
	t.Helper()
	ps := make([]PreparedInbox, len(jtis))
	for i, jti := range jtis {
		p, err := db.PrepareInbox(journalEntry(jti))
		if err != nil {
			t.Fatal(err)
		}
		ps[i] = p
	}
	out, err := db.AppendInbox(t.Context(), ps)
	if err != nil {
		t.Fatalf("AppendInbox: %v", err)
	}
	return out
}

// holdApplier stops db's applier before its next apply; the returned
// function lets it go on.
func holdApplier(db *DB) (release func()) {
	gate := make(chan struct{})
	db.journal.mu.Lock()
	db.journal.beforeApply = func() { <-gate }
	db.journal.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(gate) }) }
}

// crashCopy copies the store file and its journal to a new directory, as a
// crash at this moment would leave them, and returns the copy's path. The
// applier must be held: bbolt's file is then between transactions.
func crashCopy(t *testing.T, path string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "riscd.db")
	from, to := JournalPaths(path), JournalPaths(dst)
	for _, p := range [][2]string{{path, dst}, {from[0], to[0]}, {from[1], to[1]}} {
		in, err := os.Open(p[0])
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.OpenFile(p[1], os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func inboxJTIs(t *testing.T, db *DB) map[string]uint64 {
	t.Helper()
	es, err := db.PendingInbox(t.Context(), 100000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, e := range es {
		if _, dup := out[e.JTI]; dup {
			t.Fatalf("jti %s stored twice", e.JTI)
		}
		out[e.JTI] = e.ID
	}
	return out
}

func TestAppendInboxDedupesAndApplies(t *testing.T) {
	db, _, _ := newJournalTestDB(t)
	defer db.Close()
	applied := make(chan struct{}, 1)
	db.OnInboxApplied(func() {
		select {
		case applied <- struct{}{}:
		default:
		}
	})

	out := mustAppend(t, db, "a", "b", "a")
	if !out[0].Created || !out[1].Created || out[2].Created {
		t.Fatalf("created = %v %v %v, want true true false (a twice in one append)", out[0].Created, out[1].Created, out[2].Created)
	}
	if out[2].Entry.JTI != "a" || out[2].Entry.Raw != journalEntry("a").Raw {
		t.Errorf("duplicate's entry = %+v, want the first a", out[2].Entry)
	}
	// Still journaled or already applied: either way, a duplicate.
	if again := mustAppend(t, db, "b"); again[0].Created {
		t.Error("b appended again: created, want a duplicate")
	}
	if err := db.FlushInbox(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := inboxJTIs(t, db)
	if len(got) != 2 || got["a"] == 0 || got["b"] == 0 || got["a"] >= got["b"] {
		t.Fatalf("inbox = %v, want a then b", got)
	}
	// The hook runs after the applier has released FlushInbox.
	select {
	case <-applied:
	case <-t.Context().Done():
		t.Fatal("OnInboxApplied not called")
	}
	if err := db.Health(t.Context()); err != nil {
		t.Errorf("Health = %v, want nil", err)
	}
	// Applied: a duplicate now comes back with its ID.
	if again := mustAppend(t, db, "a"); again[0].Created || again[0].Entry.ID != got["a"] {
		t.Errorf("a appended after it was applied = %+v, want a duplicate with ID %d", again[0], got["a"])
	}
	if st, err := db.Stats(t.Context()); err != nil || st.Inbox != 2 {
		t.Errorf("inbox entries = %d, %v; want 2", st.Inbox, err)
	}
}

// Health is nil while the journal moves, names the apply's failure while
// it fails (AppendInbox refuses then), and ErrClosed once closed.
func TestHealth(t *testing.T) {
	db, _, _ := newJournalTestDB(t)
	if err := db.Health(t.Context()); err != nil {
		t.Fatalf("Health of a new store = %v, want nil", err)
	}
	diskFull := errors.New("write riscd.db: no space left on device")
	db.journal.mu.Lock()
	db.journal.applyErr = diskFull // as apply leaves it when its commit fails
	db.journal.mu.Unlock()
	err := db.Health(t.Context())
	if !errors.Is(err, diskFull) || !strings.Contains(err.Error(), "cannot be moved into the inbox") {
		t.Errorf("Health with a failing apply = %v, want it to name the failure", err)
	}
	if p, perr := db.PrepareInbox(journalEntry("a")); perr != nil {
		t.Fatal(perr)
	} else if _, aerr := db.AppendInbox(t.Context(), []PreparedInbox{p}); !errors.Is(aerr, diskFull) {
		t.Errorf("AppendInbox while Health fails = %v, want the apply's failure", aerr)
	}
	db.journal.mu.Lock()
	db.journal.applyErr = nil
	db.journal.mu.Unlock()
	if err := db.Health(t.Context()); err != nil {
		t.Errorf("Health after the apply recovered = %v, want nil", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := db.Health(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Health with a done context = %v, want context.Canceled", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Health(t.Context()); !errors.Is(err, ErrClosed) {
		t.Errorf("Health after Close = %v, want ErrClosed", err)
	}
}

func TestAppendInboxRefusesUnpreparedEntries(t *testing.T) {
	db, path, _ := newJournalTestDB(t)
	defer db.Close()
	p, err := db.PrepareInbox(journalEntry("ok"))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(JournalPath(path))
	if _, err := db.AppendInbox(t.Context(), []PreparedInbox{p, {}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("AppendInbox with a zero PreparedInbox = %v, want ErrInvalid", err)
	}
	after, _ := os.ReadFile(JournalPath(path))
	if string(before) != string(after) {
		t.Error("a refused append changed the journal")
	}
	if err := db.FlushInbox(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := inboxJTIs(t, db); len(got) != 0 {
		t.Errorf("inbox = %v after a refused append, want empty", got)
	}
}

// A crash after the append and before the apply: the next Open replays the
// journal, in order, and only once.
func TestJournalReplayAfterCrash(t *testing.T) {
	db, path, key := newJournalTestDB(t)
	mustAppend(t, db, "before")
	if err := db.FlushInbox(t.Context()); err != nil {
		t.Fatal(err)
	}
	release := holdApplier(db)
	mustAppend(t, db, "j1", "j2")
	mustAppend(t, db, "j3", "before") // "before" is applied already: not journaled again
	crashed := crashCopy(t, path)
	release()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	re := openJournalTestDB(t, crashed, key)
	got := inboxJTIs(t, re)
	if len(got) != 4 || !(got["before"] < got["j1"] && got["j1"] < got["j2"] && got["j2"] < got["j3"]) {
		t.Fatalf("inbox after replay = %v, want before, j1, j2, j3 in that order", got)
	}
	if err := re.Close(); err != nil {
		t.Fatal(err)
	}
	// Replayed once: the journal starts a new generation, and opening
	// again changes nothing.
	re = openJournalTestDB(t, crashed, key)
	defer re.Close()
	if again := inboxJTIs(t, re); len(again) != 4 {
		t.Fatalf("inbox after a second open = %v, want the same 4", again)
	}
	if err := re.Check(t.Context()); err != nil {
		t.Fatalf("Check after replay: %v", err)
	}
}

// recordsEnd is where the records of the journal file at path end (zeros
// the file grew by follow).
func recordsEnd(t *testing.T, path string) int64 {
	t.Helper()
	f, payloads, err := openJournalFile(path, true)
	if err != nil || len(payloads) == 0 {
		t.Fatalf("journal %s: %d records, %v", path, len(payloads), err)
	}
	f.close()
	return f.off
}

// A record torn by the crash (its write never completed, so its SET was
// never acknowledged) ends the replay; everything before it is applied.
func TestJournalReplayStopsAtATornRecord(t *testing.T) {
	key, _, _ := GenerateKey()
	for _, tc := range []struct {
		name string
		tear func(t *testing.T, journal string)
	}{
		{"truncated", func(t *testing.T, journal string) {
			if err := os.Truncate(journal, recordsEnd(t, journal)-7); err != nil {
				t.Fatal(err)
			}
		}},
		{"last byte flipped", func(t *testing.T, journal string) {
			b, err := os.ReadFile(journal)
			if err != nil {
				t.Fatal(err)
			}
			b[recordsEnd(t, journal)-1] ^= 0xff
			if err := os.WriteFile(journal, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"zeros appended", func(t *testing.T, journal string) {
			// As a file grown before its records were written leaves them.
			end := recordsEnd(t, journal)
			if err := os.Truncate(journal, end); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(journal, end+4096); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			crashed := crashedStore(t, key, []string{"whole-1", "whole-2"}, []string{"torn"})
			tc.tear(t, JournalPath(crashed))

			re := openJournalTestDB(t, crashed, key)
			defer re.Close()
			got := inboxJTIs(t, re)
			wantTorn := tc.name == "zeros appended" // the record itself is whole
			if len(got) != 2+map[bool]int{true: 1}[wantTorn] || got["whole-1"] == 0 || got["whole-2"] == 0 || (got["torn"] != 0) != wantTorn {
				t.Fatalf("inbox after replay = %v", got)
			}
		})
	}
}

// Once everything is applied, the journal starts over; records of the old
// generation left behind the new ones are not read again.
func TestJournalSwitchesFilesAndIgnoresOldGenerations(t *testing.T) {
	db, path, _ := newJournalTestDB(t)
	defer db.Close()
	db.journal.mu.Lock()
	db.journal.resetSize = 1 // switch files whenever the other is applied
	gen := max(db.journal.files[0].gen, db.journal.files[1].gen)
	db.journal.mu.Unlock()

	for i := range 20 {
		mustAppend(t, db, fmt.Sprint("old-", i))
		if err := db.FlushInbox(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	release := holdApplier(db)
	defer release()
	mustAppend(t, db, "new")
	db.journal.mu.Lock()
	cur := db.journal.cur
	newGen := db.journal.files[cur].gen
	db.journal.mu.Unlock()
	// The first append went to the file Open chose; each later one found
	// the other file applied and started it over.
	if newGen != gen+20 {
		t.Fatalf("generation %d after 21 appends, want %d", newGen, gen+20)
	}
	crashed := JournalPaths(crashCopy(t, path))
	for i, want := range map[int]string{cur: "new", 1 - cur: "old-19"} {
		f, payloads, err := openJournalFile(crashed[i], true)
		if err != nil {
			t.Fatal(err)
		}
		f.close()
		if len(payloads) != 1 || !strings.Contains(string(payloads[0]), `"`+want+`"`) {
			t.Errorf("%s holds %d records, want only %s", filepath.Base(crashed[i]), len(payloads), want)
		}
	}
}

// driveApplier parks db's background applier for the rest of the test (or
// until release) so that the test runs each apply itself, with
// db.journal.apply, at the moments it chooses.
func driveApplier(t *testing.T, db *DB) (release func()) {
	t.Helper()
	parked, gate := make(chan struct{}), make(chan struct{})
	var once sync.Once
	j := db.journal
	j.mu.Lock()
	j.beforeApply = func() { once.Do(func() { close(parked) }); <-gate }
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default:
	}
	<-parked
	j.mu.Lock()
	j.beforeApply = nil
	j.mu.Unlock()
	var rel sync.Once
	return func() { rel.Do(func() { close(gate) }) }
}

// Under appends that never pause, the journal still starts over: the
// other file's records are applied while the current one fills. (One file
// could start over only at a moment with nothing unapplied.) The test runs
// the applier itself and appends while each apply holds its batch, so
// entries wait in the journal at every moment, whatever the machine's
// speed.
func TestJournalStartsOverUnderSteadyLoad(t *testing.T) {
	db, _, _ := newJournalTestDB(t)
	defer db.Close()
	release := driveApplier(t, db)
	defer release()
	j := db.journal
	const resetSize, rounds, each = 16 << 10, 80, 10
	taken, proceed := make(chan struct{}), make(chan struct{})
	j.mu.Lock()
	j.resetSize = resetSize
	j.afterTake = func() { taken <- struct{}{}; <-proceed }
	gen := max(j.files[0].gen, j.files[1].gen)
	j.mu.Unlock()

	n, written, biggest, largestRecord := 0, int64(0), int64(0), int64(0)
	appendSome := func() {
		for range each {
			n++
			p, err := db.PrepareInbox(journalEntry(fmt.Sprint("steady-", n)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.AppendInbox(t.Context(), []PreparedInbox{p}); err != nil {
				t.Fatal(err)
			}
			size := int64(journalRecHeader + len(p.rec))
			written += size
			largestRecord = max(largestRecord, size)
			j.mu.Lock()
			biggest = max(biggest, j.files[j.cur].records())
			j.mu.Unlock()
		}
	}
	unapplied := func() int {
		j.mu.Lock()
		defer j.mu.Unlock()
		return j.unapplied[0] + j.unapplied[1]
	}
	appendSome()
	for round := range rounds {
		done := make(chan bool)
		go func() { done <- j.apply() }()
		<-taken
		appendSome() // while the apply holds its batch
		proceed <- struct{}{}
		if !<-done {
			t.Fatalf("round %d: apply failed: %v", round, db.Health(t.Context()))
		}
		if got := unapplied(); got != each {
			t.Fatalf("round %d: %d entries unapplied after an apply, want the %d appended meanwhile", round, got, each)
		}
	}
	j.mu.Lock()
	newGen := max(j.files[0].gen, j.files[1].gen)
	j.afterTake = nil
	j.mu.Unlock()
	// A file takes appends until it holds more than resetSize bytes, and
	// then the other (applied meanwhile) takes over at the next append.
	if limit := resetSize + largestRecord; biggest > limit || int64(newGen-gen) < written/limit {
		t.Fatalf("%d appends of %d bytes: %d new generations, largest file %d bytes; want the files to take turns (at least %d generations, at most %d bytes)",
			n, written, newGen-gen, biggest, written/limit, limit)
	}
	if !j.apply() {
		t.Fatal(db.Health(t.Context()))
	}
	if got, err := db.CountInbox(t.Context(), InboxPending); err != nil || got != n {
		t.Fatalf("inbox holds %d entries (%v), want %d", got, err, n)
	}
}

// A header torn while a reset rewrote it does not lose the records after
// it: the first record's generation stands in for it.
func TestJournalTornHeader(t *testing.T) {
	key, _, _ := GenerateKey()
	crashed := crashedStore(t, key, []string{"r1", "r2"})
	b, err := os.ReadFile(JournalPath(crashed))
	if err != nil {
		t.Fatal(err)
	}
	copy(b[8:20], make([]byte, 12)) // generation and checksum gone
	if err := os.WriteFile(JournalPath(crashed), b, 0o600); err != nil {
		t.Fatal(err)
	}
	re := openJournalTestDB(t, crashed, key)
	defer re.Close()
	if got := inboxJTIs(t, re); len(got) != 2 {
		t.Fatalf("inbox = %v, want r1 and r2", got)
	}
}

// Close moves what the journal holds into the inbox.
func TestCloseAppliesTheJournal(t *testing.T) {
	db, path, key := newJournalTestDB(t)
	release := holdApplier(db)
	mustAppend(t, db, "c1", "c2", "c3")
	// Close stops the applier and waits for it: let it go then.
	go func() { <-db.journal.stop; release() }()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AppendInbox(context.Background(), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("AppendInbox after Close = %v, want ErrClosed", err)
	}
	f, payloads, err := openJournalFile(JournalPath(path), true)
	if err != nil {
		t.Fatal(err)
	}
	f.close()
	if len(payloads) != 3 {
		t.Fatalf("journal after Close holds %d records, want the 3 (applied, harmless to replay)", len(payloads))
	}
	// In the bbolt file itself, before any replay could add them.
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = bdb.View(func(tx *bolt.Tx) error {
		n = tx.Bucket([]byte(bucketInbox)).Stats().KeyN
		return nil
	})
	bdb.Close()
	if err != nil || n != 3 {
		t.Fatalf("inbox entries in the closed store's file = %d, %v; want 3", n, err)
	}
	re := openJournalTestDB(t, path, key)
	defer re.Close()
	if got := inboxJTIs(t, re); len(got) != 3 {
		t.Fatalf("inbox = %v, want c1..c3", got)
	}
}

// Many appenders at once: every SET stored exactly once, each told
// "created" exactly once.
func TestAppendInboxConcurrent(t *testing.T) {
	db, _, _ := newJournalTestDB(t)
	defer db.Close()
	const writers, each = 8, 60
	var created atomic.Int32
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				// Every jti is sent by two writers.
				out := mustAppend(t, db, fmt.Sprint("c-", (w/2)*each+i))
				if out[0].Created {
					created.Add(1)
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			_, _ = db.PendingInbox(context.Background(), 10)
		}
	})
	wg.Wait()
	if err := db.FlushInbox(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := writers / 2 * each
	if got := inboxJTIs(t, db); len(got) != want || int(created.Load()) != want {
		t.Fatalf("stored %d, created %d; want %d each", len(got), created.Load(), want)
	}
}

// The store opens bbolt with the hash map freelist; files whose free pages
// were last written with bbolt's default array freelist (earlier riscd
// versions) open, check and take writes, and the other way round.
func TestFreelistTypesShareTheFile(t *testing.T) {
	db, path, key := newJournalTestDB(t)
	if db.bolt.FreelistType != bolt.FreelistMapType {
		t.Fatalf("freelist type %q, want %q", db.bolt.FreelistType, bolt.FreelistMapType)
	}
	mustAppend(t, db, "a", "b")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		// Free pages under the array freelist, as an earlier riscd would.
		bdb, err := bolt.Open(path, 0o600, &bolt.Options{FreelistType: bolt.FreelistArrayType})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			err := bdb.Update(func(btx *bolt.Tx) error {
				b := btx.Bucket([]byte(bucketMarks))
				for k := range 200 {
					key := fmt.Appendf(nil, "scratch-%d-%d", round, k)
					if i == 0 {
						if err := b.Put(key, make([]byte, 512)); err != nil {
							return err
						}
					} else if err := b.Delete(key); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := bdb.Close(); err != nil {
			t.Fatal(err)
		}
		db := openJournalTestDB(t, path, key)
		mustAppend(t, db, fmt.Sprintf("r%d-1", round), fmt.Sprintf("r%d-2", round))
		if err := db.FlushInbox(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := db.Check(t.Context()); err != nil {
			t.Fatalf("round %d: Check: %v", round, err)
		}
		if got := len(inboxJTIs(t, db)); got != 2+2*(round+1) {
			t.Fatalf("round %d: %d inbox entries, want %d", round, got, 2+2*(round+1))
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// journalRecordOffsets are where the records of the journal file at path
// start.
func journalRecordOffsets(t *testing.T, path string) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	gen, ok := parseJournalHeader(b)
	if !ok {
		t.Fatalf("%s: no header", path)
	}
	var offs []int
	for off := journalHeaderSize; ; {
		_, n, ok := parseJournalRecord(b[off:], gen)
		if !ok {
			return offs
		}
		offs = append(offs, off)
		off += n
	}
}

// A record damaged after it was written (a flipped bit) with acknowledged
// records after it is not a torn tail: Open fails with ErrCorrupt and
// leaves the journal as it was, where replay used to stop at the damage
// and lose the records after it without a word.
func TestJournalDamageInTheMiddleIsNotATornTail(t *testing.T) {
	key, _, _ := GenerateKey()
	var appends [][]string
	for i := range 10 {
		appends = append(appends, []string{fmt.Sprint("acked-", i)})
	}
	for _, tc := range []struct {
		name string
		at   func(rec, next int) int // the byte to flip, in the 5th record
	}{
		{"payload", func(rec, next int) int { return (rec + next) / 2 }},
		{"checksum", func(rec, _ int) int { return rec + 13 }},
		{"length", func(rec, _ int) int { return rec + 9 }},
		{"generation", func(rec, _ int) int { return rec + 7 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			crashed := crashedStore(t, key, appends...)
			journal := JournalPath(crashed)
			offs := journalRecordOffsets(t, journal)
			if len(offs) != 10 {
				t.Fatalf("%d records in the journal, want 10", len(offs))
			}
			b, err := os.ReadFile(journal)
			if err != nil {
				t.Fatal(err)
			}
			b[tc.at(offs[4], offs[5])] ^= 0x10
			if err := os.WriteFile(journal, b, 0o600); err != nil {
				t.Fatal(err)
			}
			before := [2][]byte{}
			for i, p := range JournalPaths(crashed) {
				before[i], _ = os.ReadFile(p)
			}

			db, err := Open(t.Context(), Options{Path: crashed, Key: key, LockTimeout: 50 * time.Millisecond})
			if err == nil {
				got := inboxJTIs(t, db)
				db.Close()
				t.Fatalf("Open of a journal damaged in its 5th of 10 records succeeded; inbox %v", got)
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), journal) || !strings.Contains(err.Error(), "5 whole records") {
				t.Fatalf("Open = %v; want ErrCorrupt naming %s and the 5 records after the damage", err, journal)
			}
			for i, p := range JournalPaths(crashed) {
				if after, _ := os.ReadFile(p); !bytes.Equal(after, before[i]) {
					t.Errorf("%s changed by the refused Open", filepath.Base(p))
				}
			}
		})
	}
}

// A write that fails leaves whatever part of its records reached the file;
// the next write covers them, so that they cannot pass for records after
// damage once the file is read again.
func TestJournalWriteCoversAFailedWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	j, _, err := openJournalFile(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { j.close() }()
	if err := j.reset(5); err != nil {
		t.Fatal(err)
	}
	if err := j.write(appendJournalRecord(nil, 5, []byte("acked"))); err != nil {
		t.Fatal(err)
	}
	// A write of three records that reached the file and then failed.
	var failed []byte
	for _, p := range []string{"failed-one-with-a-long-payload", "failed-two", "failed-three"} {
		failed = appendJournalRecord(failed, 5, []byte(p))
	}
	if _, err := j.f.WriteAt(failed, j.off); err != nil {
		t.Fatal(err)
	}
	f := j.f
	closed, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	j.f = closed
	if err := j.write(failed); err == nil {
		t.Fatal("write to a closed file succeeded")
	}
	j.f = f
	// The next write is shorter than the failed one.
	if err := j.write(appendJournalRecord(nil, 5, []byte("next"))); err != nil {
		t.Fatal(err)
	}
	j.close()
	j, payloads, err := openJournalFile(path, true)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if len(payloads) != 2 || string(payloads[0]) != "acked" || string(payloads[1]) != "next" {
		t.Fatalf("reopen read %q, want acked and next", payloads)
	}
}

// SalvageJournal keeps every whole record of a damaged journal, and the
// damaged file beside it; Open then replays them.
func TestSalvageJournalKeepsTheWholeRecords(t *testing.T) {
	key, _, _ := GenerateKey()
	var appends [][]string
	for i := range 10 {
		appends = append(appends, []string{fmt.Sprint("acked-", i)})
	}
	crashed := crashedStore(t, key, appends...)
	journal := JournalPath(crashed)
	offs := journalRecordOffsets(t, journal)
	damaged, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	damaged[(offs[4]+offs[5])/2] ^= 0x10
	if err := os.WriteFile(journal, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), Options{Path: crashed, Key: key}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open before the salvage = %v, want ErrCorrupt", err)
	}

	// Not while the store is open elsewhere.
	held, err := bolt.Open(crashed, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SalvageJournal(t.Context(), crashed, 50*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Errorf("SalvageJournal of a store in use = %v, want ErrLocked", err)
	}
	held.Close()

	got, err := SalvageJournal(t.Context(), crashed, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Path != journal || got[0].Records != 9 || got[0].SkippedBytes != int64(offs[5]-offs[4]) {
		t.Fatalf("SalvageJournal = %+v, want %s with 9 records, %d bytes skipped", got, journal, offs[5]-offs[4])
	}
	if kept, err := os.ReadFile(got[0].Kept); err != nil || !bytes.Equal(kept, damaged) {
		t.Errorf("the damaged file is not kept as it was in %s: %v", got[0].Kept, err)
	}
	if again, err := SalvageJournal(t.Context(), crashed, 0); err != nil || len(again) != 0 {
		t.Errorf("SalvageJournal again = %+v, %v; want nothing to do", again, err)
	}
	db := openJournalTestDB(t, crashed, key)
	defer db.Close()
	inbox := inboxJTIs(t, db)
	if len(inbox) != 9 || inbox["acked-4"] != 0 {
		t.Fatalf("inbox after the salvage = %v, want every record but acked-4", inbox)
	}
	for i := range 10 {
		if inbox[fmt.Sprint("acked-", i)] == 0 && i != 4 {
			t.Errorf("acked-%d missing", i)
		}
	}
}

// A busy store's applier waits after an apply in proportion to how many
// entries it took: a slow trickle reaches the inbox within
// applyMinInterval, a flood gathers for applyInterval.
func TestApplyWait(t *testing.T) {
	for _, c := range []struct {
		n    int
		want time.Duration
	}{
		{0, applyMinInterval},
		{1, applyMinInterval},
		{applyFullBatch / 2, applyInterval / 2},
		{applyFullBatch, applyInterval},
		{10 * applyFullBatch, applyInterval},
	} {
		if got := applyWait(c.n); got != c.want {
			t.Errorf("applyWait(%d) = %v, want %v", c.n, got, c.want)
		}
	}
}
