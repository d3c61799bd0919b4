package receiver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"golang.org/x/sync/singleflight"
)

// Key lookup outcomes, mapped to answers by answerFor.
var (
	// errUnknownKid: the key set, refetched for this token, has no key
	// with its kid. The token is refused (invalid_key).
	errUnknownKid = errors.New("receiver: unknown kid")
	// errUnusableKey: the key set lists the token's kid, but under a key
	// riscd does not verify with (see installSet). The token is refused
	// (invalid_key) without a refetch.
	errUnusableKey = errors.New("receiver: key not usable")
	// errKeysUnavailable: no key set could be loaded, or a refetch for an
	// unknown kid failed or is not allowed yet. riscd cannot judge the
	// token yet (503).
	errKeysUnavailable = errors.New("receiver: keys unavailable")
)

// verifyKey is one usable public key of a key set.
type verifyKey struct {
	alg string // the JWK's alg, "" when it names none
	key any    // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
	// unusable: the set lists this kid, but its key is skipped (see
	// installSet); alg and key are unset.
	unusable bool
}

// keyMap is an immutable snapshot of a key set, by kid.
type keyMap map[string]verifyKey

// refetchFloor is the least time between two unknown-kid refetches of one
// key set after a refetch that brought a new kid (a rotation at the
// transmitter): a second rotation soon after the first is found at once.
const refetchFloor = time.Second

// keySource is one JWKS URL: the jwk.Cache's client and post-fetcher for
// it, its unknown-kid refetches and the snapshot the request path reads. Transmitters with the same JWKS URL share
// one.
//
// The jwk.Cache refreshes the set in the background on the schedule its
// caching headers ask for; the cache is fetched through only once (the
// first attempt of Receiver.loadLoop), because each such fetch adds a
// refresh schedule that never ends (httprc v1.0.6's fetchAndStore enqueues
// the next refresh on every fetch). Every other fetch (later first-load
// attempts, unknown-kid refetches) is refetch's: it GETs the set itself,
// parses it with jwk.Parse and installs it, leaving the schedule alone.
type keySource struct {
	url   string
	fetch *fetcher
	ctx   context.Context // the daemon's lifetime: refetches run on it, never on a request's
	now   func() time.Time
	// floor and ceiling bound the least time between unknown-kid
	// refetches: it starts at floor, doubles after each refetch that brings
	// no new kid (or fails) up to ceiling, and falls back to floor after a
	// refetch that brings one.
	floor, ceiling time.Duration
	verifiers      map[string]*verifier
	log            *slog.Logger

	keys atomic.Pointer[keyMap] // nil until the first successful fetch

	// names are the transmitters using this key set, replaced (never
	// modified) when one is installed.
	names atomic.Pointer[[]string]
	// report, when set, is told for each owner the outcome of every fetch
	// of the set; an owner added after a fetch is told that fetch's
	// outcome, so every owner hears of each set's state exactly once.
	report   func(owner string, err error)
	reportMu sync.Mutex // orders fetched and addOwner
	reported bool       // a fetch outcome has been reported; guarded by reportMu
	lastLoad error      // that outcome; guarded by reportMu

	// seq numbers fetches in the order they start; installed is the
	// number of the fetch whose set is in keys, so that a slow fetch never
	// replaces the set of a fetch that started after it. cacheSeq is the
	// number of the jwk.Cache's current fetch (the cache fetches one URL at
	// a time).
	seq, cacheSeq atomic.Uint64
	installMu     sync.Mutex
	installed     uint64 // guarded by installMu

	flight      singleflight.Group
	mu          sync.Mutex    // guards the refetch state below
	lastRefetch time.Time     // start of the last unknown-kid refetch
	gap         time.Duration // least time from lastRefetch to the next one
	lastErr     error         // outcome of the last refetch
	inFlight    string        // singleflight key of the running refetch, "" when none
	flights     uint64        // refetches started, for the singleflight key
}

// newKeySource returns the keySource of the JWKS URL u. Its refetches live
// as long as ctx.
func newKeySource(ctx context.Context, u string, cfg Config, f *fetcher, vs map[string]*verifier) *keySource {
	floor := min(refetchFloor, cfg.UnknownKidRefetch)
	return &keySource{url: u, fetch: f, ctx: ctx, now: cfg.Now, floor: floor,
		ceiling: cfg.UnknownKidRefetch, gap: floor, verifiers: vs, log: cfg.Logger}
}

