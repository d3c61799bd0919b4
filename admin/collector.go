package admin

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riscd/riscd"
)

// scrapeTimeout bounds the store reads of one scrape.
const scrapeTimeout = 5 * time.Second

// Descriptions of the gauges read from the store at scrape time.
var (
	descStoreUp = prometheus.NewDesc("riscd_store_up",
		"1 when the store answered the last scrape's reads, else 0.", nil, nil)
	descInboxPending = prometheus.NewDesc("riscd_inbox_pending",
		"Received events not yet processed (including those waiting for a retry).", nil, nil)
	descInboxParked = prometheus.NewDesc("riscd_inbox_parked",
		"Events whose handling gave up after the configured attempts; an operator may retry them.", nil, nil)
	descInboxOldest = prometheus.NewDesc("riscd_inbox_oldest_pending_age_seconds",
		"Age of the oldest pending event (0 when none is pending).", nil, nil)
	descOutboxPending = prometheus.NewDesc("riscd_outbox_pending",
		"Pending outbox jobs by kind (counted among the oldest 1000 pending jobs).", []string{"kind"}, nil)
	descOutboxOldest = prometheus.NewDesc("riscd_outbox_oldest_pending_age_seconds",
		"Age of the oldest pending outbox job by kind (0 when none is pending).", []string{"kind"}, nil)
	descOutboxFailed = prometheus.NewDesc("riscd_outbox_failed",
		"Outbox jobs riscd gave up on, by kind, not retried since (counted among the newest 1000 failed jobs).", []string{"kind"}, nil)
	descGrants = prometheus.NewDesc("riscd_grants",
		"Grants by status, as of riscd_grants_counted_timestamp_seconds.", []string{"status"}, nil)
	descGrantsCounted = prometheus.NewDesc("riscd_grants_counted_timestamp_seconds",
		"When the grants were last counted by status (Unix time).", nil, nil)
)

// storeCollector reads the store's gauges at scrape time. Each read is
// cheap: counts from the inbox status index, the first pending entry, one
// page each of pending and of failed outbox jobs; grants by status come
// from the store's own counters (GrantCounter) or from the last count Run
// made.
type storeCollector struct{ s *Server }

// Describe implements prometheus.Collector.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStoreUp, descInboxPending, descInboxParked, descInboxOldest, descOutboxPending, descOutboxOldest, descOutboxFailed, descGrants, descGrantsCounted} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	err := c.collectQueues(ctx, gauge)
	if err == nil {
		err = c.collectGrants(ctx, gauge)
	}
	up := 1.0
	if err != nil {
		up = 0
		s.log.Error("admin: metrics: store read failed", "err", err)
	}
	gauge(descStoreUp, up)
}

func (c *storeCollector) collectQueues(ctx context.Context, gauge func(*prometheus.Desc, float64, ...string)) error {
	s := c.s
	now := s.now()
	pending, err := s.store.CountInbox(ctx, riscd.InboxPending)
	if err != nil {
		return err
	}
	parked, err := s.store.CountInbox(ctx, riscd.InboxParked)
	if err != nil {
		return err
	}
	first, err := s.store.PendingInbox(ctx, 1)
	if err != nil {
		return err
	}
	jobs, err := s.store.PendingOutbox(ctx, riscd.MaxLimit)
	if err != nil {
		return err
	}
	failed, err := s.store.FailedOutbox(ctx, riscd.MaxLimit)
	if err != nil {
		return err
	}
	oldest := 0.0
	if len(first) > 0 {
		oldest = max(0, now.Sub(first[0].ReceivedAt).Seconds())
	}
	gauge(descInboxPending, float64(pending))
	gauge(descInboxParked, float64(parked))
	gauge(descInboxOldest, oldest)
	count := map[string]int{}
	age := map[string]float64{}
	for _, j := range jobs { // in ID order: the first of a kind is its oldest
		k := oneOf(string(j.Kind), outboxKinds)
		if count[k] == 0 {
			age[k] = max(0, now.Sub(j.CreatedAt).Seconds())
		}
		count[k]++
	}
	nfailed := map[string]int{}
	for _, j := range failed {
		nfailed[oneOf(string(j.Kind), outboxKinds)]++
	}
	for _, k := range outboxKinds {
		gauge(descOutboxPending, float64(count[k]), k)
		gauge(descOutboxOldest, age[k], k)
		gauge(descOutboxFailed, float64(nfailed[k]), k)
	}
	return nil
}

func (c *storeCollector) collectGrants(ctx context.Context, gauge func(*prometheus.Desc, float64, ...string)) error {
	s := c.s
	counts, at := s.grants.get()
	if gc, ok := s.store.(GrantCounter); ok {
		var err error
		if counts, err = gc.CountGrants(ctx); err != nil {
			return err
		}
		at = s.now()
	}
	if at.IsZero() {
		return nil // not counted yet
	}
	for _, st := range grantStatuses {
		gauge(descGrants, float64(counts[st]), string(st))
	}
	gauge(descGrantsCounted, float64(at.UnixMilli())/1000)
	return nil
}

// grantCounts is the last count of grants by status that Run made.
type grantCounts struct {
	mu     sync.Mutex
	counts map[riscd.GrantStatus]int
	at     time.Time
}

func (g *grantCounts) get() (map[riscd.GrantStatus]int, time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.counts, g.at
}

func (g *grantCounts) set(counts map[riscd.GrantStatus]int, at time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.counts, g.at = counts, at
}

// Run counts grants by status now and then every GrantCountInterval, for
// the riscd_grants gauge, until ctx is done; then it returns nil. A store
// that is a GrantCounter is asked at every scrape instead, and Run returns
// at once. A failed count is logged and tried again at the next interval.
// Counting lists every grant, a page at a time, each page in its own read
// transaction.
func (s *Server) Run(ctx context.Context) error {
	if _, ok := s.store.(GrantCounter); ok {
		return nil
	}
	t := time.NewTicker(s.cfg.GrantCountInterval)
	defer t.Stop()
	for {
		if err := s.CountGrants(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "admin: counting grants failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// CountGrants counts grants by status once, for the riscd_grants gauge (Run
// calls it on its schedule). It returns ctx's error or the store's.
func (s *Server) CountGrants(ctx context.Context) error {
	counts := map[riscd.GrantStatus]int{}
	q := riscd.GrantQuery{Limit: riscd.MaxLimit}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		page, next, err := s.store.ListGrants(ctx, q)
		if err != nil {
			return err
		}
		for _, g := range page {
			counts[g.Status]++
		}
		if next == "" {
			break
		}
		q.Cursor = next
	}
	s.grants.set(counts, s.now())
	return nil
}
