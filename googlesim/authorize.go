package googlesim

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// authRequest is a validated authorization request.
type authRequest struct {
	redirectURI    string
	state          string
	nonce          string
	loginHint      string
	scopes         []string // requested, deduplicated, in request order
	promptNone     bool
	promptConsent  bool
	promptSelect   bool
	offline        bool
	includeGranted bool
	challenge      string
	method         string
}

// authFailure is a rejected authorization request: shown as an error page
// when redirecting is unsafe, sent back to the client otherwise.
type authFailure struct {
	page        bool
	code        string
	description string
}

var pkceChallenge = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// parseAuthRequest validates q in Google's order: client, redirect URI (both
// page errors), then everything else (redirect errors).
func (s *Server) parseAuthRequest(q url.Values) (authRequest, *authFailure) {
	var req authRequest
	single := func(name string) (string, bool) {
		v := q[name]
		if len(v) > 1 {
			return "", false
		}
		if len(v) == 0 {
			return "", true
		}
		return v[0], true
	}
	page := func(code, desc string) *authFailure { return &authFailure{page: true, code: code, description: desc} }
	back := func(code, desc string) *authFailure { return &authFailure{code: code, description: desc} }

	clientID, ok := single("client_id")
	switch {
	case !ok:
		return req, page("invalid_request", "Parameter not allowed more than once: client_id")
	case clientID == "":
		return req, page("invalid_request", "Missing required parameter: client_id")
	case clientID != s.cfg.ClientID:
		return req, page("invalid_client", "The OAuth client was not found.")
	}
	redirectURI, ok := single("redirect_uri")
	switch {
	case !ok:
		return req, page("invalid_request", "Parameter not allowed more than once: redirect_uri")
	case redirectURI == "":
		return req, page("invalid_request", "Missing required parameter: redirect_uri")
	case !s.redirectRegistered(redirectURI):
		return req, page("redirect_uri_mismatch", "The redirect_uri does not match a redirect URI registered for the OAuth client.")
	}
	req.redirectURI = redirectURI
	req.state = q.Get("state")

	for name, v := range q {
		if len(v) > 1 {
			return req, back("invalid_request", "Parameter not allowed more than once: "+name)
		}
	}
	if rt := q.Get("response_type"); rt != "code" {
		if rt == "" {
			return req, back("invalid_request", "Missing required parameter: response_type")
		}
		return req, back("invalid_request", "Invalid response_type: "+rt)
	}
	for _, sc := range strings.Fields(q.Get("scope")) {
		if !slices.Contains(req.scopes, sc) {
			req.scopes = append(req.scopes, sc)
		}
	}
	if len(req.scopes) == 0 {
		return req, back("invalid_request", "Missing required parameter: scope")
	}
	for _, sc := range req.scopes {
		if !knownScope(sc) {
			return req, back("invalid_scope", "Some requested scopes were invalid: "+sc)
		}
	}
	if f := parsePrompt(q.Get("prompt"), &req); f != nil {
		return req, f
	}
	switch q.Get("access_type") {
	case "", "online":
	case "offline":
		req.offline = true
	default:
		return req, back("invalid_request", "Invalid access_type: "+q.Get("access_type"))
	}
	switch q.Get("include_granted_scopes") {
	case "", "false":
	case "true":
		req.includeGranted = true
	default:
		return req, back("invalid_request", "Invalid include_granted_scopes: "+q.Get("include_granted_scopes"))
	}
	req.challenge, req.method = q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case req.challenge == "" && req.method != "":
		return req, back("invalid_request", "Missing required parameter: code_challenge")
	case req.challenge == "":
	case req.method == "":
		req.method = "plain" // RFC 7636 §4.3
		fallthrough
	case req.method == "S256" || req.method == "plain":
		if !pkceChallenge.MatchString(req.challenge) {
			return req, back("invalid_request", "Invalid code_challenge")
		}
	default:
		return req, back("invalid_request", "Invalid code_challenge_method: "+req.method)
	}
	req.nonce = q.Get("nonce")
	req.loginHint = q.Get("login_hint")
	return req, nil
}

