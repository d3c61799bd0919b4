package flowweb

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/labstack/echo/v4"
	"github.com/riscd/riscd"
)

// indexView is the index page: who is signed in, the grant, the features.
type indexView struct {
	SignedIn   bool
	Email, Sub string
	GrantState string // "none", the grant's status, or "reconsent_required" when it is out of tokens
	StateText  string
	// RefreshToken is false for a live grant riscd holds no refresh token for.
	RefreshToken bool
	Scopes       []string
	Features     []featureRow
	ConnectHref  string
	CanRevoke    bool
	CSRF         string
}

// featureRow is one feature on the index page.
type featureRow struct {
	Name, Scope string
	Enabled     bool
	Href        string // the test API call
	AskHref     string // incremental authorization for it
}

var grantStateText = map[string]string{
	"none":                            "riscd holds no grant for you. Connect to give it one.",
	string(riscd.GrantActive):         "Your grant is active.",
	string(riscd.GrantHeld):           "Your grant is on hold after a security event from Google. riscd keeps it but does not use it until an operator releases it.",
	string(riscd.GrantReauthRequired): "Google asks you to sign in again before this grant can be used. Connect again.",
	string(riscd.GrantRevoked):        "Your grant was revoked. Connect again to use the features.",
	stateReconsentRequired:            "Your grant's access token has expired, and Google gave riscd no refresh token to renew it, so riscd can no longer use the grant. Connect again.",
}

// stateReconsentRequired is shown for an active grant out of tokens (no
// refresh token, access token expired), as the companion API reports it.
const stateReconsentRequired = "reconsent_required"

// index shows the signed-in account, its grant and the features.
func (h *Handler) index(c echo.Context) error {
	ctx := c.Request().Context()
	s, signed, err := h.currentSession(c)
	if err != nil {
		return h.internalError(c, "index: session", err)
	}
	v := indexView{GrantState: "none", ConnectHref: h.base + "/authorize"}
	var g riscd.Grant
	var live bool
	if signed {
		v.SignedIn, v.Email, v.Sub, v.CSRF = true, s.Email, s.Sub, s.CSRF.Reveal()
		if g, live, err = h.currentGrant(ctx, s.Sub); err != nil {
			return h.internalError(c, "index: grant", err)
		}
		if live {
			v.GrantState, v.Scopes = string(g.Status), g.Scopes
			v.CanRevoke, v.RefreshToken = true, g.HasRefreshToken()
		} else if g.ID != "" {
			v.GrantState = string(g.Status)
		}
	}
	v.StateText = h.named(grantStateText[v.GrantState])
	switch {
	case live && g.OutOfTokens(h.now()):
		v.GrantState = stateReconsentRequired
		v.StateText = h.named(grantStateText[v.GrantState])
	case live && g.Status == riscd.GrantActive && !v.RefreshToken:
		until := "its access token expires"
		if !g.Expiry.IsZero() {
			until = "its access token expires at " + g.Expiry.UTC().Format("15:04 UTC on 2 January")
		}
		v.StateText = h.named("Your grant is active, but Google gave riscd no refresh token: riscd can use it only until " +
			until + ", then you must connect again.")
	}
	for _, n := range h.features {
		f := h.cfg.Features[n]
		v.Features = append(v.Features, featureRow{
			Name:    n,
			Scope:   f.Scope,
			Enabled: live && v.GrantState == string(riscd.GrantActive) && slices.Contains(g.Scopes, f.Scope),
			Href:    h.base + "/features/" + url.PathEscape(n),
			AskHref: h.base + "/authorize?features=" + url.QueryEscape(n),
		})
	}
	who := ""
	if signed {
		who = displayName(s.Email, s.Sub)
	}
	return h.render(c, http.StatusOK, "index", layout{Title: "Your " + h.cfg.ProviderName + " grant", Page: "index", Who: who, Body: v})
}

// displayName is the email when known, else the sub.
func displayName(email, sub string) string {
	if email != "" {
		return email
	}
	return sub
}