// owners returns the names of the transmitters using s.
func (s *keySource) owners() []string {
	if p := s.names.Load(); p != nil {
		return *p
	}
	return nil
}

// addOwner records that the transmitter name uses s.
func (s *keySource) addOwner(name string) {
	s.reportMu.Lock()
	defer s.reportMu.Unlock()
	names := append([]string(nil), s.owners()...)
	if slices.Contains(names, name) {
		return
	}
	s.names.Store(new(append(names, name)))
	if s.reported && s.report != nil {
		s.report(name, s.lastLoad)
	}
}

// fetched reports the outcome of one fetch of the set.
func (s *keySource) fetched(err error) {
	if s.report == nil {
		return
	}
	s.reportMu.Lock()
	defer s.reportMu.Unlock()
	s.reported, s.lastLoad = true, err
	for _, name := range s.owners() {
		s.report(name, err)
	}
}

// loaded reports whether a key set has been fetched.
func (s *keySource) loaded() bool { return s.keys.Load() != nil }

// lookup returns the key named kid. When the snapshot lacks it, lookup
// refetches the key set (unless the last unknown-kid refetch started less
// than the current gap ago; see keySource) and looks again. Concurrent
// lookups share one refetch. The refetch runs on the daemon's context: when
// ctx ends first, lookup gives up waiting but the refetch goes on and its
// keys serve the transmitter's retry. Errors: errUnknownKid when the set,
// refetched for this very lookup, lacks kid; errKeysUnavailable when no set
// is loaded, the refetch failed, a refetch is not allowed yet (the kid may
// be a key published since the last one) or ctx ended.
func (s *keySource) lookup(ctx context.Context, kid string) (verifyKey, error) {
	m := s.keys.Load()
	if m == nil {
		return verifyKey{}, fmt.Errorf("%w: key set not loaded yet", errKeysUnavailable)
	}
	if k, ok := (*m)[kid]; ok {
		return k.found()
	}
	s.mu.Lock()
	if k, ok := (*s.keys.Load())[kid]; ok { // a refetch ended meanwhile
		s.mu.Unlock()
		return k.found()
	}
	if s.inFlight == "" {
		now := s.now()
		if !s.lastRefetch.IsZero() && now.Before(s.lastRefetch.Add(s.gap)) {
			// The set may have changed since the last refetch (a rotation
			// at the transmitter a moment after it): refusing the token
			// would make the transmitter drop the event, so it is asked to
			// retry once a refetch is allowed again.
			lastErr, ago, gap := s.lastErr, now.Sub(s.lastRefetch), s.gap
			s.mu.Unlock()
			if lastErr != nil {
				return verifyKey{}, fmt.Errorf("%w: last refetch failed", errKeysUnavailable)
			}
			return verifyKey{}, fmt.Errorf("%w: unknown kid, key set refetched %s ago (next in %s)",
				errKeysUnavailable, ago.Round(time.Millisecond), (gap - ago).Round(time.Millisecond))
		}
		s.lastRefetch = now
		s.flights++
		s.inFlight = "refetch " + strconv.FormatUint(s.flights, 10)
	}
	done := s.flight.DoChan(s.inFlight, s.unknownKidRefetch)
	s.mu.Unlock()
	select {
	case <-ctx.Done():
		return verifyKey{}, fmt.Errorf("%w: request ended during the refetch: %w", errKeysUnavailable, context.Cause(ctx))
	case res := <-done:
		if res.Err != nil {
			return verifyKey{}, fmt.Errorf("%w: refetch: %w", errKeysUnavailable, res.Err)
		}
	}
	if k, ok := (*s.keys.Load())[kid]; ok {
		return k.found()
	}
	return verifyKey{}, errUnknownKid
}

// unknownKidRefetch is the singleflight function of lookup's refetches: it
// fetches the set and sets the gap to the next refetch.
func (s *keySource) unknownKidRefetch() (any, error) {
	before := s.keys.Load()
	err := s.refetch(s.ctx)
	newKid := err == nil && addsKid(before, s.keys.Load())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight = ""
	s.lastErr = err
	if newKid {
		s.gap = s.floor
	} else {
		s.gap = min(2*s.gap, s.ceiling)
	}
	return nil, err
}

