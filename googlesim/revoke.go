package googlesim

import "net/http"

// handleRevoke is the revocation endpoint. Like an RFC 7009 server it first
// authenticates the confidential client (§2.1: as at the token endpoint,
// client_secret_basic or client_secret_post): a request without the
// client's credentials answers 401 invalid_client (§2.2.1, RFC 6749 §5.2),
// a wrong secret 401 invalid_client. The token comes from the form body or
// the query (?token=); revoking any live token of a grant ends the whole
// grant. Unknown, revoked and expired tokens answer 400 invalid_token, as
// Google does.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		oauthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: descBadRequest}.write(w)
		return
	}
	if e := s.authenticateRevoker(r); e != nil {
		s.log.InfoContext(r.Context(), "googlesim: revoke: client rejected", "error", e.Code)
		e.write(w)
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		tok = r.URL.Query().Get("token")
	}
	if tok == "" {
		oauthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "Missing required parameter: token"}.write(w)
		return
	}
	s.mu.Lock()
	t, ok := s.state.tokens[tok]
	live := ok && (t.kind == refreshToken || s.now().Before(t.expires))
	if live {
		s.revokeGrantLocked(t.sub)
		s.stats.Revocations++
	}
	s.mu.Unlock()
	if !live {
		oauthError{Status: http.StatusBadRequest, Code: "invalid_token", Description: "Token expired or revoked"}.write(w)
		return
	}
	s.log.InfoContext(r.Context(), "googlesim: grant revoked", "sub", t.sub)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// authenticateRevoker is authenticateClient for the revocation endpoint,
// where a request that carries no client credentials at all is an
// authentication failure: 401 invalid_client.
func (s *Server) authenticateRevoker(r *http.Request) *oauthError {
	if _, _, basic := r.BasicAuth(); !basic && r.PostForm.Get("client_id") == "" {
		return &oauthError{Status: http.StatusUnauthorized, Code: "invalid_client", Description: "Client authentication is required."}
	}
	return s.authenticateClient(r)
}
