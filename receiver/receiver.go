package receiver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/lestrrat-go/httprc"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/events"
)

// ErrNotReady is matched by Ready's error while a transmitter is not
// discovered or its keys are not loaded.
var ErrNotReady = errors.New("receiver: not ready")

// Receiver is the RFC 8935 endpoint. It is an http.Handler; all its methods
// are safe for concurrent use.
type Receiver struct {
	cfg       Config
	log       *slog.Logger
	verifiers map[string]*verifier // every transmitter's algorithms
	cache     *jwk.Cache
	fetch     *fetcher
	put       func(context.Context, riscd.InboxEntry) (riscd.InboxEntry, bool, error)

	routes       atomic.Pointer[routeTable]
	transmitters []*transmitterState

	mu      sync.Mutex // guards sources and route installation
	sources map[string]*keySource
}

// transmitterState is one configured transmitter and, once its issuer and
// JWKS URL are known, its route.
type transmitterState struct {
	cfg   Transmitter
	route atomic.Pointer[route]
}

// route is what the request path needs to judge a SET of one transmitter.
type route struct {
	name      string
	issuer    string    // canonical spelling, stored in the inbox
	spellings [2]string // the issuer without and with one trailing slash
	audiences []string
	format    events.Format
	algs      []string // the transmitter's alg allow-list
	keys      *keySource
}

// routeTable maps every accepted iss spelling to its route. It is rebuilt,
// never modified, when a transmitter is installed.
type routeTable struct {
	byIss   map[string]*route
	pending int // transmitters not yet discovered
}

// New validates cfg, fills its defaults and returns a Receiver. Discovery
// and key loading start in the background and live as long as ctx: New never
// waits for the network and never fails because a transmitter is
// unreachable; until one is reachable its SETs are answered 503. Errors:
// ErrConfig (listing every problem) for an unusable cfg.
func New(ctx context.Context, cfg Config) (*Receiver, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	vs, err := newVerifiers(allAlgorithms(cfg))
	if err != nil {
		return nil, err
	}
	r := &Receiver{
		cfg:       cfg,
		log:       cfg.Logger,
		verifiers: vs,
		fetch: &fetcher{ctx: ctx, client: cfg.HTTPClient, timeout: cfg.FetchTimeout, now: cfg.Now,
			min: cfg.MinRefresh, max: cfg.MaxRefresh},
		sources: map[string]*keySource{},
		put:     cfg.Inbox.PutInbox,
	}
	errSink := func(err error) {
		r.log.WarnContext(ctx, "key set refresh failed; keeping the loaded keys", "err", err)
		r.refreshFailed(err)
	}
	r.cache = jwk.NewCache(ctx, jwk.WithRefreshWindow(refreshWindow(cfg.MinRefresh)),
		jwk.WithErrSink(httprcErrSink(errSink)))
	r.routes.Store(&routeTable{byIss: map[string]*route{}, pending: len(cfg.Transmitters)})
	for _, t := range cfg.Transmitters {
		r.transmitters = append(r.transmitters, &transmitterState{cfg: t})
	}
	for _, t := range r.transmitters {
		if t.cfg.Issuer != "" && t.cfg.JWKSURL != "" {
			if err := r.install(ctx, t, t.cfg.Issuer, t.cfg.JWKSURL); err != nil {
				return nil, err
			}
			continue
		}
		go r.discoverLoop(ctx, t)
	}
	return r, nil
}

