package googlesim

import "net/http"

// handleRevoke is the revocation endpoint. The token comes from the form
// body or the query (?token=); revoking any live token of a grant ends the
// whole grant. Unknown, revoked and expired tokens answer 400 invalid_token.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		oauthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: descBadRequest}.write(w)
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
