package boltdb

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riscd/riscd/internal/testkit"
)

// gatedDB counts appends and can hold some of them until released.
type gatedDB struct {
	*DB
	appends atomic.Int32
	gates   map[int32]chan struct{} // append number (from 1) -> wait for it to close
}

func (g *gatedDB) AppendInbox(ctx context.Context, ps []PreparedInbox) ([]Appended, error) {
	if gate := g.gates[g.appends.Add(1)]; gate != nil {
		<-gate
	}
	return g.DB.AppendInbox(ctx, ps)
}

// newCommitter is a committer over db whose appends go through db's gates.
func newCommitter(db *gatedDB, maxLinger time.Duration, sleep func(time.Duration)) *committer {
	return &committer{db: db.DB, appendFn: db.AppendInbox, maxLinger: maxLinger, sleep: sleep}
}

// holdFirst makes the next append wait until putAll releases it.
func (g *gatedDB) holdFirst() *gatedDB {
	g.appends.Store(0)
	g.gates = map[int32]chan struct{}{1: make(chan struct{})}
	return g
}

func mustDB(t *testing.T) *DB {
	t.Helper()
	key, _, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), Options{Path: filepath.Join(t.TempDir(), "riscd.db"), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func writerEntry(jti string) InboxEntry {
	return InboxEntry{Transmitter: "t", Iss: "https://t.example", JTI: jti, Subject: "s", Types: []string{"x"},
		Raw: "raw", Claims: []byte(`{"jti":"` + jti + `"}`)}
}

type putResult struct {
	e       InboxEntry
	created bool
	err     error
}

// putAll runs one put per entry concurrently while the first append is
// held (db.holdFirst), and releases it once every other put has queued.
func putAll(t *testing.T, db *gatedDB, c *committer, entries []InboxEntry) []putResult {
	t.Helper()
	out := make([]putResult, len(entries))
	var wg sync.WaitGroup
	wg.Go(func() {
		out[0].e, out[0].created, out[0].err = c.put(context.Background(), entries[0])
	})
	waitAppends(t, db, 1) // the first put is now the leader, holding its append
	for i := 1; i < len(entries); i++ {
		wg.Go(func() { out[i].e, out[i].created, out[i].err = c.put(context.Background(), entries[i]) })
	}
	waitQueued(t, c, len(entries)-1)
	close(db.gates[1])
	wg.Wait()
	return out
}

// waitAppends waits until db has started n appends.
func waitAppends(t *testing.T, db *gatedDB, n int32) {
	t.Helper()
	testkit.Eventually(t, fmt.Sprintf("%d appends to start", n), func() bool { return db.appends.Load() >= n })
}

// waitQueued waits until n puts wait in c's queue.
func waitQueued(t *testing.T, c *committer, n int) {
	t.Helper()
	testkit.Eventually(t, fmt.Sprintf("%d puts queued", n), func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.pending) == n
	})
}

// stored flushes the store's journal and returns the pending entries.
func stored(t *testing.T, db *DB) []InboxEntry {
	t.Helper()
	if err := db.FlushInbox(context.Background()); err != nil {
		t.Fatal(err)
	}
	es, err := db.PendingInbox(context.Background(), 10000)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestCommitterSharesOneAppend(t *testing.T) {
	db := (&gatedDB{DB: mustDB(t)}).holdFirst()
	c := newCommitter(db, 0, nil)
	entries := make([]InboxEntry, 100)
	for i := range entries {
		entries[i] = writerEntry(fmt.Sprint("J", i))
	}
	out := putAll(t, db, c, entries)
	for i, r := range out {
		if r.err != nil || !r.created || r.e.JTI != entries[i].JTI {
			t.Errorf("put %d = %+v", i, r)
		}
	}
	if got := db.appends.Load(); got != 2 {
		t.Errorf("appends = %d, want 2 (the leader's, then all the others in one)", got)
	}
	es := stored(t, db.DB)
	jtis := map[string]bool{}
	for _, e := range es {
		jtis[e.JTI] = true
	}
	if len(es) != len(entries) || len(jtis) != len(entries) {
		t.Errorf("entries stored = %d (%d distinct jti), want %d", len(es), len(jtis), len(entries))
	}
	// Idle again: the next put commits at once, alone.
	if _, created, err := c.put(context.Background(), writerEntry("after")); err != nil || !created || db.appends.Load() != 3 {
		t.Errorf("put after the burst: created %v, err %v, appends %d; want true, nil, 3", created, err, db.appends.Load())
	}
}

func TestCommitterLingersOnlyWhenSaturated(t *testing.T) {
	const maxLinger = time.Hour
	db := &gatedDB{DB: mustDB(t)}
	var mu sync.Mutex
	var lingers []time.Duration
	c := newCommitter(db, maxLinger, func(d time.Duration) {
		mu.Lock()
		lingers = append(lingers, d)
		mu.Unlock()
	})
	lingered := func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(lingers)
	}
	if _, created, err := c.put(context.Background(), writerEntry("idle")); err != nil || !created {
		t.Fatalf("put on an idle committer = %v, %v", created, err)
	}
	if got := lingered(); len(got) != 0 {
		t.Fatalf("an idle committer lingered %v", got)
	}

	// Append 1 (one SET) is held while lingerMinBatch SETs queue; their
	// leader follows a commit of one, so it does not linger, and commits
	// them as append 2, held in turn while one more SET queues. That SET's
	// leader follows a commit of lingerMinBatch: the receiver is saturated,
	// so it lingers as long as that commit took.
	db.appends.Store(0)
	db.gates = map[int32]chan struct{}{1: make(chan struct{}), 2: make(chan struct{})}
	var wg sync.WaitGroup
	put := func(jti string) { wg.Go(func() { _, _, _ = c.put(context.Background(), writerEntry(jti)) }) }
	put("lead")
	waitAppends(t, db, 1)
	for i := range lingerMinBatch {
		put(fmt.Sprint("burst", i))
	}
	waitQueued(t, c, lingerMinBatch)
	close(db.gates[1])
	waitAppends(t, db, 2)
	if got := lingered(); len(got) != 0 {
		t.Fatalf("the leader after a commit of one lingered %v, want no linger", got)
	}
	put("extra")
	waitQueued(t, c, 1)
	close(db.gates[2])
	wg.Wait()
	if got := lingered(); len(got) != 1 || got[0] <= 0 || got[0] >= maxLinger {
		t.Errorf("lingers = %v, want one, as long as the commit before it (under %v)", got, maxLinger)
	}
	if got := db.appends.Load(); got != 3 {
		t.Errorf("appends = %d, want 3", got)
	}
}

