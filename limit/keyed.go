package limit

import (
	"math"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/time/rate"
)

// Keyed is a token bucket per key (a client address), optionally under one
// bucket shared by all keys. At most Size keys are tracked: a new key
// evicts the least recently seen one, whose bucket has most likely refilled
// (forgetting it then loses nothing). No key shares another's bucket, so
// many addresses can neither lock others out nor pool their attempts; an
// address forgotten early gets a full bucket again, which the shared
// bucket (when set) still bounds. It is safe for concurrent use.
type Keyed struct {
	limit rate.Limit
	burst int
	total *rate.Limiter // nil: no shared bucket

	mu  sync.Mutex
	lru *simplelru.LRU[string, *rate.Limiter]
}

// KeyedConfig sets up a Keyed.
type KeyedConfig struct {
	// Every is how often one more attempt of a key is allowed; Burst is how
	// many a key may make at once.
	Every time.Duration
	Burst int
	// TotalEvery and TotalBurst, when TotalBurst > 0, bound all keys together.
	TotalEvery time.Duration
	TotalBurst int
	// Size bounds the keys tracked. Default 4096.
	Size int
}

// NewKeyed builds a Keyed. Burst must be at least 1.
func NewKeyed(cfg KeyedConfig) *Keyed {
	if cfg.Size <= 0 {
		cfg.Size = 4096
	}
	k := &Keyed{limit: rate.Every(cfg.Every), burst: max(cfg.Burst, 1)}
	if cfg.TotalBurst > 0 {
		k.total = rate.NewLimiter(rate.Every(cfg.TotalEvery), cfg.TotalBurst)
	}
	k.lru, _ = simplelru.NewLRU[string, *rate.Limiter](cfg.Size, nil) // only errors on a size < 1
	return k
}

// Reserve takes one attempt of key at now, from key's bucket and from the
// shared one, atomically: it returns 0 when the attempt is allowed (and
// counted), else how long until key may try again (and counts nothing).
func (k *Keyed) Reserve(key string, now time.Time) time.Duration {
	// One lock around the check and the take: reserving then cancelling
	// under contention cannot give every token back (rate.Reservation's
	// CancelAt restores only what no later reservation has used), so
	// refused attempts would drain the bucket ever further.
	k.mu.Lock()
	defer k.mu.Unlock()
	lim, ok := k.lru.Get(key)
	if !ok {
		lim = rate.NewLimiter(k.limit, k.burst)
		k.lru.Add(key, lim) // evicts the least recently seen key when full
	}
	wait := untilToken(lim, now)
	if k.total != nil {
		wait = max(wait, untilToken(k.total, now))
	}
	if wait > 0 {
		return wait
	}
	lim.AllowN(now, 1)
	if k.total != nil {
		k.total.AllowN(now, 1)
	}
	return 0
}

// untilToken is how long from now until lim holds one whole token: 0 when
// it holds one already.
func untilToken(lim *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - lim.TokensAt(now)
	if missing <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(missing / float64(lim.Limit()) * float64(time.Second)))
}

// Forget drops key's bucket: its past attempts no longer count (a
// successful sign-in). The shared bucket keeps what it counted.
func (k *Keyed) Forget(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.lru.Remove(key)
}

// Len is how many keys are tracked.
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lru.Len()
}
