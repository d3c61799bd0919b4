package workqueue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"
)

// Item is one pending unit of work, as a Source lists it and the queue holds
// it between attempts.
type Item[T any] struct {
	// ID orders the queue: it increases in the order items were queued.
	ID uint64
	// Key is the FIFO key: items of one key run one at a time in ID order.
	// "" puts the item in a key of its own.
	Key string
	// Attempts counts the failed attempts so far; the queue adds one per
	// failure it records.
	Attempts int
	// NextAttempt is when the item may run; zero means now.
	NextAttempt time.Time
	// Value is the source's own data. The queue keeps what Handle, Done and
	// Failed leave in it for the item's next attempt in this run; after a
	// restart it is what Pending returns again.
	Value T
}

// Failure is a failed attempt, as the queue hands it to Source.Failed.
type Failure struct {
	Attempt int       // this attempt, from 1: Item.Attempts+1
	Err     error     // what Handle returned
	Msg     string    // Err's text cut to MaxErrLen bytes at a rune boundary
	Next    time.Time // when to try again: now plus Backoff(Attempt)
	// Park says the queue gives up on the item: MaxAttempts is reached or
	// Err is Permanent. A parked (or failed) item leaves the queue, kept in
	// the source's store for an operator, and the key's next item proceeds.
	Park bool
}

// MaxErrLen bounds Failure.Msg.
const MaxErrLen = 512

// Source is where a queue's items live: a store that lists them, the work
// itself, and the record of each outcome. The queue calls Pending from its
// own goroutine and the other methods from one goroutine per item in
// flight; no two calls are ever about the same item at once. Handle, Done
// and Failed may change the item's Value, not its other fields. A Source
// shared by several processes implements Claimer too.
type Source[T any] interface {
	// Pending returns at most limit items that are neither done nor
	// parked and whose ID is greater than after, in increasing ID order,
	// including items waiting for a retry. An error means the store could
	// not be read; the queue tries again at the next poll.
	Pending(ctx context.Context, after uint64, limit int) ([]Item[T], error)
	// Handle does the work of one attempt. Nil means done (and Done
	// records it); an error is a failed attempt, handed to Failed, unless
	// ctx ended meanwhile (shutdown: nothing is recorded). Errors are
	// stored and logged, so they must not carry secrets.
	Handle(ctx context.Context, it *Item[T]) error
	// Done records that the item is finished; it must be idempotent. On
	// an error the queue keeps the item and calls Done again later,
	// without Handle.
	Done(ctx context.Context, it *Item[T]) error
	// Failed records a failed attempt and returns it as recorded: the
	// source may give up sooner (set Park, as at a deadline) or change
	// Next; an item the store no longer holds as pending is returned with
	// Park so the queue forgets it. On an error nothing was recorded: the
	// queue keeps the item and tries it again at the returned Next.
	Failed(ctx context.Context, it *Item[T], f Failure) (Failure, error)
}

// Claimer is a Source whose items other processes (replicas sharing its
// store) work too. Before each attempt at an item, and before recording a
// finished attempt again, the queue claims the item; it releases the claim
// once the attempt's outcome is recorded, or when the attempt is abandoned
// (shutdown). While a claim is held no other process works the item's key.
type Claimer[T any] interface {
	// Claim takes what makes an attempt at it exclusive among the
	// processes (a named lock of the store), then reads it again from the
	// store, since another process may have worked it meanwhile: it may
	// update it.Attempts, it.NextAttempt and it.Value to what the store
	// holds now. On success it returns the release of the claim, safe to
	// call more than once; when the item's NextAttempt then lies ahead,
	// the queue releases the claim and waits for it. Errors, with nothing
	// to release:
	//   - ErrBusy (wrapped): another process works the key now; the queue
	//     tries again after PollInterval, counting no attempt;
	//   - ErrGone (wrapped): the item is no longer pending (another process
	//     finished or parked it); the queue forgets it;
	//   - ErrBehind (wrapped): an earlier item of the key is pending that
	//     the queue may not hold (another process received it); the queue
	//     reads every pending item again and tries again after
	//     PollInterval;
	//   - anything else: the store failed; tried again after PollInterval,
	//     no attempt counted.
	Claim(ctx context.Context, it *Item[T]) (release func(), err error)
}

// Config configures a Queue. Zero values get the defaults named below.
type Config[T any] struct {
	Source Source[T] // required
	// Name starts the queue's log messages ("outbox: ..."); default
	// "workqueue".
	Name string

	MaxAttempts    int           // failed attempts before an item is parked; 0: no limit
	BackoffBase    time.Duration // wait after the first failure; default 1s
	BackoffMax     time.Duration // longest wait between attempts; default 10m
	Workers        int           // items in flight at once (distinct keys); default 4
	PollInterval   time.Duration // look for new items when nobody called Notify; default 1s
	RescanInterval time.Duration // re-read every pending item; default 1m
	PageSize       int           // items per Source.Pending call; default 256

	// LogAttrs names an item in log lines; default its ID and key.
	LogAttrs func(it *Item[T]) []any
	Now      func() time.Time // default time.Now
	Logger   *slog.Logger     // default discards
}

