package flowweb

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/riscd/riscd"
)

// revoke has the grants service revoke the signed-in user's grant upstream
// (its refresh token, or its access token when it has none), then mark
// every live grant of the user revoked and discard their tokens, whatever
// the upstream answer: revoking one token of a grant ends the whole grant
// at Google. The page says whether the revoke endpoint confirmed it (200).
func (h *Handler) revoke(c echo.Context) error {
	ctx := c.Request().Context()
	s, err := h.postSession(c)
	if err != nil {
		return h.postRefused(c, err)
	}
	who := displayName(s.Email, s.Sub)
	confirmed, outcome, err := h.grants.RevokeUserGrants(ctx, s.Sub)
	if errors.Is(err, riscd.ErrNotFound) {
		return h.message(c, http.StatusOK, who, messageView{
			Code: "nothing_to_revoke", Heading: "Nothing to revoke",
			What: "riscd holds no live grant for your account.", Back: true,
		})
	}
	if err != nil {
		return h.internalError(c, "revoke", err)
	}
	h.log.InfoContext(ctx, "flowweb: grant revoked by the user", "sub", s.Sub, "confirmed", confirmed, "upstream", outcome)
	v := messageView{
		Code: "revoked", Heading: "Access revoked",
		What:    "Google confirmed the revocation: riscd's tokens for your account no longer work, and riscd has discarded its copy.",
		UserCan: "Connect again whenever you want riscd's features back.",
		Actions: []link{{Href: h.base + "/authorize", Label: "Connect again"}},
		Back:    true,
	}
	if !confirmed {
		v.Code = "revoked_unconfirmed"
		v.What = "Google did not confirm the revocation (" + outcome + "). riscd has discarded its copy of the tokens all the same, so it will not use them again."
		v.UserCan = "To be sure, remove riscd's access in your Google Account (Security > Your connections to third-party apps & services)."
	}
	return h.message(c, http.StatusOK, who, v)
}

// clear ends riscd's own session for this browser; the grant is kept.
func (h *Handler) clear(c echo.Context) error {
	s, err := h.postSession(c)
	if err != nil {
		return h.postRefused(c, err)
	}
	if err := h.store.DeleteSession(c.Request().Context(), s.ID); err != nil && !errors.Is(err, riscd.ErrNotFound) {
		return h.internalError(c, "clear: delete session", err)
	}
	h.setCookie(c, sessionCookie, "", h.sessionPath(), -1)
	return h.message(c, http.StatusOK, "", messageView{
		Code: "signed_out", Heading: "Signed out of riscd",
		What: "This browser's riscd session has ended. Your Google grant is kept: riscd still protects it, " +
			"and connecting again signs you back in.",
		Actions: []link{{Href: h.base + "/authorize", Label: "Connect again"}},
		Back:    true,
	})
}

// postRefused answers a POST that failed postSession.
func (h *Handler) postRefused(c echo.Context, err error) error {
	if !errors.Is(err, errForbiddenPost) {
		return h.internalError(c, "post: session", err)
	}
	h.log.InfoContext(c.Request().Context(), "flowweb: form refused", "path", c.Path(), "why", err.Error())
	return h.message(c, http.StatusForbidden, "", messageView{
		Code: "forbidden", Heading: "This form has expired",
		What:    "riscd could not match this request to your riscd session, so it did nothing.",
		UserCan: "Go back to riscd's front page, reload it, and try again.",
		Back:    true,
	})
}
