package lifecycle

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/oauthclient"
	"github.com/riscd/riscd/workqueue"
)

// Store is riscd's store, whatever engine keeps it. Events are applied,
// and outbox attempts recorded, with Batch, so that the concurrent
// deliveries share commits (and fsyncs); every function handed to Batch resets what it records outside
// the transaction, since Batch may run it more than once.
type Store = riscd.Store

// Config configures a Lifecycle. Zero values get the defaults named on
// each field.
type Config struct {
	// Store holds grants, accounts, sessions, the outbox and the audit log.
	// Required.
	Store Store

	// Actions overrides entries of DefaultActions: event short name
	// (events.ShortName), "account-disabled/<reason>" or "unknown" -> action
	// names. A plain "account-disabled" entry covers every reason not given
	// its own entry here.
	Actions map[string][]string
	// DryRun records in the audit log what each event would do, flagged
	// DryRun, and changes nothing else: no grant, account or session, no
	// webhook, no upstream revocation.
	DryRun bool
	// InboxDone says that the dispatcher delivering to Handler reads the
	// Store's inbox: the handler then marks each entry done (counting the
	// attempt, stamping DoneAt) in the transaction of its last event, when
	// it is the dispatcher's last handler (dispatch.Delivery.Last), so that
	// the Queue's Done has nothing left to write. Not in a dry run.
	InboxDone bool

	// SubjectIssuers lists, per transmitter name, the issuers whose subject
	// identifiers riscd acts on: a subject's iss must be one of them (with or
	// without a trailing slash) before its sub is looked up among riscd's
	// grants, since grants are keyed on Google's sub. A transmitter without
	// an entry gets its SET's own iss, which the receiver has checked.
	// token-revoked identifiers carry no issuer: they are acted on only
	// when the SET's own iss passes the same test, so an empty list keeps
	// a transmitter's events from touching riscd's grants at all.
	SubjectIssuers map[string][]string

	// Transmitters says, per transmitter name, how another transmitter's
	// subjects map to riscd's accounts and what its events do; it takes
	// the place of SubjectIssuers and Actions for that transmitter. Google's
	// transmitter has no entry: its subjects are Google's own.
	Transmitters map[string]Transmitter

	// Revoker calls the token revocation endpoint for the outbox's revoke
	// jobs, authenticated as riscd's OAuth client (RFC 7009 §2.1); cmd/riscd
	// gives lifecycle and flowweb the same one. When nil, New builds one
	// from RevokeURL, ClientID, ClientSecret and HTTPClient.
	Revoker *oauthclient.Revoker
	// RevokeURL is Google's token revocation endpoint, for the Revoker New
	// builds. Required without Revoker; not allowed with it.
	RevokeURL string
	// WebhookURL receives the app's webhooks; "" sends none (ActionNotify
	// then only audits that nothing was sent).
	WebhookURL string
	// WebhookSecret keys the webhook signatures: "whsec_" and base64 of at
	// least 16 random bytes, as Standard Webhooks prints secrets (the prefix
	// is optional). Required with WebhookURL.
	WebhookSecret riscd.Secret

	// HTTPClient makes the outbox's calls. Default: a client that follows
	// no redirects. AttemptTimeout bounds each call either way.
	HTTPClient *http.Client
	// OutboxMaxAge is how long a job is retried before it is marked failed.
	// Default 24h.
	OutboxMaxAge time.Duration
	// BackoffBase is the wait after a job's first failure, doubled per
	// further failure up to BackoffMax, with jitter. Default 2s.
	BackoffBase time.Duration
	// BackoffMax is the longest wait between two attempts at a job.
	// Default 15m.
	BackoffMax time.Duration
	// AttemptTimeout bounds one call to the revoke endpoint or the webhook.
	// Default 30s.
	AttemptTimeout time.Duration
	// Workers is how many jobs (of distinct keys) run at once. Default 4.
	Workers int
	// PollInterval is how often the outbox looks for new jobs when nobody
	// called NotifyOutbox. Default 5s.
	PollInterval time.Duration
	// RescanInterval is how often the outbox re-reads every pending job
	// (to pick up jobs returned to pending without RescanOutbox). Default 1m.
	RescanInterval time.Duration

	// ClientID, ClientSecret and TokenURL (Google's token endpoint) let the
	// token broker refresh access tokens: all three or none. Without them
	// Token and GrantToken serve only access tokens that have not expired,
	// and RunRefresher refreshes nothing.
	ClientID     string
	ClientSecret riscd.Secret
	TokenURL     string
	// RefreshLeadTime is how long before its expiry RunRefresher refreshes
	// the access token of a recently used grant, plus a random jitter of up
	// to a fifth of it. Default 5m; at most 30m.
	RefreshLeadTime time.Duration
	// RecentUseWindow: a grant whose token the broker served within this
	// counts as recently used and is refreshed ahead of expiry; an idle one
	// is refreshed only when next asked for. Default 1h.
	RecentUseWindow time.Duration
	// KeepAliveInterval turns keep-alive on when not zero: RunRefresher then
	// refreshes every active grant whose refresh token has not been used
	// for this long, used by an app or not, so that Google never expires an
	// idle refresh token (it does after six months unused). 720h (30 days)
	// is a sensible value; at least 24h, at most 2160h (90 days). Default 0:
	// off.
	KeepAliveInterval time.Duration
	// RefreshTimeout bounds one upstream refresh. Keep it below the
	// companion API's request timeout, so that a caller whose refresh hangs
	// still gets the stored token while it is valid. Default 10s.
	RefreshTimeout time.Duration
	// RefreshBackoffBase is how long, after a failed refresh, the broker
	// makes no new upstream call for that grant; doubled per consecutive
	// failure up to RefreshBackoffMax, with jitter. Meanwhile callers get the
	// stored access token while it is valid, else the failure. Defaults 2s
	// and 2m.
	RefreshBackoffBase time.Duration
	RefreshBackoffMax  time.Duration
	// RefreshInterval is how often RunRefresher looks for grants due for a
	// refresh ahead of expiry and writes the grants' LastUsedAt. Default 15s.
	RefreshInterval time.Duration
	// RefreshWorkers is how many refreshes ahead of expiry run at once.
	// Default 4.
	RefreshWorkers int

	// Observer hears of every upstream refresh and every outbox attempt,
	// for metrics (admin.Metrics satisfies it). Nil: nobody is told.
	Observer Observer

	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives the lifecycle's log lines. Default: discard.
	Logger *slog.Logger
}

