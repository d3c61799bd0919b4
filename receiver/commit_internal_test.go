package receiver

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riscd/riscd/store"
)

// gatedDB counts transactions and can hold the first one until released.
type gatedDB struct {
	*store.DB
	updates atomic.Int32
	gate    chan struct{} // the first Update waits for it to close; nil: no wait
}

func (g *gatedDB) Update(ctx context.Context, fn func(*store.Tx) error) error {
	if g.updates.Add(1) == 1 && g.gate != nil {
		<-g.gate
	}
	return g.DB.Update(ctx, fn)
}

func mustDB(t *testing.T) *store.DB {
	t.Helper()
	key, _, err := store.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), store.Options{Path: filepath.Join(t.TempDir(), "riscd.db"), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func entry(jti string) store.InboxEntry {
	return store.InboxEntry{Transmitter: "t", Iss: "https://t.example", JTI: jti, Subject: "s", Types: []string{"x"},
		Raw: "raw", Claims: []byte(`{"jti":"` + jti + `"}`)}
}

type putResult struct {
	e       store.InboxEntry
	created bool
	err     error
}

// putAll runs one put per entry concurrently while the first commit is held,
// and releases it once every other put has queued.
func putAll(t *testing.T, db *gatedDB, c *committer, entries []store.InboxEntry) []putResult {
	t.Helper()
	out := make([]putResult, len(entries))
	var wg sync.WaitGroup
	wg.Go(func() {
		out[0].e, out[0].created, out[0].err = c.put(context.Background(), entries[0])
	})
	for db.updates.Load() == 0 {
		time.Sleep(time.Millisecond) // the first put is now the leader, holding its commit
	}
	for i := 1; i < len(entries); i++ {
		wg.Go(func() { out[i].e, out[i].created, out[i].err = c.put(context.Background(), entries[i]) })
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c.mu.Lock()
		n := len(c.pending)
		c.mu.Unlock()
		if n == len(entries)-1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d puts queued", n, len(entries)-1)
		}
		time.Sleep(time.Millisecond)
	}
	close(db.gate)
	wg.Wait()
	return out
}

func TestCommitterSharesOneTransaction(t *testing.T) {
	db := &gatedDB{DB: mustDB(t), gate: make(chan struct{})}
	c := &committer{db: db}
	entries := make([]store.InboxEntry, 100)
	for i := range entries {
		entries[i] = entry(fmt.Sprint("J", i))
	}
	out := putAll(t, db, c, entries)
	ids := map[uint64]bool{}
	for i, r := range out {
		if r.err != nil || !r.created || r.e.JTI != entries[i].JTI || r.e.ID == 0 {
			t.Errorf("put %d = %+v", i, r)
		}
		ids[r.e.ID] = true
	}
	if len(ids) != len(entries) {
		t.Errorf("distinct IDs = %d, want %d", len(ids), len(entries))
	}
	if got := db.updates.Load(); got != 2 {
		t.Errorf("transactions = %d, want 2 (the leader's, then all the others in one)", got)
	}
	if n, err := db.CountInbox(context.Background(), store.InboxPending); err != nil || n != len(entries) {
		t.Errorf("entries stored = %d, %v; want %d", n, err, len(entries))
	}
	// Idle again: the next put commits at once, alone.
	if _, created, err := c.put(context.Background(), entry("after")); err != nil || !created || db.updates.Load() != 3 {
		t.Errorf("put after the burst: created %v, err %v, transactions %d; want true, nil, 3", created, err, db.updates.Load())
	}
}

