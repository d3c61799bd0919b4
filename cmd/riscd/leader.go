package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/riscd/riscd"
)

// leader elects, among the replicas sharing a store, the one that runs a
// background loop's rounds: the replica holding the store lock
// "loop:"+name. Each round, a replica that does not hold it tries to take
// it (TryLock, never waiting) and skips the round if another does. The
// leader takes it again at each of its rounds (release, then TryLock): the
// store may have dropped the lock under it (PostgreSQL releases a session
// lock when the session ends: a database restart, a dropped connection) and
// another replica taken it, which the leader learns only so; it then skips
// the round. Otherwise it keeps the lead, and so the rounds, until it stops
// (resign) or dies (the store releases a dead replica's locks), when
// another takes over at its next round. With the bbolt engine (one
// process) the one replica always leads.
//
// Leader-guarded loops: prune (store.retention), sweep (consent flows and
// expired sessions), stream-health (the stream verification check), and
// the dispatch (inboxQueue.leadDispatch: the leader handles the events at
// once, the others only those it leaves pending past a grace; each entry is
// claimed under its lock either way, see inboxQueue.Claim).
// Loops left to every replica, safe by construction: the outbox (each job
// claimed under its lock, see the lifecycle's outbox), the token refresher and keep-alive walk (a
// grant's refresh holds "grant-refresh:"+id and reads the grant again, so a
// second replica finds it fresh and calls nobody; LastUsedAt is only ever
// moved forward), and the admin grant counter (a read for this replica's
// own metrics).
type leader struct {
	locker  riscd.Locker
	name    string
	log     *slog.Logger
	release func() // nil while another replica leads
}

func newLeader(locker riscd.Locker, name string, log *slog.Logger) *leader {
	return &leader{locker: locker, name: name, log: log}
}

// lead reports whether this replica runs the round now, taking the lead if
// no one holds it. A store error is logged and skips the round.
func (l *leader) lead(ctx context.Context) bool {
	led := l.release != nil
	if led {
		// Still held? Releasing a lock the store dropped is harmless.
		l.release()
		l.release = nil
	}
	release, ok, err := l.locker.TryLock(ctx, "loop:"+l.name)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			l.log.WarnContext(ctx, "taking a loop's lead failed; round skipped", "loop", l.name, "err", err)
		}
		return false
	case !ok:
		if led {
			l.log.WarnContext(ctx, "this replica lost the loop's lead: the store dropped its lock and another replica runs the loop", "loop", l.name)
		}
		return false
	}
	if !led {
		l.log.InfoContext(ctx, "this replica runs the loop", "loop", l.name)
	}
	l.release = release
	return true
}

// resign lets another replica lead.
func (l *leader) resign() {
	if l.release != nil {
		l.release()
		l.release = nil
	}
}

// runLed runs round at once and then every interval until ctx is done, on
// the replica that leads the loop name.
func runLed(ctx context.Context, locker riscd.Locker, log *slog.Logger, name string, every time.Duration, round func(context.Context)) {
	lead := newLeader(locker, name, log)
	defer lead.resign()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if lead.lead(ctx) {
			round(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