// Observer is told what the lifecycle did upstream. Its methods are called
// on the lifecycle's goroutines: they must be cheap and safe for
// concurrent use.
type Observer interface {
	// TokenRefreshed reports one call of the token endpoint with one of
	// the Refresh* outcomes.
	TokenRefreshed(outcome string)
	// OutboxAttempt reports one attempt at an outbox job of kind "revoke"
	// or "webhook" with one of the Outbox* outcomes.
	OutboxAttempt(kind, outcome string)
	// RecordsSkipped reports n store records a background loop ("refresher")
	// could not decode and skipped.
	RecordsSkipped(loop string, n int)
}

// Outcomes an Observer hears of a refresh.
const (
	RefreshOK           = "ok"            // a new access token was granted
	RefreshInvalidGrant = "invalid_grant" // the refresh token is dead
	RefreshInvalidRAPT  = "invalid_rapt"  // Google demands re-authentication
	RefreshError        = "error"         // anything else: network, 5xx, refusal
)

// Outcomes an Observer hears of an outbox attempt.
const (
	OutboxDone   = "done"   // the job succeeded
	OutboxRetry  = "retry"  // it failed and will be tried again
	OutboxFailed = "failed" // it failed for good
)

// Errors of New, RunOutbox and the operator calls; check them with
// errors.Is.
var (
	// ErrConfig: New was given a Config it cannot run with.
	ErrConfig = errors.New("lifecycle: invalid config")
	// ErrRunning: RunOutbox (or RunRefresher) was called while another
	// RunOutbox (RunRefresher) of the same Lifecycle runs.
	ErrRunning = errors.New("lifecycle: already running")
)

// Lifecycle turns events into actions and works through the outbox. Build it
// with New. It is safe for concurrent use.
type Lifecycle struct {
	cfg      Config
	table    table
	policies map[string]*policy // by transmitter name
	signer   *webhookSigner
	now      func() time.Time
	log      *slog.Logger
	outbox   *workqueue.Queue[attemptState]
	running  atomic.Bool // RunOutbox
	tokens   *broker
}