// parsePrompt reads the space-separated, case-sensitive prompt list.
func parsePrompt(raw string, req *authRequest) *authFailure {
	words := strings.Fields(raw)
	for _, w := range words {
		switch w {
		case "none":
			req.promptNone = true
		case "consent":
			req.promptConsent = true
		case "select_account":
			req.promptSelect = true
		default:
			return &authFailure{code: "invalid_request", description: "Invalid prompt: " + raw}
		}
	}
	if req.promptNone && len(words) > 1 {
		return &authFailure{code: "invalid_request", description: "Invalid prompt: none must be alone"}
	}
	return nil
}

// knownScope accepts the OpenID scopes and Google API scope URLs.
func knownScope(sc string) bool {
	switch sc {
	case "openid", "email", "profile":
		return true
	}
	return strings.HasPrefix(sc, "https://www.googleapis.com/auth/") && len(sc) > len("https://www.googleapis.com/auth/")
}

// identityScope reports whether sc is shown as identity and always granted.
func identityScope(sc string) bool {
	switch sc {
	case "openid", "email", "profile",
		"https://www.googleapis.com/auth/userinfo.email", "https://www.googleapis.com/auth/userinfo.profile":
		return true
	}
	return false
}

func (s *Server) redirectRegistered(uri string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.redirects[uri]
}

// handleAuthorize is the authorization endpoint: validate, then either
// answer at once (an error, prompt=none, an earlier consent that covers the
// request) or show the consent page.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	req, fail := s.parseAuthRequest(r.URL.Query())
	if fail != nil {
		s.log.InfoContext(r.Context(), "googlesim: authorization request rejected", "error", fail.code, "page", fail.page)
		if fail.page {
			s.renderErrorPage(w, r, fail.code, fail.description)
			return
		}
		redirectError(w, r, req, fail.code, fail.description)
		return
	}
	if code := s.forcedAuthError(); code != "" {
		redirectError(w, r, req, code, "")
		return
	}
	se := s.sessionFor(r)
	user, known := s.preselect(req, se)
	if req.promptNone {
		s.answerSilently(w, r, req, se, user, known)
		return
	}
	if known && !req.promptConsent && !req.promptSelect && s.covered(user.Sub, req.scopes) {
		s.approve(w, r, req, user, req.scopes, "none")
		return
	}
	s.renderConsentPage(w, r, req, se, user, known)
}

// answerSilently answers prompt=none without showing anything.
func (s *Server) answerSilently(w http.ResponseWriter, r *http.Request, req authRequest, se []string, user User, known bool) {
	switch {
	case len(se) == 0:
		redirectError(w, r, req, "login_required", "")
	case !known:
		redirectError(w, r, req, "interaction_required", "")
	case !s.covered(user.Sub, req.scopes):
		redirectError(w, r, req, "consent_required", "")
	default:
		s.approve(w, r, req, user, req.scopes, "none")
	}
}

// preselect picks the account the request is for: the login_hint user when
// this browser has signed in with it, else the browser's only account. The
// consent page preselects a login_hint user even when not signed in.
func (s *Server) preselect(req authRequest, signedIn []string) (User, bool) {
	if req.loginHint != "" {
		u, ok := s.lookupUser(req.loginHint)
		if ok && slices.Contains(signedIn, u.Sub) {
			return u, true
		}
		return User{}, false
	}
	if len(signedIn) == 1 {
		return s.lookupUser(signedIn[0])
	}
	return User{}, false
}

// covered reports whether the user's grant already holds scopes.
func (s *Server) covered(sub string, scopes []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.state.grants[sub]
	return ok && g.covers(scopes)
}

func (s *Server) forcedAuthError() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.switches.authError
}

// redirectError sends the browser back to the client with ?error=.
func redirectError(w http.ResponseWriter, r *http.Request, req authRequest, code, desc string) {
	v := url.Values{"error": {code}}
	if desc != "" {
		v.Set("error_description", desc)
	}
	if req.state != "" {
		v.Set("state", req.state)
	}
	redirectTo(w, r, req.redirectURI, v)
}

// redirectTo redirects to the registered URI with v added to its query.
func redirectTo(w http.ResponseWriter, r *http.Request, base string, v url.Values) {
	u, err := url.Parse(base)
	if err != nil { // registered URIs were checked on the way in
		http.Error(w, "bad redirect URI", http.StatusInternalServerError)
		return
	}
	q := u.Query()
	for k, vals := range v {
		q[k] = vals
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, u.String(), http.StatusFound)
}
