package events

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"
	"unicode/utf8"

	"github.com/riscd/riscd/workqueue"
)

// storeTimeout bounds the Queue calls that record an outcome, which run even
// after shutdown began so that finished work is not redone.
const storeTimeout = 5 * time.Second

// maxErrLen bounds the error text stored with a failed entry.
const maxErrLen = 512

// job is what a delivery goroutine gets: a copy of the lane head's state.
type job struct {
	key     string
	entry   Entry
	set     *SET
	done    []bool
	handled bool
}

// outcome is what became of one delivery.
type outcome int

const (
	outcomeDone       outcome = iota // every handler succeeded and Done was recorded
	outcomeRetry                     // a handler failed; retry at next
	outcomeParked                    // given up (storeErr says whether that was recorded)
	outcomeUnrecorded                // every handler succeeded but Done failed; record it at next
	outcomeAborted                   // shutdown interrupted the handlers; nothing recorded
)

// result reports a delivery back to the scheduler.
type result struct {
	key      string
	id       uint64
	outcome  outcome
	set      *SET
	done     []bool
	attempts int
	next     time.Time
	storeErr error
}

// deliver runs the handlers that have not yet succeeded for one entry and
// records the outcome in the queue.
func (s *scheduler) deliver(ctx context.Context, j job) result {
	r := result{key: j.key, id: j.entry.ID, set: j.set, done: j.done}
	log := s.log.With("entry", j.entry.ID, "subject", j.entry.Subject, "transmitter", j.entry.Transmitter)
	attempt := j.entry.Attempts + 1
	var herr error
	if !j.handled {
		herr = s.runHandlers(ctx, j, &r, attempt)
	}
	if herr == nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
		defer cancel()
		if err := s.cfg.Queue.Done(sctx, j.entry.ID); err != nil {
			log.WarnContext(ctx, "events: recording a handled entry failed; will retry", "err", err)
			r.outcome = outcomeUnrecorded
			r.next = s.cfg.Now().Add(workqueue.Backoff(s.cfg.BackoffBase, s.cfg.BackoffMax, 1))
			return r
		}
		log.DebugContext(ctx, "events: entry handled", "attempt", attempt)
		r.outcome = outcomeDone
		return r
	}
	if ctx.Err() != nil {
		r.outcome = outcomeAborted
		return r
	}
	park := attempt >= s.cfg.MaxAttempts || errors.Is(herr, ErrPermanent)
	r.attempts = attempt
	r.next = s.cfg.Now().Add(workqueue.Backoff(s.cfg.BackoffBase, s.cfg.BackoffMax, attempt))
	msg := herr.Error()
	if len(msg) > maxErrLen {
		cut := maxErrLen
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut]
	}
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	r.storeErr = s.cfg.Queue.Failed(sctx, j.entry.ID, attempt, msg, r.next, park)
	if r.storeErr != nil {
		log.WarnContext(ctx, "events: recording a failed attempt failed", "err", r.storeErr)
	}
	if park {
		r.outcome = outcomeParked
		log.ErrorContext(ctx, "events: entry parked", "attempt", attempt, "err", herr)
		return r
	}
	r.outcome = outcomeRetry
	log.WarnContext(ctx, "events: handler failed; will retry", "attempt", attempt, "next", r.next, "err", herr)
	return r
}

// runHandlers parses the entry if needed and runs, in order, the handlers
// that have not succeeded yet, stopping at the first error. It updates r.set
// and r.done.
func (s *scheduler) runHandlers(ctx context.Context, j job, r *result, attempt int) error {
	if r.set == nil {
		set, err := s.cfg.Registry.Parse(j.entry.Claims, j.entry.Format)
		if err != nil {
			return Permanent(fmt.Errorf("events: parse entry: %w", err))
		}
		r.set = set
	}
	d := Delivery{Entry: j.entry, SET: r.set, Attempt: attempt}
	for i, h := range s.cfg.Handlers {
		if r.done[i] {
			continue
		}
		if err := s.call(ctx, h, d); err != nil {
			return fmt.Errorf("events: handler %d: %w", i, err)
		}
		r.done[i] = true
	}
	return nil
}

// call runs one handler under HandlerTimeout, turning a panic into an error.
// The panic value is reported only when it is a runtime error: any other
// value could hold a secret.
func (s *scheduler) call(ctx context.Context, h Handler, d Delivery) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if re, ok := p.(runtime.Error); ok {
				err = fmt.Errorf("handler panicked: %s", re.Error())
				return
			}
			err = fmt.Errorf("handler panicked with a %T", p)
		}
	}()
	hctx, cancel := context.WithTimeout(ctx, s.cfg.HandlerTimeout)
	defer cancel()
	return h.Handle(hctx, d)
}
