package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd/lifecycle"
	"github.com/riscd/riscd/store"
)

// Limits of a POST /v1/token body.
const (
	maxTokenBody = 16 << 10
	maxSubLen    = 255 // Google's sub is at most 255 ASCII characters
	maxScopes    = 64
	maxScopeLen  = 512
)

// tokenRequest is the body of POST /v1/token.
type tokenRequest struct {
	Sub    string   `json:"sub"`
	Scopes []string `json:"scopes"`
}

// tokenAnswer is POST /v1/token's answer. It has no refresh token field:
// none can ever be sent.
type tokenAnswer struct {
	AccessToken string     `json:"access_token"`
	TokenType   string     `json:"token_type"`
	Expiry      *time.Time `json:"expiry"`
	Scopes      []string   `json:"scopes"`
}

// subjectView is GET /v1/subjects/{sub}: what an app needs to end its own
// sessions and know whether tokens will come.
type subjectView struct {
	accountState
	Grants []grantSummary `json:"grants"`
}

// grantSummary is a grant in a subject view. An active grant without a
// refresh token says so (has_refresh_token false, and when its access token
// expires), and once that token has expired its status is
// reconsent_required, as POST /v1/token answers.
type grantSummary struct {
	ID                string     `json:"id"`
	Scopes            []string   `json:"scopes"`
	Status            string     `json:"status"`
	Reason            string     `json:"reason,omitempty"`
	HasRefreshToken   bool       `json:"has_refresh_token"`
	AccessTokenExpiry *time.Time `json:"access_token_expiry,omitempty"`
}

func (s *Server) subjectView(a store.Account, grants []store.Grant) subjectView {
	v := subjectView{accountState: stateOf(a), Grants: make([]grantSummary, len(grants))}
	now := s.now()
	for i, g := range grants {
		gs := grantSummary{ID: g.ID, Scopes: nonNil(g.Scopes), Status: string(g.Status), Reason: g.Reason,
			HasRefreshToken: g.HasRefreshToken()}
		if !gs.HasRefreshToken && g.Status == store.GrantActive {
			gs.AccessTokenExpiry = optTime(g.Expiry)
		}
		if g.OutOfTokens(now) {
			gs.Status, gs.Reason = lifecycle.StateReconsentRequired, lifecycle.ReasonNoRefreshToken
		}
		v.Grants[i] = gs
	}
	return v
}

// token is POST /v1/token {"sub": ..., "scopes": [...]}: an access token from
// the Broker, never a refresh token.
func (s *Server) token(c echo.Context) error {
	if s.cfg.Broker == nil {
		return &apiError{status: http.StatusNotImplemented, code: CodeNotImplemented, detail: "the token broker is not available in this riscd"}
	}
	req, err := readTokenRequest(c.Request())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.TokenTimeout)
	defer cancel()
	tok, err := s.cfg.Broker.Token(ctx, req.Sub, req.Scopes)
	if err != nil {
		if isNotFound(err) {
			return &apiError{status: http.StatusNotFound, code: CodeNoGrant, detail: "riscd holds no grant for this subject", cause: err}
		}
		return err
	}
	if tok.AccessToken.IsZero() {
		return errors.New("admin: token broker returned an empty access token")
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
		return tokenRequest{}, &apiError{status: http.StatusUnsupportedMediaType, code: CodeUnsupportedMedia, detail: "send the body as application/json"}
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxTokenBody+1))
	dec.DisallowUnknownFields()
	var req tokenRequest
	if err := dec.Decode(&req); err != nil {
		return tokenRequest{}, badRequest(`the body must be {"sub": "...", "scopes": ["..."]} and at most %d bytes`, maxTokenBody)
	}
	if dec.More() {
		return tokenRequest{}, badRequest("the body must hold one JSON object")
	}
	if req.Sub == "" || len(req.Sub) > maxSubLen {
		return tokenRequest{}, badRequest("sub must be 1 to %d characters", maxSubLen)
	}
	if _, err := checkParam("sub", req.Sub); err != nil {
		return tokenRequest{}, err
	}
	if len(req.Scopes) == 0 || len(req.Scopes) > maxScopes {
		return tokenRequest{}, badRequest("scopes must list 1 to %d scopes", maxScopes)
	}
	for _, sc := range req.Scopes {
		if sc == "" || len(sc) > maxScopeLen {
			return tokenRequest{}, badRequest("each scope must be 1 to %d characters", maxScopeLen)
		}
		if _, err := checkParam("scope", sc); err != nil {
			return tokenRequest{}, err
		}
	}
	return req, nil
}

// subject is GET /v1/subjects/{sub}: the account's state and a summary of
// its grants. 404 when riscd has never seen the subject.
func (s *Server) subject(c echo.Context) error {
	sub, err := pathParam(c, "sub")
	if err != nil {
		return err
	}
	a, _, grants, err := s.account(c.Request().Context(), sub)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.subjectView(a, grants))
}
