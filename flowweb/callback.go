package flowweb

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/riscd/riscd"
	"golang.org/x/oauth2"
)

// callback finishes a consent. In order: the flow cookie must name a stored
// flow (taken, so single use) whose state equals the answer's and which is
// at most FlowTTL old; an ?error= answer shows its page; the code is
// exchanged with the PKCE verifier; the ID token is verified; the grant,
// account and a new session are saved together. Then 303 to the index, a
// URL without the code. Every failure shows a page and stores nothing.
func (h *Handler) callback(c echo.Context) error {
	ctx := c.Request().Context()
	h.setCookie(c, flowCookie, "", h.flowPath(), -1)
	flow, ok, err := h.takeFlow(c)
	if err != nil {
		return h.internalError(c, "callback: take flow", err)
	}
	if !ok {
		return nil // takeFlow answered
	}
	if flow.ConnectID != "" {
		return h.finishConnect(c, flow)
	}
	q := c.QueryParams()
	if code := q.Get("error"); code != "" {
		h.log.InfoContext(ctx, "flowweb: authorization refused", "error", safeCode(code))
		return h.renderOAuthError(c, code)
	}
	code := q.Get("code")
	if code == "" {
		return h.message(c, http.StatusBadRequest, "", messageView{
			Code: "no_code", Heading: "The sign-in answer is incomplete",
			What:    "The answer carried neither an authorization code nor an error. Nothing was stored.",
			UserCan: "Connect again.",
			Actions: []link{{Href: h.base + "/authorize", Label: "Connect again", Primary: true}},
		})
	}
	tok, err := h.oauthConfig(flow.Scopes).Exchange(h.oauthContext(ctx), code,
		oauth2.VerifierOption(flow.PKCEVerifier.Reveal()))
	if err != nil {
		return h.exchangeFailed(c, err)
	}
	cs, err := h.verifyAnswer(ctx, tok, flow)
	if err != nil {
		return h.answerRejected(c, err)
	}
	var old riscd.Secret
	if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
		old = riscd.Secret(ck.Value)
	}
	sess, g, err := h.saveConsent(ctx, cs, old)
	if errors.Is(err, errSigninDisabled) {
		h.log.WarnContext(ctx, "flowweb: sign-in refused: disabled after a security event", "sub", cs.sub)
		return h.message(c, http.StatusForbidden, "", messageView{
			Code: "signin_disabled", Heading: "Sign-in with Google is disabled for this account",
			What: "Google reported that this Google account was disabled, so riscd does not accept " +
				"sign-ins from it until Google reports it enabled again. Nothing was stored.",
			UserCan:     "Contact the service's support.",
			OperatorCan: "The account's timeline in riscd's admin API shows the event that disabled it.",
		})
	}
	if err != nil {
		return h.internalError(c, "callback: save consent", err)
	}
	h.log.InfoContext(ctx, "flowweb: consent saved", "sub", cs.sub, "grant", g.ID,
		"scopes", len(cs.scopes), "refresh_token_received", !cs.refresh.IsZero())
	h.setCookie(c, sessionCookie, sess.ID.Reveal(), h.sessionPath(), h.cfg.SessionTTL)
	return c.Redirect(http.StatusSeeOther, h.base+"/")
}

// errSigninDisabled: the account's sign-in is disabled by a security event.
var errSigninDisabled = errors.New("sign-in disabled for this account")

// takeFlow checks the answer's state against the browser's flow. When it
// returns ok=false without error it has already answered 400.
func (h *Handler) takeFlow(c echo.Context) (riscd.Flow, bool, error) {
	ctx := c.Request().Context()
	state := c.QueryParam("state")
	ck, err := c.Cookie(flowCookie)
	if err != nil || ck.Value == "" || state == "" {
		h.log.WarnContext(ctx, "flowweb: callback without a flow", "has_cookie", err == nil, "has_state", state != "")
		return riscd.Flow{}, false, h.refuseAnswer(c, state, "no_flow")
	}
	flow, err := h.store.TakeFlow(ctx, riscd.Secret(ck.Value))
	if errors.Is(err, riscd.ErrNotFound) {
		h.log.WarnContext(ctx, "flowweb: callback for an unknown or used flow")
		return riscd.Flow{}, false, h.refuseAnswer(c, state, "no_flow")
	}
	if err != nil {
		return riscd.Flow{}, false, err
	}
	if subtle.ConstantTimeCompare([]byte(state), []byte(flow.State.Reveal())) != 1 {
		h.log.WarnContext(ctx, "flowweb: callback state mismatch")
		return riscd.Flow{}, false, h.refuseAnswer(c, state, "state_mismatch")
	}
	if age := h.now().Sub(flow.CreatedAt); age > h.cfg.FlowTTL || age < -time.Minute {
		h.log.InfoContext(ctx, "flowweb: callback for an expired flow", "age", age.Round(time.Second).String())
		return riscd.Flow{}, false, h.refuseAnswer(c, state, "flow_expired")
	}
	return flow, true, nil
}

// refuseAnswer answers 400 for an answer that cannot be used: for a
// connect session's, the page that says so with the way back to the app
// (the session ends with status error), else badState's.
func (h *Handler) refuseAnswer(c echo.Context, state, code string) error {
	if done, err := h.refuseConnectAnswer(c, state, code); done {
		return err
	}
	return h.badState(c, code)
}

