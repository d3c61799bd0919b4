package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/adminpage"
	"github.com/riscd/riscd/companion"
	"github.com/riscd/riscd/config"
	"github.com/riscd/riscd/dispatch"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/flowweb"
	"github.com/riscd/riscd/lifecycle"
	"github.com/riscd/riscd/oauthclient"
	"github.com/riscd/riscd/receiver"
)

// upstreamTimeout bounds every call riscd makes to Google (token, revoke,
// JWKS, feature test calls).
const upstreamTimeout = 30 * time.Second

// dispatchWorkers is how many events (of distinct subjects) are handled at once.
const dispatchWorkers = 32

// dispatchWorkersShared is dispatchWorkers on a store shared by replicas
// (postgres). The handlers' transactions run together (Batch, one batch at
// a time), so more workers make bigger batches, not more connections; each
// claim still reads on a pooled connection.
const dispatchWorkersShared = 32

// sweepInterval is how often abandoned consent flows and expired sessions
// are removed.
const sweepInterval = 5 * time.Minute

// pruneInterval is how often the store is pruned to store.retention (the
// first time at start-up).
const pruneInterval = time.Hour

// parts are the packages Main wires together.
type parts struct {
	flow       *flowweb.Handler
	receiver   *receiver.Receiver
	dispatcher *dispatch.Dispatcher
	inbox      *inboxQueue
	admin      *admin.Server
	page       *adminpage.Page
	companion  *companion.Server
	lifecycle  *lifecycle.Lifecycle
	stream     *streamHealth // nil without risc.service_account_file
}

// operator carries out the admin API's actions through the lifecycle: its
// grants service discards grants (admin.Grants).
type operator struct{ *lifecycle.Lifecycle }

func (o operator) ReleaseAccount(ctx context.Context, sub, actor string) error {
	return o.ReleaseHolds(ctx, sub, lifecycle.Op{Actor: actor})
}

func (o operator) RetryOutboxJob(ctx context.Context, id uint64, actor, reason string) (riscd.OutboxJob, error) {
	return o.Lifecycle.RetryOutboxJob(ctx, id, lifecycle.Op{Actor: actor, Reason: reason})
}

var (
	_ admin.Operator = operator{}
	_ admin.Grants   = (*lifecycle.Lifecycle)(nil)
)

// broker serves the companion API's POST /v1/token from the lifecycle's
// token broker. Errors pass through: companion recognises them by behaviour.
type broker struct{ l *lifecycle.Lifecycle }

func (b broker) Token(ctx context.Context, sub string, scopes []string) (companion.Token, error) {
	t, err := b.l.Token(ctx, sub, scopes)
	if err != nil {
		return companion.Token{}, err
	}
	return companion.Token{AccessToken: t.AccessToken, TokenType: t.TokenType, Expiry: t.Expiry, Scopes: t.Scopes}, nil
}

var (
	_ companion.TokenBroker = broker{}
	_ flowweb.Grants        = (*lifecycle.Lifecycle)(nil)
)

