package client

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults of a WebhookConfig.
const (
	DefaultWebhookTolerance = 5 * time.Minute
	DefaultWebhookMaxBody   = 1 << 20
)

// Webhook refusals: WebhookHandler.Verify's errors, answered 400
// (ErrWebhookMalformed) or 401 (the others) by ServeHTTP.
var (
	ErrWebhookMalformed = errors.New("riscd client: webhook: missing or malformed webhook-id, webhook-timestamp or webhook-signature")
	ErrWebhookTimestamp = errors.New("riscd client: webhook: timestamp outside the tolerance")
	ErrWebhookSignature = errors.New("riscd client: webhook: no valid signature")
)

// Actions riscd lists in Event.Action (the README's "Event actions").
const (
	ActionEndSessions          = "end_sessions"
	ActionSetSessionsRevokedAt = "set_sessions_revoked_at"
	ActionRevokeGrants         = "revoke_grants"
	ActionHoldGrants           = "hold_grants"
	ActionReleaseHolds         = "release_holds"
	ActionDisableSignin        = "disable_signin"
	ActionEnableSignin         = "enable_signin"
	ActionPurge                = "purge"
)

// Event is one webhook riscd sent: what happened to a user and what riscd
// did about it. It never holds a token.
type Event struct {
	// ID is the webhook-id header: the same on every retry of one message;
	// deduplicate on it.
	ID string `json:"-"`
	// Timestamp is the webhook-timestamp header: when this attempt was sent.
	Timestamp time.Time `json:"-"`
	// Type is the event's short name ("sessions-revoked",
	// "account-disabled", "token-revoked", ...), the URI of a type riscd
	// does not know, "operator:discard-grant", "operator:release-holds",
	// "refresh:invalid_grant", "refresh:invalid_rapt", or "grant.connected"
	// when a connect session succeeded.
	Type string `json:"type"`
	// Sub is the user's Google subject; "" when the event names no account.
	Sub string `json:"sub"`
	// Transmitter is the configured name of the transmitter that sent the
	// event; "" for an operator's call or a refresh.
	Transmitter string `json:"transmitter,omitempty"`
	// Subject is another transmitter's subject that names no account, as
	// sent.
	Subject json.RawMessage `json:"subject,omitempty"`
	// EventJTI is the security event's jti; "" for an operator's call.
	EventJTI string `json:"event_jti"`
	// GrantIDs are the grants whose status or tokens changed.
	GrantIDs []string `json:"grant_ids"`
	// Action lists what riscd did, comma-separated (see Actions).
	Action string `json:"action"`
	// At is when the event happened, as the event stamped it.
	At time.Time `json:"at"`
	// EndSessionsBefore, SigninDisabled and Held are riscd's decision
	// about the user's sessions once it has acted, with the values
	// GET /v1/subjects/{sub} gives (Subject): end the sessions created at
	// or before EndSessionsBefore (nil: none), and every session while
	// SigninDisabled or Held. See the package doc's "Ending sessions".
	EndSessionsBefore *time.Time `json:"end_sessions_before,omitempty"`
	SigninDisabled    bool       `json:"signin_disabled"`
	Held              bool       `json:"held"`
	// Reason is the account-disabled reason ("hijacking", "bulk-account").
	Reason string `json:"reason,omitempty"`
	// AppUsers are the app's users linked to Sub by connect sessions, so
	// that the app can end its own users' sessions without a lookup.
	AppUsers []string `json:"app_users"`
	// AppUser and ConnectID name, for "grant.connected", the app user
	// whose connect session succeeded and that session.
	AppUser   string `json:"app_user,omitempty"`
	ConnectID string `json:"connect_id,omitempty"`
}

// Actions returns Action split at its commas.
func (e Event) Actions() []string {
	if e.Action == "" {
		return nil
	}
	return strings.Split(e.Action, ",")
}

// Did reports whether riscd took action (an Action* constant).
func (e Event) Did(action string) bool { return slices.Contains(e.Actions(), action) }

// EndsSession reports whether the user's app session created at created
// must end: the package doc's rule on the event's EndSessionsBefore,
// SigninDisabled and Held.
func (e Event) EndsSession(created time.Time) bool {
	return endsSession(e.EndSessionsBefore, e.SigninDisabled, e.Held, created)
}

// endsSession is the one rule: every session ends while sign-in is
// disabled or the account held, and a session created at or before
// before ends.
func endsSession(before *time.Time, signinDisabled, held bool, created time.Time) bool {
	return signinDisabled || held || before != nil && !created.After(*before)
}

