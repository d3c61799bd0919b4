package adminpage

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
)

// Bounds of the held and flagged list, gathered from the grants held (up
// to heldScanPages pages of store.MaxLimit) and the accounts the store
// indexes as needing attention: at most maxListedSubjects subjects in all.
const (
	heldScanPages     = 10
	maxListedSubjects = 500
)

// uiAccountRow is an account in the held and flagged list.
type uiAccountRow struct {
	admin.AccountState
	Known      bool // riscd holds an account record
	Email      string
	Flags      []string // the account's free-form flags
	HeldGrants int
	UpdatedAt  time.Time
}

// uiAccountsView is the held and flagged list.
type uiAccountsView struct {
	Held      []uiAccountRow
	Flagged   []uiAccountRow
	Truncated bool // a bound was reached: the list may miss accounts
}

// heldAndFlagged gathers the accounts that are held (the account, or one
// of its grants) or flagged, from the held grants and the store's index of
// accounts that need attention (see heldScanPages).
func (s *Page) heldAndFlagged(ctx context.Context) (uiAccountsView, error) {
	var v uiAccountsView
	var subs []string
	seen := map[string]bool{}
	known := map[string]riscd.Account{} // read already, from the attention index
	heldGrants := map[string]int{}
	add := func(sub string) bool {
		if sub == "" || seen[sub] {
			return true
		}
		if len(subs) == maxListedSubjects {
			v.Truncated = true
			return false
		}
		seen[sub] = true
		subs = append(subs, sub)
		return true
	}
	q := riscd.GrantQuery{Status: riscd.GrantHeld, Limit: riscd.MaxLimit}
	for range heldScanPages {
		grants, next, err := s.store.ListGrants(ctx, q)
		if err != nil {
			return uiAccountsView{}, err
		}
		for _, g := range grants {
			heldGrants[g.Sub]++
			add(g.Sub)
		}
		if q.Cursor = next; next == "" {
			break
		}
	}
	if q.Cursor != "" {
		v.Truncated = true
	}
	for after := ""; ; {
		accounts, err := s.store.AccountsNeedingAttention(ctx, after, riscd.MaxLimit)
		if err != nil {
			return uiAccountsView{}, err
		}
		for _, a := range accounts {
			known[a.Sub] = a
			if !add(a.Sub) {
				break
			}
		}
		if len(accounts) < riscd.MaxLimit || v.Truncated {
			break
		}
		after = accounts[len(accounts)-1].Sub
	}
	for _, sub := range subs {
		a, found := known[sub]
		if !found {
			var err error
			a, err = s.store.Account(ctx, sub)
			found = err == nil
			switch {
			case errors.Is(err, riscd.ErrNotFound):
				a = riscd.Account{Sub: sub}
			case err != nil:
				return uiAccountsView{}, err
			}
		}
		row := uiAccountRow{AccountState: admin.StateOf(a), Known: found, Email: a.Email, Flags: a.Flags, HeldGrants: heldGrants[sub], UpdatedAt: a.UpdatedAt}
		switch {
		case a.Held || row.HeldGrants > 0:
			v.Held = append(v.Held, row)
		case a.NeedsAttention():
			v.Flagged = append(v.Flagged, row)
		}
	}
	return v, nil
}

// uiAccounts is GET /admin/ui/accounts: held and flagged accounts; with
// ?sub= (a sub, or a verified email) it goes to that account's page.
func (s *Page) uiAccounts(c echo.Context) error {
	sub, err := admin.QueryParam(c, "sub")
	if err != nil {
		return err
	}
	if sub != "" {
		// An email goes to its subject's page (or answers why not).
		if sub, err = s.svc.ResolveSub(c.Request().Context(), sub); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, uiBase+"/accounts/"+url.PathEscape(sub))
	}
	v, err := s.heldAndFlagged(c.Request().Context())
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "accounts", uiLayout{Title: "Accounts", Body: v})
}

// uiAccountView is the account page.
type uiAccountView struct {
	admin.AccountView
	CanRelease bool // an Operator is wired and something is held
	Operator   bool // an Operator is wired
}

// uiAccount is GET /admin/ui/accounts/{sub}: state, grants, timeline and
// the release button.
func (s *Page) uiAccount(c echo.Context) error {
	sub, err := admin.PathParam(c, "sub")
	if err != nil {
		return err
	}
	v, err := s.accountView(c.Request().Context(), sub)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "account", uiLayout{Title: "Account " + v.Sub, Page: "account", Body: v})
}

// accountView reads the account of sub (a sub or a verified email) for
// its page.
func (s *Page) accountView(ctx context.Context, sub string) (uiAccountView, error) {
	d, err := s.svc.AccountOf(ctx, sub)
	if err != nil {
		return uiAccountView{}, err
	}
	v := uiAccountView{AccountView: d, Operator: s.svc.HasOperator()}
	held := d.Held || d.SigninDisabled
	for _, g := range d.Grants {
		held = held || g.Status == string(riscd.GrantHeld)
	}
	v.CanRelease = v.Operator && held
	return v, nil
}

// uiReleaseView is the release confirmation page.
type uiReleaseView struct {
	uiAccountView
	HeldGrants []string // the held grants' IDs
	Reasons    []string // why they were held (the events' reasons: hijacking, ...), distinct
	Hijacking  bool     // one of the reasons is Google's "hijacking"
}

// uiReleaseConfirm is GET /admin/ui/accounts/{sub}/release: what a release
// would lift and why it was held (a hijacking called out), with the form
// that releases once its box is ticked.
func (s *Page) uiReleaseConfirm(c echo.Context) error {
	sub, err := admin.PathParam(c, "sub")
	if err != nil {
		return err
	}
	v, err := s.accountView(c.Request().Context(), sub)
	if err != nil {
		return err
	}
	rv := uiReleaseView{uiAccountView: v}
	for _, g := range v.Grants {
		if g.Status != string(riscd.GrantHeld) {
			continue
		}
		rv.HeldGrants = append(rv.HeldGrants, g.ID)
		if g.Reason != "" && !slices.Contains(rv.Reasons, g.Reason) {
			rv.Reasons = append(rv.Reasons, g.Reason)
		}
		rv.Hijacking = rv.Hijacking || g.Reason == reasonHijacking
	}
	return s.render(c, http.StatusOK, "release", uiLayout{Title: "Release account " + v.Sub, Page: "release", Body: rv})
}

// reasonHijacking is the reason of Google's account-disabled event for an
// account it found hijacked (RISC, "Account Disabled" event: reason
// "hijacking"): https://developers.google.com/identity/protocols/risc
const reasonHijacking = "hijacking"

// uiRelease is POST /admin/ui/accounts/{sub}/release (confirm=yes, from
// the confirmation page): the Operator lifts the hold, as POST
// /admin/accounts/{sub}/release, audited under the signed-in operator.
func (s *Page) uiRelease(c echo.Context) error {
	sub, err := admin.PathParam(c, "sub")
	if err != nil {
		return err
	}
	if !confirmed(c) {
		return errConfirm
	}
	a, _, err := s.svc.Release(c.Request().Context(), sub)
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, uiBase+"/accounts/"+url.PathEscape(a.Sub)+"?notice=released")
}