// build translates the config into each package's Config and builds them.
// ctx lives as long as the daemon: key caches and background loops use it.
func (m *Main) build(ctx context.Context) (*parts, error) {
	c, s := m.Config, m.Secrets
	client := &http.Client{Timeout: upstreamTimeout}
	registry := events.NewRegistry()

	p := &parts{}
	op, err := m.authorizationServer(ctx, client)
	if err != nil {
		return nil, err
	}
	// Grants are keyed on Google's sub: another transmitter's subjects name
	// an account only through the mappings its entry configures, and its
	// events do only what its actions say (notify by default).
	policies := map[string]lifecycle.Transmitter{}
	for _, t := range c.RISC.Transmitters {
		policies[t.Name] = lifecycle.Transmitter{Subjects: t.Subjects, Actions: t.Actions}
	}
	// The lifecycle reports to the admin server's metrics, which are made
	// after it: obs gets them before any loop runs.
	obs := &metricsObserver{}
	// The lifecycle's revocation client serves every path (a user's POST
	// /revoke, the outbox's jobs for events, discards and replaced refresh
	// tokens): it
	// authenticates as riscd's client as at the token endpoint (RFC 7009
	// §2.1).
	revoker, err := oauthclient.NewRevoker(oauthclient.RevokerConfig{
		URL: op.revokeURL, ClientID: s.ClientID, ClientSecret: s.ClientSecret,
	})
	if err != nil {
		return nil, err
	}
	p.lifecycle, err = lifecycle.New(lifecycle.Config{
		Observer:      obs,
		Store:         m.db,
		Actions:       c.RISC.Actions,
		DryRun:        c.RISC.DryRun,
		InboxDone:     true,
		Transmitters:  policies,
		Revoker:       revoker,
		WebhookURL:    c.Companion.WebhookURL,
		WebhookSecret: s.WebhookSecret,
		ClientID:      s.ClientID,
		ClientSecret:  s.ClientSecret,
		TokenURL:      op.tokenURL,

		RefreshLeadTime:   time.Duration(c.Companion.RefreshLeadTime),
		RecentUseWindow:   time.Duration(c.Companion.RecentUseWindow),
		KeepAliveInterval: time.Duration(c.Companion.KeepaliveInterval),
		Now:               m.Now,
		Logger:            m.Logger.With("component", "lifecycle"),
	})
	if err != nil {
		return nil, err
	}
	features := make(map[string]flowweb.Feature, len(c.Google.Features))
	for name, f := range c.Google.Features {
		features[name] = flowweb.Feature{Scope: f.Scope, TestURL: f.TestURL}
	}
	issuers := []string{c.Google.Issuer}
	if c.Google.Issuer == config.GoogleIssuer {
		issuers = flowweb.GoogleIDTokenIssuers()
	}
	p.flow, err = flowweb.New(ctx, flowweb.Config{
		Provider:          c.Google.Provider,
		PublicURL:         c.PublicURL,
		ClientID:          s.ClientID,
		ClientSecret:      s.ClientSecret,
		AuthURL:           op.authURL,
		TokenURL:          op.tokenURL,
		IDTokenIssuers:    issuers,
		IDTokenAlgorithms: op.algorithms,
		IDTokenJWKSURL:    op.jwksURL,
		Scopes:            c.Google.Scopes,
		Features:          features,
		Store:             m.db,
		Grants:            p.lifecycle,
		Connect:           p.lifecycle,
		HTTPClient:        client,
		Now:               m.Now,
		Logger:            m.Logger.With("component", "flowweb"),
		// The consent routes' bounds (public.*).
		ConsentPerMinute:      c.Public.ConsentPerMinute,
		ConsentPerMinuteTotal: c.Public.ConsentPerMinuteTotal,
		MaxPendingFlows:       c.Public.MaxPendingFlows,
		TrustedProxies:        c.PublicProxies(),
		Observer:              obs,
	})
	if err != nil {
		return nil, err
	}

	formats := map[string]events.Format{"google": events.FormatGoogle}
	var transmitters []receiver.Transmitter
	if c.RISC.Google {
		transmitters = append(transmitters, receiver.Transmitter{
			Name:             "google",
			ConfigurationURL: c.RISC.ConfigurationURL,
			Issuer:           c.RISC.Issuer,
			JWKSURL:          c.RISC.JWKSURL,
			Audiences:        c.RISC.Audiences,
			Format:           events.FormatGoogle,
			Algorithms:       c.RISC.Algorithms,
		})
	}
	for _, t := range c.RISC.Transmitters {
		f, err := events.ParseFormat(t.Format)
		if err != nil {
			return nil, err
		}
		formats[t.Name] = f
		transmitters = append(transmitters, receiver.Transmitter{
			Name: t.Name, ConfigurationURL: t.ConfigurationURL, Issuer: t.Issuer, JWKSURL: t.JWKSURL,
			Audiences: t.Audiences, Format: f, Algorithms: c.TransmitterAlgorithms(t),
		})
	}

	featureScopes := make(map[string]string, len(features))
	for name, f := range features {
		featureScopes[name] = f.Scope
	}
	var streamView func(context.Context) (adminpage.StreamView, error)
	if c.RISC.ServiceAccountFile != "" {
		p.stream, err = newStreamHealth(ctx, m, func(status string, healthy bool) {
			obs.m.StreamStatus(status)
			obs.m.StreamCheck(healthy)
		})
		if err != nil {
			return nil, err
		}
		streamView = p.stream.view
	}
	p.admin, err = admin.New(admin.Config{
		Store:      m.db,
		Operator:   operator{p.lifecycle},
		AdminToken: s.AdminToken,
		Features:   featureScopes,
		Issuers:    issuers,
		Ready:      func(context.Context) error { return p.receiver.Ready() },
		Rescan:     func() { p.dispatcher.Rescan() },
		Now:        m.Now,
		Logger:     m.Logger.With("component", "admin"),
	})
	if err != nil {
		return nil, err
	}
	p.page, err = adminpage.New(adminpage.Config{
		Service:    p.admin.Service,
		Store:      m.db,
		AdminToken: s.AdminToken,
		Stream:     streamView,
		Now:        m.Now,
		Logger:     m.Logger.With("component", "admin"),
		// The sign-in limit's client, behind internal.trusted_proxies.
		TrustedProxies: c.InternalProxies(),
	})
	if err != nil {
		return nil, err
	}
	obs.m = p.admin.Metrics()
	p.companion, err = companion.New(companion.Config{
		Store:      m.db,
		Broker:     broker{p.lifecycle},
		AppToken:   s.AppToken,
		AdminToken: s.AdminToken,
		Serve:      p.admin.API(),
		Now:        m.Now,
		// Connect sessions start on the public listener's flowweb.
		Connect:        m.db,
		Unlinker:       p.lifecycle,
		ConnectURL:     c.PublicURL,
		ReturnURLs:     c.Companion.ReturnURLs,
		Features:       featureScopes,
		CheckLoginHint: flowweb.ValidateLoginHint,
	})
	if err != nil {
		return nil, err
	}

	workers := dispatchWorkers
	queue := &inboxQueue{db: m.db, formats: formats, now: m.Now}
	if c.Store.Engine == config.EnginePostgres {
		workers = dispatchWorkersShared
		queue.grace = claimGrace
	}
	p.inbox = queue
	p.dispatcher, err = dispatch.New(dispatch.Config{
		Queue:       queue,
		Handlers:    []dispatch.Handler{p.admin.Metrics().InstrumentHandler(p.lifecycle.Handler())},
		Registry:    registry,
		MaxAttempts: c.RISC.MaxAttempts,
		// Many workers let concurrent events of distinct subjects share
		// the store's commits; one subject's events still run in order.
		Workers: workers,
		Now:     m.Now,
		Logger:  m.Logger.With("component", "dispatcher"),
	})
	if err != nil {
		return nil, err
	}

	// The receiver acknowledges a SET once the store's InboxWriter has
	// made it durable; the dispatcher can read it once the store has moved
	// it into the inbox, which OnInboxApplied tells.
	m.db.OnInboxApplied(queue.notified(p.dispatcher.Notify))
	metrics := p.admin.Metrics()
	p.receiver, err = receiver.New(ctx, receiver.Config{
		Transmitters: transmitters,
		Inbox:        m.db.Inbox(),
		Registry:     registry,
		Observe: func(o receiver.Observation) {
			metrics.SETReceived(o.Transmitter, string(o.Outcome), o.ErrCode)
			if o.Transmitter != "" {
				metrics.SETVerified(o.Transmitter, o.Duration)
			}
		},
		ObserveJWKS: metrics.JWKSRefreshed,
		HTTPClient:  client,
		Now:         m.Now,
		Logger:      m.Logger.With("component", "receiver"),
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// startLoops runs the background loops until ctx is done. With several
// replicas over one store, each runs them all; see leader for which rounds
// only one replica runs and why the others are safe everywhere.
func (m *Main) startLoops(ctx context.Context) {
	m.goLoop(func() {
		if err := m.parts.dispatcher.Run(ctx); err != nil {
			m.Logger.Error("dispatcher stopped", "err", err)
		}
	})
	if m.parts.inbox.grace > 0 {
		m.goLoop(func() {
			m.parts.inbox.leadDispatch(ctx, m.db, m.Logger, dispatchLeadInterval, m.parts.dispatcher.Rescan)
		})
	}
	m.goLoop(func() {
		if err := m.parts.lifecycle.RunOutbox(ctx); err != nil {
			m.Logger.Error("outbox stopped", "err", err)
		}
	})
	m.goLoop(func() {
		if err := m.parts.lifecycle.RunRefresher(ctx); err != nil {
			m.Logger.Error("token refresher stopped", "err", err)
		}
	})
	if m.parts.stream != nil {
		m.goLoop(func() {
			lead := newLeader(m.db, "stream-health", m.Logger)
			defer lead.resign()
			m.parts.stream.run(ctx, m.parts.receiver.Ready, lead.lead)
		})
	}
	m.goLoop(func() {
		if err := m.parts.admin.Run(ctx); err != nil {
			m.Logger.Error("grant counter stopped", "err", err)
		}
	})
	if m.Config.Store.Retention != 0 {
		m.goLoop(func() { runLed(ctx, m.db, m.Logger, "prune", pruneInterval, m.prune) })
	}
	m.goLoop(func() {
		runLed(ctx, m.db, m.Logger, "sweep", sweepInterval, func(ctx context.Context) {
			if _, _, err := m.parts.flow.Sweep(ctx); err != nil && ctx.Err() == nil {
				m.Logger.Error("sweep of old flows and sessions failed", "err", err)
			}
		})
	})
}

// prune removes the events and outbox jobs store.retention no longer
// keeps, then logs and counts what went.
func (m *Main) prune(ctx context.Context) {
	r := time.Duration(m.Config.Store.Retention)
	if r == 0 {
		return
	}
	cutoff := m.Now().Add(-r)
	n, err := m.db.Prune(ctx, cutoff)
	m.parts.admin.Metrics().Pruned(n.Events, n.Jobs, err)
	switch {
	case err != nil && ctx.Err() == nil:
		m.Logger.Error("store: pruning to store.retention failed; retried in an hour", "err", err, "events", n.Events, "jobs", n.Jobs)
	case n.Events > 0 || n.Jobs > 0:
		m.Logger.Info("store: pruned to store.retention", "done_before", cutoff.UTC(), "events", n.Events, "jobs", n.Jobs)
	}
}

func (m *Main) goLoop(fn func()) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		fn()
	}()
}

var _ flowweb.Store = riscd.DB(nil)

// metricsObserver forwards the lifecycle's reports to the admin server's
// metrics once they exist (admin.Metrics ignores calls on nil).
type metricsObserver struct{ m *admin.Metrics }

func (o *metricsObserver) TokenRefreshed(outcome string) { o.m.TokenRefreshed(outcome) }

func (o *metricsObserver) OutboxAttempt(kind, outcome string) { o.m.OutboxAttempt(kind, outcome) }

func (o *metricsObserver) Limited(what string) { o.m.Limited(what) }

func (o *metricsObserver) RecordsSkipped(loop string, n int) { o.m.RecordsSkipped(loop, n) }

// authServer is where the consent flow and the token broker send the
// client: Google's endpoints, or a standard OpenID provider's.
type authServer struct {
	authURL, tokenURL, revokeURL, jwksURL string
	algorithms                            []string
}

// authorizationServer is Google's endpoints (the client secrets file's and
// the google section's) for google.provider google; for oidc, what
// google.issuer's discovery document names (OpenID Connect Discovery 1.0),
// with google.revoke_url only when the document names no revocation
// endpoint. An unreachable or unusable document stops start-up.
func (m *Main) authorizationServer(ctx context.Context, client *http.Client) (authServer, error) {
	c, s := m.Config, m.Secrets
	if c.Google.Provider != flowweb.ProviderOIDC {
		return authServer{authURL: s.AuthURI, tokenURL: s.TokenURI, revokeURL: c.Google.RevokeURL, jwksURL: c.Google.JWKSURL}, nil
	}
	d, err := flowweb.Discover(ctx, client, c.Google.Issuer)
	if err != nil {
		return authServer{}, fmt.Errorf("google.issuer (google.provider oidc): %w", err)
	}
	algs, _ := d.IDTokenAlgorithms() // Discover checked them
	op := authServer{authURL: d.AuthorizationEndpoint, tokenURL: d.TokenEndpoint, revokeURL: d.RevocationEndpoint,
		jwksURL: d.JWKSURI, algorithms: algs}
	if op.revokeURL == "" {
		op.revokeURL = c.Google.RevokeURL
		m.Logger.WarnContext(ctx, "the provider's discovery document names no revocation_endpoint; using google.revoke_url", "revoke_url", op.revokeURL)
	}
	m.Logger.InfoContext(ctx, "openid provider discovered", "issuer", d.Issuer, "id_token_algorithms", algs)
	return op, nil
}
