package admin

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/riscd/riscd/dispatch"
	"github.com/riscd/riscd/events"
)

// Metrics holds the counters and histograms that other packages feed. Each
// method is safe for concurrent use, cheap, and a no-op on a nil *Metrics,
// so a package can hold an optional observer.
//
// How to hand them out: a package that reports declares a small interface
// of the methods it calls, for instance in receiver
//
//	type Observer interface {
//		SETReceived(transmitter, outcome, errCode string)
//		SETVerified(transmitter string, d time.Duration)
//		JWKSRefreshed(transmitter string, err error)
//	}
//
// and cmd/riscd passes Server.Metrics() where that interface is asked for.
// The dispatcher needs no interface: wrap its handler chain with
// InstrumentHandler.
//
// Label values are bounded: event types become their short names
// (events.ShortName), outcomes and error codes outside the documented sets
// become "other", and transmitter names are the configured ones.
type Metrics struct {
	now             func() time.Time
	setsReceived    *prometheus.CounterVec
	verification    *prometheus.HistogramVec
	processing      *prometheus.HistogramVec
	handlerFailures *prometheus.CounterVec
	refreshes       *prometheus.CounterVec
	outboxAttempts  *prometheus.CounterVec
	jwksRefreshes   *prometheus.CounterVec
	streamStatus    *prometheus.GaugeVec
	streamHealthy   *prometheus.GaugeVec // no labels: absent until the first check
	httpRequests    *prometheus.CounterVec
	pruned          *prometheus.CounterVec
	lastPrune       prometheus.Gauge
	connsRefused    *prometheus.CounterVec
	limited         *prometheus.CounterVec
	skipped         *prometheus.CounterVec
}

// Outcomes of SETReceived.
const (
	OutcomeAccepted  = "accepted"  // verified, stored, answered 202
	OutcomeDuplicate = "duplicate" // a jti already stored, answered 202 again
	OutcomeRejected  = "rejected"  // answered 400 with an RFC 8935 err code
	OutcomeFailed    = "failed"    // answered 5xx (store or keys unavailable)
)

// Outcomes of TokenRefreshed.
const (
	RefreshOK           = "ok"
	RefreshInvalidGrant = "invalid_grant" // the grant is dead: revoked
	RefreshInvalidRAPT  = "invalid_rapt"  // re-authentication demanded
	RefreshError        = "error"         // network or 5xx: retried
)

// Outcomes of OutboxAttempt.
const (
	OutboxDone   = "done"   // the job succeeded
	OutboxRetry  = "retry"  // it failed and will be tried again
	OutboxFailed = "failed" // it failed for good (deadline passed)
)

var (
	setOutcomes     = []string{OutcomeAccepted, OutcomeDuplicate, OutcomeRejected, OutcomeFailed}
	setErrCodes     = []string{"", "invalid_request", "invalid_key", "invalid_issuer", "invalid_audience", "authentication_failed", "access_denied", "invalid_state"}
	refreshOutcomes = []string{RefreshOK, RefreshInvalidGrant, RefreshInvalidRAPT, RefreshError}
	outboxOutcomes  = []string{OutboxDone, OutboxRetry, OutboxFailed}
	outboxKinds     = []string{"revoke", "webhook"}
	streamStatuses  = []string{events.StreamEnabled, events.StreamPaused, events.StreamDisabled, "unknown"}
	listeners       = []string{"public", "internal"}
	limitedRoutes   = []string{"authorize", "callback", "flows", "admin_signin"}
	skippingLoops   = []string{"flow_sweep", "refresher"}
)

// maxLabelLen bounds free-form label values (transmitter names).
const maxLabelLen = 64

