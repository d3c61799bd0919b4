package adminpage

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/httplog"
	"github.com/riscd/riscd/limit"
)

// uiCookie holds the admin page's session id: 256 random bits, of which
// the server keeps only the SHA-256.
const uiCookie = "riscd_admin"

// uiSessionKey is where the signed-in session is kept in the echo.Context.
const uiSessionKey = "riscd.admin_session"

// maxUISessions bounds the sessions kept; signing in beyond it ends the
// oldest one.
const maxUISessions = 256

// sessionActor is the audit actor of a session's actions: what the
// operator gave at sign-in (admin.ActorFor), "operator" for a session that
// holds none.
func sessionActor(sess riscd.AdminSession) string {
	if sess.Operator == "" {
		return admin.ActorOperator
	}
	return sess.Operator
}

// maxFormBody bounds the body of every form the admin page posts.
const maxFormBody = 16 << 10

// Codes of the admin page's refusals, in the request log.
const (
	uiCodeForbidden = "forbidden"
	uiCodeTooMany   = "too_many_signins"
)

// newSession starts a session signed in by operator and returns it; the
// store keeps at most maxUISessions, the oldest ended first.
func (s *Page) newSession(ctx context.Context, operator string) (riscd.AdminSession, error) {
	now := s.now()
	sess := riscd.AdminSession{
		ID:       riscd.Secret(rand.Text() + rand.Text()), // 2 × 128 bits, base32
		CSRF:     riscd.Secret(rand.Text() + rand.Text()),
		Operator: operator,
		Created:  now,
		Expires:  now.Add(s.cfg.SessionTTL),
	}
	if err := s.store.CreateAdminSession(ctx, sess, maxUISessions); err != nil {
		return riscd.AdminSession{}, err
	}
	return sess, nil
}

// setSessionCookie sets (or, with id "", clears) the session cookie:
// HttpOnly, SameSite=Strict, scoped to the admin page, Secure when the
// request came over TLS or Config.SecureCookies says a proxy terminates
// it.
func (s *Page) setSessionCookie(c echo.Context, id string, maxAge time.Duration) {
	ck := &http.Cookie{
		Name: uiCookie, Value: id, Path: uiBase,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: s.cfg.SecureCookies || c.Request().TLS != nil,
	}
	if id == "" {
		ck.MaxAge = -1
	} else {
		ck.MaxAge = int(maxAge / time.Second)
	}
	c.SetCookie(ck)
}

// session returns the request's live session. A failure of the store
// other than riscd.ErrNotFound is returned.
func (s *Page) session(c echo.Context) (riscd.AdminSession, bool, error) {
	ck, err := c.Cookie(uiCookie)
	if err != nil || ck.Value == "" {
		return riscd.AdminSession{}, false, nil
	}
	sess, err := s.store.AdminSession(c.Request().Context(), riscd.Secret(ck.Value))
	switch {
	case errors.Is(err, riscd.ErrNotFound):
		return riscd.AdminSession{}, false, nil
	case err != nil:
		return riscd.AdminSession{}, false, err
	}
	return sess, true, nil
}

// uiPage guards the pages: without a live session the browser is sent to
// the sign-in page.
func (s *Page) uiPage(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess, ok, err := s.session(c)
		if err != nil {
			return err
		}
		if !ok {
			return c.Redirect(http.StatusSeeOther, uiBase+"/login")
		}
		c.Set(uiSessionKey, sess)
		return next(c)
	}
}

// uiAction guards the actions (every POST but the sign-in): the request
// must come from the admin page itself (Origin, Sec-Fetch-Site), carry a
// live session, and post that session's CSRF token, compared in constant
// time. Anything else is answered 403 before the action runs.
func (s *Page) uiAction(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := sameOrigin(c.Request()); err != nil {
			return err
		}
		sess, ok, err := s.session(c)
		if err != nil {
			return err
		}
		if !ok {
			return forbidden("you are not signed in (or your session ended); sign in and try again")
		}
		c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, maxFormBody)
		got := c.Request().PostFormValue("csrf")
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF.Reveal())) != 1 {
			return forbidden("the form's security token is missing or out of date; reload the page and try again")
		}
		c.Set(uiSessionKey, sess)
		r := c.Request()
		c.SetRequest(r.WithContext(admin.WithActor(r.Context(), sessionActor(sess))))
		return next(c)
	}
}

func forbidden(detail string) error {
	return &admin.Error{Status: http.StatusForbidden, Code: uiCodeForbidden, Detail: detail}
}

