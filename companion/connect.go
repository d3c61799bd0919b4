package companion

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
)

// ConnectStore is what the connect routes read and write of riscd's
// store; riscd.DB satisfies it. Errors are the store's (riscd.ErrNotFound
// for a missing record).
type ConnectStore interface {
	CreateConnectSession(ctx context.Context, s riscd.ConnectSession) error
	ConnectSession(ctx context.Context, id string) (riscd.ConnectSession, error)
	LinksOfAppUser(ctx context.Context, appUser string) ([]riscd.AppUserLink, error)
	admin.AccountReader
}

// Unlinker removes a link between an app user and an account, and with
// revoke discards the account's live grants (revoking them at the
// provider); the lifecycle package's *Lifecycle is one. riscd.ErrNotFound
// (wrapped) when they are not linked.
type Unlinker interface {
	UnlinkAppUser(ctx context.Context, appUser, sub string, revoke bool) error
}

// Limits of a POST /v1/connect body.
const (
	maxConnectBody = 16 << 10
	maxFeatures    = 64
	maxURLLen      = 2048
	maxHintLen     = 320
)

// connectRequest is the body of POST /v1/connect.
type connectRequest struct {
	AppUser   string   `json:"app_user"`
	Features  []string `json:"features"`
	ReturnTo  string   `json:"return_to"`
	LoginHint string   `json:"login_hint"`
}

// connectCreated is POST /v1/connect's answer.
type connectCreated struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// connectResult is GET /v1/connect/{id}'s answer. Features are, once
// connected, the features whose scope the granted scopes hold.
type connectResult struct {
	Status   string   `json:"status"`
	AppUser  string   `json:"app_user"`
	Sub      string   `json:"sub"`
	Email    string   `json:"email"`
	GrantID  string   `json:"grant_id"`
	Scopes   []string `json:"scopes"`
	Features []string `json:"features"`
	Error    string   `json:"error"`
}

// appUserAnswer is GET /v1/users/{app_user}'s answer.
type appUserAnswer struct {
	AppUser  string          `json:"app_user"`
	Accounts []admin.Subject `json:"accounts"`
}

// errNoConnect answers the connect routes when Config.Connect is nil.
var errNoConnect = &admin.Error{Status: http.StatusNotImplemented, Code: admin.CodeNotImplemented, Detail: "connect sessions are not available in this riscd"}

// createConnect is POST /v1/connect: a connect session for one of the
// app's users, and the URL to send its browser to.
func (s *Server) createConnect(c echo.Context) error {
	if s.cfg.Connect == nil {
		return errNoConnect
	}
	req, err := s.readConnectRequest(c.Request())
	if err != nil {
		return err
	}
	id, token := randomHex(16), randomToken()
	now := s.cfg.Now()
	cs := riscd.ConnectSession{
		ID: id, AppUser: req.AppUser, Features: req.Features, ReturnTo: req.ReturnTo, LoginHint: req.LoginHint,
		StartDigest: riscd.IDDigest(token), Status: riscd.ConnectPending,
		CreatedAt: now, ExpiresAt: now.Add(riscd.ConnectSessionTTL),
	}
	if err := s.cfg.Connect.CreateConnectSession(c.Request().Context(), cs); err != nil {
		return fmt.Errorf("companion: create connect session: %w", err)
	}
	u := strings.TrimSuffix(s.cfg.ConnectURL, "/") + "/connect/" + id + "?token=" + url.QueryEscape(token.Reveal())
	return c.JSON(http.StatusCreated, connectCreated{ID: id, URL: u, ExpiresAt: cs.ExpiresAt.UTC()})
}

// readConnectRequest decodes and checks a POST /v1/connect body.
func (s *Server) readConnectRequest(r *http.Request) (connectRequest, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return connectRequest{}, &admin.Error{Status: http.StatusUnsupportedMediaType, Code: admin.CodeUnsupportedMedia, Detail: "send the body as application/json"}
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxConnectBody+1))
	dec.DisallowUnknownFields()
	var req connectRequest
	if err := dec.Decode(&req); err != nil {
		return connectRequest{}, admin.BadRequest(`the body must be {"app_user": "...", "features": ["..."], "return_to": "...", "login_hint": "..."} and at most %d bytes`, maxConnectBody)
	}
	if dec.More() {
		return connectRequest{}, admin.BadRequest("the body must hold one JSON object")
	}
	if err := checkAppUser(req.AppUser); err != nil {
		return connectRequest{}, err
	}
	if len(req.Features) > maxFeatures {
		return connectRequest{}, admin.BadRequest("features must list at most %d features", maxFeatures)
	}
	names := slices.Sorted(maps.Keys(s.cfg.Features))
	var features []string
	for _, f := range req.Features {
		if _, ok := s.cfg.Features[f]; !ok {
			return connectRequest{}, admin.BadRequest("features: riscd has no feature %q (it has %s)", safe(f), strings.Join(names, ", "))
		}
		if !slices.Contains(features, f) {
			features = append(features, f)
		}
	}
	if len(features) == 0 {
		features = names
	}
	slices.Sort(features)
	req.Features = features
	if !s.returnAllowed(req.ReturnTo) {
		return connectRequest{}, admin.BadRequest("return_to must start with one of companion.return_urls")
	}
	if req.LoginHint != "" {
		if len(req.LoginHint) > maxHintLen || s.cfg.CheckLoginHint(req.LoginHint) != nil {
			return connectRequest{}, admin.BadRequest("login_hint must be an email address or an account ID")
		}
	}
	return req, nil
}

