package flowweb

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// oauthErrorPage is what riscd tells about one OAuth error code.
type oauthErrorPage struct {
	status      int
	heading     string
	what        string
	userCan     string
	operatorCan string
}

// oidcOperatorCan replaces operator advice that names Google's console when
// the provider is a standard OpenID provider.
var oidcOperatorCan = map[string]string{
	"admin_policy_enforced": "Ask the provider's administrator to allow client ID %s and the scopes it asks for.",
	"org_internal":          "Ask the provider's administrator which accounts client ID %s accepts.",
	"invalid_client":        "Check google.client_secrets_file: the client ID (%s) and secret must be those registered at the provider, and restart riscd.",
	"redirect_uri_mismatch": "Register exactly %s (scheme, host, port, path, no trailing slash) as a redirect URI of the client at the provider.",
}

// oauthErrorPages covers the error codes of RFC 6749 §4.1.2.1 and §5.2,
// those Google's endpoints add, and OpenID Connect Core 1.0 §3.1.2.6's. %s in
// operatorCan is replaced by the redirect URI or client ID where that helps;
// "Google" is replaced by the provider's name (Config.ProviderName) when the
// provider is not Google, and advice naming Google's console by oidcOperatorCan.
var oauthErrorPages = map[string]oauthErrorPage{
	"login_required": {http.StatusUnauthorized,
		"Please sign in to Google first",
		"riscd asked Google not to show any page (prompt=none), but you are not signed in to Google in this browser, so Google could not answer. Nothing was stored.",
		"Connect again: Google will ask you to sign in.",
		"Links that carry prompt=none only work for a user already signed in to the provider; leave prompt out to let the provider show its sign-in page."},
	"interaction_required": {http.StatusUnauthorized,
		"Google needs to ask you something first",
		"Google has to show you a page (a sign-in step, a choice or a confirmation) before it can answer, but riscd asked it not to (prompt=none). Nothing was stored.",
		"Connect again: Google will show what it needs.",
		"Links that carry prompt=none cannot complete when the provider must interact with the user; leave prompt out."},
	"account_selection_required": {http.StatusUnauthorized,
		"Choose an account",
		"You are signed in to Google with more than one account, and riscd asked Google not to show the account chooser (prompt=none). Nothing was stored.",
		"Connect again and pick the account you want riscd to protect.",
		"Links that carry prompt=none fail for users with several sessions at the provider; use prompt=select_account instead."},
	"consent_required": {http.StatusUnauthorized,
		"Your consent is needed",
		"You have not yet allowed riscd what it asks for, and riscd asked Google not to show the consent page (prompt=none). Nothing was stored.",
		"Connect again: Google will show what riscd asks for, and you decide.",
		"Links that carry prompt=none only work once the user has consented; leave prompt out for a first consent."},
	"access_denied": {http.StatusForbidden,
		"You did not allow access",
		"You pressed Deny (or unticked everything) on Google's consent screen, so riscd received no grant. Nothing was changed.",
		"Connect again whenever you are ready; you can choose which features to allow.",
		""},
	"admin_policy_enforced": {http.StatusForbidden,
		"Your administrator blocks this app",
		"Your account's administrator does not allow it to grant riscd one or more of the requested scopes.",
		"Ask your account's administrator to allow riscd, or connect with another account.",
		"Ask the Workspace administrator to trust the OAuth client (Admin console: Security > Access and data control > API controls > App access control) for client ID %s."},
	"disallowed_useragent": {http.StatusForbidden,
		"Open this page in your browser",
		"Google does not allow signing in from an embedded browser (an app's built-in web view).",
		"Open riscd in your device's regular browser (Chrome, Safari, Firefox...) and connect from there.",
		""},
	"org_internal": {http.StatusForbidden,
		"This app is limited to one organization",
		"riscd's OAuth client only accepts accounts of its own organization, and yours is not one of them.",
		"Connect with an account of that organization.",
		"If outside accounts should be able to connect, set the OAuth consent screen's user type to External in the Google Cloud console."},
	"invalid_client": {http.StatusBadGateway,
		"riscd's OAuth client was refused",
		"Google did not accept riscd's OAuth client ID or secret.",
		"Nothing you can fix: tell the operator. Nothing was stored.",
		"Check google.client_secrets_file: download the client's JSON again from the Google Cloud console (Clients page) for client ID %s, and restart riscd."},
	"invalid_grant": {http.StatusBadRequest,
		"This sign-in expired",
		"The authorization was already used, had expired, or did not match this request, so Google would not exchange it. Nothing was stored.",
		"Start again: connect once more.",
		"If this keeps happening, check that riscd's clock is right and that only one riscd answers at this address."},
	"redirect_uri_mismatch": {http.StatusBadGateway,
		"riscd's redirect URI is not registered",
		"Google refused the request because riscd's redirect URI is not registered on its OAuth client.",
		"Nothing you can fix: tell the operator.",
		"Add exactly %s (scheme, host, port, path, no trailing slash) to the OAuth client's authorized redirect URIs in the Google Cloud console, download the client JSON again and restart riscd."},
	"invalid_request": {http.StatusBadGateway,
		"Google refused the request",
		"Google found riscd's request malformed or unsupported.",
		"Try again; tell the operator if it keeps happening.",
		"riscd's log has the request's outcome. Check google.scopes and the features' scopes for typos."},
	"invalid_scope": {http.StatusBadGateway,
		"A requested permission does not exist",
		"Google did not recognise one of the scopes riscd asked for.",
		"Tell the operator.",
		"Check google.scopes and the features' scopes in riscd's configuration."},
}

