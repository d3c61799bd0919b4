package lifecycle

import (
	"context"

	"github.com/riscd/riscd"
)

// observeRefresh tells the Observer, if any, of one token endpoint call.
func (l *Lifecycle) observeRefresh(outcome string) {
	if l.cfg.Observer != nil {
		l.cfg.Observer.TokenRefreshed(outcome)
	}
}

// observeOutbox tells the Observer, if any, of one recorded attempt at j,
// by the status the attempt left it in.
func (l *Lifecycle) observeOutbox(j riscd.OutboxJob) {
	if l.cfg.Observer == nil {
		return
	}
	outcome := OutboxRetry
	switch j.Status {
	case riscd.OutboxDone:
		outcome = OutboxDone
	case riscd.OutboxFailed:
		outcome = OutboxFailed
	}
	l.cfg.Observer.OutboxAttempt(string(j.Kind), outcome)
}

// skipUndecodable logs a grant record the refresher cannot decode (id ""
// when err names it) and counts it; the loop goes on without it.
func (l *Lifecycle) skipUndecodable(ctx context.Context, id string, err error) {
	args := []any{"err", err}
	if id != "" {
		args = append(args, "grant", id)
	}
	l.log.ErrorContext(ctx, "refresher: skipped a grant that cannot be decoded; riscd store check reports it", args...)
	if l.cfg.Observer != nil {
		l.cfg.Observer.RecordsSkipped("refresher", 1)
	}
}