// returnAllowed reports whether u is an absolute http(s) URL without a
// fragment that starts with one of Config.ReturnURLs, with the same scheme
// and host (compared exactly) and a path under the prefix's.
func (s *Server) returnAllowed(raw string) bool {
	if raw == "" || len(raw) > maxURLLen {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Fragment != "" || u.Opaque != "" || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return false
	}
	for _, p := range s.returnURLs {
		if u.Scheme == p.Scheme && u.Host == p.Host && strings.HasPrefix(u.EscapedPath(), p.EscapedPath()) {
			return true
		}
	}
	return false
}

// ParseReturnURL checks one allowed return URL prefix (companion.return_urls):
// an absolute http or https URL with a host, no user info, query or
// fragment.
func ParseReturnURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, errors.New("want an absolute http or https URL without user info, query or fragment")
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

// getConnect is GET /v1/connect/{id}: the session's status and, once it
// ended, its result. 404 when it is unknown or expired.
func (s *Server) getConnect(c echo.Context) error {
	if s.cfg.Connect == nil {
		return errNoConnect
	}
	id, err := admin.PathParam(c, "id")
	if err != nil {
		return err
	}
	cs, err := s.cfg.Connect.ConnectSession(c.Request().Context(), id)
	if errors.Is(err, riscd.ErrNotFound) || err == nil && cs.Expired(s.cfg.Now()) {
		return admin.NotFound("connect session")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, connectResult{
		Status: string(cs.Status), AppUser: cs.AppUser, Sub: cs.Sub, Email: cs.Email, GrantID: cs.GrantID,
		Scopes: nonNil(cs.Scopes), Features: s.grantedFeatures(cs.Scopes), Error: cs.Error,
	})
}

// grantedFeatures are the names of the features whose scope scopes hold,
// sorted ([] for none).
func (s *Server) grantedFeatures(scopes []string) []string {
	out := []string{}
	for name, scope := range s.cfg.Features {
		if slices.Contains(scopes, scope) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// appUser is GET /v1/users/{app_user}: the accounts linked to the app user,
// each as GET /v1/subjects/{sub} gives it. 404 when none is.
func (s *Server) appUser(c echo.Context) error {
	if s.cfg.Connect == nil {
		return errNoConnect
	}
	appUser, err := admin.PathParam(c, "app_user")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	links, err := s.cfg.Connect.LinksOfAppUser(ctx, appUser)
	if err != nil {
		return err
	}
	if len(links) == 0 {
		return admin.NotFound("app user")
	}
	out := appUserAnswer{AppUser: appUser, Accounts: []admin.Subject{}}
	for _, l := range links {
		a, _, grants, err := admin.ReadSubject(ctx, s.cfg.Connect, l.Sub)
		var ae *admin.Error
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			// Linked, but riscd holds nothing of the account any more.
			a, grants, err = riscd.Account{Sub: l.Sub}, nil, nil
		}
		if err != nil {
			return err
		}
		out.Accounts = append(out.Accounts, admin.SubjectOf(a, grants, s.cfg.Now()))
	}
	return c.JSON(http.StatusOK, out)
}

// unlink is DELETE /v1/users/{app_user}/links/{sub}[?revoke=true]: 204, or
// 404 when they are not linked.
func (s *Server) unlink(c echo.Context) error {
	if s.cfg.Connect == nil || s.cfg.Unlinker == nil {
		return errNoConnect
	}
	appUser, err := admin.PathParam(c, "app_user")
	if err != nil {
		return err
	}
	sub, err := admin.PathParam(c, "sub")
	if err != nil {
		return err
	}
	revoke := false
	switch v := c.QueryParams()["revoke"]; {
	case len(v) == 0:
	case len(v) == 1 && (v[0] == "true" || v[0] == "false"):
		revoke = v[0] == "true"
	default:
		return admin.BadRequest("revoke must be true or false, once")
	}
	err = s.cfg.Unlinker.UnlinkAppUser(c.Request().Context(), appUser, sub, revoke)
	if errors.Is(err, riscd.ErrNotFound) {
		return admin.NotFound("link")
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// subOfAppUser is the account POST /v1/token serves for an app user: sub
// if it is linked to appUser, or, when sub is empty, the account linked
// last. 404 no_grant when there is none.
func (s *Server) subOfAppUser(ctx context.Context, appUser, sub string) (string, error) {
	if s.cfg.Connect == nil {
		return "", errNoConnect
	}
	links, err := s.cfg.Connect.LinksOfAppUser(ctx, appUser)
	if err != nil {
		return "", err
	}
	var pick *riscd.AppUserLink
	for i := range links {
		l := &links[i]
		if sub != "" && l.Sub == sub || sub == "" && (pick == nil || !l.CreatedAt.Before(pick.CreatedAt)) {
			pick = l
		}
	}
	if pick == nil {
		return "", &admin.Error{Status: http.StatusNotFound, Code: CodeNoGrant, Detail: "no account is linked to this app user"}
	}
	return pick.Sub, nil
}

func checkAppUser(v string) error {
	if v == "" || len(v) > riscd.MaxAppUser {
		return admin.BadRequest("app_user must be 1 to %d bytes", riscd.MaxAppUser)
	}
	_, err := admin.CheckParam("app_user", v)
	return err
}

// safe trims a caller's value for an error message.
func safe(v string) string {
	if len(v) > 64 {
		v = v[:64]
	}
	return strings.ToValidUTF8(v, "?")
}

// randomHex is n random bytes in hex. crypto/rand.Read does not fail.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// randomToken is 256 random bits, base64url without padding.
func randomToken() riscd.Secret {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return riscd.Secret(base64.RawURLEncoding.EncodeToString(b))
}
