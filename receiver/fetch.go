package receiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxDocument bounds a discovery document or key set, in bytes.
const maxDocument = 1 << 20

// fetcher makes the receiver's outgoing requests: discovery documents, and
// key sets on behalf of the jwk.Cache (it implements jwk.HTTPClient). Every
// request is bounded by timeout and by the daemon's context, bodies by
// maxDocument.
type fetcher struct {
	ctx      context.Context // the daemon's lifetime
	client   *http.Client
	timeout  time.Duration
	now      func() time.Time
	min, max time.Duration // refresh interval clamp
}

// Get fetches a key set for the jwk.Cache. The body is read here (the cache
// does not close it) and the caching headers are rewritten to one
// Cache-Control max-age within [min, max], which the cache then follows.
func (f *fetcher) Get(u string) (*http.Response, error) {
	res, body, err := f.do(f.ctx, u)
	if err != nil {
		return nil, err
	}
	ttl := clampTTL(cacheTTL(res.Header, f.now()), f.min, f.max)
	res.Header.Del("Expires")
	res.Header.Set("Cache-Control", "max-age="+strconv.FormatInt(int64(ttl/time.Second), 10))
	res.Body = io.NopCloser(bytes.NewReader(body))
	return res, nil
}

// do GETs u and returns the response with its body read and closed.
func (f *fetcher) do(ctx context.Context, u string) (*http.Response, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("receiver: fetch %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := f.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("receiver: fetch %s: %w", u, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxDocument+1))
	if err != nil {
		return nil, nil, fmt.Errorf("receiver: fetch %s: read: %w", u, err)
	}
	if len(body) > maxDocument {
		return nil, nil, fmt.Errorf("receiver: fetch %s: %w", u, errTooLarge)
	}
	return res, body, nil
}

var errTooLarge = errors.New("document larger than 1 MiB")

// cacheTTL returns how long a response may be cached according to its
// Cache-Control max-age (no-store and no-cache count as zero) or, failing
// that, its Expires; zero when it says nothing.
func cacheTTL(h http.Header, now time.Time) time.Duration {
	if cc := h.Get("Cache-Control"); cc != "" {
		maxAge, found := time.Duration(0), false
		for _, d := range strings.Split(cc, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(name) {
			case "no-store", "no-cache":
				return 0
			case "max-age":
				n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64)
				if err == nil && n >= 0 && !found {
					maxAge, found = time.Duration(min(n, 1<<31))*time.Second, true
				}
			}
		}
		if found {
			return maxAge
		}
	}
	if exp := h.Get("Expires"); exp != "" {
		if t, err := http.ParseTime(exp); err == nil && t.After(now) {
			return t.Sub(now)
		}
	}
	return 0
}

// clampTTL bounds ttl to [lo, hi].
func clampTTL(ttl, lo, hi time.Duration) time.Duration {
	return max(lo, min(ttl, hi))
}