func newMetrics(now func() time.Time) *Metrics {
	return &Metrics{
		now: now,
		setsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riscd_sets_received_total",
			Help: "Security event tokens received, by transmitter, outcome and RFC 8935 err code.",
		}, []string{"transmitter", "outcome", "err"}),
		verification: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "riscd_set_verification_duration_seconds",
			Help:    "Time to verify a SET (signature, claims) and commit it to the inbox.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"transmitter"}),
		processing: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "riscd_event_processing_duration_seconds",
			Help:    "Time from a SET's receipt to the success of its handlers (end to end), by event type.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 14),
		}, []string{"type"}),
		handlerFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riscd_event_handler_failures_total",
			Help: "Failed attempts to handle an event, by event type.",
		}, []string{"type"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riscd_token_refreshes_total",
			Help: "Upstream access-token refreshes, by outcome.",
		}, []string{"outcome"}),
		outboxAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riscd_outbox_attempts_total",
			Help: "Attempts at outbox jobs (upstream revocations, webhooks), by kind and outcome.",
		}, []string{"kind", "outcome"}),
		jwksRefreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riscd_jwks_refreshes_total",
			Help: "Fetches of a transmitter's key set, by transmitter and outcome (ok, error).",
		}, []string{"transmitter", "outcome"}),
		streamStatus: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "riscd_stream_status",
			Help: "The Google RISC stream's last known status: 1 for the current one.",
		}, []string{"status"}),
		// A vector without labels, so that the series exists only once a
		// check ran: with stream checks off it is absent, not a 0 that an
		// "== 0" alert would take for a broken stream.
		streamHealthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "riscd_stream_healthy",
			Help: "1 when the last stream check found the stream enabled and a verification event came back, else 0; absent while no check ran (risc.stream_check_interval unset).",
		}, nil),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riscd_internal_http_requests_total",
			Help: "Requests to the internal listener, by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		pruned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riscd_store_pruned_total",
			Help: "Records removed by store.retention: done events and done outbox jobs.",
		}, []string{"kind"}),
		lastPrune: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "riscd_store_last_prune_timestamp_seconds",
			Help: "When the store was last pruned to store.retention without error (Unix time; 0 before the first).",
		}),
		connsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riscd_http_connections_refused_total",
			Help: "Connections closed unanswered because their client address already had as many open as the listener allows, by listener.",
		}, []string{"listener"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riscd_http_requests_limited_total",
			Help: "Requests answered 429 or 503 by a rate limit or the cap on pending consent flows, by what was limited.",
		}, []string{"what"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riscd_undecodable_records_skipped_total",
			Help: "Store records a background loop could not decode and skipped (riscd store check names them), by loop.",
		}, []string{"loop"}),
	}
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		m.setsReceived, m.verification, m.processing, m.handlerFailures, m.refreshes,
		m.outboxAttempts, m.jwksRefreshes, m.streamStatus, m.streamHealthy, m.httpRequests,
		m.pruned, m.lastPrune, m.connsRefused, m.limited, m.skipped,
	}
}

// oneOf returns v when it is in allowed, else "other".
func oneOf(v string, allowed []string) string {
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	return "other"
}

func clipLabel(v string) string {
	if len(v) > maxLabelLen {
		return v[:maxLabelLen]
	}
	return v
}

// SETReceived counts one SET delivery: outcome is one of the Outcome*
// constants, errCode the RFC 8935 err code of a rejection ("" otherwise).
func (m *Metrics) SETReceived(transmitter, outcome, errCode string) {
	if m == nil {
		return
	}
	m.setsReceived.WithLabelValues(clipLabel(transmitter), oneOf(outcome, setOutcomes), oneOf(errCode, setErrCodes)).Inc()
}

// SETVerified records how long verifying and storing one SET took.
func (m *Metrics) SETVerified(transmitter string, d time.Duration) {
	if m == nil {
		return
	}
	m.verification.WithLabelValues(clipLabel(transmitter)).Observe(d.Seconds())
}

// EventProcessed records the end-to-end time of one event of type
// eventType (a URI), from receipt to the success of its handlers.
func (m *Metrics) EventProcessed(eventType string, d time.Duration) {
	if m == nil {
		return
	}
	m.processing.WithLabelValues(events.ShortName(eventType)).Observe(d.Seconds())
}

// HandlerFailed counts one failed attempt at an event of type eventType (a
// URI).
func (m *Metrics) HandlerFailed(eventType string) {
	if m == nil {
		return
	}
	m.handlerFailures.WithLabelValues(events.ShortName(eventType)).Inc()
}

// TokenRefreshed counts one upstream refresh; outcome is one of the
// Refresh* constants.
func (m *Metrics) TokenRefreshed(outcome string) {
	if m == nil {
		return
	}
	m.refreshes.WithLabelValues(oneOf(outcome, refreshOutcomes)).Inc()
}

// Pruned counts what one pass of store.retention removed, and records when
// it finished (err nil) or leaves that time alone (err not nil).
func (m *Metrics) Pruned(events, jobs int, err error) {
	if m == nil {
		return
	}
	m.pruned.WithLabelValues("events").Add(float64(events))
	m.pruned.WithLabelValues("jobs").Add(float64(jobs))
	if err == nil {
		m.lastPrune.Set(float64(m.now().Unix()))
	}
}

