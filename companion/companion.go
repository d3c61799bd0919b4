package companion

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd/admin"
)

// Limits of a POST /v1/token body.
const (
	maxTokenBody = 16 << 10
	maxSubLen    = 255 // Google's sub is at most 255 ASCII characters
	maxScopes    = 64
	maxScopeLen  = 512
)

// tokenRequest is the body of POST /v1/token. Features name scopes by
// google.features; the token covers Scopes and the features' scopes.
type tokenRequest struct {
	Sub      string   `json:"sub"`
	AppUser  string   `json:"app_user"`
	Scopes   []string `json:"scopes"`
	Features []string `json:"features"`
}

// tokenAnswer is POST /v1/token's answer. It has no refresh token field:
// none can ever be sent.
type tokenAnswer struct {
	AccessToken string     `json:"access_token"`
	TokenType   string     `json:"token_type"`
	Expiry      *time.Time `json:"expiry"`
	Scopes      []string   `json:"scopes"`
}

// errNoBroker answers POST /v1/token when Config.Broker is nil.
var errNoBroker = &admin.Error{Status: http.StatusNotImplemented, Code: admin.CodeNotImplemented, Detail: "the token broker is not available in this riscd"}

// token is POST /v1/token {"sub": ..., "scopes": [...], "features": [...]}:
// an access token from the Broker, never a refresh token.
func (s *Server) token(c echo.Context) error {
	if s.cfg.Broker == nil {
		return errNoBroker
	}
	req, err := readTokenRequest(c.Request())
	if err != nil {
		return err
	}
	if req.Scopes, err = s.featureScopes(req.Scopes, req.Features); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.TokenTimeout)
	defer cancel()
	if req.AppUser != "" {
		if req.Sub, err = s.subOfAppUser(ctx, req.AppUser, req.Sub); err != nil {
			return err
		}
	}
	tok, err := s.cfg.Broker.Token(ctx, req.Sub, req.Scopes)
	if err != nil {
		return brokerError(err)
	}
	if tok.AccessToken.IsZero() {
		return errors.New("companion: token broker returned an empty access token")
	}
	typ := tok.TokenType
	if typ == "" {
		typ = "Bearer"
	}
	return c.JSON(http.StatusOK, tokenAnswer{
		AccessToken: tok.AccessToken.Reveal(), TokenType: typ, Expiry: optTime(tok.Expiry), Scopes: nonNil(tok.Scopes),
	})
}

// readTokenRequest decodes and checks a POST /v1/token body: JSON, no
// unknown members, a sub and at least one scope.
func readTokenRequest(r *http.Request) (tokenRequest, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return tokenRequest{}, &admin.Error{Status: http.StatusUnsupportedMediaType, Code: admin.CodeUnsupportedMedia, Detail: "send the body as application/json"}
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxTokenBody+1))
	dec.DisallowUnknownFields()
	var req tokenRequest
	if err := dec.Decode(&req); err != nil {
		return tokenRequest{}, admin.BadRequest(`the body must be {"sub": "...", "scopes": ["..."], "features": ["..."]} (scopes, features or both; "app_user" in place of, or beside, "sub") and at most %d bytes`, maxTokenBody)
	}
	if dec.More() {
		return tokenRequest{}, admin.BadRequest("the body must hold one JSON object")
	}
	if req.AppUser != "" {
		if err := checkAppUser(req.AppUser); err != nil {
			return tokenRequest{}, err
		}
	}
	if req.AppUser == "" && req.Sub == "" || len(req.Sub) > maxSubLen {
		return tokenRequest{}, admin.BadRequest("sub (or app_user) must be given, sub 1 to %d characters", maxSubLen)
	}
	if _, err := admin.CheckParam("sub", req.Sub); err != nil {
		return tokenRequest{}, err
	}
	if n := len(req.Scopes) + len(req.Features); n == 0 || n > maxScopes {
		return tokenRequest{}, admin.BadRequest("scopes and features must list 1 to %d scopes or features together", maxScopes)
	}
	for _, sc := range req.Scopes {
		if sc == "" || len(sc) > maxScopeLen {
			return tokenRequest{}, admin.BadRequest("each scope must be 1 to %d characters", maxScopeLen)
		}
		if _, err := admin.CheckParam("scope", sc); err != nil {
			return tokenRequest{}, err
		}
	}
	return req, nil
}

// featureScopes is scopes with the scope of each named feature
// (google.features) added, without repeats. Errors: a 400 naming a
// feature riscd does not have.
func (s *Server) featureScopes(scopes, features []string) ([]string, error) {
	out := slices.Clone(scopes)
	for _, f := range features {
		scope, ok := s.cfg.Features[f]
		if !ok {
			names := slices.Sorted(maps.Keys(s.cfg.Features))
			return nil, admin.BadRequest("features: riscd has no feature %q (it has %s)", safe(f), strings.Join(names, ", "))
		}
		if !slices.Contains(out, scope) {
			out = append(out, scope)
		}
	}
	return out, nil
}

// subject is GET /v1/subjects/{sub}: the account's state and a summary of
// its grants. 404 when riscd has never seen the subject.
func (s *Server) subject(c echo.Context) error {
	sub, err := admin.PathParam(c, "sub")
	if err != nil {
		return err
	}
	a, _, grants, err := admin.ReadSubject(c.Request().Context(), s.cfg.Store, sub)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, admin.SubjectOf(a, grants, s.cfg.Now()))
}

// optTime is t, or nil when t is zero (JSON null).
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// nonNil is s, or an empty slice when s is nil (JSON [] rather than null).
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