// genericOAuthError is the page for codes not listed above.
var genericOAuthError = oauthErrorPage{http.StatusBadGateway,
	"Google did not complete the sign-in",
	"Google answered with an error instead of a grant. Nothing was stored.",
	"Try again; tell the operator if it keeps happening.",
	"riscd's log records the error code."}

// renderOAuthError shows the page for an OAuth error code that came back on
// the callback (?error=) or from the token endpoint.
func (h *Handler) renderOAuthError(c echo.Context, code string) error {
	p, ok := oauthErrorPages[code]
	if !ok {
		p = genericOAuthError
		code = safeCode(code)
	}
	op := p.operatorCan
	if alt, ok := oidcOperatorCan[code]; ok && h.cfg.Provider != ProviderGoogle {
		op = alt
	}
	switch code {
	case "admin_policy_enforced", "invalid_client", "org_internal":
		op = strings.Replace(op, "%s", h.cfg.ClientID, 1)
	case "redirect_uri_mismatch":
		op = strings.Replace(op, "%s", h.redirectURI, 1)
	}
	v := messageView{
		Code: code, Heading: p.heading, What: p.what, UserCan: p.userCan, OperatorCan: op,
		Actions: []link{{Href: h.base + "/authorize", Label: "Connect again", Primary: true}},
		Back:    true,
	}
	if !ok {
		v.What = "Google answered with the error “" + code + "” instead of a grant. Nothing was stored."
	}
	return h.message(c, p.status, "", v)
}

// safeCode keeps an unknown error code only when it looks like one
// (a-z, 0-9 and '_', at most 64 characters).
func safeCode(code string) string {
	if code == "" || len(code) > 64 {
		return "unknown"
	}
	for _, r := range code {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return "unknown"
		}
	}
	return code
}

// named puts the provider's name where a page's text says Google: the
// pages are written for Google, the default provider, and message applies
// this to every page. Configuration keys (google.issuer) are lower case and
// stay as they are.
func (h *Handler) named(s string) string {
	if h.cfg.ProviderName == "Google" {
		return s
	}
	return strings.ReplaceAll(s, "Google", h.cfg.ProviderName)
}