// OutboxAttempt counts one attempt at an outbox job of kind "revoke" or
// "webhook"; outcome is one of the Outbox* constants.
func (m *Metrics) OutboxAttempt(kind, outcome string) {
	if m == nil {
		return
	}
	m.outboxAttempts.WithLabelValues(oneOf(kind, outboxKinds), oneOf(outcome, outboxOutcomes)).Inc()
}

// JWKSRefreshed counts one fetch of a transmitter's key set; err is its
// failure or nil.
func (m *Metrics) JWKSRefreshed(transmitter string, err error) {
	if m == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.jwksRefreshes.WithLabelValues(clipLabel(transmitter), outcome).Inc()
}

// StreamStatus records the stream status last read from Google: "enabled",
// "disabled", "paused", or anything else as "unknown".
func (m *Metrics) StreamStatus(status string) {
	if m == nil {
		return
	}
	status = oneOf(status, streamStatuses)
	if status == "other" {
		status = "unknown"
	}
	for _, s := range streamStatuses {
		v := 0.0
		if s == status {
			v = 1
		}
		m.streamStatus.WithLabelValues(s).Set(v)
	}
}

// StreamCheck records the outcome of one stream health check.
func (m *Metrics) StreamCheck(healthy bool) {
	if m == nil {
		return
	}
	if healthy {
		m.streamHealthy.WithLabelValues().Set(1)
	} else {
		m.streamHealthy.WithLabelValues().Set(0)
	}
}

// InstrumentHandler wraps the dispatcher's handler chain (wrap it once, as
// one Handler): each failed attempt counts in HandlerFailed for every event
// type of the SET, and each success records EventProcessed with the time
// since the entry's receipt. Errors pass through unchanged.
func (m *Metrics) InstrumentHandler(h dispatch.Handler) dispatch.Handler {
	return dispatch.HandlerFunc(func(ctx context.Context, d dispatch.Delivery) error {
		err := h.Handle(ctx, d)
		if m == nil || d.SET == nil {
			return err
		}
		for _, t := range d.SET.Types() {
			if err != nil {
				m.HandlerFailed(t)
			} else {
				m.EventProcessed(t, m.now().Sub(d.Entry.ReceivedAt))
			}
		}
		return err
	})
}

// ConnectionRefused counts one connection the listener ("public" or
// "internal") closed because its client address had too many open.
func (m *Metrics) ConnectionRefused(listener string) {
	if m == nil {
		return
	}
	m.connsRefused.WithLabelValues(oneOf(listener, listeners)).Inc()
}

// Limited counts one request refused by a limit: "authorize" and
// "callback" (the consent routes' rate limits), "flows" (the cap on
// pending consent flows), "admin_signin".
func (m *Metrics) Limited(what string) {
	if m == nil {
		return
	}
	m.limited.WithLabelValues(oneOf(what, limitedRoutes)).Inc()
}

// RecordsSkipped counts n undecodable store records a background loop
// ("flow_sweep", "refresher") skipped.
func (m *Metrics) RecordsSkipped(loop string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.skipped.WithLabelValues(oneOf(loop, skippingLoops)).Add(float64(n))
}

// StreamRecorded returns the status StreamStatus last recorded ("" when it
// never ran) and whether the last StreamCheck found the stream healthy
// (false when it never ran).
func (m *Metrics) StreamRecorded() (status string, healthy bool) {
	ch := make(chan prometheus.Metric, len(streamStatuses))
	go func() {
		m.streamStatus.Collect(ch)
		close(ch)
	}()
	for pm := range ch {
		var d dto.Metric
		if pm.Write(&d) != nil || d.GetGauge().GetValue() != 1 {
			continue
		}
		for _, l := range d.GetLabel() {
			if l.GetName() == "status" {
				status = l.GetValue()
			}
		}
	}
	// Collected, not looked up: a lookup would create the series.
	hc := make(chan prometheus.Metric, 1)
	go func() {
		m.streamHealthy.Collect(hc)
		close(hc)
	}()
	for pm := range hc {
		var d dto.Metric
		healthy = pm.Write(&d) == nil && d.GetGauge().GetValue() == 1
	}
	return status, healthy
}
