package adminpage

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/events"
)

// uiAssets are the admin page's templates and its one stylesheet.
//
//go:embed ui/*.html ui/ui.css
var uiAssets embed.FS

// uiBase is the path of the admin page; every page lives below it and the
// session cookie is scoped to it.
const uiBase = "/admin/ui"

// uiCSP is the admin page's Content-Security-Policy: no script at all,
// styles from the one stylesheet, forms posting only to riscd, no framing.
const uiCSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// uiPageNames are the page templates; each is parsed with layout.html.
var uiPageNames = []string{
	"login", "message", "grants", "grant", "accounts", "account", "release", "events", "event", "outbox", "audit", "stream",
}

// parse parses the templates with s's clock in their functions, and the
// stylesheet.
func (s *Page) parse() error {
	funcs := template.FuncMap{
		"when":       formatTime,
		"whenp":      func(t *time.Time) string { return formatTime(deref(t)) },
		"ago":        func(t time.Time) string { return relative(s.now(), t) },
		"agep":       func(t *time.Time) string { return relative(s.now(), deref(t)) },
		"seconds":    func(sec float64) string { return roundDuration(time.Duration(sec * float64(time.Second))) },
		"join":       strings.Join,
		"pathEscape": url.PathEscape,
		"short":      events.ShortName,
		"subOf":      s.svc.SubOfKey,
	}
	s.pages = map[string]*template.Template{}
	for _, n := range uiPageNames {
		t, err := template.New(n).Funcs(funcs).ParseFS(uiAssets, "ui/layout.html", "ui/"+n+".html")
		if err != nil {
			return fmt.Errorf("admin page %s: %w", n, err)
		}
		s.pages[n] = t
	}
	css, err := uiAssets.ReadFile("ui/ui.css")
	if err != nil {
		return fmt.Errorf("admin page stylesheet: %w", err)
	}
	s.css = css
	return nil
}

// uiLayout is what every page template gets.
type uiLayout struct {
	Title    string
	Page     string // the main element's id and data-page, and the current navigation item
	SignedIn bool
	Operator string // who is signed in: the audit's actor (operator, or operator:<name>)
	CSRF     string // the session's token, for every form that posts
	Notice   string // a one-line confirmation of the last action
	Body     any
}

// uiNotices are the confirmations a redirect after an action may ask a
// page to show (?notice=...). Only these texts are ever shown.
var uiNotices = map[string]string{
	"signed_out":  "Signed out.",
	"retried":     "The event is pending again; the dispatcher will take it up.",
	"released":    "The hold is lifted: held grants are active again.",
	"revoked":     "The grant is revoked; its upstream revocation is queued in the outbox.",
	"job_retried": "The job is pending and due now; the outbox takes it up at once.",
}

// render executes page name with the signed-in session's CSRF token and
// the notice the query asks for, then answers status. A template failure is
// returned (a bug: the request log records it and the error page follows).
func (s *Page) render(c echo.Context, status int, name string, v uiLayout) error {
	if sess, ok := c.Get(uiSessionKey).(riscd.AdminSession); ok {
		v.SignedIn, v.CSRF, v.Operator = true, sess.CSRF.Reveal(), sessionActor(sess)
	}
	if v.Notice == "" {
		v.Notice = uiNotices[c.QueryParam("notice")]
	}
	if v.Page == "" {
		v.Page = name
	}
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("admin page %s: render: %w", name, err)
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// uiMessage is the message page: an error or a notice, and where to go.
type uiMessage struct {
	Code    string // machine-readable, in data-code
	Heading string
	Text    string
	Back    string // a link back; "" for none
}

// uiAnswer turns a page's or an action's error into an HTML page, as
// answer does for the API: same classification (classify), same rule that
// only an Error's detail is shown.
func (s *Page) uiAnswer(c echo.Context, err error) (string, bool) {
	v := admin.Classify(err)
	for k, vs := range v.Header {
		if k != "Www-Authenticate" { // the page signs in with a form, not a challenge
			c.Response().Header()[k] = vs
		}
	}
	if c.Response().Committed {
		return v.Code, v.Unexpected
	}
	m := uiMessage{Code: v.Code, Heading: http.StatusText(v.Status), Back: uiBase + "/grants"}
	if text, ok := v.Detail.(string); ok {
		m.Text = text
	}
	if v.Status == http.StatusForbidden {
		m.Back = uiBase + "/login"
	}
	if rerr := s.render(c, v.Status, "message", uiLayout{Title: m.Heading, Body: m}); rerr != nil {
		s.log.ErrorContext(c.Request().Context(), "admin: render error page", "err", rerr)
		_ = c.String(v.Status, m.Heading)
		return v.Code, true
	}
	return v.Code, v.Unexpected
}

// serveUI wraps every route of the admin page: the request log and HTML
// error pages (serveWith), and the page's security headers.
func (s *Page) serveUI(next echo.HandlerFunc) echo.HandlerFunc {
	return s.svc.ServeWith(s.uiAnswer, func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", uiCSP)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		return next(c)
	})
}

// uiHome is GET /admin/ui: the grant list.
func (s *Page) uiHome(c echo.Context) error {
	return c.Redirect(http.StatusSeeOther, uiBase+"/grants")
}

// uiStylesheet is GET /admin/ui/static/ui.css. It needs no session: the
// sign-in page uses it too.
func (s *Page) uiStylesheet(c echo.Context) error {
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", s.css)
}

// pageURL is path with the non-empty values of q, for links that keep a
// list's filters.
func pageURL(path string, q url.Values) string {
	for k, vs := range q {
		if len(vs) == 0 || vs[0] == "" {
			delete(q, k)
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// errConfirm refuses a destructive action whose confirmation box was not
// ticked.
var errConfirm = &admin.Error{
	Status: http.StatusBadRequest, Code: admin.CodeBadRequest,
	Detail: "tick the confirmation box to confirm the action; nothing was changed",
}

// confirmed reports whether the action's form carried confirm=yes.
func confirmed(c echo.Context) bool { return c.Request().PostFormValue("confirm") == "yes" }

// formatTime is a time as the page shows it, in UTC to the second; "—" for
// the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// relative is t relative to now, roughly ("3m ago", "in 10s"); "" for the
// zero time.
func relative(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if d := now.Sub(t); d >= 0 {
		return roundDuration(d) + " ago"
	}
	return "in " + roundDuration(t.Sub(now))
}

// roundDuration shows d to a unit that suits it.
func roundDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Truncate(time.Second).String()
	case d < time.Hour:
		return d.Truncate(time.Minute).String()
	case d < 48*time.Hour:
		return strings.TrimSuffix(d.Truncate(time.Minute).String(), "0s")
	}
	return fmt.Sprintf("%dd", d/(24*time.Hour))
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