// Errors of New and Run.
var (
	// ErrConfig is matched by New's errors for an unusable config.
	ErrConfig = errors.New("workqueue: invalid config")
	// ErrRunning is returned by Run when the queue is already running.
	ErrRunning = errors.New("workqueue: already running")
	// ErrPermanent is matched by errors made with Permanent.
	ErrPermanent = errors.New("workqueue: permanent failure")
	// ErrBusy, from Claimer.Claim: another process works the item's key.
	ErrBusy = errors.New("workqueue: key busy in another process")
	// ErrGone, from Claimer.Claim: the item is no longer pending.
	ErrGone = errors.New("workqueue: item no longer pending")
	// ErrBehind, from Claimer.Claim: an earlier item of the key is pending.
	ErrBehind = errors.New("workqueue: an earlier item of the key is pending")
)

// Queue works through a Source's pending items. Items of one key run one
// at a time in ID order: a later item waits while an earlier one of the
// same key is in flight or waits for a retry. Different keys run in
// parallel, up to Workers at once, and a failing key does not hold up
// another. A failure counts an attempt and is retried after Backoff; after
// MaxAttempts failures, or a Permanent error, or when the source's Failed
// says so, the item is parked and the key's later items proceed. Delivery
// is at least once: a crash between an item's work and its Done record
// makes the next run do the work again.
type Queue[T any] struct {
	cfg     Config[T]
	notify  chan struct{}
	rescan  chan struct{}
	running atomic.Bool
}

// New checks cfg, fills its defaults and returns a queue ready to Run. It
// fails, with an error matching ErrConfig, when Source is nil or a number or
// duration is negative.
func New[T any](cfg Config[T]) (*Queue[T], error) {
	if cfg.Source == nil {
		return nil, fmt.Errorf("%w: no source", ErrConfig)
	}
	if cfg.MaxAttempts < 0 || cfg.Workers < 0 || cfg.PageSize < 0 ||
		cfg.BackoffBase < 0 || cfg.BackoffMax < 0 ||
		cfg.PollInterval < 0 || cfg.RescanInterval < 0 {
		return nil, fmt.Errorf("%w: negative value", ErrConfig)
	}
	if cfg.Name == "" {
		cfg.Name = "workqueue"
	}
	setDefault(&cfg.Workers, 4)
	setDefault(&cfg.PageSize, 256)
	setDefault(&cfg.BackoffBase, time.Second)
	setDefault(&cfg.BackoffMax, 10*time.Minute)
	setDefault(&cfg.PollInterval, time.Second)
	setDefault(&cfg.RescanInterval, time.Minute)
	if cfg.BackoffMax < cfg.BackoffBase {
		cfg.BackoffMax = cfg.BackoffBase
	}
	if cfg.LogAttrs == nil {
		cfg.LogAttrs = func(it *Item[T]) []any { return []any{"id", it.ID, "key", it.Key} }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Queue[T]{
		cfg:    cfg,
		notify: make(chan struct{}, 1),
		rescan: make(chan struct{}, 1),
	}, nil
}

func setDefault[V int | time.Duration](v *V, def V) {
	if *v == 0 {
		*v = def
	}
}

// Notify tells the queue that new items were queued, so it reads them at
// once instead of at the next poll. It never blocks, and calls that come
// faster than the queue reads coalesce.
func (q *Queue[T]) Notify() { signal(q.notify) }

// Rescan asks the queue to re-read every pending item, not only the new
// ones: call it after returning a parked item to pending (an operator's
// retry). Without it such an item is picked up within RescanInterval. A
// rescan also forgets items the source no longer lists.
func (q *Queue[T]) Rescan() { signal(q.rescan) }

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Run works through items until ctx is done, starting with every item
// pending in the source (so a restart resumes what the previous run left).
// Source errors are logged and retried, never fatal. When ctx is done Run
// waits for the attempts in flight (they see ctx cancelled; a failure then
// is not counted), records the successes among them, and returns nil. It
// returns ErrRunning if another Run of the same queue is in progress.
func (q *Queue[T]) Run(ctx context.Context) error {
	if !q.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer q.running.Store(false)
	newScheduler(q).run(ctx)
	return nil
}

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

// Error returns the wrapped error's text unchanged.
func (e *permanentError) Error() string { return e.err.Error() }

// Unwrap exposes both the wrapped error and ErrPermanent to errors.Is/As.
func (e *permanentError) Unwrap() []error {
	return []error{e.err, ErrPermanent}
}

// Permanent wraps err so that the queue parks the item instead of retrying
// it: for failures no retry can fix. errors.Is(Permanent(err), ErrPermanent)
// holds, and err stays reachable through errors.Is/As. Permanent(nil) is
// nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}
