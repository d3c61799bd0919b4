package flowweb

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/riscd/riscd"
	"golang.org/x/oauth2"
)

// authorize starts a consent: it records the flow server-side (state, PKCE
// verifier, nonce, requested scopes), points the flow cookie at it and
// redirects (302) to the authorization endpoint.
//
// Query: features=a,b chooses the features to ask for (absent: all of them;
// empty: none); login_hint and prompt are passed on after validation. A
// signed-in user's sub is the default login_hint.
func (h *Handler) authorize(c echo.Context) error {
	q := c.QueryParams()
	for _, name := range []string{"features", "login_hint", "prompt"} {
		if len(q[name]) > 1 {
			return h.badAuthorize(c, "The "+name+" parameter appears more than once.")
		}
	}
	features, ok := h.parseFeatures(q)
	if !ok {
		return h.badAuthorize(c, "The link names a feature riscd does not have.")
	}
	prompt, hint := q.Get("prompt"), q.Get("login_hint")
	if h.cfg.Provider == ProviderOIDC {
		if err := ValidateOIDCPrompt(prompt); err != nil {
			return h.badAuthorize(c, "The prompt parameter is not valid: use none alone, or login, consent and select_account separated by spaces.")
		}
	} else if err := ValidatePrompt(prompt); err != nil {
		return h.badAuthorize(c, "The prompt parameter is not valid: use none alone, or consent and select_account separated by a space.")
	}
	if err := ValidateLoginHint(hint); err != nil {
		return h.badAuthorize(c, "The login_hint parameter is not a valid email address or "+h.cfg.ProviderName+" account ID.")
	}
	s, signed, err := h.currentSession(c)
	if err != nil {
		return h.internalError(c, "authorize: session", err)
	}
	flow := riscd.Flow{
		ID:           newSecret(),
		State:        newSecret(),
		PKCEVerifier: riscd.Secret(oauth2.GenerateVerifier()),
		Nonce:        newSecret(),
		Features:     features,
		Scopes:       h.scopesFor(features),
		CreatedAt:    h.now(),
	}
	if signed {
		flow.Sub = s.Sub
		if hint == "" {
			hint = s.Sub
		}
		if h.cfg.Provider == ProviderOIDC {
			// A standard provider has no include_granted_scopes: the
			// grant it answers with holds what was asked, so riscd asks
			// again for what the current grant holds.
			g, live, err := h.currentGrant(c.Request().Context(), s.Sub)
			if err != nil {
				return h.internalError(c, "authorize: grant", err)
			}
			if live {
				flow.Scopes = mergeScopes(flow.Scopes, g.Scopes)
			}
		}
	}
	if wait := h.flows.take(flow.CreatedAt); wait > 0 {
		h.obs.Limited("flows")
		h.log.WarnContext(c.Request().Context(), "flowweb: too many consent flows pending; refused a new one", "max_pending_flows", h.cfg.MaxPendingFlows)
		return h.tooBusy(c, http.StatusServiceUnavailable, wait, "too_many_flows",
			"riscd has too many sign-ins in progress right now.")
	}
	if err := h.store.CreateFlow(c.Request().Context(), flow); err != nil {
		return h.internalError(c, "authorize: create flow", err)
	}
	h.setCookie(c, flowCookie, flow.ID.Reveal(), h.flowPath(), h.cfg.FlowTTL)
	return c.Redirect(http.StatusFound, h.authCodeURL(flow, hint, prompt))
}

// authCodeURL builds the authorization request of flow. Google is asked
// for a refresh token with access_type=offline and keeps earlier grants with
// include_granted_scopes; a standard OpenID provider is asked with the
// offline_access scope (scopesFor adds it), which OpenID Connect Core 1.0
// §11 lets a provider ignore unless prompt holds consent: consent is added
// to every prompt but none (a silent request cannot show consent).
func (h *Handler) authCodeURL(flow riscd.Flow, hint, prompt string) string {
	opts := []oauth2.AuthCodeOption{
		oauth2.S256ChallengeOption(flow.PKCEVerifier.Reveal()),
		oauth2.SetAuthURLParam("nonce", flow.Nonce.Reveal()),
	}
	if h.cfg.Provider == ProviderOIDC {
		if prompt != "none" && !slices.Contains(strings.Fields(prompt), "consent") {
			prompt = strings.TrimSpace(prompt + " consent")
		}
	} else {
		opts = append(opts, oauth2.AccessTypeOffline,
			oauth2.SetAuthURLParam("include_granted_scopes", "true"))
	}
	if hint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", hint))
	}
	if prompt != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", prompt))
	}
	return h.oauthConfig(flow.Scopes).AuthCodeURL(flow.State.Reveal(), opts...)
}

// parseFeatures reads features=a,b: absent means every feature, empty
// means none. False when a name is unknown.
func (h *Handler) parseFeatures(q url.Values) ([]string, bool) {
	raw, given := q["features"]
	if !given {
		return slices.Clone(h.features), true
	}
	var out []string
	for _, n := range strings.Split(raw[0], ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if _, ok := h.cfg.Features[n]; !ok {
			return nil, false
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, true
}

// scopesFor is "openid email" (and offline_access for ProviderOIDC), the
// configured scopes, then the features' scopes, without duplicates.
func (h *Handler) scopesFor(features []string) []string {
	out := slices.Clone(baseScopes)
	if h.cfg.Provider == ProviderOIDC {
		out = append(out, offlineAccessScope)
	}
	add := func(sc string) {
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	for _, sc := range h.cfg.Scopes {
		add(sc)
	}
	for _, n := range features {
		add(h.cfg.Features[n].Scope)
	}
	return out
}

// mergeScopes is a followed by the scopes of b it lacks.
func mergeScopes(a, b []string) []string {
	out := slices.Clone(a)
	for _, sc := range b {
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

// badAuthorize answers 400 for a malformed /authorize link.
func (h *Handler) badAuthorize(c echo.Context, what string) error {
	return h.message(c, http.StatusBadRequest, "", messageView{
		Code:    "bad_authorize_request",
		Heading: "This sign-in link is not valid",
		What:    what,
		UserCan: "Start again from riscd's front page.",
		Back:    true,
	})
}
