package workqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"
	"unicode/utf8"
)

// storeTimeout bounds the Source calls that record an outcome, which run
// even after shutdown began so that finished work is not redone.
const storeTimeout = 5 * time.Second

// job is what an attempt's goroutine gets: a copy of the lane head.
type job[T any] struct {
	key     string
	it      Item[T]
	handled bool
}

// outcome is what became of one attempt.
type outcome int

const (
	outcomeDone       outcome = iota // Handle succeeded and Done was recorded
	outcomeRetry                     // Handle failed (or recording its failure did); retry at it.NextAttempt
	outcomeParked                    // given up, and recorded
	outcomeUnrecorded                // Handle succeeded but Done failed; record it at it.NextAttempt
	outcomeAborted                   // shutdown interrupted Handle; nothing recorded
	outcomeDeferred                  // not claimed (busy, not due, store error); try again at it.NextAttempt
	outcomeBehind                    // an earlier item of the key is pending: read all items again
	outcomeGone                      // the claim found the item no longer pending: forget it
)

// result reports an attempt back to the scheduler: the item as the attempt
// left it.
type result[T any] struct {
	key     string
	it      Item[T]
	handled bool
	outcome outcome
}

// work makes one attempt at an item and records its outcome in the source.
func (s *scheduler[T]) work(ctx context.Context, j job[T]) result[T] {
	r := result[T]{key: j.key, it: j.it, handled: j.handled}
	it := &r.it
	log := s.log.With(s.cfg.LogAttrs(it)...)
	if c, ok := s.cfg.Source.(Claimer[T]); ok {
		release, o := s.claim(ctx, c, it, log)
		if release == nil {
			r.outcome = o
			return r
		}
		// Released once the outcome is recorded below (deferred calls run
		// in reverse order: after the recording's own cancel).
		defer release()
	}
	attempt := it.Attempts + 1
	var herr error
	if !r.handled {
		herr = s.handle(ctx, it)
	}
	if herr == nil {
		r.handled = true
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
		defer cancel()
		if err := s.cfg.Source.Done(sctx, it); err != nil {
			log.WarnContext(ctx, s.cfg.Name+": recording a finished item failed; will retry", "err", err)
			r.outcome = outcomeUnrecorded
			it.NextAttempt = s.cfg.Now().Add(Backoff(s.cfg.BackoffBase, s.cfg.BackoffMax, 1))
			return r
		}
		log.DebugContext(ctx, s.cfg.Name+": done", "attempt", attempt)
		r.outcome = outcomeDone
		return r
	}
	if ctx.Err() != nil {
		r.outcome = outcomeAborted
		return r
	}
	f := Failure{
		Attempt: attempt,
		Err:     herr,
		Msg:     cut(herr.Error(), MaxErrLen),
		Next:    s.cfg.Now().Add(Backoff(s.cfg.BackoffBase, s.cfg.BackoffMax, attempt)),
		Park:    s.cfg.MaxAttempts > 0 && attempt >= s.cfg.MaxAttempts || errors.Is(herr, ErrPermanent),
	}
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	f, err := s.cfg.Source.Failed(sctx, it, f)
	it.Attempts, it.NextAttempt = attempt, f.Next
	switch {
	case err != nil:
		log.WarnContext(ctx, s.cfg.Name+": recording a failed attempt failed; will retry", "attempt", attempt, "err", err)
		r.outcome = outcomeRetry
	case f.Park:
		log.ErrorContext(ctx, s.cfg.Name+": gave up", "attempt", attempt, "err", f.Msg)
		r.outcome = outcomeParked
	default:
		log.WarnContext(ctx, s.cfg.Name+": attempt failed; will retry", "attempt", attempt, "next", f.Next, "err", f.Msg)
		r.outcome = outcomeRetry
	}
	return r
}

// claim claims it before an attempt. It returns the claim's release, or nil
// and what became of the attempt when there is nothing to do now.
func (s *scheduler[T]) claim(ctx context.Context, c Claimer[T], it *Item[T], log *slog.Logger) (func(), outcome) {
	release, err := c.Claim(ctx, it)
	now := s.cfg.Now()
	switch {
	case err == nil && it.NextAttempt.After(now):
		// Another process failed it meanwhile: its retry is not due.
		release()
		return nil, outcomeDeferred
	case err == nil:
		return release, 0
	case ctx.Err() != nil:
		return nil, outcomeAborted
	case errors.Is(err, ErrGone):
		log.DebugContext(ctx, s.cfg.Name+": finished elsewhere")
		return nil, outcomeGone
	case errors.Is(err, ErrBehind):
		it.NextAttempt = now.Add(s.cfg.PollInterval)
		return nil, outcomeBehind
	case errors.Is(err, ErrBusy):
	default:
		log.WarnContext(ctx, s.cfg.Name+": claiming an item failed; will retry", "err", err)
	}
	it.NextAttempt = now.Add(s.cfg.PollInterval)
	return nil, outcomeDeferred
}

// handle calls Source.Handle, turning a panic into an error. The panic value
// is reported only when it is a runtime error: any other value could hold a
// secret.
func (s *scheduler[T]) handle(ctx context.Context, it *Item[T]) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if re, ok := p.(runtime.Error); ok {
				err = fmt.Errorf("%s: panicked: %s", s.cfg.Name, re.Error())
				return
			}
			err = fmt.Errorf("%s: panicked with a %T", s.cfg.Name, p)
		}
	}()
	return s.cfg.Source.Handle(ctx, it)
}

// cut returns s cut to at most n bytes at a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
