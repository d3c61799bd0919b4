package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riscd/riscd"
)

// ErrInvalidConfig is wrapped by New's error when the Config cannot be used.
var ErrInvalidConfig = errors.New("invalid admin config")

// Defaults of Config's durations.
const (
	// DefaultInboxStuckAfter is how long a due inbox entry may wait before
	// /readyz reports the inbox stuck.
	DefaultInboxStuckAfter = 5 * time.Minute
	// DefaultGrantCountInterval is how often Run recounts grants by status
	// when the store cannot count them cheaply.
	DefaultGrantCountInterval = 5 * time.Minute
)

// GoogleIssuer is the issuer whose subjects the admin API's sub filters name
// by default.
const GoogleIssuer = "https://accounts.google.com"

// Store is what the admin API reads and writes in riscd's store; every
// engine's riscd.DB satisfies it. Errors are the store's: riscd.ErrNotFound
// for a missing record, riscd.ErrInvalid for a malformed cursor, anything
// else a storage
// failure.
type Store interface {
	ListGrants(ctx context.Context, q riscd.GrantQuery) ([]riscd.Grant, string, error)
	Grant(ctx context.Context, id string) (riscd.Grant, error)
	GrantsBySub(ctx context.Context, sub string) ([]riscd.Grant, error)
	// GrantsByVerifiedEmail finds a subject by email (Service.ResolveSub).
	GrantsByVerifiedEmail(ctx context.Context, email string) ([]riscd.Grant, error)
	Account(ctx context.Context, sub string) (riscd.Account, error)
	AccountsNeedingAttention(ctx context.Context, after string, limit int) ([]riscd.Account, error)
	ListInbox(ctx context.Context, q riscd.InboxQuery) ([]riscd.InboxEntry, string, error)
	InboxEntry(ctx context.Context, id uint64) (riscd.InboxEntry, error)
	PendingInbox(ctx context.Context, limit int) ([]riscd.InboxEntry, error)
	CountInbox(ctx context.Context, status riscd.InboxStatus) (int, error)
	ListAudit(ctx context.Context, q riscd.AuditQuery) ([]riscd.AuditEntry, string, error)
	PendingOutbox(ctx context.Context, limit int) ([]riscd.OutboxJob, error)
	FailedOutbox(ctx context.Context, limit int) ([]riscd.OutboxJob, error)
	// Update runs fn in one read-write transaction: an event's retry and its
	// audit entry are written together.
	Update(ctx context.Context, fn func(riscd.Tx) error) error
}

// GrantCounter is an optional Store method: when the store can count grants
// by status cheaply (the bbolt engine reads its status index, keys only), the
// metrics collector calls it at every scrape; otherwise Run recounts by
// listing every grant every GrantCountInterval.
type GrantCounter interface {
	CountGrants(ctx context.Context) (map[riscd.GrantStatus]int, error)
}

// HealthChecker is an optional Store method: nil when the store can accept
// writes, else an error naming what is wrong (the bbolt engine: received SETs
// cannot be moved into the inbox, a full disk). /readyz reports it.
type HealthChecker interface {
	Health(ctx context.Context) error
}

var (
	_ Store         = riscd.DB(nil)
	_ HealthChecker = riscd.DB(nil)
	_ GrantCounter  = riscd.DB(nil)
)

// Config is everything the admin API, the metrics and the health probes
// need. Zero values get the
// defaults documented on each field; New reports every field it cannot use.
type Config struct {
	// Store is riscd's store. Required.
	Store Store
	// Operator carries out the operator actions DELETE /admin/grants/{id}
	// and POST /admin/accounts/{sub}/release. Nil: those routes answer 501.
	Operator Operator
	// AdminToken guards /admin. Empty: the admin API answers 503
	// (admin_disabled).
	AdminToken riscd.Secret
	// Features maps feature names to the scope each needs, for the feature
	// filter of GET /admin/grants and the features a grant view lists.
	Features map[string]string
	// Issuers are the issuers a plain sub names in the admin API's sub
	// filters (events, account timelines): an inbox entry is found by the
	// subject key of (issuer, sub). Default [GoogleIssuer].
	Issuers []string
	// Ready is an extra readiness check run by /readyz (the receiver's
	// keys, for instance). Its error text is shown in the answer: keep it
	// free of secrets. Nil: no extra check.
	Ready func(ctx context.Context) error
	// Rescan wakes the dispatcher after an event is retried
	// (dispatch.Dispatcher.Rescan). Nil: the dispatcher finds the entry at its
	// next rescan.
	Rescan func()
	// InboxStuckAfter is how long a due pending inbox entry may wait before
	// /readyz fails. Default DefaultInboxStuckAfter.
	InboxStuckAfter time.Duration
	// GrantCountInterval is how often Run recounts grants by status when
	// Store is not a GrantCounter. Default DefaultGrantCountInterval.
	GrantCountInterval time.Duration
	// Registry receives riscd's metrics. Default: a new registry holding
	// them and the Go runtime and process collectors. A registry given here
	// gets riscd's metrics only.
	Registry *prometheus.Registry
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives the request log and unexpected failures. Default:
	// discard.
	Logger *slog.Logger
}

// featureName is what a feature may be called (as in the consent pages).
var featureName = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// withDefaults returns cfg with its zero fields filled.
func (cfg Config) withDefaults() Config {
	if len(cfg.Issuers) == 0 {
		cfg.Issuers = []string{GoogleIssuer}
	}
	if cfg.InboxStuckAfter == 0 {
		cfg.InboxStuckAfter = DefaultInboxStuckAfter
	}
	if cfg.GrantCountInterval == 0 {
		cfg.GrantCountInterval = DefaultGrantCountInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return cfg
}

// validate reports every problem of cfg at once.
func (cfg Config) validate() error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if cfg.Store == nil {
		bad("Store is required")
	}
	if strings.ContainsAny(cfg.AdminToken.Reveal(), " \t\r\n") {
		bad("AdminToken must not contain white space")
	}
	for name, scope := range cfg.Features {
		if !featureName.MatchString(name) {
			bad("feature name %q must be 1-64 of a-z, 0-9, '-', '_'", name)
		}
		if scope == "" {
			bad("feature %q has no scope", name)
		}
	}
	for _, iss := range cfg.Issuers {
		if iss == "" {
			bad("Issuers must not hold an empty issuer")
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"InboxStuckAfter", cfg.InboxStuckAfter}, {"GrantCountInterval", cfg.GrantCountInterval},
	} {
		if d.v < 0 {
			bad("%s must not be negative", d.name)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalidConfig, strings.Join(problems, "; "))
}
