package flowweb

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd/store"
)

const revokeTimeout = 15 * time.Second

// revoke revokes the signed-in user's grant upstream (its refresh token, or
// its access token when it has none), then marks every live grant of the
// user revoked and discards their tokens, with an audit entry, whatever the
// upstream answer: revoking one token of a grant ends the whole grant at
// Google. The page says whether the revoke endpoint confirmed it (200).
func (h *Handler) revoke(c echo.Context) error {
	ctx := c.Request().Context()
	s, err := h.postSession(c)
	if err != nil {
		return h.postRefused(c, err)
	}
	who := displayName(s.Email, s.Sub)
	g, live, err := h.currentGrant(ctx, s.Sub)
	if err != nil {
		return h.internalError(c, "revoke: grant", err)
	}
	if !live {
		return h.message(c, http.StatusOK, who, messageView{
			Code: "nothing_to_revoke", Heading: "Nothing to revoke",
			What: "riscd holds no live grant for your account.", Back: true,
		})
	}
	token := g.RefreshToken
	if token.IsZero() {
		token = g.AccessToken
	}
	confirmed, outcome := false, "no token to send"
	if !token.IsZero() {
		confirmed, outcome = h.revokeUpstream(ctx, token)
	}
	ids, err := h.discardGrants(ctx, s.Sub, confirmed, outcome)
	if err != nil {
		return h.internalError(c, "revoke: discard grant", err)
	}
	h.log.InfoContext(ctx, "flowweb: grant revoked by the user", "sub", s.Sub, "grants", len(ids), "confirmed", confirmed, "upstream", outcome)
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

// revokeUpstream asks the revocation endpoint, through the Revoker, to
// revoke token. It reports whether the endpoint answered 200, and a short
// outcome for the page and audit (never the token).
func (h *Handler) revokeUpstream(ctx context.Context, token store.Secret) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, revokeTimeout)
	defer cancel()
	a, err := h.cfg.Revoker.Revoke(ctx, token)
	if err != nil {
		h.log.WarnContext(ctx, "flowweb: revoke endpoint unreachable", "err", err)
		return false, "the revoke endpoint could not be reached"
	}
	if a.Revoked() {
		return true, "confirmed (HTTP 200)"
	}
	if a.Code != "" {
		return false, fmt.Sprintf("the revoke endpoint answered HTTP %d, %s", a.Status, a.Code)
	}
	return false, fmt.Sprintf("the revoke endpoint answered HTTP %d", a.Status)
}

// discardGrants marks every live grant of sub revoked by the user, empties
// their tokens and appends one audit entry, in one transaction. It returns
// the grant IDs.
func (h *Handler) discardGrants(ctx context.Context, sub string, confirmed bool, outcome string) ([]string, error) {
	now := h.now()
	var ids []string
	err := h.store.Update(ctx, func(tx *store.Tx) error {
		ids = ids[:0]
		gs, err := tx.GrantsBySub(sub)
		if err != nil {
			return fmt.Errorf("grants of subject: %w", err)
		}
		for _, g := range gs {
			if !liveStatus(g.Status) {
				continue
			}
			g.Status, g.Reason, g.ChangedBy = store.GrantRevoked, "user-revoked", "user"
			g.RefreshToken, g.AccessToken = "", ""
			if err := tx.PutGrant(g); err != nil {
				return fmt.Errorf("put grant: %w", err)
			}
			ids = append(ids, g.ID)
		}
		result := "unconfirmed upstream"
		if confirmed {
			result = "confirmed upstream"
		}
		_, err = tx.AppendAudit(store.AuditEntry{
			At: now, Sub: sub, GrantIDs: ids, Action: "revoke", Actor: "user",
			Outcome: "revoked; " + result, Detail: outcome,
		})
		return err
	})
	return ids, err
}

// clear ends riscd's own session for this browser; the grant is kept.
func (h *Handler) clear(c echo.Context) error {
	s, err := h.postSession(c)
	if err != nil {
		return h.postRefused(c, err)
	}
	if err := h.store.DeleteSession(c.Request().Context(), s.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
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
