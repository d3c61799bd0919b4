package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Journal sizes: once every record is applied and the journal holds more
// than journalResetSize bytes, it starts over; past journalMaxSize (the
// applier far behind) AppendInbox refuses new entries.
const (
	journalResetSize = 8 << 20
	journalMaxSize   = 256 << 20
)

// applyInterval is the least time between two applies: a busy receiver's
// entries gather meanwhile and share one bbolt commit. An entry waits at
// most this long for the dispatcher to see it.
const applyInterval = 50 * time.Millisecond

// Appended is what AppendInbox did with one entry.
type Appended struct {
	// Entry is the entry as stored. For a new entry, and for an existing
	// one still in the journal, its ID is 0: IDs are given when the applier
	// moves the entry into the inbox.
	Entry InboxEntry
	// Created is false when an entry with the same (Iss, JTI) was stored
	// or journaled before; nothing was written for it.
	Created bool
}

// inboxJournal is the journal and the entries appended to it that the
// inbox buckets do not hold yet. See journal.go for the file.
type inboxJournal struct {
	db *DB

	mu        sync.Mutex
	cond      *sync.Cond                // broadcast after each apply attempt and at close
	file      *journalFile              // nil once closed
	pending   map[string]*PreparedInbox // appended, not yet applied, by dedupe key
	queue     []*PreparedInbox          // pending entries the applier has not taken, in order
	appended  uint64                    // entries ever appended
	applied   uint64                    // entries ever applied
	applyErr  error                     // the last apply's failure, nil after a success
	onApplied func()                    // called after entries were applied
	buf       []byte                    // records being written; reused
	resetSize int64                     // journalResetSize; tests set less
	needReset bool                      // a reset failed: append must reset first

	// beforeApply, when set (tests, under mu), runs before each apply: a
	// test holds the applier there to leave entries in the journal alone.
	beforeApply func()

	wake  chan struct{} // cap 1: the applier has work
	flush chan struct{} // cap 1: FlushInbox waits
	stop  chan struct{} // closed by close
	done  chan struct{} // closed when the applier has returned
}

