package googlesim

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Choice is what the user does on the consent page.
type Choice struct {
	// Deny presses Deny instead of Allow.
	Deny bool
	// Scopes are the scopes left ticked; nil keeps every requested scope.
	// Identity scopes (openid, email, profile) are always granted.
	Scopes []string
	// User is the account to choose, by sub or email; empty keeps the
	// page's choice (the login_hint or signed-in user, else the first).
	User string
}

// PageError is an error page the authorization endpoint showed instead of
// redirecting (unknown client, unregistered redirect_uri, ...).
type PageError struct {
	Status int    // the HTTP status
	Code   string // Google's error code, e.g. "redirect_uri_mismatch"
}

// Error names the status and the error code the page showed.
func (e *PageError) Error() string {
	return fmt.Sprintf("googlesim: error page (HTTP %d): %s", e.Status, e.Code)
}

// Consent plays the browser: it GETs authURL with client (whose cookie jar
// keeps the Google sign-in between calls), answers the consent page as c
// says, and returns the redirect back to the application without following
// it. When the server answers at once (prompt=none, an earlier consent, an
// error redirect) that redirect is returned. Errors: *PageError when the
// server shows an error page; otherwise a wrapped transport or parse error.
func Consent(ctx context.Context, client *http.Client, authURL string, c Choice) (*url.URL, error) {
	cl := *client
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, fmt.Errorf("googlesim: consent: %w", err)
	}
	resp, body, err := roundTrip(&cl, req)
	if err != nil {
		return nil, err
	}
	if loc, ok, err := redirectOf(resp); ok || err != nil {
		return loc, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, pageError(resp.StatusCode, body)
	}
	form, err := parseConsentPage(body)
	if err != nil {
		return nil, err
	}
	v, err := form.answer(c)
	if err != nil {
		return nil, err
	}
	action, err := resp.Request.URL.Parse(form.action)
	if err != nil {
		return nil, fmt.Errorf("googlesim: consent: form action: %w", err)
	}
	post, err := http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(v.Encode()))
	if err != nil {
		return nil, fmt.Errorf("googlesim: consent: %w", err)
	}
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body, err = roundTrip(&cl, post)
	if err != nil {
		return nil, err
	}
	if loc, ok, err := redirectOf(resp); ok || err != nil {
		return loc, err
	}
	return nil, pageError(resp.StatusCode, body)
}

// roundTrip sends req and reads up to 1 MiB of the answer.
func roundTrip(cl *http.Client, req *http.Request) (*http.Response, []byte, error) {
	resp, err := cl.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("googlesim: consent: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("googlesim: consent: read page: %w", err)
	}
	return resp, body, nil
}

// redirectOf returns the Location of a redirect answer.
func redirectOf(resp *http.Response) (*url.URL, bool, error) {
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		return nil, false, nil
	}
	loc, err := resp.Location()
	if err != nil {
		return nil, true, fmt.Errorf("googlesim: consent: redirect: %w", err)
	}
	return loc, true, nil
}

var errorCodeAttr = regexp.MustCompile(`data-error="([^"]*)"`)

func pageError(status int, body []byte) error {
	pe := &PageError{Status: status}
	if m := errorCodeAttr.FindSubmatch(body); m != nil {
		pe.Code = html.UnescapeString(string(m[1]))
	}
	return pe
}

// consentForm is the consent page's form as a browser sees it.
type consentForm struct {
	action   string
	reqID    string
	users    []string // radio choices, or the one fixed user
	chooser  bool
	selected string
	scopes   []string // checkboxes that can be unticked
	identity []string // identity scopes, always granted
}

var (
	formTag  = regexp.MustCompile(`<form\b[^>]*\baction="([^"]*)"`)
	inputTag = regexp.MustCompile(`<input\b[^>]*>`)
	attr     = regexp.MustCompile(`([a-zA-Z-]+)(?:="([^"]*)")?`)
)

// parseConsentPage reads the consent page this package renders.
func parseConsentPage(body []byte) (*consentForm, error) {
	m := formTag.FindSubmatch(body)
	if m == nil {
		return nil, errors.New("googlesim: consent: no form on the page")
	}
	f := &consentForm{action: html.UnescapeString(string(m[1]))}
	for _, tag := range inputTag.FindAll(body, -1) {
		a := map[string]string{}
		for _, kv := range attr.FindAllSubmatch(tag[len("<input"):], -1) {
			a[string(kv[1])] = html.UnescapeString(string(kv[2]))
		}
		_, checked := a["checked"]
		switch {
		case a["name"] == "req":
			f.reqID = a["value"]
		case a["name"] == "user" && a["type"] == "radio":
			f.chooser = true
			f.users = append(f.users, a["value"])
			if checked {
				f.selected = a["value"]
			}
		case a["name"] == "user":
			f.users = append(f.users, a["value"])
			f.selected = a["value"]
		case a["name"] == "scope":
			f.scopes = append(f.scopes, a["value"])
		case a["data-identity"] != "":
			f.identity = append(f.identity, a["data-identity"])
		}
	}
	if f.reqID == "" || len(f.users) == 0 {
		return nil, errors.New("googlesim: consent: the page is not a consent form")
	}
	return f, nil
}

// answer fills the form as the user c would.
func (f *consentForm) answer(c Choice) (url.Values, error) {
	v := url.Values{"req": {f.reqID}}
	if c.Deny {
		v.Set("action", "deny")
		return v, nil
	}
	v.Set("action", "allow")
	user := c.User
	if user == "" {
		user = f.selected
	}
	if user == "" {
		user = f.users[0]
	}
	v.Set("user", user)
	ticked := f.scopes
	if c.Scopes != nil {
		ticked = nil
		for _, sc := range c.Scopes {
			switch {
			case slices.Contains(f.scopes, sc):
				ticked = append(ticked, sc)
			case slices.Contains(f.identity, sc):
			default:
				return nil, fmt.Errorf("googlesim: consent: scope %s is not on the page (offered: %s)", sc, strconv.Quote(strings.Join(f.scopes, " ")))
			}
		}
	}
	v["scope"] = ticked
	return v, nil
}
