package lifecycle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riscd/riscd"
)

// WebhookPayload is the JSON body of every webhook riscd sends the app.
type WebhookPayload struct {
	// Type is what happened: the event's short name ("token-revoked",
	// "account-disabled", "caep:session-revoked", ...), the event-type URI
	// of an event riscd does not know; for an operator's call,
	// "operator:discard-grant" or "operator:release-holds"; when Google's
	// token endpoint refused a refresh, "refresh:invalid_grant" (the grant is
	// revoked, the account must consent again) or "refresh:invalid_rapt" (the
	// user must re-authenticate).
	Type string `json:"type"`
	// Sub is Google's subject identifier of the user; "" for an event that
	// names no subject, or whose subject names no account of riscd's.
	Sub string `json:"sub"`
	// Transmitter is the configured name of the transmitter that sent the
	// event ("google", or a name from risc.transmitters); absent for an
	// operator's call or a refresh.
	Transmitter string `json:"transmitter,omitempty"`
	// Subject is the subject of another transmitter's event that names no
	// account of riscd's, as the transmitter sent it (an RFC 9493 subject
	// identifier, or Google's subject object); absent otherwise.
	Subject json.RawMessage `json:"subject,omitempty"`
	// EventJTI is the security event's jti; "" for an operator's call.
	EventJTI string `json:"event_jti"`
	// GrantIDs are the grants whose status or tokens riscd changed (never
	// nil: [] when none).
	GrantIDs []string `json:"grant_ids"`
	// Action lists what riscd did, in the order it did it, comma-separated
	// action names ("end_sessions,set_sessions_revoked_at,hold_grants");
	// "record" when it only recorded the event; "require_reauth" when
	// invalid_rapt made the grant reauth_required.
	Action string `json:"action"`
	// At is when the event happened (never later than when riscd handled
	// it), as the event stamped it (a SET's times are whole seconds). The
	// app's decision is in EndSessionsBefore, SigninDisabled and Held.
	At time.Time `json:"at"`
	// EndSessionsBefore, SigninDisabled and Held are the subject's
	// riscd.SessionRule once riscd has acted, with the names and values
	// GET /v1/subjects/{sub} gives them: the app ends the user's sessions
	// created at or before EndSessionsBefore (absent: none), and every
	// session while SigninDisabled or Held. All three are zero when Sub is "".
	EndSessionsBefore *time.Time `json:"end_sessions_before,omitempty"`
	SigninDisabled    bool       `json:"signin_disabled"`
	Held              bool       `json:"held"`
	// Reason is the account-disabled reason ("hijacking", "bulk-account"),
	// absent otherwise.
	Reason string `json:"reason,omitempty"`
	// AppUsers are the app's users linked to Sub by connect sessions
	// (never nil: [] when none), so that the app can end its own users'
	// sessions without a lookup.
	AppUsers []string `json:"app_users"`
	// AppUser and ConnectID name, for grant.connected, the app user whose
	// connect session succeeded and that session; absent otherwise.
	AppUser   string `json:"app_user,omitempty"`
	ConnectID string `json:"connect_id,omitempty"`
}

// setRule fills the payload's session decision from rule, every time in
// full precision and UTC.
func (p *WebhookPayload) setRule(rule riscd.SessionRule) {
	p.SigninDisabled, p.Held = rule.SigninDisabled, rule.Held
	if !rule.EndSessionsBefore.IsZero() {
		t := rule.EndSessionsBefore.UTC()
		p.EndSessionsBefore = &t
	}
}

// WebhookConnected is the Type of the webhook sent when a connect session
// succeeds: Sub's grant GrantIDs[0] now holds the scopes the user granted,
// and AppUser is linked to Sub.
const WebhookConnected = "grant.connected"

// appUsersOf returns the app users linked to sub, sorted ([] for none).
func appUsersOf(ctx context.Context, tx riscd.ReadTx, sub string) ([]string, error) {
	out := []string{}
	if sub == "" {
		return out, nil
	}
	links, err := tx.LinksOfSub(ctx, sub)
	if err != nil {
		return nil, fmt.Errorf("app users of subject: %w", err)
	}
	for _, l := range links {
		out = append(out, l.AppUser)
	}
	return out, nil
}

