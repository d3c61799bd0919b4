package lifecycle

import (
	"context"
	"errors"
	"time"

	"github.com/riscd/riscd"
)

// The store walk reads this many grants per read transaction and pauses
// this long between pages, so that a million grants cost a few minutes of
// background reading, not a burst.
const (
	walkPage  = 500
	walkPause = 100 * time.Millisecond
)

// keepAliveRescan is how often the keep-alive walk repeats: a tenth of the
// interval, at most daily, so a grant is refreshed at most that late.
func keepAliveRescan(interval time.Duration) time.Duration {
	return min(interval/10, 24*time.Hour)
}

// walk reads every active grant once, then again every keepAliveRescan
// while keep-alive is on, until ctx is done.
func (l *Lifecycle) walk(ctx context.Context) {
	if l.tokens.oauth == nil {
		return // nothing to schedule or keep alive
	}
	for {
		l.walkOnce(ctx)
		if l.cfg.KeepAliveInterval == 0 {
			return
		}
		if !sleep(ctx, keepAliveRescan(l.cfg.KeepAliveInterval)) {
			return
		}
	}
}

// walkOnce puts the active grants used within the recent-use window on the
// schedule and refreshes, one at a time, those keep-alive finds due.
func (l *Lifecycle) walkOnce(ctx context.Context) {
	cursor := ""
	for {
		var page []riscd.Grant
		var next string
		type skipped struct {
			id  string
			err error
		}
		var bad []skipped
		err := l.cfg.Store.View(ctx, func(tx riscd.ReadTx) error {
			var err error
			bad = bad[:0]
			page, next, err = tx.ListGrants(ctx, riscd.GrantQuery{
				Status: riscd.GrantActive, Cursor: cursor, Limit: walkPage,
				Skip: func(id string, err error) { bad = append(bad, skipped{id, err}) },
			})
			return err
		})
		for _, b := range bad {
			l.skipUndecodable(ctx, b.id, b.err)
		}
		if err != nil {
			if ctx.Err() == nil {
				l.log.ErrorContext(ctx, "refresher: reading grants failed", "err", err)
			}
			return
		}
		for _, g := range page {
			now := l.now()
			l.tokens.sched.seed(g, now)
			if l.keepAliveDue(g, now) {
				l.keepAlive(ctx, g.ID)
			}
			if ctx.Err() != nil {
				return
			}
		}
		if next == "" {
			return
		}
		cursor = next
		if !sleep(ctx, walkPause) {
			return
		}
	}
}

// keepAliveDue reports whether keep-alive should refresh g now.
func (l *Lifecycle) keepAliveDue(g riscd.Grant, now time.Time) bool {
	return l.cfg.KeepAliveInterval > 0 && !g.RefreshToken.IsZero() &&
		now.Sub(lastRefresh(g)) >= l.cfg.KeepAliveInterval
}

// keepAlive refreshes an idle grant so its refresh token stays alive.
func (l *Lifecycle) keepAlive(ctx context.Context, id string) {
	_, err := l.refresh(ctx, id, refreshReq{why: whyKeepAlive}, false)
	var ue *UpstreamError
	var se *StateError
	switch {
	case err == nil:
		l.log.DebugContext(ctx, "keep-alive refresh", "grant", id)
	case ctx.Err() != nil, errors.As(err, &ue), errors.As(err, &se):
		// Stopping; or logged and acted on by the refresh.
	default:
		l.log.ErrorContext(ctx, "keep-alive refresh failed", "grant", id, "err", err)
	}
}

// sleep waits d or until ctx is done; false when ctx is done.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
