package flowweb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/riscd/riscd"
)

// Limits of a feature's test call.
const (
	featureCallTimeout = 30 * time.Second
	maxFeatureAnswer   = 1 << 20
)

// featureView is the answer of a feature's test API.
type featureView struct {
	Code        string
	Name, URL   string
	Status      int
	Refreshed   bool
	JSON        string // indented; empty when the answer was not JSON
	ContentType string
	Size        int
}

// feature calls the feature's test API with the signed-in user's grant,
// refreshing the access token first when it is due, and once more when the
// API refuses it (401). It answers "not enabled" when the grant lacks the
// feature's scope and offers to reconnect when the grant is dead.
func (h *Handler) feature(c echo.Context) error {
	ctx := c.Request().Context()
	name := c.Param("name")
	f, ok := h.cfg.Features[name]
	if !ok {
		return h.message(c, http.StatusNotFound, "", messageView{
			Code: "unknown_feature", Heading: "No such feature",
			What: "riscd has no feature of that name.", Back: true,
		})
	}
	s, signed, err := h.currentSession(c)
	if err != nil {
		return h.internalError(c, "feature: session", err)
	}
	ask := h.base + "/authorize?features=" + url.QueryEscape(name)
	if !signed {
		return h.message(c, http.StatusUnauthorized, "", messageView{
			Code: "not_signed_in", Heading: "Connect first",
			What:    "You are not signed in to riscd, so it has no grant to call " + name + " with.",
			UserCan: "Connect your Google account.",
			Actions: []link{{Href: ask, Label: "Connect with Google", Primary: true}},
			Back:    true,
		})
	}
	who := displayName(s.Email, s.Sub)
	g, live, err := h.currentGrant(ctx, s.Sub)
	if err != nil {
		return h.internalError(c, "feature: grant", err)
	}
	switch {
	case !live || g.Status == riscd.GrantReauthRequired:
		return h.reconnect(c, who, name)
	case !slices.Contains(g.Scopes, f.Scope):
		userCan := "Ask for it now: Google will show only this permission; what you granted before is kept."
		if h.cfg.Provider == ProviderOIDC {
			userCan = "Ask for it now: Google will ask for it together with what you granted before."
		}
		return h.message(c, http.StatusForbidden, who, messageView{
			Code: "not_enabled", Heading: name + " is not enabled",
			What:    "You have not allowed riscd the permission " + name + " needs (" + f.Scope + ").",
			UserCan: userCan,
			Actions: []link{{Href: ask, Label: "Enable " + name, Primary: true}},
			Back:    true,
		})
	case g.Status == riscd.GrantHeld:
		return h.message(c, http.StatusForbidden, who, messageView{
			Code: "held", Heading: "Your grant is on hold",
			What:        "After a security event from Google, riscd keeps your grant but does not use it.",
			UserCan:     "Wait for the operator, or revoke the grant and connect again.",
			OperatorCan: "Review the account's events in the admin page and release the grant if it is safe.",
			Back:        true,
		})
	}
	v, err := h.callFeature(ctx, name, f, g)
	switch {
	case errors.Is(err, errGrantDead), errors.Is(err, errReauth), errors.Is(err, errNotActive):
		return h.reconnect(c, who, name)
	case errors.Is(err, errRefreshFailed):
		return h.upstreamFailed(c, who, "Google did not renew riscd's access token for you.")
	case err != nil && errors.Is(err, errFeatureCall):
		h.log.WarnContext(ctx, "flowweb: feature call failed", "feature", name, "err", err)
		return h.upstreamFailed(c, who, "riscd could not reach the "+name+" test API.")
	case err != nil:
		return h.internalError(c, "feature: token", err)
	}
	status := http.StatusOK
	if v.Status >= 400 {
		status = http.StatusBadGateway
	}
	return h.render(c, status, "feature", layout{Title: name, Page: "feature", Who: who, Body: v})
}

// errFeatureCall: the test API could not be reached or read.
var errFeatureCall = errors.New("feature call failed")

// callFeature GETs the test URL with a usable access token; a 401 refreshes
// the token once and tries again.
func (h *Handler) callFeature(ctx context.Context, name string, f Feature, g riscd.Grant) (featureView, error) {
	g, refreshed, err := h.usableToken(ctx, g, "")
	if err != nil {
		return featureView{}, err
	}
	status, ctype, body, err := h.getWithToken(ctx, f.TestURL, g.AccessToken)
	if err != nil {
		return featureView{}, err
	}
	if status == http.StatusUnauthorized {
		if g, _, err = h.usableToken(ctx, g, g.AccessToken); err != nil {
			return featureView{}, err
		}
		refreshed = true
		if status, ctype, body, err = h.getWithToken(ctx, f.TestURL, g.AccessToken); err != nil {
			return featureView{}, err
		}
	}
	v := featureView{Code: "called", Name: name, URL: f.TestURL, Status: status, Refreshed: refreshed, ContentType: ctype, Size: len(body)}
	if mt, _, _ := mime.ParseMediaType(ctype); mt == "application/json" || json.Valid(body) {
		var buf bytes.Buffer
		if json.Indent(&buf, body, "", "  ") == nil {
			v.JSON = buf.String()
		}
	}
	return v, nil
}

// getWithToken sends GET url with the bearer token and reads up to 1 MiB.
func (h *Handler) getWithToken(ctx context.Context, u string, token riscd.Secret) (int, string, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, featureCallTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", nil, fmt.Errorf("%w: %w", errFeatureCall, err)
	}
	req.Header.Set("Authorization", "Bearer "+token.Reveal())
	req.Header.Set("Accept", "application/json")
	resp, err := h.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, "", nil, fmt.Errorf("%w: %w", errFeatureCall, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxFeatureAnswer))
	if err != nil {
		return 0, "", nil, fmt.Errorf("%w: read answer: %w", errFeatureCall, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body, nil
}

// reconnect is the page for a grant that can no longer be used.
func (h *Handler) reconnect(c echo.Context, who, feature string) error {
	return h.message(c, http.StatusForbidden, who, messageView{
		Code: "reconnect", Heading: "Connect again",
		What: "riscd's grant for your account no longer works: it was revoked (by you, by Google or after a security event), " +
			"expired, or Google asks you to sign in again. riscd cannot call " + feature + " until you consent again.",
		UserCan: "Connect again; Google will ask for your consent.",
		Actions: []link{{Href: h.base + "/authorize?prompt=consent", Label: "Reconnect", Primary: true}},
		Back:    true,
	})
}

// upstreamFailed is the page for a temporary failure upstream.
func (h *Handler) upstreamFailed(c echo.Context, who, what string) error {
	return h.message(c, http.StatusBadGateway, who, messageView{
		Code: "upstream_unavailable", Heading: "Please try again",
		What:        what + " Nothing was changed.",
		UserCan:     "Try again in a moment.",
		OperatorCan: "riscd's log has the error.",
		Back:        true,
	})
}