// crossOrigin is net/http's check of a state-changing request's
// Sec-Fetch-Site header (the Fetch Metadata Request Headers specification,
// https://www.w3.org/TR/fetch-metadata/) or, from a browser that sends
// none, its Origin against its Host (RFC 6454 section 7). No origin is
// trusted beside the page's own.
var crossOrigin = http.NewCrossOriginProtection()

// sameOrigin refuses a POST a browser says came from another origin: a
// Sec-Fetch-Site other than same-origin (or none: typed by the user), or,
// without it, an Origin whose host is not the request's ("Origin: null"
// included). A request with neither header passes; the CSRF token decides
// then.
func sameOrigin(r *http.Request) error {
	if crossOrigin.Check(r) != nil {
		return forbidden("the request came from another site")
	}
	return nil
}

// uiLoginView is the sign-in page.
type uiLoginView struct {
	Error    string // why the last attempt failed
	Disabled bool   // no admin token is configured
}

// uiLogin is GET /admin/ui/login: the sign-in form, or the grant list for
// a browser already signed in.
func (s *Page) uiLogin(c echo.Context) error {
	if _, ok, err := s.session(c); err != nil {
		return err
	} else if ok {
		return c.Redirect(http.StatusSeeOther, uiBase+"/grants")
	}
	if s.adminToken == nil {
		return s.render(c, http.StatusServiceUnavailable, "login", uiLayout{Title: "Sign in", Body: uiLoginView{Disabled: true}})
	}
	return s.render(c, http.StatusOK, "login", uiLayout{Title: "Sign in", Body: uiLoginView{}})
}

// uiSignin is POST /admin/ui/login: the admin token, compared in constant
// time, starts a session. Attempts are limited per client address
// (newSigninLimiter): the attempt is taken from the address's bucket when
// it is judged, after the body is read, so attempts that arrive together
// are counted one by one; a limited client is answered 429 whatever it
// sends.
func (s *Page) uiSignin(c echo.Context) error {
	r := c.Request()
	if err := sameOrigin(r); err != nil {
		return err
	}
	if s.adminToken == nil {
		return s.render(c, http.StatusServiceUnavailable, "login", uiLayout{Title: "Sign in", Body: uiLoginView{Disabled: true}})
	}
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxFormBody)
	token := r.PostFormValue("token")
	name := strings.TrimSpace(r.PostFormValue("operator"))
	client := limit.KeyOf(s.clientIP(r))
	if wait := s.limiter.Reserve(client, s.now()); wait > 0 {
		s.svc.Metrics().Limited("admin_signin")
		secs := int((wait + time.Second - 1) / time.Second)
		return &admin.Error{
			Status: http.StatusTooManyRequests, Code: uiCodeTooMany, RetryAfter: strconv.Itoa(secs),
			Detail: "too many failed sign-ins from your address; try again in " + roundDuration(time.Duration(secs)*time.Second),
		}
	}
	presented := sha256.Sum256([]byte(token))
	if !s.adminToken.Matches(presented[:]) {
		return s.render(c, http.StatusUnauthorized, "login", uiLayout{Title: "Sign in", Body: uiLoginView{Error: "That is not the admin token."}})
	}
	s.limiter.Forget(client)
	var bad *admin.Error
	if err := admin.CheckOperatorName(name); errors.As(err, &bad) {
		return s.render(c, http.StatusBadRequest, "login", uiLayout{Title: "Sign in", Body: uiLoginView{Error: fmt.Sprint("Your name: ", bad.Detail, ".")}})
	}
	old, ok, err := s.session(c)
	if err != nil {
		return err
	}
	if ok { // a new id at every sign-in
		if err := s.store.DeleteAdminSession(r.Context(), old.ID); err != nil && !errors.Is(err, riscd.ErrNotFound) {
			return err
		}
	}
	sess, err := s.newSession(r.Context(), admin.ActorFor(name))
	if err != nil {
		return err
	}
	s.setSessionCookie(c, sess.ID.Reveal(), s.cfg.SessionTTL)
	s.log.InfoContext(r.Context(), "admin: signed in to the admin page", "request_id", httplog.RequestID(c), "remote", r.RemoteAddr, "client", client, "operator", sess.Operator)
	return c.Redirect(http.StatusSeeOther, uiBase+"/grants")
}

// uiSignout is POST /admin/ui/logout: the session ends.
func (s *Page) uiSignout(c echo.Context) error {
	sess, ok, err := s.session(c)
	if err != nil {
		return err
	}
	if ok {
		if err := s.store.DeleteAdminSession(c.Request().Context(), sess.ID); err != nil && !errors.Is(err, riscd.ErrNotFound) {
			return err
		}
	}
	s.setSessionCookie(c, "", 0)
	return c.Redirect(http.StatusSeeOther, uiBase+"/login?notice=signed_out")
}
