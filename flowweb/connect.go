package flowweb

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/riscd/riscd"
	"golang.org/x/oauth2"
)

// Connector is riscd's grants service as connect sessions need it (the
// lifecycle package's *Lifecycle satisfies it). A connect session is an
// app's request to send one of its users through this consent flow; the
// companion API creates it and reads its result.
//
// StartConnect checks token against the session id's start token and, in
// one transaction, marks the session started and stores flow with its
// ConnectID set. Its problem is "" when it started, else "bad_token" (the
// token is not the session's: nothing changed), "expired" or "reused" (the
// session is ended with status error: a link is used once). It returns the
// session as stored; riscd.ErrNotFound (wrapped) for an unknown id.
//
// ConnectConsent saves the consent g (as Grants.SaveConsent, without a
// browser session) for the started session id, links its app user to
// g.Sub and ends it connected, in one transaction; it returns the session
// as ended. Errors are recognised by behaviour: a method ConnectEnded()
// bool returning true when the session is not in progress (the session
// as stored is returned with it); a method SigninDisabled() bool as for
// SaveConsent; riscd.ErrNotFound for an unknown session.
//
// EndConnect ends the session id with status (denied or error) and a short
// code, unless it has ended already, and returns it as stored.
type Connector interface {
	StartConnect(ctx context.Context, id string, token riscd.Secret, flow riscd.Flow) (riscd.ConnectSession, string, error)
	ConnectConsent(ctx context.Context, id string, g riscd.Grant) (riscd.ConnectSession, error)
	EndConnect(ctx context.Context, id string, status riscd.ConnectStatus, code string) (riscd.ConnectSession, error)
}

// ConnectPath is the path, below PublicURL, of a connect session's start
// link: ConnectPath + "/" + id + "?token=" + start token.
const ConnectPath = "/connect"

// stateSep separates a connect flow's random state from its session's id,
// so that an answer which comes back without its flow (in another browser,
// or replayed) still finds the session it belongs to. The id is not a
// secret; the state's digest, kept in the session, proves the answer
// belongs to it.
const stateSep = "."

// connect is GET /connect/{id}?token=...: a connect session's start. It
// records a consent flow for the session's features and login hint, bound
// to this browser by the flow cookie, and redirects (302) to the
// authorization endpoint. A link that is unknown, tampered with, expired or
// used before shows a page that says so; the last three offer the way back
// to the app with status=error.
func (h *Handler) connect(c echo.Context) error {
	ctx := c.Request().Context()
	if h.cfg.Connect == nil {
		return echo.ErrNotFound
	}
	id, token := c.Param("id"), c.QueryParam("token")
	s, err := h.store.ConnectSession(ctx, id)
	if errors.Is(err, riscd.ErrNotFound) || err == nil && token == "" {
		h.log.WarnContext(ctx, "flowweb: connect link unknown", "has_token", token != "")
		return h.connectRefused(c, http.StatusNotFound, riscd.ConnectSession{}, "connect_unknown")
	}
	if err != nil {
		return h.internalError(c, "connect: read session", err)
	}
	features := slices.Clone(s.Features)
	for _, f := range features {
		if _, ok := h.cfg.Features[f]; !ok {
			return h.internalError(c, "connect: session names an unknown feature", errors.New("feature "+safeCode(f)))
		}
	}
	flow := riscd.Flow{
		ID:           newSecret(),
		State:        newSecret() + stateSep + riscd.Secret(s.ID),
		PKCEVerifier: riscd.Secret(oauth2.GenerateVerifier()),
		Nonce:        newSecret(),
		Features:     features,
		Scopes:       h.scopesFor(features),
		CreatedAt:    h.now(),
	}
	if wait := h.flows.take(flow.CreatedAt); wait > 0 {
		h.obs.Limited("flows")
		return h.tooBusy(c, http.StatusServiceUnavailable, wait, "too_many_flows",
			"riscd has too many sign-ins in progress right now.")
	}
	s, problem, err := h.cfg.Connect.StartConnect(ctx, id, riscd.Secret(token), flow)
	if err != nil {
		return h.internalError(c, "connect: start", err)
	}
	if problem != "" {
		h.log.WarnContext(ctx, "flowweb: connect link refused", "connect_id", s.ID, "problem", problem)
		return h.connectRefused(c, http.StatusBadRequest, s, "connect_"+problem)
	}
	h.log.InfoContext(ctx, "flowweb: connect session started", "connect_id", s.ID)
	h.setCookie(c, flowCookie, flow.ID.Reveal(), h.flowPath(), h.cfg.FlowTTL)
	return c.Redirect(http.StatusFound, h.authCodeURL(flow, s.LoginHint, ""))
}

