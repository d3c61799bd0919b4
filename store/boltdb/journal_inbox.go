package boltdb

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/riscd/riscd/store/internal/record"
	bolt "go.etcd.io/bbolt"
)

// Journal sizes: once the file appends go to holds more than
// journalResetSize bytes, appends move to the other file as soon as all its
// records are applied; past journalMaxSize (the applier far behind)
// AppendInbox refuses new entries.
const (
	journalResetSize = 4 << 20
	journalMaxSize   = 256 << 20
)

// applyInterval is the least time between two applies of a busy store: a
// busy receiver's entries gather meanwhile and share one bbolt commit. An
// entry waits at most this long for the dispatcher to see it. The wait
// grows with the last apply's batch, reaching applyInterval at
// applyFullBatch entries: a store taking a few hundred entries a second
// applies them almost at once, while one taking thousands (about
// applyFullBatch per applyInterval and more) gathers them into a commit
// every applyInterval.
const (
	applyInterval    = 50 * time.Millisecond
	applyMinInterval = 10 * time.Millisecond
	applyFullBatch   = 256
)

// applyWait is how long after an apply of n entries the next one waits.
func applyWait(n int) time.Duration {
	return max(applyMinInterval, applyInterval*time.Duration(min(n, applyFullBatch))/applyFullBatch)
}

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
// inbox buckets do not hold yet. See journal.go for the files.
type inboxJournal struct {
	db *DB

	mu        sync.Mutex
	cond      *sync.Cond            // broadcast after each apply attempt and at close
	files     [2]*journalFile       // nil once closed
	cur       int                   // the file appends go to
	unapplied [2]int                // entries in each file not applied yet
	oldest    [2]time.Time          // the earliest ReceivedAt of each file's records (zero: none)
	pending   map[string]*journaled // appended, not yet applied, by dedupe key
	queue     []*journaled          // pending entries the applier has not taken, in order
	appended  uint64                // entries ever appended
	applied   uint64                // entries ever applied
	applyErr  error                 // the last apply's failure, nil after a success
	onApplied func()                // called after entries were applied
	buf       []byte                // records being written; reused
	resetSize int64                 // journalResetSize; tests set less

	// beforeApply, when set (tests, under mu), runs before each apply: a
	// test holds the applier there to leave entries in the journal alone.
	// afterTake, likewise, runs once an apply has taken its batch and
	// before it commits: a test appends there to keep entries unapplied.
	beforeApply, afterTake func()

	wake  chan struct{} // cap 1: the applier has work
	flush chan struct{} // cap 1: FlushInbox waits
	stop  chan struct{} // closed by close
	done  chan struct{} // closed when the applier has returned
}

// journaled is an appended entry and the journal file that holds it.
type journaled struct {
	PreparedInbox
	file int
}

