package flowweb

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd/limit"
)

// Defaults of the consent routes' limits (Config.ConsentPerMinute,
// ConsentPerMinuteTotal, MaxPendingFlows).
const (
	DefaultConsentPerMinute      = 30
	DefaultConsentPerMinuteTotal = 1200
	DefaultMaxPendingFlows       = 10000
)

// maxLimitedClients bounds the client addresses the consent limit tracks.
const maxLimitedClients = 16384

// Observer is told what the consent routes refused and what the sweep
// skipped; *admin.Metrics satisfies it.
type Observer interface {
	Limited(what string)
	RecordsSkipped(loop string, n int)
}

type nopObserver struct{}

func (nopObserver) Limited(string)             {}
func (nopObserver) RecordsSkipped(string, int) {}

// newConsentLimiter is the rate limit of GET /authorize and
// /oauth2callback: a bucket per client address of ConsentPerMinute
// requests (that many at once, then one every minute/ConsentPerMinute),
// under one bucket for all of ConsentPerMinuteTotal. Each authorize writes
// a flow to the store, and each callback with a live flow calls the token
// endpoint with the client secret: neither may be had at any rate.
func newConsentLimiter(cfg Config) *limit.Keyed {
	return limit.NewKeyed(limit.KeyedConfig{
		Every: time.Minute / time.Duration(cfg.ConsentPerMinute), Burst: cfg.ConsentPerMinute,
		TotalEvery: time.Minute / time.Duration(cfg.ConsentPerMinuteTotal), TotalBurst: cfg.ConsentPerMinuteTotal,
		Size: maxLimitedClients,
	})
}

// limitConsent answers 429, with Retry-After (RFC 9110 §10.2.3), to a
// client past the consent routes' rate; what names the route in the
// metric.
func (h *Handler) limitConsent(what string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			wait := h.consent.Reserve(limit.KeyOf(h.clientIP(c.Request())), h.now())
			if wait <= 0 {
				return next(c)
			}
			h.obs.Limited(what)
			return h.tooBusy(c, http.StatusTooManyRequests, wait, "too_many_requests",
				"riscd received too many sign-in requests from your network in a short time.")
		}
	}
}

// tooBusy shows a "try again later" page with Retry-After.
func (h *Handler) tooBusy(c echo.Context, status int, wait time.Duration, code, what string) error {
	secs := int((wait + time.Second - 1) / time.Second)
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	return h.message(c, status, "", messageView{
		Code: code, Heading: "Please try again in a moment",
		What:        what + " Nothing was stored.",
		UserCan:     "Wait " + (time.Duration(secs) * time.Second).String() + " and connect again.",
		OperatorCan: "The public.consent_per_minute, public.consent_per_minute_total and public.max_pending_flows settings bound this.",
	})
}

// flowWindow caps the flows started within one FlowTTL: it remembers
// when the last n started, and refuses a new one while the oldest of them
// is younger than the TTL. A flow older than the TTL can no longer be
// completed (takeFlow refuses it) and the sweep removes it, so the store
// holds about n live flows at most, however many clients ask.
type flowWindow struct {
	ttl   time.Duration
	mu    sync.Mutex
	ring  []time.Time
	next  int
	limit int
}

func newFlowWindow(n int, ttl time.Duration) *flowWindow {
	return &flowWindow{ttl: ttl, limit: n}
}

// take records a flow started at now, or returns how long until one may
// start.
func (w *flowWindow) take(now time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.ring) < w.limit {
		w.ring = append(w.ring, now)
		return 0
	}
	oldest := w.ring[w.next]
	if wait := oldest.Add(w.ttl).Sub(now); wait > 0 {
		return wait
	}
	w.ring[w.next] = now
	w.next = (w.next + 1) % w.limit
	return 0
}