func TestCommitterLingersOnlyWhenBusy(t *testing.T) {
	const maxLinger = time.Hour
	db := &gatedDB{DB: mustDB(t)}
	var mu sync.Mutex
	var lingers []time.Duration
	c := &committer{db: db, maxLinger: maxLinger, sleep: func(d time.Duration) {
		mu.Lock()
		lingers = append(lingers, d)
		mu.Unlock()
	}}
	if _, created, err := c.put(context.Background(), entry("idle")); err != nil || !created {
		t.Fatalf("put on an idle committer = %v, %v", created, err)
	}
	if len(lingers) != 0 {
		t.Fatalf("an idle committer lingered %v, want no linger", lingers)
	}
	db.gate = make(chan struct{})
	db.updates.Store(0)
	entries := make([]store.InboxEntry, 10)
	for i := range entries {
		entries[i] = entry(fmt.Sprint("busy", i))
	}
	for i, r := range putAll(t, db, c, entries) {
		if r.err != nil || !r.created {
			t.Errorf("put %d = %+v", i, r)
		}
	}
	if got := db.updates.Load(); got != 2 {
		t.Errorf("transactions = %d, want 2 (the leader's, then the queue's)", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lingers) != 1 || lingers[0] <= 0 || lingers[0] >= maxLinger {
		t.Errorf("lingers = %v, want one, as long as the commit before it (under %v)", lingers, maxLinger)
	}
}

func TestCommitterDuplicateInOneBatch(t *testing.T) {
	db := &gatedDB{DB: mustDB(t), gate: make(chan struct{})}
	c := &committer{db: db}
	out := putAll(t, db, c, []store.InboxEntry{entry("first"), entry("dup"), entry("dup"), entry("dup")})
	created, ids := 0, map[uint64]bool{}
	for _, r := range out[1:] {
		if r.err != nil {
			t.Fatalf("put: %v", r.err)
		}
		if r.created {
			created++
		}
		ids[r.e.ID] = true
	}
	if created != 1 || len(ids) != 1 {
		t.Errorf("one jti three times in one batch: %d created, %d IDs; want 1, 1", created, len(ids))
	}
}

func TestCommitterIsolatesABadEntry(t *testing.T) {
	db := &gatedDB{DB: mustDB(t)}
	c := &committer{db: db}
	prepare := func(e store.InboxEntry) *commitReq {
		p, err := db.PrepareInbox(e)
		if err != nil {
			t.Fatalf("PrepareInbox: %v", err)
		}
		return newCommitReq(p)
	}
	// A PreparedInbox the store refuses inside the transaction.
	bad := newCommitReq(store.PreparedInbox{})
	batch := []*commitReq{prepare(entry("a")), prepare(entry("b")), bad, prepare(entry("c"))}
	c.commit(context.Background(), batch)
	for i, r := range batch {
		select {
		case lead := <-r.wake:
			if lead {
				t.Fatalf("request %d told to lead, want its result", i)
			}
		default:
			t.Fatalf("request %d not released", i)
		}
		wantErr := r == bad
		if (r.err != nil) != wantErr || (!wantErr && !r.created) {
			t.Errorf("request %d: created %v, err %v; want error %v", i, r.created, r.err, wantErr)
		}
	}
	if !errors.Is(bad.err, store.ErrInvalid) {
		t.Errorf("bad entry's error = %v, want store.ErrInvalid", bad.err)
	}
	if n, _ := db.CountInbox(context.Background(), store.InboxPending); n != 3 {
		t.Errorf("entries stored = %d, want 3", n)
	}
	if got := db.updates.Load(); got != 5 {
		t.Errorf("transactions = %d, want 5 (the failed batch, then each entry alone)", got)
	}
}

func TestCommitterRefusesAnEntryBeforeQueueing(t *testing.T) {
	db := &gatedDB{DB: mustDB(t)}
	c := &committer{db: db}
	if _, created, err := c.put(context.Background(), entry("")); !errors.Is(err, store.ErrInvalid) || created {
		t.Errorf("put without jti = %v, %v; want store.ErrInvalid", created, err)
	}
	if got := db.updates.Load(); got != 0 {
		t.Errorf("transactions = %d, want 0", got)
	}
	if _, created, err := c.put(context.Background(), entry("ok")); err != nil || !created {
		t.Errorf("next put = %v, %v; want a new entry (the committer is not stuck)", created, err)
	}
}

func TestCommitterReportsAFailedCommit(t *testing.T) {
	db := &gatedDB{DB: mustDB(t)}
	c := &committer{db: db}
	_ = db.Close()
	if _, created, err := c.put(context.Background(), entry("a")); !errors.Is(err, store.ErrClosed) || created {
		t.Errorf("put on a closed store = %v, %v; want ErrClosed", created, err)
	}
	if _, _, err := c.put(context.Background(), entry("b")); !errors.Is(err, store.ErrClosed) {
		t.Errorf("second put = %v, want ErrClosed (the committer is not stuck)", err)
	}
}
