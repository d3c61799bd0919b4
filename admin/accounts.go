package admin

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/events"
)

// timelineMax is how many items an account's timeline shows.
const timelineMax = 100

// AccountState is the account as both the admin and the companion API show
// it.
type AccountState struct {
	Sub                      string     `json:"sub"`
	SessionsRevokedAt        *time.Time `json:"sessions_revoked_at"`
	SigninDisabled           bool       `json:"signin_disabled"`
	Held                     bool       `json:"held"`
	Review                   bool       `json:"review"`
	ReconsentRequired        bool       `json:"reconsent_required"`
	CredentialChangeRequired bool       `json:"credential_change_required"`
	Purged                   bool       `json:"purged"`
}

func StateOf(a riscd.Account) AccountState {
	return AccountState{
		Sub: a.Sub, SessionsRevokedAt: optTime(a.SessionsRevokedAt), SigninDisabled: a.SigninDisabled,
		Held: a.Held, Review: a.Review, ReconsentRequired: a.ReconsentRequired,
		CredentialChangeRequired: a.CredentialChangeRequired, Purged: a.Purged,
	}
}

// AccountView is GET /admin/accounts/{sub}.
type AccountView struct {
	AccountState
	Known     bool           `json:"known"` // riscd holds an account record (not only grants)
	Email     string         `json:"email,omitempty"`
	Flags     []string       `json:"flags"`
	CreatedAt *time.Time     `json:"created_at,omitempty"`
	UpdatedAt *time.Time     `json:"updated_at,omitempty"`
	Grants    []grantView    `json:"grants"`
	Timeline  []timelineItem `json:"timeline"`
}

// timelineItem is one received event or one recorded action, newest first.
type timelineItem struct {
	At     time.Time     `json:"at"`
	Kind   string        `json:"kind"` // "event" or "action"
	Event  *eventSummary `json:"event,omitempty"`
	Action *auditView    `json:"action,omitempty"`
}

// eventSummary is an event in a timeline; GET /admin/events/{id} has the rest.
type eventSummary struct {
	ID          uint64   `json:"id"`
	Transmitter string   `json:"transmitter"`
	JTI         string   `json:"jti"`
	TypeNames   []string `json:"type_names"`
	Status      string   `json:"status"`
	Attempts    int      `json:"attempts"`
	LastError   string   `json:"last_error,omitempty"`
}

// account reads a subject's account and grants (ReadSubject).
func (s *Service) account(ctx context.Context, sub string) (a riscd.Account, known bool, grants []riscd.Grant, err error) {
	return ReadSubject(ctx, s.store, sub)
}

// AccountOf reads a subject's account, grants and timeline; sub may be a
// verified email (ResolveSub). A subject riscd knows nothing of is a 404
// Error.
func (s *Service) AccountOf(ctx context.Context, sub string) (AccountView, error) {
	sub, err := s.ResolveSub(ctx, sub)
	if err != nil {
		return AccountView{}, err
	}
	a, known, grants, err := s.account(ctx, sub)
	if err != nil {
		return AccountView{}, err
	}
	out := AccountView{
		AccountState: StateOf(a), Known: known, Email: a.Email, Flags: nonNil(a.Flags),
		CreatedAt: optTime(a.CreatedAt), UpdatedAt: optTime(a.UpdatedAt),
		Grants: make([]grantView, len(grants)),
	}
	for i, g := range grants {
		out.Grants[i] = s.viewGrant(g)
	}
	if out.Timeline, err = s.timeline(ctx, sub); err != nil {
		return AccountView{}, err
	}
	return out, nil
}

// showAccount is GET /admin/accounts/{sub}: state, grants and a timeline of
// the events received about the subject and the actions taken.
func (s *Server) showAccount(c echo.Context) error {
	sub, err := PathParam(c, "sub")
	if err != nil {
		return err
	}
	out, err := s.AccountOf(c.Request().Context(), sub)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// timeline merges the subject's latest events and audit entries, newest
// first. Events naming the subject only through a token identifier
// (token-revoked) appear through the actions they caused.
func (s *Service) timeline(ctx context.Context, sub string) ([]timelineItem, error) {
	entries, _, err := s.listInbox(ctx, riscd.InboxQuery{Limit: timelineMax}, s.subjectKeys(sub))
	if err != nil {
		return nil, err
	}
	audits, _, err := s.store.ListAudit(ctx, riscd.AuditQuery{Sub: sub, Limit: timelineMax})
	if err != nil {
		return nil, err
	}
	items := make([]timelineItem, 0, len(entries)+len(audits))
	for _, e := range entries {
		sum := &eventSummary{
			ID: e.ID, Transmitter: e.Transmitter, JTI: e.JTI, TypeNames: make([]string, len(e.Types)),
			Status: string(e.Status), Attempts: e.Attempts, LastError: e.LastError,
		}
		for i, t := range e.Types {
			sum.TypeNames[i] = events.ShortName(t)
		}
		items = append(items, timelineItem{At: e.ReceivedAt, Kind: "event", Event: sum})
	}
	for _, e := range audits {
		v := viewAudit(e)
		items = append(items, timelineItem{At: e.At, Kind: "action", Action: &v})
	}
	slices.SortStableFunc(items, func(a, b timelineItem) int { return b.At.Compare(a.At) })
	if len(items) > timelineMax {
		items = items[:timelineMax]
	}
	return items, nil
}

// Release has the Operator lift the subject's hold (sub may be a verified
// email: ResolveSub) and returns the account and grants afterwards. Errors: errNoOperator without one, a 404
// Error for a subject riscd knows nothing of, else a failure.
func (s *Service) Release(ctx context.Context, sub string) (riscd.Account, []riscd.Grant, error) {
	if s.cfg.Operator == nil {
		return riscd.Account{}, nil, errNoOperator
	}
	sub, err := s.ResolveSub(ctx, sub)
	if err != nil {
		return riscd.Account{}, nil, err
	}
	if _, _, _, err := s.account(ctx, sub); err != nil {
		return riscd.Account{}, nil, err
	}
	if err := s.cfg.Operator.ReleaseAccount(ctx, sub, ActorOf(ctx)); err != nil {
		return riscd.Account{}, nil, OrNotFound(err, "account")
	}
	a, _, grants, err := s.account(ctx, sub)
	return a, grants, err
}

// releaseAccount is POST /admin/accounts/{sub}/release: the Operator lifts
// the hold; the answer is the account's state afterwards.
func (s *Server) releaseAccount(c echo.Context) error {
	if s.cfg.Operator == nil {
		return errNoOperator
	}
	sub, err := PathParam(c, "sub")
	if err != nil {
		return err
	}
	a, grants, err := s.Release(c.Request().Context(), sub)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, SubjectOf(a, grants, s.now()))
}
