package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/riscd/riscd"
)

// bearerRealm names riscd in WWW-Authenticate challenges.
const bearerRealm = "riscd"

// TokenDigest is the SHA-256 of a configured token, so that comparisons run
// in constant time whatever the lengths; nil when the token is not set.
type TokenDigest []byte

// DigestOf returns the digest of s; nil when s is empty.
func DigestOf(s riscd.Secret) TokenDigest {
	if s.IsZero() {
		return nil
	}
	d := sha256.Sum256([]byte(s.Reveal()))
	return d[:]
}

// Matches reports, in time independent of the content of either, whether
// presented (a Bearer digest) is the configured token.
func (d TokenDigest) Matches(presented []byte) bool {
	return d != nil && subtle.ConstantTimeCompare(d, presented) == 1
}

// Bearer returns the SHA-256 of the request's bearer token, and false when
// the request carries none.
func Bearer(r *http.Request) ([]byte, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, false
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return nil, false
	}
	d := sha256.Sum256([]byte(tok))
	return d[:], true
}

// ErrMissingToken and ErrWrongToken are the two refusals of a bearer token
// (401 unauthorized), with the challenges RFC 6750 §3 describes.
var (
	ErrMissingToken error = &Error{
		Status: http.StatusUnauthorized, Code: CodeUnauthorized,
		Detail:    "this route needs an Authorization: Bearer token",
		Challenge: `Bearer realm="` + bearerRealm + `"`,
	}
	ErrWrongToken error = &Error{
		Status: http.StatusUnauthorized, Code: CodeUnauthorized,
		Detail:    "the bearer token is not valid for this route",
		Challenge: `Bearer realm="` + bearerRealm + `", error="invalid_token"`,
	}
)

var errAdminDisabled = &Error{
	Status: http.StatusServiceUnavailable, Code: CodeAdminDisabled,
	Detail: "the admin API is off: configure an admin token (internal.admin_token_file or RISCD_INTERNAL_ADMIN_TOKEN)",
}

// requireAdmin lets through requests carrying the admin token.
func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.adminToken == nil {
			return errAdminDisabled
		}
		presented, ok := Bearer(c.Request())
		if !ok {
			return ErrMissingToken
		}
		if !s.adminToken.Matches(presented) {
			return ErrWrongToken
		}
		return next(c)
	}
}