func newInboxJournal(db *DB, files [2]*journalFile, cur int) *inboxJournal {
	j := &inboxJournal{
		db: db, files: files, cur: cur, pending: map[string]*journaled{}, resetSize: journalResetSize,
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
	if j.files[j.cur] == nil {
		return nil, fmt.Errorf("store: append inbox: %w", ErrClosed)
	}
	if j.applyErr != nil {
		return nil, fmt.Errorf("store: append inbox: the inbox cannot be written: %w", j.applyErr)
	}
	j.maybeSwitch()
	f := j.files[j.cur]
	if f.records() > journalMaxSize {
		return nil, fmt.Errorf("store: append inbox: journal holds %d bytes not yet applied: %w", f.records(), ErrBusy)
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
		err := j.db.viewTx(context.Background(), func(t *Tx) error {
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
				old, err := t.InboxEntry(context.Background(), binary.BigEndian.Uint64(v))
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
			buf = appendJournalRecord(buf, f.gen, ps[i].rec)
		}
	}
	j.buf = buf
	if len(buf) == 0 {
		return out, nil
	}
	if err := f.write(buf); err != nil {
		return nil, fmt.Errorf("store: append inbox: write journal: %w", err)
	}
	for i := range ps {
		if !fresh[i] {
			continue
		}
		p := &journaled{PreparedInbox: ps[i], file: j.cur} // the caller's slice is the caller's
		if at := p.e.ReceivedAt; j.oldest[j.cur].IsZero() || at.Before(j.oldest[j.cur]) {
			j.oldest[j.cur] = at
		}
		j.pending[string(p.jti)] = p
		j.queue = append(j.queue, p)
		j.unapplied[j.cur]++
		j.appended++
		out[i] = Appended{Entry: p.stored(0), Created: true}
	}
	select {
	case j.wake <- struct{}{}:
	default:
	}
	return out, nil
}

// maybeSwitch moves appends to the other file once the current one holds
// more than resetSize bytes and every record of the other is applied: the
// other file starts the next generation, past both files'. If that reset
// fails, appends stay where they are (nothing is written to a file whose
// header may be torn) and the next append tries again. Called with mu held.
func (j *inboxJournal) maybeSwitch() {
	other := 1 - j.cur
	if j.files[j.cur].records() <= j.resetSize || j.unapplied[other] > 0 {
		return
	}
	if err := j.files[other].reset(max(j.files[0].gen, j.files[1].gen) + 1); err != nil {
		j.db.log.Warn("inbox journal: cannot start over in the other file; appending on", "path", j.files[other].path, "err", err)
		return
	}
	j.oldest[other] = time.Time{}
	j.cur = other
}

// pruneFloor starts over every journal file whose records are all applied
// (the other file first, so that the one appends go to stays the newest
// generation) and returns the earliest ReceivedAt among the records left
// in the files, zero when none is. Replay at open puts every record of the
// files back unless the inbox holds its (iss, jti): an inbox entry pruned
// while its record is still in a file would come back. So Prune removes
// only entries received before the floor.
func (j *inboxJournal) pruneFloor() (time.Time, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.files[j.cur] == nil {
		return time.Time{}, fmt.Errorf("store: prune: %w", ErrClosed)
	}
	var floor time.Time
	for _, i := range []int{1 - j.cur, j.cur} {
		if j.unapplied[i] == 0 && j.files[i].records() > 0 {
			if err := j.files[i].reset(max(j.files[0].gen, j.files[1].gen) + 1); err != nil {
				j.db.log.Warn("inbox journal: cannot start over; records stay until the next switch", "path", j.files[i].path, "err", err)
			} else {
				j.oldest[i] = time.Time{}
			}
		}
		if at := j.oldest[i]; !at.IsZero() && (floor.IsZero() || at.Before(floor)) {
			floor = at
		}
	}
	return floor, nil
}

// run is the applier: it moves journaled entries into the inbox, all that
// are waiting in one transaction, retrying with backoff while that fails.
func (j *inboxJournal) run() {
	defer close(j.done)
	const minBackoff, maxBackoff = 10 * time.Millisecond, 2 * time.Second
	backoff := time.Duration(0)
	var last time.Time // when the last apply started
	lastN := 0         // entries it took
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
		if wait := time.Until(last.Add(applyWait(lastN))); backoff == 0 && wait > 0 {
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
		if n, ok := j.applyN(); ok {
			backoff, lastN = 0, n
		} else {
			backoff = min(max(2*backoff, minBackoff), maxBackoff)
		}
	}
}

// apply moves the queued entries into the inbox in one transaction. It
// reports false when that failed; the entries stay queued.
func (j *inboxJournal) apply() bool {
	_, ok := j.applyN()
	return ok
}

// applyN is apply, also returning how many entries it took.
func (j *inboxJournal) applyN() (int, bool) {
	j.mu.Lock()
	hold := j.beforeApply
	j.mu.Unlock()
	if hold != nil {
		hold()
	}
	j.mu.Lock()
	batch := j.queue
	j.queue = nil
	taken := j.afterTake
	j.mu.Unlock()
	if len(batch) == 0 {
		return 0, true
	}
	if taken != nil {
		taken()
	}
	err := j.db.updateTx(context.Background(), func(t *Tx) error {
		for _, p := range batch {
			if _, _, err := t.PutPreparedInbox(context.Background(), p.PreparedInbox); err != nil {
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
		return 0, false
	}
	if j.applyErr != nil {
		j.db.log.Info("inbox journal: entries applied again", "entries", len(batch))
	}
	j.applyErr = nil
	for _, p := range batch {
		delete(j.pending, string(p.jti))
		j.unapplied[p.file]--
	}
	j.applied += uint64(len(batch))
	hook := j.onApplied
	j.cond.Broadcast()
	j.mu.Unlock()
	if hook != nil {
		hook()
	}
	return len(batch), true
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
		if j.files[j.cur] == nil {
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

// Health says whether the store can accept writes: nil when it can, else
// an error naming what is wrong: ErrClosed once the store is closed, and
// the background apply's last failure while it keeps failing (a full disk):
// received entries wait in the journal and AppendInbox refuses new ones
// until an apply succeeds. The error holds no secret.
func (db *DB) Health(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j := db.journal
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.files[j.cur] == nil {
		return fmt.Errorf("store: health: %w", ErrClosed)
	}
	if j.applyErr != nil {
		return fmt.Errorf("store: health: received entries cannot be moved into the inbox: %w", j.applyErr)
	}
	return nil
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
// files. Entries it could not apply stay in the files for the next Open.
func (j *inboxJournal) close() error {
	j.mu.Lock()
	if j.files[j.cur] == nil {
		j.mu.Unlock()
		return nil
	}
	j.mu.Unlock()
	close(j.stop)
	<-j.done
	j.mu.Lock()
	defer j.mu.Unlock()
	err := errors.Join(j.files[0].close(), j.files[1].close())
	j.files = [2]*journalFile{}
	j.cond.Broadcast()
	return err
}

// replayJournal opens the store's journal files and applies what they
// hold, the older generation's first, in one transaction, then starts both
// on new generations (always: nothing a previous run left in them is read
// after this run's records). It returns the files and the one to append
// to. It runs in Open, before anything else reads the inbox.
func (db *DB) replayJournal() ([2]*journalFile, int, error) {
	var files [2]*journalFile
	var loaded [2][][]byte
	fail := func(err error) ([2]*journalFile, int, error) {
		for _, f := range files {
			if f != nil {
				_ = f.close()
			}
		}
		return [2]*journalFile{}, 0, err
	}
	for i, path := range JournalPaths(db.path) {
		f, payloads, err := openJournalFile(path, db.noSync)
		if err != nil {
			if d := (*journalDamage)(nil); errors.As(err, &d) {
				db.log.Error("inbox journal damaged: the store is not opened, and the journal is left as it is",
					"path", path, "offset", d.offset, "intact_records_after", d.intact)
			}
			return fail(err)
		}
		files[i], loaded[i] = f, payloads
	}
	first := 0 // the file whose records were written first
	if files[1].gen != 0 && (files[0].gen == 0 || files[1].gen < files[0].gen) {
		first = 1
	}
	var ps []PreparedInbox
	for _, i := range []int{first, 1 - first} {
		for n, b := range loaded[i] {
			var r record.Inbox
			if err := json.Unmarshal(b, &r); err != nil || r.V < 1 || r.V > recordVersion || r.Iss == "" || r.JTI == "" {
				return fail(fmt.Errorf("store: journal %s: record %d is not an inbox entry: %w", files[i].path, n, ErrCorrupt))
			}
			// Raw and Claims stay sealed: the entry serves its indexes,
			// and putInbox opens the record only to seal it again.
			e := r.Entry(0)
			key, secret := r.Sealing()
			ps = append(ps, PreparedInbox{e: e, rec: b, jti: record.JTIKey(e.Iss, e.JTI), key: key, secret: secret})
		}
	}
	created := 0
	if len(ps) > 0 {
		err := db.bolt.Update(func(btx *bolt.Tx) error {
			return db.run(btx, func(t *Tx) error {
				for _, p := range ps {
					_, ok, err := t.putPreparedInbox(p)
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
			return fail(fmt.Errorf("store: journal %s: replay: %w", JournalPath(db.path), err))
		}
	}
	// New generations past both files': records beyond the point where
	// the last run stopped reading cannot be read after this run's. A
	// journal never written starts at a random generation, so that records
	// an unreadable header leaves behind cannot pass for new ones. Appends
	// go to the first file, whose generation is the newer.
	gen := max(files[0].gen, files[1].gen)
	if gen == 0 {
		gen = randomGeneration()
	}
	for i, g := range []uint64{gen + 2, gen + 1} {
		if err := files[i].reset(g); err != nil {
			return fail(fmt.Errorf("store: journal %s: %w", files[i].path, err))
		}
	}
	if len(ps) > 0 {
		db.log.Info("inbox journal replayed", "path", JournalPath(db.path), "records", len(ps), "new", created)
	}
	return files, 0, nil
}
