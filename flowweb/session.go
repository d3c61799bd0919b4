package flowweb

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/riscd/riscd"
)

// Cookie names. Both hold opaque random IDs; the store keeps only their
// SHA-256.
const (
	sessionCookie = "riscd_session"
	flowCookie    = "riscd_flow"
)

// newSecret returns 256 random bits, base64url without padding.
// crypto/rand.Read does not fail (it panics if the system cannot give
// randomness).
func newSecret() riscd.Secret {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return riscd.Secret(base64.RawURLEncoding.EncodeToString(b))
}

// sessionPath scopes the session cookie to riscd's pages.
func (h *Handler) sessionPath() string { return h.base + "/" }

// flowPath scopes the flow cookie to the callback.
func (h *Handler) flowPath() string { return h.base + callbackPath }

// setCookie sets an HttpOnly, SameSite=Lax cookie, Secure when PublicURL is
// https. maxAge < 0 deletes it.
func (h *Handler) setCookie(c echo.Context, name, value, path string, maxAge time.Duration) {
	ck := &http.Cookie{
		Name: name, Value: value, Path: path,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode,
	}
	if maxAge < 0 {
		ck.MaxAge = -1
	} else {
		ck.MaxAge = int(maxAge / time.Second)
	}
	c.SetCookie(ck)
}

// currentSession returns the browser's riscd session. A missing, expired or
// ended session is (zero, false, nil) and its cookie is cleared; an ended
// session is one created before the account's SessionsRevokedAt (set by a
// security event). The error is a storage failure.
func (h *Handler) currentSession(c echo.Context) (riscd.Session, bool, error) {
	ck, err := c.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return riscd.Session{}, false, nil
	}
	ctx := c.Request().Context()
	id := riscd.Secret(ck.Value)
	s, err := h.store.Session(ctx, id)
	if errors.Is(err, riscd.ErrNotFound) {
		h.setCookie(c, sessionCookie, "", h.sessionPath(), -1)
		return riscd.Session{}, false, nil
	}
	if err != nil {
		return riscd.Session{}, false, fmt.Errorf("read session: %w", err)
	}
	if ended, err := h.sessionEnded(ctx, s); err != nil {
		return riscd.Session{}, false, err
	} else if ended {
		if err := h.store.DeleteSession(ctx, id); err != nil && !errors.Is(err, riscd.ErrNotFound) {
			return riscd.Session{}, false, fmt.Errorf("delete ended session: %w", err)
		}
		h.setCookie(c, sessionCookie, "", h.sessionPath(), -1)
		return riscd.Session{}, false, nil
	}
	return s, true, nil
}

// sessionEnded reports whether a security event ended s after it began.
func (h *Handler) sessionEnded(ctx context.Context, s riscd.Session) (bool, error) {
	acct, err := h.store.Account(ctx, s.Sub)
	if errors.Is(err, riscd.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read account: %w", err)
	}
	return !acct.SessionsRevokedAt.IsZero() && s.CreatedAt.Before(acct.SessionsRevokedAt), nil
}

// errForbiddenPost is a POST without a live session or with a wrong CSRF
// token or a foreign Origin.
var errForbiddenPost = errors.New("forbidden post")

// postSession checks a POST form: no foreign Origin, a live
// session, and its CSRF token in the "csrf" field (compared in constant
// time). It returns errForbiddenPost (wrapped with why) or a storage error.
func (h *Handler) postSession(c echo.Context) (riscd.Session, error) {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, 16<<10)
	// Browsers send Origin: null under Referrer-Policy no-referrer, so only
	// a named foreign origin is refused; the CSRF token decides the rest.
	if o := r.Header.Get("Origin"); o != "" && o != "null" && o != h.publicOrig {
		return riscd.Session{}, fmt.Errorf("%w: foreign origin", errForbiddenPost)
	}
	s, ok, err := h.currentSession(c)
	if err != nil {
		return riscd.Session{}, err
	}
	if !ok {
		return riscd.Session{}, fmt.Errorf("%w: no session", errForbiddenPost)
	}
	got := r.PostFormValue("csrf")
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF.Reveal())) != 1 {
		return riscd.Session{}, fmt.Errorf("%w: csrf token mismatch", errForbiddenPost)
	}
	return s, nil
}
