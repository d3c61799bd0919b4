package admin

import (
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/riscd/riscd"
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
	p := page{limit: riscd.DefaultLimit}
	var err error
	if p.cursor, err = QueryParam(c, "cursor"); err != nil {
		return page{}, err
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > riscd.MaxLimit {
			return page{}, BadRequest("limit must be a whole number from 1 to %d", riscd.MaxLimit)
		}
		p.limit = n
	}
	return p, nil
}

// QueryParam returns a query parameter checked for length and encoding.
func QueryParam(c echo.Context, name string) (string, error) {
	return CheckParam(name, c.QueryParam(name))
}

// pathParam returns a path parameter, percent-decoded (Echo matches on the
// raw path when the request has one), checked for length and encoding.
func PathParam(c echo.Context, name string) (string, error) {
	v, err := url.PathUnescape(c.Param(name))
	if err != nil {
		return "", BadRequest("%s is not a valid path segment", name)
	}
	if v == "" {
		return "", BadRequest("%s is required", name)
	}
	return CheckParam(name, v)
}

func CheckParam(name, v string) (string, error) {
	if len(v) > maxParamLen {
		return "", BadRequest("%s is longer than %d bytes", name, maxParamLen)
	}
	if !utf8.ValidString(v) {
		return "", BadRequest("%s is not valid UTF-8", name)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return "", BadRequest("%s holds a control character", name)
		}
	}
	return v, nil
}

// IDParam reads a numeric path parameter (event ids).
func IDParam(c echo.Context, name string) (uint64, error) {
	v, err := PathParam(c, name)
	if err != nil {
		return 0, err
	}
	id, err := strconv.ParseUint(v, 10, 64)
	if err != nil || id == 0 {
		return 0, BadRequest("%s must be a positive whole number", name)
	}
	return id, nil
}