// badState answers 400 for an answer that is not bound to this browser's
// live flow.
func (h *Handler) badState(c echo.Context, code string) error {
	v := messageView{
		Code:    code,
		Heading: "This sign-in answer cannot be used",
		What: "It does not belong to a sign-in started in this browser, it was already used, " +
			"or it did not match the request riscd made. Nothing was stored.",
		UserCan: "Start again from riscd: connect once more, in this browser.",
		Actions: []link{{Href: h.base + "/authorize", Label: "Connect again", Primary: true}},
		Back:    true,
	}
	if code == "flow_expired" {
		v.What = "More than " + h.cfg.FlowTTL.String() + " passed between leaving riscd and coming back, so riscd no longer accepts this answer. Nothing was stored."
	}
	return h.message(c, http.StatusBadRequest, "", v)
}

// exchangeFailed shows why the token endpoint did not give tokens.
func (h *Handler) exchangeFailed(c echo.Context, err error) error {
	ctx := c.Request().Context()
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode != "" {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		h.log.WarnContext(ctx, "flowweb: code exchange refused", "error", safeCode(re.ErrorCode), "status", status)
		return h.renderOAuthError(c, re.ErrorCode)
	}
	h.log.ErrorContext(ctx, "flowweb: code exchange failed", "err", redactRetrieve(err))
	return h.message(c, http.StatusBadGateway, "", messageView{
		Code: "token_endpoint_unavailable", Heading: "Google could not be reached",
		What:        "riscd could not exchange the authorization for tokens. Nothing was stored.",
		UserCan:     "Connect again in a moment.",
		OperatorCan: "riscd's log has the transport error; check that riscd reaches the token endpoint.",
		Actions:     []link{{Href: h.base + "/authorize", Label: "Connect again", Primary: true}},
	})
}

// errNoIDToken: the token answer lacked an id_token.
var errNoIDToken = errors.New("no id_token in the token answer")

// verifyAnswer checks the token answer and its ID token and turns them into
// a consent.
func (h *Handler) verifyAnswer(ctx context.Context, tok *oauth2.Token, flow riscd.Flow) (consent, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return consent{}, errNoIDToken
	}
	if tok.AccessToken == "" {
		return consent{}, fmt.Errorf("%w: no access token", errBadIDToken)
	}
	id, err := h.idTokens.verify(ctx, raw, flow.Nonce)
	if err != nil {
		return consent{}, err
	}
	scope, _ := tok.Extra("scope").(string)
	scopes := normScopes(scope)
	if scope == "" { // RFC 6749 §5.1: omitted means as requested
		scopes = normScopes(strings.Join(flow.Scopes, " "))
	}
	return consent{
		sub: id.Sub, email: id.Email, emailOK: id.EmailVerified, scopes: scopes,
		access: riscd.Secret(tok.AccessToken), refresh: riscd.Secret(tok.RefreshToken),
		tokenType: tok.TokenType, expiry: h.expiry(tok), idTokenExpAt: id.Exp,
	}, nil
}

// answerRejected shows why a token answer was not accepted.
func (h *Handler) answerRejected(c echo.Context, err error) error {
	ctx := c.Request().Context()
	retry := []link{{Href: h.base + "/authorize", Label: "Try again", Primary: true}}
	if errors.Is(err, errKeysUnavailable) {
		h.log.ErrorContext(ctx, "flowweb: id token keys unavailable", "err", err)
		return h.message(c, http.StatusServiceUnavailable, "", messageView{
			Code: "keys_unavailable", Heading: "Please try again",
			What:        "riscd could not fetch Google's signing keys to check who you are, so it stored nothing.",
			UserCan:     "Try again in a moment.",
			OperatorCan: "riscd could not fetch the ID-token JWKS; riscd's log has the error.",
			Actions:     retry,
		})
	}
	h.log.WarnContext(ctx, "flowweb: token answer rejected", "err", err)
	operator := "Check google.issuer, google.jwks_url and the client ID, and that riscd's clock is right; riscd's log names the failed check."
	if h.cfg.Provider == ProviderOIDC {
		operator = "Check google.issuer and the client ID, that the provider's discovery document lists the algorithm it signs ID tokens with " +
			"(id_token_signing_alg_values_supported; riscd accepts " + strings.Join(h.cfg.IDTokenAlgorithms, ", ") +
			"), and that riscd's clock is right; riscd's log names the failed check."
	}
	return h.message(c, http.StatusBadGateway, "", messageView{
		Code: "bad_id_token", Heading: "riscd could not confirm who you are",
		What:        "The identity token that came with the grant did not pass riscd's checks (signature algorithm, signature, issuer, audience, expiry or nonce). Nothing was stored.",
		UserCan:     "Try again. If it keeps failing, tell the operator.",
		OperatorCan: operator,
		Actions:     retry,
	})
}

// expiry is when an access token expires, by riscd's clock: now plus
// expires_in, or x/oauth2's estimate, or zero when the server said nothing.
func (h *Handler) expiry(tok *oauth2.Token) time.Time {
	if tok.ExpiresIn > 0 {
		return h.now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	}
	return tok.Expiry
}

// redactRetrieve keeps a token endpoint's answer body out of logs: an
// oauth2.RetrieveError prints it.
func redactRetrieve(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return fmt.Errorf("token endpoint answered HTTP %d", status)
	}
	return err
}
