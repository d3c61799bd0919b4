package receiver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/go-json-experiment/json"
)

// discoveryDoc is the part of a RISC or SSF configuration document riscd
// reads. Its other members are not used.
type discoveryDoc struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// discover fetches t's configuration document and returns the issuer and
// JWKS URL to use: the configured ones where set, else the document's.
func (r *Receiver) discover(ctx context.Context, t Transmitter) (issuer, jwksURL string, err error) {
	res, body, err := r.fetch.do(ctx, t.ConfigurationURL)
	if err != nil {
		return "", "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("receiver: discovery %s: status %d", t.ConfigurationURL, res.StatusCode)
	}
	var doc discoveryDoc
	if err := json.Unmarshal(body, &doc); err != nil { // duplicate names and invalid UTF-8 refused
		return "", "", fmt.Errorf("receiver: discovery %s: %w", t.ConfigurationURL, err)
	}
	issuer, jwksURL = t.Issuer, t.JWKSURL
	if issuer == "" {
		issuer = doc.Issuer
	} else if doc.Issuer != "" && !sameIssuer(doc.Issuer, issuer) {
		r.log.WarnContext(ctx, "configured issuer differs from the discovered one; using the configured one",
			"transmitter", t.Name, "issuer", issuer, "discovered", clip(doc.Issuer))
	}
	if jwksURL == "" {
		jwksURL = doc.JWKSURI
	}
	if issuer == "" {
		return "", "", fmt.Errorf("receiver: discovery %s: no issuer", t.ConfigurationURL)
	}
	if !isHTTPURL(jwksURL) {
		return "", "", fmt.Errorf("receiver: discovery %s: jwks_uri is not an absolute http(s) URL", t.ConfigurationURL)
	}
	if weakerScheme(t.ConfigurationURL, jwksURL) {
		return "", "", fmt.Errorf("receiver: discovery %s: jwks_uri is not https", t.ConfigurationURL)
	}
	return issuer, jwksURL, nil
}

// weakerScheme reports whether next downgrades from https to http.
func weakerScheme(first, next string) bool {
	a, errA := url.Parse(first)
	b, errB := url.Parse(next)
	return errA != nil || errB != nil || (a.Scheme == "https" && b.Scheme != "https")
}

// discoverLoop discovers t until it succeeds or ctx ends, then installs it.
func (r *Receiver) discoverLoop(ctx context.Context, t *transmitterState) {
	retry(ctx, r.cfg.RetryBackoff, r.cfg.RetryBackoffMax, func(attempt int) bool {
		issuer, jwksURL, err := r.discover(ctx, t.cfg)
		if err == nil {
			err = r.install(ctx, t, issuer, jwksURL)
		}
		if err != nil {
			r.log.WarnContext(ctx, "transmitter discovery failed; retrying", "transmitter", t.cfg.Name,
				"attempt", attempt, "err", err)
			return false
		}
		r.log.InfoContext(ctx, "transmitter discovered", "transmitter", t.cfg.Name, "issuer", issuer, "jwks_url", jwksURL)
		return true
	})
}

// loadLoop fetches s's key set until the first success or until ctx ends.
// The first attempt goes through the jwk.Cache, which starts its refresh
// schedule whatever the outcome; the others are s's own fetches, which add
// no schedule (see keySource). Later refreshes are the jwk.Cache's.
func (r *Receiver) loadLoop(ctx context.Context, s *keySource) {
	retry(ctx, r.cfg.RetryBackoff, r.cfg.RetryBackoffMax, func(attempt int) bool {
		if s.loaded() {
			return true
		}
		if attempt == 1 {
			_, err := r.cache.Refresh(ctx, s.url)
			if err != nil && ctx.Err() == nil {
				s.fetched(err) // a success was reported by install
				r.log.WarnContext(ctx, "key set fetch failed; retrying", "jwks_url", s.url, "attempt", attempt, "err", err)
			}
			return err == nil
		}
		return s.refetch(ctx) == nil
	})
}

// retry calls try until it reports success or ctx ends, waiting between
// attempts an exponential backoff from base to limit, with jitter.
func retry(ctx context.Context, base, limit time.Duration, try func(attempt int) bool) {
	wait := base
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil || try(attempt) {
			return
		}
		d := wait/2 + rand.N(wait/2+1) // jitter: [wait/2, wait]
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(wait*2, limit)
	}
}
