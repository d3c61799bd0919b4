package admin

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIDoc is the OpenAPI 3 document of the admin and companion APIs,
// kept beside this file as openapi.json. A test checks that it lists
// exactly the routes Register mounts.
//
//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns a copy of the OpenAPI 3 document (JSON) of every route
// Register mounts.
func OpenAPI() []byte { return append([]byte(nil), openAPIDoc...) }

// openAPI is GET /admin/openapi.json.
func (s *Server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/json", openAPIDoc)
}