// connectRefused shows why a connect link or answer cannot be used, with
// the way back to the app (status=error) when the session is known.
func (h *Handler) connectRefused(c echo.Context, status int, s riscd.ConnectSession, code string) error {
	v := messageView{
		Code:    code,
		Heading: "This connection cannot be finished",
		UserCan: "Go back to the app and connect again from there.",
	}
	switch code {
	case "connect_unknown":
		v.What = "The link is not one riscd gave out, or it was changed, or it is too old. Nothing was stored."
	case "connect_bad_token":
		v.What = "The link was changed: it does not carry the key riscd gave out with it. Nothing was stored."
	case "connect_expired":
		v.What = "The link is more than " + riscd.ConnectSessionTTL.String() + " old. Nothing was stored."
	case "connect_reused":
		v.What = "The link was already used: a link to connect an account works once, in one browser. Nothing was stored."
	case "connect_other_browser":
		v.What = "This answer belongs to a connection started in another browser, or it was already used. " +
			"Finish a connection in the browser that started it. Nothing was stored."
	default:
		v.What = "The connection ended before this answer came. Nothing was stored."
	}
	if s.ID != "" {
		v.Actions = []link{{Href: returnURL(s, riscd.ConnectError), Label: "Back to the app", Primary: true}}
	}
	return h.message(c, status, "", v)
}

// returnURL is the session's return_to with connect_id and status added
// to its query.
func returnURL(s riscd.ConnectSession, status riscd.ConnectStatus) string {
	u, err := url.Parse(s.ReturnTo)
	if err != nil { // checked when the session was made
		return ""
	}
	q := u.Query()
	q.Set("connect_id", s.ID)
	q.Set("status", string(status))
	u.RawQuery = q.Encode()
	return u.String()
}

// backToApp answers 303 to the session's return_to.
func backToApp(c echo.Context, s riscd.ConnectSession) error {
	return c.Redirect(http.StatusSeeOther, returnURL(s, s.Status))
}

// connectOfState finds the started connect session an answer's state
// belongs to: the id after stateSep, and the state's digest the one the
// session keeps. False when there is none.
func (h *Handler) connectOfState(ctx context.Context, state string) (riscd.ConnectSession, bool) {
	i := strings.LastIndex(state, stateSep)
	if h.cfg.Connect == nil || i < 0 {
		return riscd.ConnectSession{}, false
	}
	s, err := h.store.ConnectSession(ctx, state[i+1:])
	if err != nil || subtle.ConstantTimeCompare(riscd.IDDigest(riscd.Secret(state)), s.StateDigest) != 1 {
		return riscd.ConnectSession{}, false
	}
	return s, true
}

// refuseConnectAnswer ends, with status error, the connect session an
// answer that cannot be used belongs to, and shows the page that says so.
// False when the answer belongs to no connect session.
func (h *Handler) refuseConnectAnswer(c echo.Context, state, why string) (bool, error) {
	ctx := c.Request().Context()
	s, ok := h.connectOfState(ctx, state)
	if !ok {
		return false, nil
	}
	code := "other_browser"
	if why == "flow_expired" || s.Expired(h.now()) {
		code = "expired"
	}
	h.log.WarnContext(ctx, "flowweb: connect answer refused", "connect_id", s.ID, "why", why)
	return true, h.endRefused(c, s.ID, code)
}

