package googlesim

import "net/http"

// switches are the test-only behaviours a test can force. Guarded by
// Server.mu.
type switches struct {
	authError    string
	tokenErrors  map[string]*tokenErrorRule
	idTokenFault IDTokenFault
}

type tokenErrorRule struct {
	e    TokenError
	left int // 0: until cleared
}

// SetAuthError makes every authorization request that passes validation
// (known client, registered redirect_uri) redirect back with ?error=code
// instead of showing the consent page, e.g. "admin_policy_enforced",
// "org_internal", "disallowed_useragent". The empty code clears it.
func (s *Server) SetAuthError(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.switches.authError = code
}

// TokenError is an error answer of the token endpoint.
type TokenError struct {
	Status      int // default 400
	Code        string
	Description string
	Subtype     string // error_subtype, as Google adds for invalid_rapt
}

// InvalidRAPT returns Google's re-authentication demand: invalid_grant with
// error_subtype invalid_rapt. It is not a revocation.
func InvalidRAPT() TokenError {
	return TokenError{
		Status:      http.StatusBadRequest,
		Code:        "invalid_grant",
		Description: "reauth related error (invalid_rapt)",
		Subtype:     "invalid_rapt",
	}
}

// SetTokenError makes the token endpoint answer e to the next count requests
// of grantType ("authorization_code", "refresh_token", or "" for any) that
// authenticate their client; count 0 means until cleared. The zero
// TokenError clears the rule for grantType. The grant is left untouched: a
// failed refresh does not revoke anything.
func (s *Server) SetTokenError(grantType string, e TokenError, count int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.switches.tokenErrors == nil {
		s.switches.tokenErrors = map[string]*tokenErrorRule{}
	}
	if e == (TokenError{}) {
		delete(s.switches.tokenErrors, grantType)
		return
	}
	if e.Status == 0 {
		e.Status = http.StatusBadRequest
	}
	s.switches.tokenErrors[grantType] = &tokenErrorRule{e: e, left: count}
}

// takeTokenErrorLocked returns the injected answer for grantType, if any.
func (s *Server) takeTokenErrorLocked(grantType string) (TokenError, bool) {
	for _, key := range []string{grantType, ""} {
		r, ok := s.switches.tokenErrors[key]
		if !ok {
			continue
		}
		if r.left > 0 {
			r.left--
			if r.left == 0 {
				delete(s.switches.tokenErrors, key)
			}
		}
		return r.e, true
	}
	return TokenError{}, false
}

// IDTokenFault spoils the next ID token in one way, so a client's ID-token
// checks can be tested.
type IDTokenFault int

// ID-token faults.
const (
	IDTokenOK            IDTokenFault = iota // no fault
	IDTokenBadSignature                      // one signature bit flipped
	IDTokenWrongAudience                     // aud is another client
	IDTokenWrongIssuer                       // iss is another issuer
	IDTokenWrongNonce                        // nonce differs from the request's
	IDTokenExpired                           // iat and exp in the past
	IDTokenUnknownKey                        // signed by a key the JWKS lacks, with an unknown kid
)

// SetIDTokenFault spoils the next ID token the token endpoint issues; the
// one after it is sound again.
func (s *Server) SetIDTokenFault(f IDTokenFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.switches.idTokenFault = f
}
