package flowweb

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"
)

//go:embed templates/*.html static/riscd.css
var assets embed.FS

// pageNames are the page templates; each is parsed with layout.html.
var pageNames = []string{"index", "message", "feature"}

// pages holds one parsed template set per page.
type pages struct {
	t   map[string]*template.Template
	css []byte
}

func parsePages() (*pages, error) {
	p := &pages{t: map[string]*template.Template{}}
	for _, n := range pageNames {
		t, err := template.ParseFS(assets, "templates/layout.html", "templates/"+n+".html")
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", n, err)
		}
		p.t[n] = t
	}
	css, err := assets.ReadFile("static/riscd.css")
	if err != nil {
		return nil, fmt.Errorf("read stylesheet: %w", err)
	}
	p.css = css
	return p, nil
}

// layout is what every page template gets.
type layout struct {
	Title string
	Page  string // the main element's id and data-page, for tests and styling
	Base  string // path prefix for links
	Who   string // signed-in account, shown in the header
	// Provider names the authorization server ("Google" by default).
	Provider string
	Body     any
}

// link is an action shown as a button-styled link.
type link struct {
	Href, Label string
	Primary     bool
}

// messageView is an information or error page: what happened, what the user
// can do, what the operator can do.
type messageView struct {
	Code        string // machine-readable outcome, in data-code
	Heading     string
	What        string
	UserCan     string
	OperatorCan string
	Actions     []link
	Back        bool // offer the way back to the index
}

// render executes page name into a buffer, then answers status. A template
// failure is a bug: it is logged and answered 500 without details.
func (h *Handler) render(c echo.Context, status int, name string, v layout) error {
	v.Base, v.Provider = h.base, h.cfg.ProviderName
	var buf bytes.Buffer
	if err := h.pages.t[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		h.log.ErrorContext(c.Request().Context(), "flowweb: render page", "page", name, "err", err)
		return c.String(http.StatusInternalServerError, "internal error")
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// message renders a messageView, naming the provider where its text says
// Google.
func (h *Handler) message(c echo.Context, status int, who string, m messageView) error {
	m.Heading, m.What, m.UserCan, m.OperatorCan = h.named(m.Heading), h.named(m.What), h.named(m.UserCan), h.named(m.OperatorCan)
	m.Actions = slices.Clone(m.Actions)
	for i := range m.Actions {
		m.Actions[i].Label = h.named(m.Actions[i].Label)
	}
	return h.render(c, status, "message", layout{Title: m.Heading, Page: "message", Who: who, Body: m})
}

// internalError logs an unexpected failure and shows a page without its
// details.
func (h *Handler) internalError(c echo.Context, what string, err error) error {
	h.log.ErrorContext(c.Request().Context(), "flowweb: "+what, "err", err)
	return h.message(c, http.StatusInternalServerError, "", messageView{
		Code:        "internal",
		Heading:     "Something went wrong",
		What:        "riscd could not complete this request. Nothing was changed by it.",
		UserCan:     "Try again in a moment.",
		OperatorCan: "riscd's log has the details.",
		Back:        true,
	})
}

// stylesheet serves the one stylesheet. It may be cached briefly.
func (h *Handler) stylesheet(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", h.pages.css)
}