// jobPayload is what the store keeps in OutboxJob.Payload: who the job is
// about, for its audit entries, and for a webhook the message as sent.
type jobPayload struct {
	Sub         string          `json:"sub,omitempty"`
	Transmitter string          `json:"transmitter,omitempty"`
	EventJTI    string          `json:"event_jti,omitempty"`
	EventType   string          `json:"event_type,omitempty"`
	WebhookID   string          `json:"webhook_id,omitempty"`
	Body        json.RawMessage `json:"body,omitempty"`
}

// Ordering keys: a subject's webhooks run in order, and so do its upstream
// revocations, each apart so that Google being down does not delay the app.
func webhookKey(sub string) string { return "webhook:" + sub }
func revokeKey(sub string) string  { return "revoke:" + sub }

// webhookID derives a message's webhook-id from what it is about, so the
// same message keeps its id on every retry.
func webhookID(seed, sub string) string {
	h := sha256.Sum256([]byte(seed + "\x00" + sub))
	return "msg_" + hex.EncodeToString(h[:16])
}

// enqueue queues a job with the run's deadline and the occurrence's
// identity in its payload.
func (r *run) enqueue(j riscd.OutboxJob, p jobPayload) error {
	p.Sub, p.Transmitter, p.EventJTI, p.EventType = r.t.sub, r.oc.transmitter, r.oc.jti, r.oc.eventType
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("outbox payload: %w", err)
	}
	j.Payload, j.CreatedAt, j.Deadline = data, r.now, r.now.Add(r.l.cfg.OutboxMaxAge)
	if _, err := r.tx.EnqueueOutbox(r.ctx, j); err != nil {
		return err
	}
	r.queuedJobs++
	return nil
}

// notify queues the webhook describing the run so far.
func (r *run) notify() (string, []string, error) {
	if r.l.signer == nil {
		return "skipped: no webhook configured", nil, nil
	}
	var done []string
	for _, e := range r.entries[1:] {
		if e.Action != ActionNotify && !strings.HasPrefix(e.Outcome, "skipped") {
			done = append(done, e.Action)
		}
	}
	if len(done) == 0 {
		done = []string{ActionRecord}
	}
	appUsers, err := appUsersOf(r.ctx, r.tx, r.t.sub)
	if err != nil {
		return "", nil, err
	}
	body := WebhookPayload{
		AppUsers: appUsers, Type: r.oc.name, Sub: r.t.sub, Transmitter: r.oc.transmitter, Subject: r.t.subject, EventJTI: r.oc.jti,
		GrantIDs: append([]string{}, r.changed...), Action: strings.Join(done, ","), At: r.oc.at.UTC(), Reason: r.oc.whReason,
	}
	if r.t.sub != "" && !r.t.unmatched {
		body.setRule(riscd.SessionRuleOf(r.t.account, r.t.grants))
	}
	data, err := json.Marshal(body)
	if err != nil {
		return "", nil, fmt.Errorf("webhook body: %w", err)
	}
	id, key := webhookID(r.oc.webhookID, r.t.sub), webhookKey(r.t.sub)
	if r.t.unmatched {
		key = webhookKey("subject " + r.t.subjectKey)
	}
	if err := r.enqueue(riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: key}, jobPayload{WebhookID: id, Body: data}); err != nil {
		return "", nil, err
	}
	return "webhook queued (" + id + ")", nil, nil
}

// sessionRuleIn reads sub's account (none yet is the zero account) and
// grants, and returns their SessionRule.
func sessionRuleIn(ctx context.Context, tx riscd.ReadTx, sub string) (riscd.SessionRule, error) {
	a, err := tx.Account(ctx, sub)
	if err != nil && !errors.Is(err, riscd.ErrNotFound) {
		return riscd.SessionRule{}, fmt.Errorf("account of subject: %w", err)
	}
	grants, err := tx.GrantsBySub(ctx, sub)
	if err != nil {
		return riscd.SessionRule{}, fmt.Errorf("grants of subject: %w", err)
	}
	return riscd.SessionRuleOf(a, grants), nil
}
