package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"golang.org/x/oauth2"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/workqueue"
)

// actionRequireReauth is what invalid_rapt does to a grant. It is not in
// the vocabulary of Config.Actions; it shows in the audit log and in the
// webhook's action.
const actionRequireReauth = "require_reauth"

// errSuperseded: the grant changed (status or refresh token) between a
// refusal and the transaction that acts on it.
var errSuperseded = errors.New("lifecycle: grant changed meanwhile")

// oauthCode matches the OAuth error codes repeated in error texts.
var oauthCode = regexp.MustCompile(`^[a-z_]{1,64}$`)

// refreshFailed deals with a refresh the token endpoint did not grant.
// invalid_grant ends the grant (see refused); anything else starts or
// extends the grant's backoff and returns an *UpstreamError.
func (l *Lifecycle) refreshFailed(ctx context.Context, g riscd.Grant, err error) (riscd.Grant, error) {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
		var body struct {
			Subtype string `json:"error_subtype"`
		}
		_ = json.Unmarshal(re.Body, &body)
		if body.Subtype == "invalid_rapt" {
			l.observeRefresh(RefreshInvalidRAPT)
		} else {
			l.observeRefresh(RefreshInvalidGrant)
		}
		return l.refused(context.WithoutCancel(ctx), g, body.Subtype == "invalid_rapt")
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		// The refresher is stopping: not the endpoint's fault.
		return riscd.Grant{}, fmt.Errorf("lifecycle: token: refresh of grant %s: %w", g.ID, ctx.Err())
	}
	l.observeRefresh(RefreshError)
	ue := upstreamError(g.ID, err)
	l.tokens.fail(ue, l.now(), l.cfg.RefreshBackoffBase, l.cfg.RefreshBackoffMax)
	l.tokens.sched.retry(g.ID, ue.RetryAt)
	level, msg := l.log.WarnContext, "token refresh failed; backing off"
	if !ue.Temporary() {
		level, msg = l.log.ErrorContext, "token endpoint refused a refresh: check the client ID and secret"
	}
	level(ctx, msg, "grant", g.ID, "err", ue.what, "retry_at", ue.RetryAt)
	return riscd.Grant{}, ue
}

// upstreamError describes a failed call of the token endpoint without its
// answer body.
func upstreamError(grantID string, err error) *UpstreamError {
	ue := &UpstreamError{GrantID: grantID, temporary: true}
	var re *oauth2.RetrieveError
	var ue2 *url.Error
	switch {
	case errors.As(err, &re):
		if re.Response != nil {
			ue.Status = re.Response.StatusCode
		}
		if oauthCode.MatchString(re.ErrorCode) {
			ue.Code = re.ErrorCode
		}
		ue.temporary = ue.Status == 0 || ue.Status >= 500 || ue.Status == http.StatusRequestTimeout || ue.Status == http.StatusTooManyRequests
		ue.what = "HTTP " + strconv.Itoa(ue.Status)
		if ue.Code != "" {
			ue.what += " (" + ue.Code + ")"
		}
	case errors.Is(err, context.DeadlineExceeded):
		ue.what = "no answer within the refresh timeout"
	case errors.As(err, &ue2):
		ue.what = "unreachable: " + ue2.Err.Error()
	default:
		ue.what = "unusable answer"
	}
	return ue
}

// refused acts on invalid_grant, in one transaction with its audit entries
// and webhook: the grant is revoked (reason invalid_grant), its tokens
// discarded and the account marked reconsent_required; with error_subtype
// invalid_rapt the grant becomes reauth_required instead, tokens kept. It
// returns the resulting *StateError (reconsent_required or reauth_required,
// as later calls will find), or, when the grant changed meanwhile (a new
// consent), the grant as it is now.
func (l *Lifecycle) refused(ctx context.Context, g riscd.Grant, rapt bool) (riscd.Grant, error) {
	reason, state := "invalid_grant", StateReconsentRequired
	if rapt {
		reason, state = "invalid_rapt", StateReauthRequired
	}
	newOC := func(now time.Time) *occurrence {
		return &occurrence{
			name: "refresh:" + reason, reason: reason, changedBy: "refresh", actor: "refresher", at: now.UTC(),
			detail:    "the token endpoint answered " + reason,
			webhookID: "lifecycle/refresh/" + g.ID + "/" + strconv.FormatInt(now.UnixNano(), 10),
		}
	}
	load := func(tx riscd.Tx) (*target, error) {
		cur, err := tx.Grant(ctx, g.ID)
		if err != nil {
			return nil, err
		}
		if cur.Status != riscd.GrantActive || cur.RefreshToken != g.RefreshToken {
			return nil, errSuperseded
		}
		t, _, err := loadTarget(ctx, tx, cur.Sub, map[string]bool{cur.ID: true})
		return t, err
	}
	act := func(r *run) error { return r.apply([]string{ActionRevokeGrants, ActionMarkReconsent}) }
	if rapt {
		act = requireReauth
	}
	err := l.perform(ctx, newOC, load, act)
	l.tokens.succeeded(g.ID) // the endpoint answered: no backoff
	l.tokens.sched.drop(g.ID)
	switch {
	case errors.Is(err, errSuperseded):
		acct, cur, err := l.grantOf(ctx, g.ID)
		if err != nil {
			return riscd.Grant{}, err
		}
		if err := unusable(acct, cur); err != nil {
			return riscd.Grant{}, err
		}
		return cur, nil
	case err != nil:
		return riscd.Grant{}, fmt.Errorf("lifecycle: token: grant %s refused with %s: %w", g.ID, reason, err)
	}
	l.log.InfoContext(ctx, "refresh refused; grant marked", "grant", g.ID, "state", state, "reason", reason)
	return riscd.Grant{}, &StateError{GrantID: g.ID, State: state, Reason: reason}
}

// requireReauth is the run of invalid_rapt: the grants in scope that are
// active become reauth_required, their tokens kept.
func requireReauth(r *run) error {
	r.audit(ActionRecord, "recorded", joinDetail(r.oc.detail, r.t.detail), nil)
	outcome, ids, err := r.grants(func(i int) bool {
		if r.t.grants[i].Status != riscd.GrantActive {
			return false
		}
		r.setStatus(i, riscd.GrantReauthRequired)
		return true
	}, "%d grants need re-authentication")
	if err != nil {
		return err
	}
	r.audit(actionRequireReauth, outcome, "", ids)
	return r.write()
}

// backingOff returns the grant's last failure while its backoff lasts.
func (b *broker) backingOff(id string, now time.Time) *UpstreamError {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f := b.failing[id]; f != nil && now.Before(f.err.RetryAt) {
		return f.err
	}
	return nil
}

// fail records a failure and sets ue.RetryAt: base doubled per consecutive
// failure up to max, with jitter.
func (b *broker) fail(ue *UpstreamError, now time.Time, base, max time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.failing[ue.GrantID]
	if f == nil {
		f = &failure{}
		b.failing[ue.GrantID] = f
	}
	f.n++
	ue.RetryAt = now.Add(workqueue.Backoff(base, max, f.n))
	f.err = ue
}

// succeeded ends a grant's backoff.
func (b *broker) succeeded(id string) {
	b.mu.Lock()
	delete(b.failing, id)
	b.mu.Unlock()
}
