package googlesim

import (
	"net/http"
	"slices"
)

// sessionCookie names the browser's sign-in cookie.
const sessionCookie = "GSIM_SID"

// sessionFor returns the accounts the requesting browser has signed in with.
func (s *Server) sessionFor(r *http.Request) []string {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if se, ok := s.state.sessions[c.Value]; ok {
		return slices.Clone(se.users)
	}
	return nil
}

// signIn records that the browser has signed in with sub, creating its
// session cookie when needed.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, sub string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, err := r.Cookie(sessionCookie); err == nil {
		if se, ok := s.state.sessions[c.Value]; ok {
			if !se.has(sub) {
				se.users = append(se.users, sub)
			}
			return
		}
	}
	id := randomURL(24)
	s.state.sessions[id] = &session{users: []string{sub}}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

// SignOut forgets every browser session, as if all users signed out of
// Google: the next authorization request shows the account chooser, and
// prompt=none answers login_required. Grants are kept.
func (s *Server) SignOut() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.state.sessions)
}
