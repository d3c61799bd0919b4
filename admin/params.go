package admin

import (
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd/store"
)

// maxParamLen bounds every query and path parameter.
const maxParamLen = 512

// page is the cursor and limit of a list request.
type page struct {
	cursor string
	limit  int
}

// pageParams reads cursor (opaque, from a previous answer's next_cursor) and
// limit (1 to store.MaxLimit, default store.DefaultLimit).
func pageParams(c echo.Context) (page, error) {
	p := page{limit: store.DefaultLimit}
	var err error
	if p.cursor, err = queryParam(c, "cursor"); err != nil {
		return page{}, err
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxLimit {
			return page{}, badRequest("limit must be a whole number from 1 to %d", store.MaxLimit)
		}
		p.limit = n
	}
	return p, nil
}

// queryParam returns a query parameter checked for length and encoding.
func queryParam(c echo.Context, name string) (string, error) {
	return checkParam(name, c.QueryParam(name))
}

// pathParam returns a path parameter, percent-decoded (Echo matches on the
// raw path when the request has one), checked for length and encoding.
func pathParam(c echo.Context, name string) (string, error) {
	v, err := url.PathUnescape(c.Param(name))
	if err != nil {
		return "", badRequest("%s is not a valid path segment", name)
	}
	if v == "" {
		return "", badRequest("%s is required", name)
	}
	return checkParam(name, v)
}

func checkParam(name, v string) (string, error) {
	if len(v) > maxParamLen {
		return "", badRequest("%s is longer than %d bytes", name, maxParamLen)
	}
	if !utf8.ValidString(v) {
		return "", badRequest("%s is not valid UTF-8", name)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return "", badRequest("%s holds a control character", name)
		}
	}
	return v, nil
}

// idParam reads a numeric path parameter (event ids).
func idParam(c echo.Context, name string) (uint64, error) {
	v, err := pathParam(c, name)
	if err != nil {
		return 0, err
	}
	id, err := strconv.ParseUint(v, 10, 64)
	if err != nil || id == 0 {
		return 0, badRequest("%s must be a positive whole number", name)
	}
	return id, nil
}
