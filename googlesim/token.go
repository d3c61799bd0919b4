package googlesim

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// tokenAnswer is the token endpoint's success body.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
	TokenType    string `json:"token_type"`
	IDToken      string `json:"id_token,omitempty"`
}

// Google's token-endpoint error descriptions.
const (
	descBadRequest     = "Bad Request"
	descExpiredRevoked = "Token has been expired or revoked."
)

// handleToken is the token endpoint: client authentication, then the
// authorization_code or refresh_token grant.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		oauthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: descBadRequest}.write(w)
		return
	}
	f := r.PostForm
	grantType := f.Get("grant_type")
	s.mu.Lock()
	s.stats.TokenRequests[grantType]++
	s.mu.Unlock()
	if e := s.authenticateClient(r); e != nil {
		s.log.InfoContext(r.Context(), "googlesim: token: client rejected", "error", e.Code)
		e.write(w)
		return
	}
	s.mu.Lock()
	injected, ok := s.takeTokenErrorLocked(grantType)
	s.mu.Unlock()
	if ok {
		oauthError{Status: injected.Status, Code: injected.Code, Description: injected.Description, Subtype: injected.Subtype}.write(w)
		return
	}
	var (
		ans *tokenAnswer
		e   *oauthError
	)
	switch grantType {
	case "authorization_code":
		ans, e = s.exchangeCode(f)
	case "refresh_token":
		ans, e = s.refresh(f)
	case "":
		e = &oauthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "Missing required parameter: grant_type"}
	default:
		e = &oauthError{Status: http.StatusBadRequest, Code: "unsupported_grant_type", Description: "Invalid grant_type: " + grantType}
	}
	if e != nil {
		s.log.InfoContext(r.Context(), "googlesim: token: refused", "grant_type", grantType, "error", e.Code)
		e.write(w)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, ans)
}

// authenticateClient accepts client_secret_basic or client_secret_post, not
// both at once.
func (s *Server) authenticateClient(r *http.Request) *oauthError {
	f := r.PostForm
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return &oauthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: descBadRequest}
		}
		if f.Get("client_secret") != "" || (f.Get("client_id") != "" && f.Get("client_id") != id) {
			return &oauthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "Client authentication must use one method only."}
		}
	} else {
		id, secret = f.Get("client_id"), f.Get("client_secret")
	}
	switch {
	case id == "":
		return &oauthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "Could not determine client ID from request."}
	case id != s.cfg.ClientID:
		return &oauthError{Status: http.StatusUnauthorized, Code: "invalid_client", Description: "The OAuth client was not found."}
	case subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.ClientSecret)) != 1:
		return &oauthError{Status: http.StatusUnauthorized, Code: "invalid_client", Description: "Unauthorized"}
	}
	return nil
}

func invalidGrant(desc string) *oauthError {
	return &oauthError{Status: http.StatusBadRequest, Code: "invalid_grant", Description: desc}
}

// exchangeCode is the authorization_code grant. A code works once; a second
// use revokes what the first one issued.
func (s *Server) exchangeCode(f url.Values) (*tokenAnswer, *oauthError) {
	code := f.Get("code")
	if code == "" {
		return nil, &oauthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "Missing required parameter: code"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.state.codes[code]
	switch {
	case !ok && !strings.HasPrefix(code, "4/"):
		return nil, invalidGrant("Malformed auth code.")
	case !ok:
		return nil, invalidGrant(descBadRequest)
	case c.used:
		s.stats.CodeReplays++
		s.state.dead[code] = true
		n := s.killCodeDescendantsLocked(code)
		s.log.Warn("googlesim: authorization code replayed", "tokens_revoked", n)
		return nil, invalidGrant(descBadRequest)
	case !s.now().Before(c.expires):
		delete(s.state.codes, code)
		return nil, invalidGrant(descBadRequest)
	case f.Get("redirect_uri") != c.redirectURI:
		return nil, &oauthError{Status: http.StatusBadRequest, Code: "redirect_uri_mismatch", Description: descBadRequest}
	}
	if c.challenge != "" {
		v := f.Get("code_verifier")
		if v == "" {
			return nil, invalidGrant("Missing code verifier.")
		}
		if !pkceMatches(c.method, c.challenge, v) {
			return nil, invalidGrant("Invalid code verifier.")
		}
	}
	c.used = true
	s.stats.CodeExchanges++
	return s.answerLocked(c.sub, c.scopes, code, c.nonce, c.refresh)
}

// pkceMatches checks a code verifier against the stored challenge.
func pkceMatches(method, challenge, verifier string) bool {
	want := verifier
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		want = b64.EncodeToString(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// refresh is the refresh_token grant: a new access token, no new refresh
// token. An optional scope parameter narrows the access token.
func (s *Server) refresh(f url.Values) (*tokenAnswer, *oauthError) {
	rt := f.Get("refresh_token")
	if rt == "" {
		return nil, &oauthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "Missing required parameter: refresh_token"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.state.tokens[rt]
	switch {
	case s.state.dead[rt]:
		return nil, invalidGrant(descExpiredRevoked)
	case !ok || t.kind != refreshToken:
		return nil, invalidGrant(descBadRequest)
	}
	scopes := t.scopes
	if want := strings.Fields(f.Get("scope")); len(want) > 0 {
		for _, sc := range want {
			if !slices.Contains(t.scopes, sc) {
				return nil, &oauthError{Status: http.StatusBadRequest, Code: "invalid_scope", Description: "Some requested scopes were invalid: " + sc}
			}
		}
		scopes = want
	}
	s.state.refresh[rt]++
	s.stats.Refreshes++
	return s.answerLocked(t.sub, scopes, t.code, "", false)
}

// answerLocked mints the tokens of a successful grant: an access token, a
// refresh token when withRefresh, an ID token when openid is granted.
func (s *Server) answerLocked(sub string, scopes []string, code, nonce string, withRefresh bool) (*tokenAnswer, *oauthError) {
	ans := &tokenAnswer{
		AccessToken: s.issueAccessLocked(sub, scopes, code),
		ExpiresIn:   int(s.cfg.AccessTokenTTL.Seconds()),
		Scope:       strings.Join(scopes, " "),
		TokenType:   "Bearer",
	}
	if withRefresh {
		ans.RefreshToken = s.issueRefreshLocked(s.grantLocked(sub), scopes, code)
	}
	if slices.Contains(scopes, "openid") {
		idt, err := s.idTokenLocked(sub, scopes, nonce, ans.AccessToken)
		if err != nil {
			s.log.Error("googlesim: id token", "err", err)
			return nil, &oauthError{Status: http.StatusInternalServerError, Code: "internal_failure", Description: "Backend Error"}
		}
		ans.IDToken = idt
	}
	return ans, nil
}
