package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd/store"
)

// bearerRealm names riscd in WWW-Authenticate challenges.
const bearerRealm = "riscd"

// tokenDigest is the SHA-256 of a configured token, so that comparisons run
// in constant time whatever the lengths; nil when the token is not set.
type tokenDigest []byte

func digestOf(s store.Secret) tokenDigest {
	if s.IsZero() {
		return nil
	}
	d := sha256.Sum256([]byte(s.Reveal()))
	return d[:]
}

// matches reports, in time independent of the content of either, whether
// presented is the configured token.
func (d tokenDigest) matches(presented []byte) bool {
	return d != nil && subtle.ConstantTimeCompare(d, presented) == 1
}

// bearer returns the SHA-256 of the request's bearer token, and false when
// the request carries none.
func bearer(r *http.Request) ([]byte, bool) {
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

// errMissingToken and errWrongToken are the two refusals, with the
// challenges RFC 6750 §3 describes.
var (
	errMissingToken = &apiError{
		status: http.StatusUnauthorized, code: CodeUnauthorized,
		detail:    "this route needs an Authorization: Bearer token",
		challenge: `Bearer realm="` + bearerRealm + `"`,
	}
	errWrongToken = &apiError{
		status: http.StatusUnauthorized, code: CodeUnauthorized,
		detail:    "the bearer token is not valid for this route",
		challenge: `Bearer realm="` + bearerRealm + `", error="invalid_token"`,
	}
	errAdminDisabled = &apiError{
		status: http.StatusServiceUnavailable, code: CodeAdminDisabled,
		detail: "the admin API is off: configure an admin token (internal.admin_token_file or RISCD_INTERNAL_ADMIN_TOKEN)",
	}
	errCompanionDisabled = &apiError{
		status: http.StatusServiceUnavailable, code: CodeCompanionDisabled,
		detail: "the companion API is off: configure an app token (internal.app_token_file or RISCD_INTERNAL_APP_TOKEN)",
	}
)

// requireAdmin lets through requests carrying the admin token.
func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.adminToken == nil {
			return errAdminDisabled
		}
		presented, ok := bearer(c.Request())
		if !ok {
			return errMissingToken
		}
		if !s.adminToken.matches(presented) {
			return errWrongToken
		}
		return next(c)
	}
}

// requireApp lets through requests carrying the app token or the admin
// token. Both comparisons always run.
func (s *Server) requireApp(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.adminToken == nil && s.appToken == nil {
			return errCompanionDisabled
		}
		presented, ok := bearer(c.Request())
		if !ok {
			return errMissingToken
		}
		app, admin := s.appToken.matches(presented), s.adminToken.matches(presented)
		if !app && !admin {
			return errWrongToken
		}
		return next(c)
	}
}
