package googlesim

import (
	"fmt"
	"slices"
)

// The helpers below run with s.mu held.

// grantLocked returns the user's grant, creating an empty one.
func (s *Server) grantLocked(sub string) *grant {
	g, ok := s.state.grants[sub]
	if !ok {
		g = &grant{sub: sub, scopes: map[string]bool{}}
		s.state.grants[sub] = g
	}
	return g
}

// issueAccessLocked mints an access token for sub with scopes.
func (s *Server) issueAccessLocked(sub string, scopes []string, code string) string {
	tok := "ya29.a0" + randomURL(96)
	s.state.tokens[tok] = &issuedToken{
		kind: accessToken, sub: sub, scopes: scopes, code: code,
		expires: s.now().Add(s.cfg.AccessTokenTTL),
	}
	return tok
}

// issueRefreshLocked mints a refresh token shaped like Google's (1//...) and
// retires the grant's oldest ones past MaxRefreshTokens.
func (s *Server) issueRefreshLocked(g *grant, scopes []string, code string) string {
	tok := "1//0" + randomURL(75)
	s.state.tokens[tok] = &issuedToken{kind: refreshToken, sub: g.sub, scopes: scopes, code: code}
	g.refresh = append(g.refresh, tok)
	g.offline = true
	for len(g.refresh) > s.cfg.MaxRefreshTokens {
		s.killTokenLocked(g.refresh[0])
	}
	return tok
}

// killTokenLocked revokes one token.
func (s *Server) killTokenLocked(tok string) {
	t, ok := s.state.tokens[tok]
	if !ok {
		return
	}
	delete(s.state.tokens, tok)
	s.state.dead[tok] = true
	if t.kind == refreshToken {
		if g, ok := s.state.grants[t.sub]; ok {
			g.refresh = slices.DeleteFunc(g.refresh, func(v string) bool { return v == tok })
		}
	}
}

// revokeGrantLocked ends the user's grant: every token, every unused code.
func (s *Server) revokeGrantLocked(sub string) {
	for tok, t := range s.state.tokens {
		if t.sub == sub {
			s.killTokenLocked(tok)
		}
	}
	for code, c := range s.state.codes {
		if c.sub == sub {
			delete(s.state.codes, code)
			s.state.dead[code] = true
		}
	}
	delete(s.state.grants, sub)
	s.stats.GrantsRevoked++
}

// killCodeDescendantsLocked revokes every token issued from code (a
// replayed code, RFC 6749 §4.1.2).
func (s *Server) killCodeDescendantsLocked(code string) int {
	n := 0
	for tok, t := range s.state.tokens {
		if t.code == code {
			s.killTokenLocked(tok)
			n++
		}
	}
	return n
}

// GrantInfo describes a user's grant to the client, for tests.
type GrantInfo struct {
	User User
	// Scopes is every scope the user granted, sorted.
	Scopes []string
	// RefreshTokens are the live refresh tokens, oldest first.
	RefreshTokens []string
	// AccessTokens counts the live (issued, unrevoked) access tokens,
	// expired ones included.
	AccessTokens int
}

// Grant returns the grant of the user named by sub or email, and false when
// the user has none (never consented, or revoked).
func (s *Server) Grant(user string) (GrantInfo, bool) {
	u, ok := s.lookupUser(user)
	if !ok {
		return GrantInfo{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.state.grants[u.Sub]
	if !ok {
		return GrantInfo{}, false
	}
	info := GrantInfo{User: u, Scopes: g.scopeList(), RefreshTokens: slices.Clone(g.refresh)}
	for _, t := range s.state.tokens {
		if t.sub == u.Sub && t.kind == accessToken {
			info.AccessTokens++
		}
	}
	return info, true
}

// RevokeGrant ends the user's grant as if the user removed the app in their
// Google account settings: every token dies. Errors: ErrUnknownUser. A user
// without a grant is not an error.
func (s *Server) RevokeGrant(user string) error {
	u, ok := s.lookupUser(user)
	if !ok {
		return fmt.Errorf("googlesim: revoke grant: %w", ErrUnknownUser)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.state.grants[u.Sub]; ok {
		s.revokeGrantLocked(u.Sub)
	}
	return nil
}

// IsRevoked reports whether token (access token, refresh token or
// authorization code) was issued here and has since been revoked, replayed
// or retired. Unknown tokens and expired access tokens are not revoked.
func (s *Server) IsRevoked(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.dead[token]
}

// ExpireAccessTokens makes every access token issued so far expired;
// refresh tokens keep working.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.now().Add(-1)
	for _, t := range s.state.tokens {
		if t.kind == accessToken {
			t.expires = past
		}
	}
}

// RefreshCount returns how many times refreshToken was used successfully.
func (s *Server) RefreshCount(refreshToken string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.refresh[refreshToken]
}
