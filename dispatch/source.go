package dispatch

import (
	"context"
	"fmt"
	"runtime"

	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/workqueue"
)

// held is what the work queue keeps of an entry between attempts.
type held struct {
	entry Entry
	set   *events.SET // parsed claims, kept across retries
	done  []bool      // handlers that already succeeded for this entry in this run
}

// inbox is the dispatcher's workqueue.Source: the Queue, and the handlers
// as the work of each item.
type inbox struct{ cfg Config }

var (
	_ workqueue.Source[held]  = inbox{}
	_ workqueue.Claimer[held] = inbox{}
)

// Claim claims the entry when the Queue is a Claimer, taking up what the
// store holds now (another process may have failed it meanwhile); with
// another Queue there is nothing to claim.
func (s inbox) Claim(ctx context.Context, it *workqueue.Item[held]) (func(), error) {
	c, ok := s.cfg.Queue.(Claimer)
	if !ok {
		return func() {}, nil
	}
	cur, release, err := c.Claim(ctx, it.Value.entry)
	if err != nil {
		return nil, err
	}
	it.Attempts, it.NextAttempt = cur.Attempts, cur.NextAttempt
	it.Value.entry.Attempts, it.Value.entry.NextAttempt = cur.Attempts, cur.NextAttempt
	return release, nil
}

// Pending lists the queue's pending entries as items keyed by subject.
func (s inbox) Pending(ctx context.Context, after uint64, limit int) ([]workqueue.Item[held], error) {
	es, err := s.cfg.Queue.Pending(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	items := make([]workqueue.Item[held], len(es))
	for i, e := range es {
		items[i] = workqueue.Item[held]{
			ID: e.ID, Key: e.Subject, Attempts: e.Attempts, NextAttempt: e.NextAttempt,
			Value: held{entry: e, done: make([]bool, len(s.cfg.Handlers))},
		}
	}
	return items, nil
}

// Handle parses the entry if needed and runs, in order, the handlers that
// have not succeeded yet, stopping at the first error.
func (s inbox) Handle(ctx context.Context, it *workqueue.Item[held]) error {
	h := &it.Value
	h.entry.Attempts, h.entry.NextAttempt = it.Attempts, it.NextAttempt
	if h.set == nil {
		set, err := s.cfg.Registry.Parse(h.entry.Claims, h.entry.Format)
		if err != nil {
			return Permanent(fmt.Errorf("dispatch: parse entry: %w", err))
		}
		h.set = set
	}
	d := Delivery{Entry: h.entry, SET: h.set, Attempt: it.Attempts + 1}
	for i, hd := range s.cfg.Handlers {
		if h.done[i] {
			continue
		}
		d.Last = i == len(s.cfg.Handlers)-1
		if err := s.call(ctx, hd, d); err != nil {
			return fmt.Errorf("dispatch: handler %d: %w", i, err)
		}
		h.done[i] = true
	}
	return nil
}

// Done records the entry handled.
func (s inbox) Done(ctx context.Context, it *workqueue.Item[held]) error {
	return s.cfg.Queue.Done(ctx, it.ID)
}

// Failed records a failed attempt, parking the entry when the work queue
// gives up.
func (s inbox) Failed(ctx context.Context, it *workqueue.Item[held], f workqueue.Failure) (workqueue.Failure, error) {
	return f, s.cfg.Queue.Failed(ctx, it.ID, f.Attempt, f.Msg, f.Next, f.Park)
}

// call runs one handler under HandlerTimeout, turning a panic into an error.
// The panic value is reported only when it is a runtime error: any other
// value could hold a secret.
func (s inbox) call(ctx context.Context, h Handler, d Delivery) (err error) {
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

// logAttrs names an entry in the work queue's log lines.
func logAttrs(it *workqueue.Item[held]) []any {
	return []any{"entry", it.ID, "subject", it.Key, "transmitter", it.Value.entry.Transmitter}
}