// addsKid reports whether after lists a kid before lacks.
func addsKid(before, after *keyMap) bool {
	if after == nil {
		return false
	}
	for kid := range *after {
		if before == nil {
			return true
		}
		if _, ok := (*before)[kid]; !ok {
			return true
		}
	}
	return false
}

// refetch fetches the key set outside the jwk.Cache (see keySource) and
// installs it, and reports and logs a failure (not one due to ctx's end).
func (s *keySource) refetch(ctx context.Context) error {
	err := s.fetchSet(ctx)
	if err != nil && ctx.Err() == nil {
		s.fetched(err) // a success was reported by install
		s.log.WarnContext(ctx, "key set fetch failed", "jwks_url", s.url, "err", err)
	}
	return err
}

// fetchSet GETs, parses and installs the key set, as the jwk.Cache would.
func (s *keySource) fetchSet(ctx context.Context) error {
	seq := s.seq.Add(1)
	res, body, err := s.fetch.do(ctx, s.url)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("receiver: fetch %s: status %d", s.url, res.StatusCode)
	}
	set, err := jwk.Parse(body)
	if err != nil {
		return fmt.Errorf("receiver: fetch %s: %w", s.url, err)
	}
	return s.installSet(seq, set)
}

// found is lookup's answer for a kid the set lists.
func (k verifyKey) found() (verifyKey, error) {
	if k.unusable {
		return verifyKey{}, errUnusableKey
	}
	return k, nil
}

// Get fetches the key set for the jwk.Cache (keySource is the cache's
// jwk.HTTPClient for its URL), numbering the fetch for postFetch.
func (s *keySource) Get(u string) (*http.Response, error) {
	s.cacheSeq.Store(s.seq.Add(1))
	return s.fetch.Get(u)
}

// postFetch is the jwk.Cache PostFetcher: it installs a set the cache
// fetched.
func (s *keySource) postFetch(_ string, set jwk.Set) (jwk.Set, error) {
	if err := s.installSet(s.cacheSeq.Load(), set); err != nil {
		return nil, err
	}
	return set, nil
}

// installSet turns the set fetched by fetch number seq into the snapshot
// the request path reads, unless a fetch started later installed its set
// already. A set with no usable key is refused, so the snapshot keeps the
// previous keys.
func (s *keySource) installSet(seq uint64, set jwk.Set) error {
	m := keyMap{}
	skipped, usableKeys := 0, 0
	for i := range set.Len() {
		k, _ := set.Key(i)
		kid := k.KeyID()
		vk, ok := convertKey(k)
		if !ok || !usable(s.verifiers, vk) {
			skipped++
			if _, listed := m[kid]; !listed && kid != "" {
				m[kid] = verifyKey{unusable: true}
			}
			continue
		}
		if prev, dup := m[kid]; dup {
			// Two keys under one kid: the kid cannot say which signed.
			if !prev.unusable {
				usableKeys--
			}
			m[kid] = verifyKey{unusable: true}
			skipped++
			continue
		}
		m[kid] = vk
		usableKeys++
	}
	if usableKeys == 0 {
		return fmt.Errorf("key set at %s has no usable key (%d skipped)", s.url, skipped)
	}
	s.installMu.Lock()
	stale := seq < s.installed
	if !stale {
		s.installed = seq
		s.keys.Store(&m)
	}
	s.installMu.Unlock()
	s.fetched(nil)
	if stale {
		s.log.Info("key set fetched; a later fetch's set is kept", "jwks_url", s.url)
		return nil
	}
	s.log.Info("key set loaded", "jwks_url", s.url, "keys", usableKeys, "skipped", skipped)
	return nil
}

// convertKey returns the raw public key of a JWK that may verify
// signatures: a public (never symmetric) key with a kid, meant for
// signatures when its use says anything.
func convertKey(k jwk.Key) (verifyKey, bool) {
	if k.KeyID() == "" || (k.KeyUsage() != "" && k.KeyUsage() != string(jwk.ForSignature)) {
		return verifyKey{}, false
	}
	if ops := k.KeyOps(); len(ops) > 0 && !hasVerifyOp(ops) {
		return verifyKey{}, false
	}
	var raw any
	if err := k.Raw(&raw); err != nil {
		return verifyKey{}, false
	}
	return verifyKey{alg: k.Algorithm().String(), key: raw}, true
}

func hasVerifyOp(ops jwk.KeyOperationList) bool {
	for _, op := range ops {
		if op == jwk.KeyOpVerify {
			return true
		}
	}
	return false
}
