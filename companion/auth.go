package companion

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd/admin"
)

var errCompanionDisabled = &admin.Error{
	Status: http.StatusServiceUnavailable, Code: CodeCompanionDisabled,
	Detail: "the companion API is off: configure an app token (internal.app_token_file or RISCD_INTERNAL_APP_TOKEN)",
}

// requireApp lets through requests carrying the app token or the admin
// token. Both comparisons always run.
func (s *Server) requireApp(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.adminToken == nil && s.appToken == nil {
			return errCompanionDisabled
		}
		presented, ok := admin.Bearer(c.Request())
		if !ok {
			return admin.ErrMissingToken
		}
		app, adm := s.appToken.Matches(presented), s.adminToken.Matches(presented)
		if !app && !adm {
			return admin.ErrWrongToken
		}
		return next(c)
	}
}
