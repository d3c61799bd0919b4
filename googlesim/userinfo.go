package googlesim

import (
	"net/http"
	"slices"
)

// handleUserinfo serves the OpenID userinfo endpoint for a bearer access
// token with an identity scope.
func (s *Server) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	t, ok := s.bearer(w, r)
	if !ok || !requireScope(w, t, identityScope) {
		return
	}
	u, _ := s.lookupUser(t.sub)
	out := map[string]any{"sub": u.Sub}
	if slices.Contains(t.scopes, "email") || slices.Contains(t.scopes, "https://www.googleapis.com/auth/userinfo.email") {
		out["email"], out["email_verified"] = u.Email, !u.EmailUnverified
	}
	if slices.Contains(t.scopes, "profile") || slices.Contains(t.scopes, "https://www.googleapis.com/auth/userinfo.profile") {
		out["name"] = u.Name
	}
	writeJSON(w, http.StatusOK, out)
}