func TestCommitterDuplicateInOneBatch(t *testing.T) {
	db := (&gatedDB{DB: mustDB(t)}).holdFirst()
	c := newCommitter(db, 0, nil)
	out := putAll(t, db, c, []InboxEntry{writerEntry("first"), writerEntry("dup"), writerEntry("dup"), writerEntry("dup")})
	created := 0
	for _, r := range out[1:] {
		if r.err != nil {
			t.Fatalf("put: %v", r.err)
		}
		if r.created {
			created++
		}
	}
	if created != 1 {
		t.Errorf("one jti three times in one batch: %d created, want 1", created)
	}
	if n := len(stored(t, db.DB)); n != 2 {
		t.Errorf("entries stored = %d, want 2", n)
	}
}

func TestCommitterRefusesAnEntryBeforeQueueing(t *testing.T) {
	db := &gatedDB{DB: mustDB(t)}
	c := newCommitter(db, 0, nil)
	if _, created, err := c.put(context.Background(), writerEntry("")); !errors.Is(err, ErrInvalid) || created {
		t.Errorf("put without jti = %v, %v; want ErrInvalid", created, err)
	}
	if got := db.appends.Load(); got != 0 {
		t.Errorf("appends = %d, want 0", got)
	}
	if _, created, err := c.put(context.Background(), writerEntry("ok")); err != nil || !created {
		t.Errorf("next put = %v, %v; want a new entry (the committer is not stuck)", created, err)
	}
}

func TestCommitterReportsAFailedCommit(t *testing.T) {
	db := &gatedDB{DB: mustDB(t)}
	c := newCommitter(db, 0, nil)
	_ = db.Close()
	if _, created, err := c.put(context.Background(), writerEntry("a")); !errors.Is(err, ErrClosed) || created {
		t.Errorf("put on a closed store = %v, %v; want ErrClosed", created, err)
	}
	if _, _, err := c.put(context.Background(), writerEntry("b")); !errors.Is(err, ErrClosed) {
		t.Errorf("second put = %v, want ErrClosed (the committer is not stuck)", err)
	}
}

func TestInboxWriterIsSharedAndDedupes(t *testing.T) {
	db := mustDB(t)
	w := db.InboxWriter()
	if db.InboxWriter() != w {
		t.Fatal("InboxWriter returned two writers: their callers would not share commits")
	}
	if e, created, err := w.PutInbox(t.Context(), writerEntry("a")); err != nil || !created || e.JTI != "a" {
		t.Fatalf("first put = %+v, %v, %v; want a new entry", e, created, err)
	}
	if e, created, err := w.PutInbox(t.Context(), writerEntry("a")); err != nil || created || e.JTI != "a" {
		t.Fatalf("redelivery = %+v, %v, %v; want the existing entry, not created", e, created, err)
	}
	if es := stored(t, db); len(es) != 1 || es[0].JTI != "a" {
		t.Fatalf("inbox = %+v, want a once", es)
	}
	// Applied now: a redelivery still is one, with the entry's ID.
	if e, created, err := w.PutInbox(t.Context(), writerEntry("a")); err != nil || created || e.ID == 0 {
		t.Errorf("redelivery after the apply = %+v, %v, %v; want the stored entry", e, created, err)
	}
}
