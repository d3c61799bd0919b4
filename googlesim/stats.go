package googlesim

import "maps"

// Stats counts what the server has seen, for tests.
type Stats struct {
	// Requests counts every request per endpoint, faulted ones included.
	Requests map[Endpoint]int
	// TokenRequests counts token-endpoint requests that passed the fault
	// switch, by grant_type ("" when missing).
	TokenRequests map[string]int
	// CodesIssued counts authorization codes handed out.
	CodesIssued int
	// CodeExchanges counts successful authorization_code grants.
	CodeExchanges int
	// Refreshes counts successful refresh_token grants.
	Refreshes int
	// Revocations counts successful /revoke calls.
	Revocations int
	// GrantsRevoked counts grants ended, by /revoke or RevokeGrant.
	GrantsRevoked int
	// CodeReplays counts authorization codes presented again after use.
	CodeReplays int
	// SETsSent counts SETs the Transmitter tried to POST, whatever came of it.
	SETsSent int
}

func newStats() Stats {
	return Stats{Requests: map[Endpoint]int{}, TokenRequests: map[string]int{}}
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Requests = maps.Clone(s.stats.Requests)
	st.TokenRequests = maps.Clone(s.stats.TokenRequests)
	return st
}