func newInboxJournal(db *DB, f *journalFile) *inboxJournal {
	j := &inboxJournal{
		db: db, file: f, pending: map[string]*PreparedInbox{}, resetSize: journalResetSize,
		wake: make(chan struct{}, 1), flush: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	j.cond = sync.NewCond(&j.mu)
	go j.run()
	return j
}

// AppendInbox makes entries prepared by PrepareInbox durable with one write
// and one fdatasync of the store's inbox journal, in order. An entry whose
// (Iss, JTI) is stored, journaled, or earlier in ps is not written again;
// its Appended says so and holds the existing entry. New entries reach the
// inbox, where InboxEntry, PendingInbox and the rest read, shortly after, in
// the background (FlushInbox waits for that; OnInboxApplied is told), or
// at the latest when the store is next opened. When AppendInbox returns
// without error every entry is durable; on error none was acknowledged
// (a record that reached the file anyway is harmless: it is a duplicate
// the inbox dedupes). Errors: ErrInvalid for an entry not from PrepareInbox,
// ErrClosed, the write's, and the background apply's last failure while it
// keeps failing (a full disk): the store cannot take entries now.
func (db *DB) AppendInbox(ctx context.Context, ps []PreparedInbox) ([]Appended, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, p := range ps {
		if p.rec == nil || p.jti == nil {
			return nil, fmt.Errorf("store: append inbox: entry not prepared: %w", ErrInvalid)
		}
	}
	return db.journal.append(ps)
}

func (j *inboxJournal) append(ps []PreparedInbox) ([]Appended, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.file == nil {
		return nil, fmt.Errorf("store: append inbox: %w", ErrClosed)
	}
	if j.applyErr != nil {
		return nil, fmt.Errorf("store: append inbox: the inbox cannot be written: %w", j.applyErr)
	}
	if j.needReset || (len(j.pending) == 0 && j.file.size() > j.resetSize) {
		// A failed reset may have left the next generation's header on
		// disk: no record may be written until a reset succeeds.
		if err := j.file.reset(j.file.gen + 1); err != nil {
			j.needReset = true
			return nil, fmt.Errorf("store: append inbox: reset journal: %w", err)
		}
		j.needReset = false
	}
	if j.file.size() > journalMaxSize {
		return nil, fmt.Errorf("store: append inbox: journal holds %d bytes not yet applied: %w", j.file.size(), ErrBusy)
	}

	out := make([]Appended, len(ps))
	fresh := make([]bool, len(ps))
	inBatch := map[string]int{}
	var lookup []int
	for i := range ps {
		k := string(ps[i].jti)
		if p, ok := j.pending[k]; ok {
			out[i] = Appended{Entry: p.stored(0)}
			continue
		}
		if first, ok := inBatch[k]; ok {
			out[i] = Appended{Entry: ps[first].stored(0)}
			continue
		}
		inBatch[k] = i
		lookup = append(lookup, i)
	}
	if len(lookup) > 0 {
		err := j.db.View(context.Background(), func(t *Tx) error {
			idx, err := t.bucket(bucketInboxByJTI)
			if err != nil {
				return err
			}
			for _, i := range lookup {
				v := idx.Get(ps[i].jti)
				if v == nil {
					fresh[i] = true
					continue
				}
				old, err := t.InboxEntry(binary.BigEndian.Uint64(v))
				if err != nil {
					return fmt.Errorf("store: index %s: %w", bucketInboxByJTI, err)
				}
				out[i] = Appended{Entry: old}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}

	buf := j.buf[:0]
	for i := range ps {
		if fresh[i] {
			buf = appendJournalRecord(buf, j.file.gen, ps[i].rec)
		}
	}
	j.buf = buf
	if len(buf) == 0 {
		return out, nil
	}
	if err := j.file.write(buf); err != nil {
		return nil, fmt.Errorf("store: append inbox: write journal: %w", err)
	}
	for i := range ps {
		if !fresh[i] {
			continue
		}
		p := new(PreparedInbox)
		*p = ps[i] // the caller's slice is the caller's
		j.pending[string(p.jti)] = p
		j.queue = append(j.queue, p)
		j.appended++
		out[i] = Appended{Entry: p.stored(0), Created: true}
	}
	select {
	case j.wake <- struct{}{}:
	default:
	}
	return out, nil
}

// run is the applier: it moves journaled entries into the inbox, all that
// are waiting in one transaction, retrying with backoff while that fails.
func (j *inboxJournal) run() {
	defer close(j.done)
	const minBackoff, maxBackoff = 10 * time.Millisecond, 2 * time.Second
	backoff := time.Duration(0)
	var last time.Time // when the last apply started
	for {
		var retry <-chan time.Time
		if backoff > 0 {
			retry = time.After(backoff)
		}
		select {
		case <-j.wake:
		case <-j.flush:
		case <-retry:
		case <-j.stop:
			j.apply() // what the last appends left
			return
		}
		if wait := time.Until(last.Add(applyInterval)); backoff == 0 && wait > 0 {
			// Busy: let entries gather, unless a flush is waiting. One
			// large transaction costs the disk two syncs, as a small one
			// does. An idle store applies at once.
			select {
			case <-time.After(wait):
			case <-j.flush:
			case <-j.stop:
			}
		}
		last = time.Now()
		if j.apply() {
			backoff = 0
		} else {
			backoff = min(max(2*backoff, minBackoff), maxBackoff)
		}
	}
}

// apply moves the queued entries into the inbox in one transaction. It
// reports false when that failed; the entries stay queued.
func (j *inboxJournal) apply() bool {
	j.mu.Lock()
	hold := j.beforeApply
	j.mu.Unlock()
	if hold != nil {
		hold()
	}
	j.mu.Lock()
	batch := j.queue
	j.queue = nil
	j.mu.Unlock()
	if len(batch) == 0 {
		return true
	}
	err := j.db.Update(context.Background(), func(t *Tx) error {
		for _, p := range batch {
			if _, _, err := t.PutPreparedInbox(*p); err != nil {
				return err
			}
		}
		return nil
	})

	j.mu.Lock()
	if err != nil {
		// Nothing in the batch is specific to one entry (each was
		// validated when prepared), so the batch is retried whole; until
		// an apply succeeds, AppendInbox refuses new entries.
		j.applyErr = err
		j.queue = append(batch, j.queue...)
		j.cond.Broadcast()
		j.mu.Unlock()
		j.db.log.Error("inbox journal: entries not applied to the inbox yet; will retry", "entries", len(batch), "err", err)
		return false
	}
	if j.applyErr != nil {
		j.db.log.Info("inbox journal: entries applied again", "entries", len(batch))
	}
	j.applyErr = nil
	for _, p := range batch {
		delete(j.pending, string(p.jti))
	}
	j.applied += uint64(len(batch))
	if len(j.pending) == 0 && j.file != nil && j.file.size() > j.resetSize {
		if err := j.file.reset(j.file.gen + 1); err != nil {
			j.needReset = true // the next append tries again first
			j.db.log.Warn("inbox journal: reset failed", "err", err)
		} else {
			j.needReset = false
		}
	}
	hook := j.onApplied
	j.cond.Broadcast()
	j.mu.Unlock()
	if hook != nil {
		hook()
	}
	return true
}

// FlushInbox waits until every entry AppendInbox returned before the call
// is in the inbox buckets. It returns the background apply's failure if it
// fails meanwhile, and ErrClosed if the store closes first.
func (db *DB) FlushInbox(ctx context.Context) error {
	j := db.journal
	j.mu.Lock()
	defer j.mu.Unlock()
	target := j.appended
	for j.applied < target {
		if err := ctx.Err(); err != nil {
			return err
		}
		if j.file == nil {
			return fmt.Errorf("store: flush inbox: %w", ErrClosed)
		}
		if j.applyErr != nil {
			return fmt.Errorf("store: flush inbox: %w", j.applyErr)
		}
		select {
		case j.flush <- struct{}{}:
		default:
		}
		j.cond.Wait()
	}
	return nil
}

// InboxJournalErr is the error of the journal's last apply when it failed:
// entries wait in the journal and AppendInbox refuses new ones until an
// apply succeeds. Nil when the journal moves.
func (db *DB) InboxJournalErr() error {
	db.journal.mu.Lock()
	defer db.journal.mu.Unlock()
	return db.journal.applyErr
}

// OnInboxApplied sets fn to be called (from the applier's goroutine, so it
// must not block) each time journaled entries have reached the inbox: the
// moment the dispatcher can read them.
func (db *DB) OnInboxApplied(fn func()) {
	db.journal.mu.Lock()
	db.journal.onApplied = fn
	db.journal.mu.Unlock()
}

// close stops the applier after it applied what it could, and closes the
// file. Entries it could not apply stay in the file for the next Open.
func (j *inboxJournal) close() error {
	j.mu.Lock()
	if j.file == nil {
		j.mu.Unlock()
		return nil
	}
	j.mu.Unlock()
	close(j.stop)
	<-j.done
	j.mu.Lock()
	defer j.mu.Unlock()
	err := j.file.close()
	j.file = nil
	j.cond.Broadcast()
	return err
}

// replayJournal opens the store's journal and applies what it holds, in
// one transaction, then starts its next generation (always: nothing a
// previous run left in the file is read after this run's records). It runs
// in Open, before anything else reads the inbox.
func (db *DB) replayJournal() (*journalFile, error) {
	path := JournalPath(db.path)
	f, payloads, err := openJournalFile(path, db.noSync)
	if err != nil {
		return nil, err
	}
	if len(payloads) == 0 {
		// A new generation even so: records beyond the point where the
		// last one stopped reading cannot be read after this run's.
		if err := f.reset(f.gen + 1); err != nil {
			_ = f.close()
			return nil, fmt.Errorf("store: journal %s: %w", path, err)
		}
		return f, nil
	}
	ps := make([]PreparedInbox, len(payloads))
	for i, b := range payloads {
		var r inboxRecord
		if err := json.Unmarshal(b, &r); err != nil || r.V < 1 || r.V > recordVersion || r.Iss == "" || r.JTI == "" {
			_ = f.close()
			return nil, fmt.Errorf("store: journal %s: record %d is not an inbox entry: %w", path, i, ErrCorrupt)
		}
		e := r.entry(0)
		ps[i] = PreparedInbox{e: e, rec: b, jti: jtiKey(e.Iss, e.JTI)}
	}
	created := 0
	err = db.bolt.Update(func(btx *bolt.Tx) error {
		return db.run(btx, func(t *Tx) error {
			for _, p := range ps {
				_, ok, err := t.PutPreparedInbox(p)
				if err != nil {
					return err
				}
				if ok {
					created++
				}
			}
			return nil
		})
	})
	if err != nil {
		_ = f.close()
		return nil, fmt.Errorf("store: journal %s: replay: %w", path, err)
	}
	if err := f.reset(f.gen + 1); err != nil {
		_ = f.close()
		return nil, fmt.Errorf("store: journal %s: %w", path, err)
	}
	db.log.Info("inbox journal replayed", "path", path, "records", len(ps), "new", created)
	return f, nil
}
