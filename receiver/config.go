package receiver

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/events"
)

// ErrConfig is matched (with errors.Is) by New's error for a Config it
// cannot run with. The error lists every problem found, not only the first.
var ErrConfig = errors.New("receiver: invalid config")

// Transmitter is one trusted sender of security event tokens.
//
// Either ConfigurationURL (a RISC or SSF discovery document, which gives
// issuer and jwks_uri) or both Issuer and JWKSURL must be set. When
// ConfigurationURL is set with one of the other two, the configured value
// wins over the discovered one; with both set, no discovery happens.
type Transmitter struct {
	// Name identifies the transmitter in the inbox and in logs ("google").
	Name string
	// ConfigurationURL is the discovery document's URL, e.g.
	// https://accounts.google.com/.well-known/risc-configuration.
	ConfigurationURL string
	// Issuer is the iss the transmitter's SETs carry. The spelling with or
	// without one trailing slash is accepted too, nothing else.
	Issuer string
	// JWKSURL is where the transmitter publishes its signing keys.
	JWKSURL string
	// Audiences are the aud values accepted (for Google, the OAuth client
	// IDs). A SET must name at least one of them. Required.
	Audiences []string
	// Format is the payload shape: events.FormatGoogle (the default when
	// zero) or events.FormatSSF. SSF SETs must also carry typ secevent+jwt.
	Format events.Format
	// Algorithms is this transmitter's JWS alg allow-list, from the same
	// asymmetric algorithms as Config.Algorithms. Default:
	// Config.Algorithms. A SET signed with an algorithm allowed for
	// another transmitter only is refused (invalid_key).
	Algorithms []string
}

// Inbox is where verified SETs go: riscd.InboxWriter, as every store
// engine's Store.Inbox gives it (concurrent SETs share one durable commit).
type Inbox = riscd.InboxWriter

// Config configures a Receiver. Zero values get the defaults named on each
// field; Transmitters and Inbox are required.
type Config struct {
	// Transmitters are the trusted senders; at least one.
	Transmitters []Transmitter
	// Algorithms is the JWS alg allow-list of every transmitter that does
	// not give its own (Transmitter.Algorithms). Default ["RS256"]. Only
	// asymmetric algorithms are accepted: RS256, RS384, RS512, PS256,
	// PS384, PS512, ES256, ES384, ES512 and EdDSA; "none" and the HMAC
	// family are refused by New.
	Algorithms []string
	// Inbox receives verified SETs. Required.
	Inbox Inbox
	// Registry parses payloads. Default events.NewRegistry().
	Registry *events.Registry
	// Notify, when set, is called after a new entry commits (not for a
	// redelivery), to wake the dispatcher. It must not block. With
	// a store engine's Inbox the entry is then durable and reaches the
	// store's reads a moment later: Store.OnInboxApplied tells when.
	Notify func()
	// Observe, when set, is called once per request, just before the
	// answer is written, with what the receiver did (see Observation); for
	// metrics.
	// It runs on the request's goroutine, so it must be cheap and must not
	// block. Nil: nothing is observed.
	Observe func(Observation)
	// ObserveJWKS, when set, is called after every fetch of a key set (the
	// first load, scheduled refreshes, unknown-kid refetches), once for
	// each transmitter using that set, with the fetch's error or nil. A
	// fetch is an error when the request fails, the answer is not a 200,
	// or the set does not parse or has no usable key. It must not block.
	ObserveJWKS func(transmitter string, err error)
	// HTTPClient fetches discovery documents and key sets. Default: a new
	// http.Client. Each fetch is bounded by FetchTimeout whatever the
	// client says, and each document by 1 MiB.
	HTTPClient *http.Client
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives the receiver's logs. Default: discard.
	Logger *slog.Logger

	// MaxBody is the largest body accepted, in bytes. Default 64 KiB.
	MaxBody int64
	// MaxIATSkew is how far in the future iat may be. Default 5 minutes.
	MaxIATSkew time.Duration
	// MinRefresh and MaxRefresh clamp the key set refresh interval that
	// the JWKS response's caching headers ask for. Default 5 minutes and
	// 24 hours.
	MinRefresh, MaxRefresh time.Duration
	// UnknownKidRefetch bounds the least time between two refetches of
	// one key set caused by tokens naming a kid it lacks: that time starts
	// at one second (or UnknownKidRefetch when shorter), doubles after each
	// refetch that brings no new kid, up to UnknownKidRefetch, and is one
	// second again after a refetch that brings one. Default 5 seconds.
	UnknownKidRefetch time.Duration
	// RetryAfter is the Retry-After of 503 answers. Default 30 seconds.
	RetryAfter time.Duration
	// RetryBackoff and RetryBackoffMax bound the waits between background
	// attempts to fetch a discovery document or a first key set. Default
	// 1 second and 5 minutes.
	RetryBackoff, RetryBackoffMax time.Duration
	// FetchTimeout bounds one discovery or JWKS request. Default 10 seconds.
	FetchTimeout time.Duration
}