// allAlgorithms is the union of every transmitter's allow-list: a key set
// keeps the keys usable under one of them, and each route checks its own.
func allAlgorithms(cfg Config) []string {
	var out []string
	for _, t := range cfg.Transmitters {
		for _, a := range t.Algorithms {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

// refreshWindow is how often the jwk.Cache looks for due refreshes: a fifth
// of the shortest interval, between one second and one minute.
func refreshWindow(minRefresh time.Duration) time.Duration {
	return max(time.Second, min(minRefresh/5, time.Minute))
}

// install gives t its route and starts loading its keys.
func (r *Receiver) install(ctx context.Context, t *transmitterState, issuer, jwksURL string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	base := strings.TrimSuffix(issuer, "/")
	for _, o := range r.transmitters {
		if rt := o.route.Load(); o != t && rt != nil && sameIssuer(rt.issuer, issuer) {
			return fmt.Errorf("receiver: transmitter %q: issuer %s is also %q's", t.cfg.Name, issuer, rt.name)
		}
	}
	src, ok := r.sources[jwksURL]
	if !ok {
		src = newKeySource(ctx, jwksURL, r.cfg, r.fetch, r.verifiers)
		if r.cfg.ObserveJWKS != nil {
			src.report = r.cfg.ObserveJWKS
		}
		err := r.cache.Register(jwksURL, jwk.WithMinRefreshInterval(r.cfg.MinRefresh),
			jwk.WithHTTPClient(src), jwk.WithPostFetcher(jwk.PostFetchFunc(src.postFetch)))
		if err != nil {
			return fmt.Errorf("receiver: register key set %s: %w", jwksURL, err)
		}
		r.sources[jwksURL] = src
	}
	src.addOwner(t.cfg.Name) // before the first fetch, so that it is reported
	if !ok {
		go r.loadLoop(ctx, src)
	}
	t.route.Store(&route{
		name:      t.cfg.Name,
		issuer:    issuer,
		spellings: [2]string{base, base + "/"},
		audiences: append([]string(nil), t.cfg.Audiences...),
		format:    t.cfg.Format,
		algs:      slices.Clone(t.cfg.Algorithms),
		keys:      src,
	})
	table := &routeTable{byIss: map[string]*route{}}
	for _, o := range r.transmitters {
		rt := o.route.Load()
		if rt == nil {
			table.pending++
			continue
		}
		for _, s := range rt.spellings {
			table.byIss[s] = rt
		}
	}
	r.routes.Store(table)
	return nil
}

// sameIssuer reports whether a and b are one issuer, spelled with or without
// a trailing slash.
func sameIssuer(a, b string) bool {
	return strings.TrimSuffix(a, "/") == strings.TrimSuffix(b, "/")
}

// Ready returns nil when every transmitter is discovered and has its keys
// loaded, for a readiness probe. Otherwise its error matches ErrNotReady and
// names the transmitters still waiting (names only, nothing secret).
func (r *Receiver) Ready() error {
	var waiting []string
	for _, t := range r.transmitters {
		switch rt := t.route.Load(); {
		case rt == nil:
			waiting = append(waiting, t.cfg.Name+" (not discovered)")
		case !rt.keys.loaded():
			waiting = append(waiting, t.cfg.Name+" (keys not loaded)")
		}
	}
	if len(waiting) > 0 {
		return fmt.Errorf("%w: %s", ErrNotReady, strings.Join(waiting, ", "))
	}
	return nil
}

// Handler returns the endpoint's http.Handler (the Receiver itself), to be
// mounted at risc.path on the public listener.
func (r *Receiver) Handler() http.Handler { return r }

// Register mounts the endpoint on e at path for every method (methods other
// than POST are answered 405 by the receiver itself).
func (r *Receiver) Register(e *echo.Echo, path string) {
	e.Any(path, echo.WrapHandler(r))
}

// refreshFailed reports a failed background refresh of the jwk.Cache (an
// *httprc.RefreshError, which names the key set) to its source.
func (r *Receiver) refreshFailed(err error) {
	var re *httprc.RefreshError
	if !errors.As(err, &re) {
		return
	}
	r.mu.Lock()
	src := r.sources[re.URL]
	r.mu.Unlock()
	if src != nil {
		src.fetched(err)
	}
}

// httprcErrSink adapts a function to the jwk.Cache's error sink.
type httprcErrSink func(error)

// Error implements jwk.ErrSink.
func (f httprcErrSink) Error(err error) { f(err) }
