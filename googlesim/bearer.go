package googlesim

import (
	"net/http"
	"slices"
	"strings"
)

// bearer finds the live access token of a request's Authorization header.
// On failure it has already written Google's 401 answer.
func (s *Server) bearer(w http.ResponseWriter, r *http.Request) (issuedToken, bool) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(h, "bearer ")
	}
	var t issuedToken
	if ok && tok != "" {
		s.mu.Lock()
		it, found := s.state.tokens[tok]
		if found && it.kind == accessToken && s.now().Before(it.expires) {
			t = *it
		}
		s.mu.Unlock()
	}
	if t.kind == 0 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
		writeAPIError(w, http.StatusUnauthorized,
			"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
			"UNAUTHENTICATED",
			[]apiErrorDetail{{Message: "Invalid Credentials", Domain: "global", Reason: "authError", Location: "Authorization", LocationType: "header"}})
		return issuedToken{}, false
	}
	return t, true
}

// requireScope answers Google's 403 when the token holds none of the
// scopes accepted by ok.
func requireScope(w http.ResponseWriter, t issuedToken, ok func(string) bool) bool {
	if slices.ContainsFunc(t.scopes, ok) {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="insufficient_scope"`)
	writeAPIError(w, http.StatusForbidden, "Request had insufficient authentication scopes.", "PERMISSION_DENIED",
		[]apiErrorDetail{{Message: "Insufficient Permission", Domain: "global", Reason: "insufficientPermissions"}})
	return false
}