// Defaults of Config.
const (
	DefaultMaxBody           = 64 << 10
	DefaultMaxIATSkew        = 5 * time.Minute
	DefaultMinRefresh        = 5 * time.Minute
	DefaultMaxRefresh        = 24 * time.Hour
	DefaultUnknownKidRefetch = 5 * time.Second
	DefaultRetryAfter        = 30 * time.Second
	DefaultRetryBackoff      = time.Second
	DefaultRetryBackoffMax   = 5 * time.Minute
	DefaultFetchTimeout      = 10 * time.Second
)

// withDefaults returns cfg with every zero value replaced by its default.
func (cfg Config) withDefaults() Config {
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = []string{"RS256"}
	}
	if cfg.Registry == nil {
		cfg.Registry = events.NewRegistry()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	setDefault(&cfg.MaxBody, DefaultMaxBody)
	setDefault(&cfg.MaxIATSkew, DefaultMaxIATSkew)
	setDefault(&cfg.MinRefresh, DefaultMinRefresh)
	setDefault(&cfg.MaxRefresh, DefaultMaxRefresh)
	setDefault(&cfg.UnknownKidRefetch, DefaultUnknownKidRefetch)
	setDefault(&cfg.RetryAfter, DefaultRetryAfter)
	setDefault(&cfg.RetryBackoff, DefaultRetryBackoff)
	setDefault(&cfg.RetryBackoffMax, DefaultRetryBackoffMax)
	setDefault(&cfg.FetchTimeout, DefaultFetchTimeout)
	ts := make([]Transmitter, len(cfg.Transmitters))
	for i, t := range cfg.Transmitters {
		if t.Format == 0 {
			t.Format = events.FormatGoogle
		}
		if len(t.Algorithms) == 0 {
			t.Algorithms = cfg.Algorithms
		}
		ts[i] = t
	}
	cfg.Transmitters = ts
	return cfg
}

func setDefault[T int64 | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// validate reports every problem of a defaulted cfg at once, wrapped around
// ErrConfig.
func (cfg Config) validate() error {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if cfg.Inbox == nil {
		add("no inbox")
	}
	if len(cfg.Transmitters) == 0 {
		add("no transmitter")
	}
	for _, a := range cfg.Algorithms {
		if _, ok := algorithms[a]; !ok {
			add("algorithm %q is not an accepted asymmetric JWS algorithm", a)
		}
	}
	names := map[string]bool{}
	issuers := map[string]string{}
	for i, t := range cfg.Transmitters {
		where := fmt.Sprintf("transmitter %d", i+1)
		if t.Name == "" {
			add("%s: no name", where)
		} else {
			where = fmt.Sprintf("transmitter %q", t.Name)
			if names[t.Name] {
				add("%s: name used twice", where)
			}
			names[t.Name] = true
		}
		for _, p := range t.problems() {
			add("%s: %s", where, p)
		}
		if t.Issuer != "" {
			key := strings.TrimSuffix(t.Issuer, "/")
			if other, dup := issuers[key]; dup {
				add("%s: issuer also used by %s", where, other)
			}
			issuers[key] = where
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"MaxIATSkew", cfg.MaxIATSkew}, {"MinRefresh", cfg.MinRefresh}, {"MaxRefresh", cfg.MaxRefresh},
		{"UnknownKidRefetch", cfg.UnknownKidRefetch}, {"RetryAfter", cfg.RetryAfter},
		{"RetryBackoff", cfg.RetryBackoff}, {"RetryBackoffMax", cfg.RetryBackoffMax},
		{"FetchTimeout", cfg.FetchTimeout},
	} {
		if d.v < 0 {
			add("%s is negative", d.name)
		}
	}
	if cfg.MaxBody < 0 {
		add("MaxBody is negative")
	}
	if cfg.MinRefresh > cfg.MaxRefresh {
		add("MinRefresh is longer than MaxRefresh")
	}
	if cfg.RetryBackoff > cfg.RetryBackoffMax {
		add("RetryBackoff is longer than RetryBackoffMax")
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrConfig, strings.Join(errs, "; "))
}

// problems lists what is wrong with one transmitter.
func (t Transmitter) problems() []string {
	var out []string
	switch {
	case t.ConfigurationURL == "" && (t.Issuer == "" || t.JWKSURL == ""):
		out = append(out, "needs configuration_url, or issuer and jwks_url")
	}
	for _, u := range []struct{ name, v string }{
		{"configuration_url", t.ConfigurationURL}, {"jwks_url", t.JWKSURL},
	} {
		if u.v != "" && !isHTTPURL(u.v) {
			out = append(out, u.name+" is not an absolute http(s) URL")
		}
	}
	if len(t.Audiences) == 0 {
		out = append(out, "no audience")
	}
	for _, a := range t.Audiences {
		if a == "" {
			out = append(out, "empty audience")
		}
	}
	if t.Format != events.FormatGoogle && t.Format != events.FormatSSF {
		out = append(out, "unknown format")
	}
	for _, a := range t.Algorithms {
		if _, ok := algorithms[a]; !ok {
			out = append(out, fmt.Sprintf("algorithm %q is not an accepted asymmetric JWS algorithm", a))
		}
	}
	return out
}

// isHTTPURL reports whether s is an absolute http or https URL with a host.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}
