package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/googlesim"
)

// plannedSET is one SET a sender delivers, with what riscd should do.
type plannedSET struct {
	jti  string
	ev   googlesim.Event
	sub  string // the subject acted on: "" when the event names none riscd knows
	name string // the event's short name with its reason, for figures and failures
	// action is an action the audit log must show for the event when sub
	// is known (a grant or account riscd holds); "" for none.
	action string
	// notify: riscd must send the app a webhook for the event.
	notify bool
}

// jtiSource makes unique jtis for one test.
type jtiSource struct {
	prefix string
	n      atomic.Int64
}

func (j *jtiSource) next() string {
	return fmt.Sprintf("%s-%08d", j.prefix, j.n.Add(1))
}

// sign signs p's event with p's jti.
func (r *rig) sign(p plannedSET, opts ...googlesim.SETOption) (string, error) {
	tok, err := r.tr.Sign(p.ev, append([]googlesim.SETOption{googlesim.WithJTI(p.jti)}, opts...)...)
	if err != nil {
		return "", fmt.Errorf("sign %s: %w", p.name, err)
	}
	return tok, nil
}

// deliverPlanned signs p and delivers it (see deliver); an answer other
// than 202 is an error.
func (r *rig) deliverPlanned(ctx context.Context, p plannedSET) (pushResult, error) {
	tok, err := r.sign(p)
	if err != nil {
		return pushResult{}, err
	}
	res, err := r.deliver(ctx, tok)
	if err == nil && res.status != http.StatusAccepted {
		err = fmt.Errorf("SET %s (%s) answered %d %s, want 202", p.jti, p.name, res.status, res.body)
	}
	return res, err
}

// Events about a known subject, as the default action table handles them.
func sessionsRevoked(j *jtiSource, sub string) plannedSET {
	return plannedSET{j.next(), googlesim.SessionsRevoked(sub), sub, "sessions-revoked", "set_sessions_revoked_at", true}
}

func tokensRevoked(j *jtiSource, sub string) plannedSET {
	return plannedSET{j.next(), googlesim.TokensRevoked(sub), sub, "tokens-revoked", "revoke_grants", true}
}

func tokenRevoked(j *jtiSource, sub, refresh string, alg googlesim.TokenIdentifierAlg) plannedSET {
	return plannedSET{j.next(), googlesim.TokenRevoked(refresh, alg), sub, "token-revoked/" + string(alg), "revoke_grants", true}
}

func accountDisabled(j *jtiSource, sub, reason string) plannedSET {
	action := map[string]string{
		googlesim.ReasonHijacking: "hold_grants", googlesim.ReasonBulkAccount: "flag_review", "": "disable_signin",
	}[reason]
	name := "account-disabled/" + reason
	if reason == "" {
		name += "none"
	}
	return plannedSET{j.next(), googlesim.AccountDisabled(sub, reason), sub, name, action, true}
}

func accountEnabled(j *jtiSource, sub string) plannedSET {
	return plannedSET{j.next(), googlesim.AccountEnabled(sub), sub, "account-enabled", "release_holds", true}
}

func credentialChange(j *jtiSource, sub string) plannedSET {
	return plannedSET{j.next(), googlesim.AccountCredentialChangeRequired(sub), sub, "account-credential-change-required", "flag_credential_change", true}
}

func accountPurged(j *jtiSource, sub string) plannedSET {
	return plannedSET{j.next(), googlesim.AccountPurged(sub), sub, "account-purged", "purge", true}
}

func verification(j *jtiSource) plannedSET {
	return plannedSET{j.next(), googlesim.Verification("e2e-" + j.prefix), "", "verification", "", false}
}

// unknownSubjectSET is an event of a random type about a subject riscd has
// never seen (or a token it does not hold): recorded, nothing else.
func unknownSubjectSET(j *jtiSource, rng *rand.Rand, prefix string) plannedSET {
	sub := fmt.Sprintf("9%s%06d", prefix, rng.IntN(1_000_000))
	var p plannedSET
	switch rng.IntN(9) {
	case 0:
		p = sessionsRevoked(j, sub)
	case 1:
		p = tokensRevoked(j, sub)
	case 2:
		p = tokenRevoked(j, sub, "1//0unknown-"+sub+strings.Repeat("x", 60), googlesim.IdentifierHash)
	case 3:
		p = tokenRevoked(j, sub, "1//0unknown-"+sub+strings.Repeat("y", 60), googlesim.IdentifierPrefix)
	case 4:
		p = accountDisabled(j, sub, []string{googlesim.ReasonHijacking, googlesim.ReasonBulkAccount, ""}[rng.IntN(3)])
	case 5:
		p = accountEnabled(j, sub)
	case 6:
		p = credentialChange(j, sub)
	case 7:
		p = accountPurged(j, sub)
	default:
		return verification(j)
	}
	p.sub, p.action, p.notify = "", "", false
	return p
}

// script is a subject's fixed sequence of events and the state it leaves.
type script struct {
	user   googlesim.User
	steps  []plannedSET
	status string                       // the grant's status at the end
	check  func(a riscd.Account) string // "" when a is as the script leaves it
}

// scriptFor gives user a script by kind (i mod 4): every Google event type
// appears, and each script ends in a state fixed by its order alone.
func scriptFor(j *jtiSource, i int, user googlesim.User, refresh string) script {
	s := user.Sub
	switch i % 4 {
	case 0: // held and released twice: active again, flagged
		return script{user: user, status: "active", steps: []plannedSET{
			sessionsRevoked(j, s), credentialChange(j, s), accountDisabled(j, s, googlesim.ReasonBulkAccount),
			accountDisabled(j, s, googlesim.ReasonHijacking), accountEnabled(j, s),
			accountDisabled(j, s, ""), accountEnabled(j, s),
		}, check: func(a riscd.Account) string {
			if a.SessionsRevokedAt.IsZero() || !a.Review || !a.CredentialChangeRequired || a.Held || a.SigninDisabled || a.Purged {
				return "want sessions_revoked_at, review and credential_change_required set, no hold, sign-in enabled"
			}
			return ""
		}}
	case 1: // held, then its token revoked by hash: stays revoked after release
		return script{user: user, status: "revoked", steps: []plannedSET{
			sessionsRevoked(j, s), accountDisabled(j, s, googlesim.ReasonHijacking),
			tokenRevoked(j, s, refresh, googlesim.IdentifierHash), accountEnabled(j, s),
		}, check: func(a riscd.Account) string {
			if !a.ReconsentRequired || a.Held || a.Purged {
				return "want reconsent_required, no hold"
			}
			return ""
		}}
	case 2: // token revoked by prefix
		return script{user: user, status: "revoked", steps: []plannedSET{
			credentialChange(j, s), tokenRevoked(j, s, refresh, googlesim.IdentifierPrefix), sessionsRevoked(j, s),
		}, check: func(a riscd.Account) string {
			if !a.ReconsentRequired || !a.CredentialChangeRequired || a.SessionsRevokedAt.IsZero() {
				return "want reconsent_required, credential_change_required and sessions_revoked_at"
			}
			return ""
		}}
	default: // every token revoked, then purged
		return script{user: user, status: "revoked", steps: []plannedSET{
			credentialChange(j, s), tokensRevoked(j, s), accountPurged(j, s),
		}, check: func(a riscd.Account) string {
			if !a.Purged {
				return "want purged"
			}
			return ""
		}}
	}
}
