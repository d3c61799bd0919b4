package main

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/adminpage"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/stream"
)

// streamHealth watches Google's stream for the daemon when
// risc.service_account_file is set: the admin page's stream view, and the
// health loop when risc.stream_check_interval is set.
type streamHealth struct {
	client  *stream.Client
	checker *stream.Checker // nil: no health loop
	every   time.Duration
	db      riscd.DB
	now     func() time.Time

	mu               sync.Mutex
	lastCheckAt      time.Time
	lastCheckError   string
	lastVerification time.Time
}

// newStreamHealth builds the stream view and, with an interval, the health
// loop telling report each check's outcome. An unusable key file is a
// config.Errors naming risc.service_account_file.
func newStreamHealth(ctx context.Context, m *Main, report func(status string, healthy bool)) (*streamHealth, error) {
	c := m.Config
	file := m.ConfigPath
	if file == "" {
		file = "configuration"
	}
	client, err := newStreamAPIClient(ctx, file, c)
	if err != nil {
		return nil, err
	}
	h := &streamHealth{client: client, db: m.db, now: m.Now, every: time.Duration(c.RISC.StreamCheckInterval)}
	if c.RISC.StreamCheckInterval <= 0 {
		return h, nil
	}
	h.checker, err = stream.NewChecker(client, stream.CheckerConfig{
		Interval: h.every,
		Received: h.received,
		Report:   report,
		Logger:   m.Logger.With("component", "stream"),
		Now:      m.Now,
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// run checks the stream every interval until ctx ends, keeping the last
// result for the admin page. The first check waits until ready reports the
// receiver able to verify tokens, since a verification answered 503 at
// start-up would come back only when Google retries it. A round is checked
// only when lead says so: one replica asks Google for verifications,
// whichever replica receives them (the inbox is shared); the others skip
// their rounds and their admin page shows no last check.
func (h *streamHealth) run(ctx context.Context, ready func() error, lead func(context.Context) bool) {
	if h.checker == nil {
		return
	}
	for wait := time.Duration(0); ready() != nil && wait < time.Minute; wait += 100 * time.Millisecond {
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !lead(ctx) {
			t.Reset(h.every)
			continue
		}
		r := h.checker.Check(ctx)
		if ctx.Err() != nil {
			return
		}
		h.mu.Lock()
		h.lastCheckAt, h.lastCheckError = h.now(), r.Problem
		if r.Healthy {
			h.lastVerification = h.lastCheckAt
		}
		h.mu.Unlock()
		t.Reset(h.every)
	}
}

// received reports whether the inbox holds a verification event carrying
// state among the newest ones.
func (h *streamHealth) received(ctx context.Context, state string) (bool, error) {
	for _, typ := range []string{events.TypeRISCVerification, events.TypeSSFVerification} {
		entries, _, err := h.db.ListInbox(ctx, riscd.InboxQuery{Type: typ, Limit: 50})
		if err != nil {
			return false, err
		}
		for _, e := range entries {
			if verificationState(e.Claims) == state {
				return true, nil
			}
		}
	}
	return false, nil
}

// verificationState is the state of the first verification event in a
// SET's claims, "" when there is none.
func verificationState(claims json.RawMessage) string {
	var set struct {
		Events map[string]struct {
			State string `json:"state"`
		} `json:"events"`
	}
	if json.Unmarshal(claims, &set) != nil {
		return ""
	}
	for typ, ev := range set.Events {
		if typ == events.TypeRISCVerification || typ == events.TypeSSFVerification {
			return ev.State
		}
	}
	return ""
}

// view is the admin page's stream status: what Google says now, and the
// health loop's last check.
func (h *streamHealth) view(ctx context.Context) (adminpage.StreamView, error) {
	h.mu.Lock()
	v := adminpage.StreamView{LastCheckAt: h.lastCheckAt, LastCheckError: h.lastCheckError, LastVerification: h.lastVerification}
	h.mu.Unlock()
	st, err := h.client.Status(ctx)
	if err != nil {
		return v, err
	}
	v.Status = string(st)
	cfg, err := h.client.Get(ctx)
	if err != nil {
		return v, err
	}
	v.DeliveryURL, v.EventsRequested = cfg.DeliveryURL, cfg.EventsRequested
	return v, nil
}