// endRefused ends the connect session id with status error and code, and
// shows the page that says why.
func (h *Handler) endRefused(c echo.Context, id, code string) error {
	ended, err := h.cfg.Connect.EndConnect(c.Request().Context(), id, riscd.ConnectError, code)
	if err != nil {
		return h.internalError(c, "callback: end connect", err)
	}
	return h.connectRefused(c, http.StatusBadRequest, ended, "connect_"+code)
}

// finishConnect ends the connect session of flow with the provider's
// answer and sends the browser back to the app: status=connected with the
// consent saved, denied when the user refused, error for anything else
// (the app reads why from the companion API).
func (h *Handler) finishConnect(c echo.Context, flow riscd.Flow) error {
	ctx := c.Request().Context()
	end := func(status riscd.ConnectStatus, code string) error {
		s, err := h.cfg.Connect.EndConnect(ctx, flow.ConnectID, status, code)
		if err != nil {
			return h.internalError(c, "callback: end connect", err)
		}
		h.log.InfoContext(ctx, "flowweb: connect session ended", "connect_id", s.ID, "status", string(s.Status), "code", code)
		return backToApp(c, s)
	}
	if s, err := h.store.ConnectSession(ctx, flow.ConnectID); errors.Is(err, riscd.ErrNotFound) {
		h.log.InfoContext(ctx, "flowweb: connect answer for a session swept away", "connect_id", flow.ConnectID)
		return h.connectRefused(c, http.StatusBadRequest, riscd.ConnectSession{}, "connect_unknown")
	} else if err != nil {
		return h.internalError(c, "callback: read connect session", err)
	} else if s.Expired(h.now()) {
		h.log.InfoContext(ctx, "flowweb: connect answer after the session expired", "connect_id", s.ID)
		return h.endRefused(c, s.ID, "expired")
	}
	q := c.QueryParams()
	if code := q.Get("error"); code != "" {
		if code == "access_denied" {
			return end(riscd.ConnectDenied, code)
		}
		return end(riscd.ConnectError, safeCode(code))
	}
	code := q.Get("code")
	if code == "" {
		return end(riscd.ConnectError, "no_code")
	}
	tok, err := h.oauthConfig(flow.Scopes).Exchange(h.oauthContext(ctx), code,
		oauth2.VerifierOption(flow.PKCEVerifier.Reveal()))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode != "" {
			return end(riscd.ConnectError, safeCode(re.ErrorCode))
		}
		h.log.ErrorContext(ctx, "flowweb: code exchange failed", "err", redactRetrieve(err))
		return end(riscd.ConnectError, "token_endpoint_unavailable")
	}
	cs, err := h.verifyAnswer(ctx, tok, flow)
	if err != nil {
		h.log.WarnContext(ctx, "flowweb: token answer rejected", "err", err)
		return end(riscd.ConnectError, "bad_id_token")
	}
	s, err := h.cfg.Connect.ConnectConsent(ctx, flow.ConnectID, riscd.Grant{
		Sub: cs.sub, Email: cs.email, EmailVerified: cs.emailOK, Scopes: cs.scopes,
		RefreshToken: cs.refresh, AccessToken: cs.access, TokenType: cs.tokenType,
		Expiry: cs.expiry, IDTokenExp: cs.idTokenExpAt,
	})
	var sd interface{ SigninDisabled() bool }
	var ce interface{ ConnectEnded() bool }
	switch {
	case errors.As(err, &sd) && sd.SigninDisabled():
		h.log.WarnContext(ctx, "flowweb: connect refused: sign-in disabled after a security event", "sub", cs.sub)
		return end(riscd.ConnectError, "signin_disabled")
	case errors.As(err, &ce) && ce.ConnectEnded():
		return h.connectRefused(c, http.StatusBadRequest, s, "connect_ended")
	case err != nil:
		return h.internalError(c, "callback: connect consent", err)
	}
	h.log.InfoContext(ctx, "flowweb: connect session connected", "connect_id", s.ID, "sub", s.Sub, "grant", s.GrantID,
		"scopes", len(s.Scopes), "refresh_token_received", !cs.refresh.IsZero())
	return backToApp(c, s)
}
