package dispatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/workqueue"
)

// Config configures a Dispatcher. Zero values get the defaults named
// below.
type Config struct {
	Queue    Queue            // required
	Handlers []Handler        // required, at least one; run in order for each entry
	Registry *events.Registry // parses Entry.Claims; default events.NewRegistry()

	MaxAttempts    int           // failed attempts before an entry is parked; default 10
	BackoffBase    time.Duration // wait after the first failure; default 1s
	BackoffMax     time.Duration // longest wait between attempts; default 10m
	Workers        int           // entries handled at once (distinct subjects); default 4
	HandlerTimeout time.Duration // bound on one Handle call; default 1m
	PollInterval   time.Duration // look for new entries when nobody called Notify; default 1s
	RescanInterval time.Duration // re-read every pending entry; default 1m
	PageSize       int           // entries per Queue.Pending call; default 256

	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default discards
}

// Errors of New and Run.
var (
	// ErrConfig is matched by New's errors for an unusable config.
	ErrConfig = errors.New("dispatch: invalid dispatcher config")
	// ErrRunning is returned by Run when the dispatcher is already running.
	ErrRunning = errors.New("dispatch: dispatcher already running")
)

// Dispatcher delivers inbox entries to handlers. Entries of one subject
// (Entry.Subject) are handled one at a time in ID order: a later entry waits
// while an earlier one of the same subject is being handled or waits for a
// retry. Different subjects are handled in parallel, up to Workers at once,
// and a failing subject does not hold up another. An entry is marked done
// only after every handler returned nil; a failure counts an attempt and is
// retried after an exponential backoff with jitter; after MaxAttempts
// failures (or a Permanent error, or claims that do not parse) the entry is
// parked and the subject's later entries proceed.
//
// Within one run, a retry skips the handlers that already succeeded for the
// entry; after a restart every handler runs again. See Handler: delivery is
// at least once.
//
// Several dispatchers may share one inbox (replicas over one database) when
// the Queue is a Claimer: each entry is then handled by one of them at a
// time, each subject's entries in ID order whichever replica received them,
// and an entry whose dispatcher stops or dies is taken up by another. Each
// reads the new entries at every Notify and PollInterval (the store tells
// Notify only of entries this process accepted; the poll finds the others')
// and every pending entry at each RescanInterval.
type Dispatcher struct {
	cfg     Config
	q       *workqueue.Queue[held]
	running atomic.Bool
}

// New checks cfg, fills its defaults and returns a dispatcher ready
// to Run. It fails, with an error matching ErrConfig, when Queue is nil, no
// Handler is given, a Handler is nil, or a number or duration is negative.
func New(cfg Config) (*Dispatcher, error) {
	if cfg.Queue == nil {
		return nil, fmt.Errorf("%w: no queue", ErrConfig)
	}
	if len(cfg.Handlers) == 0 {
		return nil, fmt.Errorf("%w: no handlers", ErrConfig)
	}
	for i, h := range cfg.Handlers {
		if h == nil {
			return nil, fmt.Errorf("%w: handler %d is nil", ErrConfig, i)
		}
	}
	if cfg.MaxAttempts < 0 || cfg.Workers < 0 || cfg.PageSize < 0 ||
		cfg.BackoffBase < 0 || cfg.BackoffMax < 0 || cfg.HandlerTimeout < 0 ||
		cfg.PollInterval < 0 || cfg.RescanInterval < 0 {
		return nil, fmt.Errorf("%w: negative value", ErrConfig)
	}
	cfg.Handlers = append([]Handler(nil), cfg.Handlers...)
	setDefault(&cfg.MaxAttempts, 10)
	setDefault(&cfg.Workers, 4)
	setDefault(&cfg.PageSize, 256)
	setDefault(&cfg.BackoffBase, time.Second)
	setDefault(&cfg.BackoffMax, 10*time.Minute)
	setDefault(&cfg.HandlerTimeout, time.Minute)
	setDefault(&cfg.PollInterval, time.Second)
	setDefault(&cfg.RescanInterval, time.Minute)
	if cfg.BackoffMax < cfg.BackoffBase {
		cfg.BackoffMax = cfg.BackoffBase
	}
	if cfg.Registry == nil {
		cfg.Registry = events.NewRegistry()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	q, err := workqueue.New(workqueue.Config[held]{
		Source:         inbox{cfg: cfg},
		Name:           "events",
		MaxAttempts:    cfg.MaxAttempts,
		BackoffBase:    cfg.BackoffBase,
		BackoffMax:     cfg.BackoffMax,
		Workers:        cfg.Workers,
		PollInterval:   cfg.PollInterval,
		RescanInterval: cfg.RescanInterval,
		PageSize:       cfg.PageSize,
		LogAttrs:       logAttrs,
		Now:            cfg.Now,
		Logger:         cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return &Dispatcher{cfg: cfg, q: q}, nil
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// Notify tells the dispatcher that new entries were committed, so it reads
// them at once instead of at the next poll. It never blocks, and calls that
// come faster than the dispatcher reads coalesce. The receiver calls it after
// each commit.
func (d *Dispatcher) Notify() { d.q.Notify() }

// Rescan asks the dispatcher to re-read every pending entry, not only the
// new ones: call it after returning a parked entry to pending (an operator's
// retry). Without it such an entry is picked up within RescanInterval.
func (d *Dispatcher) Rescan() { d.q.Rescan() }

// Run delivers entries until ctx is done, starting with every entry pending
// in the queue (so a restart resumes what the previous run left). Queue
// errors are logged and retried, never fatal. When ctx is done Run waits for
// the handlers in progress (they see ctx cancelled), records the successes
// among them, and returns nil. It returns ErrRunning if another Run of the
// same dispatcher is in progress.
func (d *Dispatcher) Run(ctx context.Context) error {
	if !d.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer d.running.Store(false)
	return d.q.Run(ctx)
}