// WebhookConfig configures a WebhookHandler.
type WebhookConfig struct {
	// Secrets verify signatures: riscd's companion.webhook_secret, in the
	// "whsec_" form (base64 of at least 16 bytes after the prefix). During
	// a rotation list the new and the old: a signature made with any of
	// them is accepted. At least one is required.
	Secrets []string
	// Tolerance is how far webhook-timestamp may be from now, either way.
	// Default DefaultWebhookTolerance.
	Tolerance time.Duration
	// MaxBody bounds a body. Default DefaultWebhookMaxBody.
	MaxBody int64
	// OnEvent is handed each verified event. An error answers 500 and
	// riscd retries the webhook later (with the same ID). Optional.
	OnEvent func(ctx context.Context, ev Event) error
	// Sessions, if set, observes each verified event (SessionGuard.Observe)
	// before OnEvent.
	Sessions *SessionGuard
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// WebhookHandler receives riscd's webhooks: it verifies their Standard
// Webhooks signature and timestamp, decodes the body and hands the Event
// on. It answers 204 when done, 400 for a malformed request, 401 for a bad
// signature or a timestamp outside the tolerance, 413 for a body too large
// and 500 when OnEvent fails. It is safe for concurrent use.
type WebhookHandler struct {
	cfg  WebhookConfig
	keys [][]byte
}

// NewWebhookHandler checks cfg and returns its handler. Errors: no secret,
// or a secret that is not "whsec_" and base64 of at least 16 bytes (the
// error never quotes it).
func NewWebhookHandler(cfg WebhookConfig) (*WebhookHandler, error) {
	if len(cfg.Secrets) == 0 {
		return nil, errors.New("riscd client: webhook: at least one secret is required")
	}
	h := &WebhookHandler{cfg: cfg}
	for i, s := range cfg.Secrets {
		key, err := decodeSecret(s)
		if err != nil {
			return nil, fmt.Errorf("riscd client: webhook: secret %d: %w", i+1, err)
		}
		h.keys = append(h.keys, key)
	}
	if h.cfg.Tolerance <= 0 {
		h.cfg.Tolerance = DefaultWebhookTolerance
	}
	if h.cfg.MaxBody <= 0 {
		h.cfg.MaxBody = DefaultWebhookMaxBody
	}
	if h.cfg.Now == nil {
		h.cfg.Now = time.Now
	}
	return h, nil
}

// String keeps the secrets out of any log line.
func (h *WebhookHandler) String() string {
	return fmt.Sprintf("riscd webhook handler (%d secrets)", len(h.keys))
}

// GoString keeps %#v from printing the secrets.
func (h *WebhookHandler) GoString() string { return h.String() }

// decodeSecret reads a secret as riscd does: an optional "whsec_" prefix,
// then base64 (standard or URL alphabet, padding optional).
func decodeSecret(secret string) ([]byte, error) {
	s := strings.TrimPrefix(strings.TrimSpace(secret), "whsec_")
	s = strings.NewReplacer("-", "+", "_", "/").Replace(strings.TrimRight(s, "="))
	key, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New(`not "whsec_" followed by base64`)
	}
	if len(key) < 16 {
		return nil, fmt.Errorf("%d bytes, want at least 16", len(key))
	}
	return key, nil
}

// Verify checks a webhook's headers and body and returns its Event.
//
// Errors: ErrWebhookMalformed (a header missing or malformed, or a body
// that is not an event), ErrWebhookTimestamp, ErrWebhookSignature.
func (h *WebhookHandler) Verify(header http.Header, body []byte) (Event, error) {
	id, ts, sigs := header.Get("webhook-id"), header.Get("webhook-timestamp"), header.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return Event{}, ErrWebhookMalformed
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return Event{}, ErrWebhookMalformed
	}
	sent := time.Unix(sec, 0)
	if d := h.cfg.Now().Sub(sent); d > h.cfg.Tolerance || d < -h.cfg.Tolerance {
		return Event{}, ErrWebhookTimestamp
	}
	if !h.signed(id, ts, body, sigs) {
		return Event{}, ErrWebhookSignature
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrWebhookMalformed, err)
	}
	ev.ID, ev.Timestamp = id, sent
	return ev, nil
}

// signed reports whether one of the space-separated "v1,<base64>"
// signatures is HMAC-SHA256 of "<id>.<timestamp>.<body>" under one of the
// keys (Standard Webhooks; other versions are ignored).
func (h *WebhookHandler) signed(id, ts string, body []byte, sigs string) bool {
	macs := make([][]byte, len(h.keys))
	for i, key := range h.keys {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id + "." + ts + "."))
		m.Write(body)
		macs[i] = m.Sum(nil)
	}
	for _, sig := range strings.Fields(sigs) {
		v, b64, ok := strings.Cut(sig, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		for _, want := range macs {
			if hmac.Equal(got, want) {
				return true
			}
		}
	}
	return false
}

// ServeHTTP handles one webhook POST.
func (h *WebhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, http.StatusText(http.StatusRequestEntityTooLarge), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
		return
	}
	ev, err := h.Verify(r.Header, body)
	switch {
	case errors.Is(err, ErrWebhookMalformed):
		http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
		return
	case err != nil:
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
		return
	}
	if h.cfg.Sessions != nil {
		h.cfg.Sessions.Observe(ev)
	}
	if h.cfg.OnEvent != nil {
		if err := h.cfg.OnEvent(r.Context(), ev); err != nil {
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
