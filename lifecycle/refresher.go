package lifecycle

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/riscd/riscd"
)

// flushBatch is how many LastUsedAt values one transaction writes;
// flushTimeout bounds the last flush when RunRefresher stops.
const (
	flushBatch   = 1000
	flushTimeout = 5 * time.Second
)

// RunRefresher keeps the access tokens of recently used grants fresh until
// ctx is done, then returns nil. Every Config.RefreshInterval it refreshes,
// up to Config.RefreshWorkers at a time, the grants whose tokens expire
// within Config.RefreshLeadTime (with jitter) and that Token or GrantToken
// served within Config.RecentUseWindow; idle grants are left alone. It
// learns of used grants from the broker, not from scanning the store: a
// grant's schedule is in memory. At start it also walks the store once,
// a page at a time, to take up the grants used recently before a restart;
// with Config.KeepAliveInterval set, the walk repeats (at most daily) and
// refreshes, one at a time, every active grant not refreshed for that long.
// It writes the LastUsedAt values the broker collected, in batches, on each
// round and once more when it stops. Refreshes share the broker's single
// flight and backoff, so a grant is never refreshed twice at once. Failures
// are logged and retried, never fatal. Without a token endpoint in Config
// it only writes LastUsedAt. ErrRunning if another RunRefresher of this
// Lifecycle runs.
//
// Every replica sharing the store runs it, safely by construction: a
// refresh (ahead of expiry or keep-alive) holds the grant's store lock and
// reads the grant again, so a grant another replica has just refreshed is
// found fresh and nobody is called twice; LastUsedAt is only ever moved
// forward, so concurrent flushes agree.
func (l *Lifecycle) RunRefresher(ctx context.Context) error {
	if !l.tokens.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer l.tokens.running.Store(false)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { l.walk(ctx) })
	sem := make(chan struct{}, l.cfg.RefreshWorkers)
	tick := time.NewTicker(l.cfg.RefreshInterval)
	defer tick.Stop()
	for {
		l.flushUse(ctx)
		if l.tokens.oauth != nil {
			for _, id := range l.tokens.sched.popDue(l.now(), cap(sem)-len(sem)) {
				sem <- struct{}{}
				wg.Go(func() {
					defer func() { <-sem }()
					l.refreshAhead(ctx, id)
				})
			}
		}
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
			l.flushUse(fctx)
			cancel()
			return nil
		case <-tick.C:
		}
	}
}

// refreshAhead refreshes a scheduled grant if its token expires within the
// lead time, and plans its next turn.
func (l *Lifecycle) refreshAhead(ctx context.Context, id string) {
	g, err := l.refresh(ctx, id, refreshReq{why: whyAhead}, false)
	var ue *UpstreamError
	var se *StateError
	switch {
	case err == nil:
		l.tokens.sched.refreshed(id, g.Expiry)
	case ctx.Err() != nil:
	case errors.As(err, &ue):
		l.tokens.sched.retry(id, ue.RetryAt)
	case errors.As(err, &se), errors.Is(err, riscd.ErrNotFound), errors.Is(err, ErrNoRefresh):
		l.tokens.sched.drop(id)
	default:
		l.log.ErrorContext(ctx, "refresh ahead of expiry failed", "grant", id, "err", err)
		l.tokens.sched.retry(id, l.now().Add(l.cfg.RefreshBackoffMax))
	}
}

// flushUse writes the LastUsedAt values the broker collected, in batches;
// what it cannot write waits for the next round.
func (l *Lifecycle) flushUse(ctx context.Context) {
	dirty := l.tokens.sched.takeDirty()
	ids := slices.Sorted(maps.Keys(dirty))
	for start := 0; start < len(ids); start += flushBatch {
		batch := ids[start:min(start+flushBatch, len(ids))]
		var bad []error
		err := l.cfg.Store.Update(ctx, func(tx riscd.Tx) error {
			bad = bad[:0]
			for _, id := range batch {
				g, err := tx.Grant(ctx, id)
				if errors.Is(err, riscd.ErrNotFound) {
					continue
				}
				if errors.Is(err, riscd.ErrCorrupt) {
					bad = append(bad, err) // its last use is lost; the others are written
					continue
				}
				if err != nil {
					return err
				}
				if !g.LastUsedAt.Before(dirty[id]) {
					continue
				}
				g.LastUsedAt = dirty[id]
				if err := tx.PutGrant(ctx, g); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			for _, e := range bad {
				l.skipUndecodable(ctx, "", e)
			}
		}
		if err != nil {
			rest := make(map[string]time.Time, len(ids)-start)
			for _, id := range ids[start:] {
				rest[id] = dirty[id]
			}
			l.tokens.sched.putDirty(rest)
			if ctx.Err() == nil {
				l.log.ErrorContext(ctx, "writing grants' last use failed", "grants", len(rest), "err", err)
			}
			return
		}
	}
}