// New checks cfg, fills its defaults and returns a Lifecycle. Errors match
// ErrConfig and list every problem at once: no Store, no RevokeURL, a URL
// that is not absolute http(s), a webhook URL without a usable secret, an
// unknown action-table key or action name (Actions', or a transmitter's),
// two actions that undo each other in one list, an unknown subject mapping
// of a transmitter, a negative duration or count, client credentials and token
// URL given only in part, a refresh lead time over 30m, or a keep-alive
// interval outside 24h..2160h. No error holds a secret.
func New(cfg Config) (*Lifecycle, error) {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if cfg.Store == nil {
		bad("store: required")
	}
	switch {
	case cfg.Revoker != nil && cfg.RevokeURL != "":
		bad("revoke_url: give it or a Revoker, not both")
	case cfg.Revoker != nil:
	case cfg.RevokeURL == "":
		bad("revoke_url: required")
	case !httpURL(cfg.RevokeURL):
		bad("revoke_url: not an absolute http(s) URL")
	}
	var signer *webhookSigner
	if cfg.WebhookURL != "" {
		if !httpURL(cfg.WebhookURL) {
			bad("webhook_url: not an absolute http(s) URL")
		}
		s, err := newWebhookSigner(cfg.WebhookSecret)
		if err != nil {
			bad("webhook_secret: %v", err)
		}
		signer = s
	}
	problems = append(problems, brokerProblems(cfg)...)
	t, tableProblems := buildTable("actions", DefaultActions(), cfg.Actions)
	problems = append(problems, tableProblems...)
	policies, policyProblems := buildPolicies(cfg.Transmitters)
	problems = append(problems, policyProblems...)
	for name, d := range map[string]time.Duration{
		"outbox_max_age": cfg.OutboxMaxAge, "backoff_base": cfg.BackoffBase, "backoff_max": cfg.BackoffMax,
		"attempt_timeout": cfg.AttemptTimeout, "poll_interval": cfg.PollInterval, "rescan_interval": cfg.RescanInterval,
		"refresh_lead_time": cfg.RefreshLeadTime, "recent_use_window": cfg.RecentUseWindow, "keepalive_interval": cfg.KeepAliveInterval,
		"refresh_timeout": cfg.RefreshTimeout, "refresh_backoff_base": cfg.RefreshBackoffBase, "refresh_backoff_max": cfg.RefreshBackoffMax,
		"refresh_interval": cfg.RefreshInterval,
	} {
		if d < 0 {
			bad("%s: negative", name)
		}
	}
	if cfg.Workers < 0 {
		bad("workers: negative")
	}
	if cfg.RefreshWorkers < 0 {
		bad("refresh_workers: negative")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrConfig, strings.Join(problems, "; "))
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.OutboxMaxAge, 24*time.Hour)
	def(&cfg.BackoffBase, 2*time.Second)
	def(&cfg.BackoffMax, 15*time.Minute)
	def(&cfg.AttemptTimeout, 30*time.Second)
	def(&cfg.PollInterval, 5*time.Second)
	def(&cfg.RescanInterval, time.Minute)
	def(&cfg.RefreshLeadTime, 5*time.Minute)
	def(&cfg.RecentUseWindow, time.Hour)
	def(&cfg.RefreshTimeout, 10*time.Second)
	def(&cfg.RefreshBackoffBase, 2*time.Second)
	def(&cfg.RefreshBackoffMax, 2*time.Minute)
	def(&cfg.RefreshInterval, 15*time.Second)
	if cfg.BackoffMax < cfg.BackoffBase {
		cfg.BackoffMax = cfg.BackoffBase
	}
	if cfg.RefreshBackoffMax < cfg.RefreshBackoffBase {
		cfg.RefreshBackoffMax = cfg.RefreshBackoffBase
	}
	if cfg.Workers == 0 {
		cfg.Workers = 4
	}
	if cfg.RefreshWorkers == 0 {
		cfg.RefreshWorkers = 4
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Revoker == nil {
		r, err := oauthclient.NewRevoker(oauthclient.RevokerConfig{
			URL: cfg.RevokeURL, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, HTTPClient: cfg.HTTPClient,
		})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		cfg.Revoker = r
	}
	l := &Lifecycle{
		cfg: cfg, table: t, policies: policies, signer: signer, now: cfg.Now, log: cfg.Logger,
		tokens: newBroker(cfg),
	}
	q, err := newOutboxQueue(l)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	l.outbox = q
	return l, nil
}

// brokerProblems checks the token broker's part of cfg.
func brokerProblems(cfg Config) []string {
	var problems []string
	set := 0
	for _, v := range []bool{cfg.ClientID != "", !cfg.ClientSecret.IsZero(), cfg.TokenURL != ""} {
		if v {
			set++
		}
	}
	if set != 0 && set != 3 {
		problems = append(problems, "client_id, client_secret, token_url: give all three or none")
	}
	if cfg.TokenURL != "" && !httpURL(cfg.TokenURL) {
		problems = append(problems, "token_url: not an absolute http(s) URL")
	}
	if cfg.RefreshLeadTime > 30*time.Minute {
		problems = append(problems, "refresh_lead_time: at most 30m (access tokens live about an hour)")
	}
	if k := cfg.KeepAliveInterval; k != 0 && (k < 24*time.Hour || k > 90*24*time.Hour) {
		problems = append(problems, "keepalive_interval: 0 (off) or between 24h and 2160h (Google expires refresh tokens unused for six months)")
	}
	return problems
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// NotifyOutbox tells the outbox worker that jobs were queued, so it reads
// them at once instead of at the next poll. It never blocks; calls coalesce.
// The Lifecycle calls it itself after each event that queued a job.
func (l *Lifecycle) NotifyOutbox() { l.outbox.Notify() }

// RescanOutbox tells the outbox worker to read every pending job again at
// once, as it does every RescanInterval: NotifyOutbox reads only jobs
// queued since its last read, so a job an operator returned to pending
// would otherwise wait for the next rescan. It never blocks; calls
// coalesce.
func (l *Lifecycle) RescanOutbox() { l.outbox.Rescan() }
