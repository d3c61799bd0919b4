package admin

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/riscd/riscd"
)

// Subject is an account as the companion API's GET /v1/subjects/{sub} and
// the admin API's POST /admin/accounts/{sub}/release answer it: what an app
// needs to end its own sessions and know whether tokens will come.
//
// Its end_sessions_before, signin_disabled and held are the account's
// riscd.SessionRule, with the names and values of the webhook's: an app
// ends a session created at or before end_sessions_before, and every
// session while signin_disabled (Google disabled or deleted the account)
// or held (the account or one of its grants is held).
type Subject struct {
	AccountState
	EndSessionsBefore *time.Time     `json:"end_sessions_before,omitempty"`
	Grants            []GrantSummary `json:"grants"`
}

// GrantSummary is a grant in a Subject. An active grant without a refresh
// token says so (has_refresh_token false, and when its access token
// expires), and once that token has expired its status is
// reconsent_required, as POST /v1/token answers.
type GrantSummary struct {
	ID                string     `json:"id"`
	Scopes            []string   `json:"scopes"`
	Status            string     `json:"status"`
	Reason            string     `json:"reason,omitempty"`
	HasRefreshToken   bool       `json:"has_refresh_token"`
	AccessTokenExpiry *time.Time `json:"access_token_expiry,omitempty"`
}

// SubjectOf is the Subject of account a and its grants (newest first) at
// time now.
func SubjectOf(a riscd.Account, grants []riscd.Grant, now time.Time) Subject {
	rule := riscd.SessionRuleOf(a, grants)
	v := Subject{AccountState: StateOf(a), EndSessionsBefore: optTime(rule.EndSessionsBefore), Grants: make([]GrantSummary, len(grants))}
	v.SigninDisabled, v.Held = rule.SigninDisabled, rule.Held
	for i, g := range grants {
		gs := GrantSummary{ID: g.ID, Scopes: nonNil(g.Scopes), Status: string(g.Status), Reason: g.Reason,
			HasRefreshToken: g.HasRefreshToken()}
		if !gs.HasRefreshToken && g.Status == riscd.GrantActive {
			gs.AccessTokenExpiry = optTime(g.Expiry)
		}
		if g.OutOfTokens(now) {
			// As the token broker answers for it.
			gs.Status, gs.Reason = riscd.StateReconsentRequired, riscd.ReasonNoRefreshToken
		}
		v.Grants[i] = gs
	}
	return v
}

// AccountReader is what reading a subject takes from the store; Store and
// every engine's riscd.DB satisfy it.
type AccountReader interface {
	Account(ctx context.Context, sub string) (riscd.Account, error)
	GrantsBySub(ctx context.Context, sub string) ([]riscd.Grant, error)
}

// ReadSubject reads a subject's account and grants, newest first. known is
// false when riscd holds grants of sub but no account record. A subject
// riscd knows nothing of is a 404 Error (not_found); other errors are the
// store's.
func ReadSubject(ctx context.Context, st AccountReader, sub string) (a riscd.Account, known bool, grants []riscd.Grant, err error) {
	a, err = st.Account(ctx, sub)
	switch {
	case err == nil:
		known = true
	case isNotFound(err):
		a = riscd.Account{Sub: sub}
	default:
		return riscd.Account{}, false, nil, err
	}
	if grants, err = st.GrantsBySub(ctx, sub); err != nil {
		return riscd.Account{}, false, nil, err
	}
	slices.Reverse(grants) // newest first, as everywhere in the admin API
	if !known && len(grants) == 0 {
		return riscd.Account{}, false, nil, NotFound("account")
	}
	return a, known, grants, nil
}

// ResolveSub turns what an operator typed where a subject is expected into
// the subject: a value with an "@" is an email, looked up among the grants
// whose email the provider marked verified (GrantsByVerifiedEmail); any
// other value is a sub, returned as it is. An email no grant carries is a
// 404 Error naming it; one several subjects' grants carry is a 400 Error
// listing them (pick one by its sub). Other errors are the store's.
func (s *Service) ResolveSub(ctx context.Context, v string) (string, error) {
	if !strings.Contains(v, "@") {
		return v, nil
	}
	grants, err := s.store.GrantsByVerifiedEmail(ctx, v)
	if err != nil {
		return "", err
	}
	var subs []string
	for _, g := range grants {
		if !slices.Contains(subs, g.Sub) {
			subs = append(subs, g.Sub)
		}
	}
	switch len(subs) {
	case 0:
		return "", &Error{Status: http.StatusNotFound, Code: CodeNotFound,
			Detail: fmt.Sprintf("no grant has the verified email %s: give the account's sub", v)}
	case 1:
		return subs[0], nil
	}
	slices.Sort(subs)
	return "", BadRequest("the verified email %s belongs to several subjects (%s): give one's sub", v, strings.Join(subs, ", "))
}
