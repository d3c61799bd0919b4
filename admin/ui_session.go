package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

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

// maxFormBody bounds the body of every form the admin page posts.
const maxFormBody = 16 << 10

// Codes of the admin page's refusals, in the request log.
const (
	uiCodeForbidden = "forbidden"
	uiCodeTooMany   = "too_many_signins"
)

// uiSession is one signed-in browser.
type uiSession struct {
	csrf    string // the token every form posts back
	created time.Time
	expires time.Time
}

// uiSessions is the server-side session table, keyed by the SHA-256 of the
// cookie's id. Sessions live in memory: a restart signs everyone out.
type uiSessions struct {
	ttl time.Duration
	now func() time.Time
	mu  sync.Mutex
	m   map[[32]byte]uiSession
}

func newUISessions(ttl time.Duration, now func() time.Time) *uiSessions {
	return &uiSessions{ttl: ttl, now: now, m: map[[32]byte]uiSession{}}
}

// create starts a session and returns the cookie's id.
func (u *uiSessions) create() (string, uiSession) {
	id := rand.Text() + rand.Text() // 2 × 128 bits, base32
	now := u.now()
	sess := uiSession{csrf: rand.Text() + rand.Text(), created: now, expires: now.Add(u.ttl)}
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.m) >= maxUISessions {
		var oldest [32]byte
		first := true
		for k, v := range u.m {
			if !now.Before(v.expires) {
				delete(u.m, k)
				continue
			}
			if first || v.created.Before(u.m[oldest].created) {
				oldest, first = k, false
			}
		}
		if len(u.m) >= maxUISessions {
			delete(u.m, oldest)
		}
	}
	u.m[sha256.Sum256([]byte(id))] = sess
	return id, sess
}

// lookup returns the live session of id; an expired one is deleted.
func (u *uiSessions) lookup(id string) (uiSession, bool) {
	k := sha256.Sum256([]byte(id))
	u.mu.Lock()
	defer u.mu.Unlock()
	sess, ok := u.m[k]
	if !ok {
		return uiSession{}, false
	}
	if !u.now().Before(sess.expires) {
		delete(u.m, k)
		return uiSession{}, false
	}
	return sess, true
}

// end deletes the session of id, if any.
func (u *uiSessions) end(id string) {
	k := sha256.Sum256([]byte(id))
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.m, k)
}

// setSessionCookie sets (or, with id "", clears) the session cookie:
// HttpOnly, SameSite=Strict, scoped to the admin page, Secure when the
// request came over TLS or Config.UISecureCookies says a proxy terminates
// it.
func (s *Server) setSessionCookie(c echo.Context, id string, maxAge time.Duration) {
	ck := &http.Cookie{
		Name: uiCookie, Value: id, Path: uiBase,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: s.cfg.UISecureCookies || c.Request().TLS != nil,
	}
	if id == "" {
		ck.MaxAge = -1
	} else {
		ck.MaxAge = int(maxAge / time.Second)
	}
	c.SetCookie(ck)
}

// session returns the request's live session and its cookie's id.
func (s *Server) session(c echo.Context) (uiSession, string, bool) {
	ck, err := c.Cookie(uiCookie)
	if err != nil || ck.Value == "" {
		return uiSession{}, "", false
	}
	sess, ok := s.ui.sessions.lookup(ck.Value)
	return sess, ck.Value, ok
}

// uiPage guards the pages: without a live session the browser is sent to
// the sign-in page.
func (s *Server) uiPage(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess, _, ok := s.session(c)
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
func (s *Server) uiAction(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := sameOrigin(c.Request()); err != nil {
			return err
		}
		sess, _, ok := s.session(c)
		if !ok {
			return forbidden("you are not signed in (or your session ended); sign in and try again")
		}
		c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, maxFormBody)
		got := c.Request().PostFormValue("csrf")
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.csrf)) != 1 {
			return forbidden("the form's security token is missing or out of date; reload the page and try again")
		}
		c.Set(uiSessionKey, sess)
		return next(c)
	}
}

func forbidden(detail string) error {
	return &Error{Status: http.StatusForbidden, Code: uiCodeForbidden, Detail: detail}
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
func (s *Server) uiLogin(c echo.Context) error {
	if _, _, ok := s.session(c); ok {
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
func (s *Server) uiSignin(c echo.Context) error {
	r := c.Request()
	if err := sameOrigin(r); err != nil {
		return err
	}
	if s.adminToken == nil {
		return s.render(c, http.StatusServiceUnavailable, "login", uiLayout{Title: "Sign in", Body: uiLoginView{Disabled: true}})
	}
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxFormBody)
	token := r.PostFormValue("token")
	client := limit.KeyOf(s.clientIP(r))
	if wait := s.ui.limiter.Reserve(client, s.now()); wait > 0 {
		s.metrics.Limited("admin_signin")
		secs := int((wait + time.Second - 1) / time.Second)
		return &Error{
			Status: http.StatusTooManyRequests, Code: uiCodeTooMany, RetryAfter: strconv.Itoa(secs),
			Detail: "too many failed sign-ins from your address; try again in " + roundDuration(time.Duration(secs)*time.Second),
		}
	}
	presented := sha256.Sum256([]byte(token))
	if !s.adminToken.Matches(presented[:]) {
		return s.render(c, http.StatusUnauthorized, "login", uiLayout{Title: "Sign in", Body: uiLoginView{Error: "That is not the admin token."}})
	}
	s.ui.limiter.Forget(client)
	if _, old, ok := s.session(c); ok {
		s.ui.sessions.end(old) // a new id at every sign-in
	}
	id, _ := s.ui.sessions.create()
	s.setSessionCookie(c, id, s.cfg.UISessionTTL)
	s.log.InfoContext(r.Context(), "admin: signed in to the admin page", "request_id", httplog.RequestID(c), "remote", r.RemoteAddr, "client", client)
	return c.Redirect(http.StatusSeeOther, uiBase+"/grants")
}

// uiSignout is POST /admin/ui/logout: the session ends.
func (s *Server) uiSignout(c echo.Context) error {
	if _, id, ok := s.session(c); ok {
		s.ui.sessions.end(id)
	}
	s.setSessionCookie(c, "", 0)
	return c.Redirect(http.StatusSeeOther, uiBase+"/login?notice=signed_out")
}
