package e2e

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/riscd/riscd/googlesim"
)

// csrfField finds the CSRF token in riscd's page.
var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// page GETs a riscd page with browser b.
func page(t *testing.T, b *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := b.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// postForm POSTs a form with browser b and extra headers.
func postForm(t *testing.T, b *http.Client, u string, form url.Values, header http.Header) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// startFlow begins a consent in browser b and answers googlesim's consent
// page as user, returning the callback URL riscd would be sent to (not
// visited).
func startFlow(t *testing.T, r *rig, b *http.Client, user googlesim.User) *url.URL {
	t.Helper()
	resp, err := b.Get(r.public + "/authorize?features=")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET /authorize = %d, want 302", resp.StatusCode)
	}
	back, err := googlesim.Consent(context.Background(), b, resp.Header.Get("Location"), googlesim.Choice{User: user.Email})
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// testFlowTampering forges the consent flow's POST forms (no, wrong or
// foreign-origin CSRF tokens, no session) and its callback (altered,
// missing, duplicated or foreign state, a replayed answer): each is refused
// with its page, alice keeps her grant and session, and bob gets no grant
// from a forged callback.
func testFlowTampering(t *testing.T, r *rig, aliceBrowser *http.Client, alice, bob googlesim.User) {
	ctx := context.Background()
	r = r.as(t)
	code, body := page(t, aliceBrowser, r.public+"/")
	m := csrfField.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		t.Fatalf("GET / as alice = %d without a CSRF field", code)
	}
	csrf := m[1]
	stranger := newBrowser(r)
	for _, tc := range []struct {
		name    string
		browser *http.Client
		path    string
		form    url.Values
		header  http.Header
	}{
		{"revoke without a CSRF token", aliceBrowser, "/revoke", url.Values{}, nil},
		{"revoke with a wrong CSRF token", aliceBrowser, "/revoke", url.Values{"csrf": {"AAAA" + csrf[4:]}}, nil},
		{"revoke with the CSRF token twice, first wrong", aliceBrowser, "/revoke", url.Values{"csrf": {"wrong", csrf}}, nil},
		{"revoke from a foreign origin", aliceBrowser, "/revoke", url.Values{"csrf": {csrf}}, http.Header{"Origin": {"http://evil.example"}}},
		{"revoke without the session cookie", stranger, "/revoke", url.Values{"csrf": {csrf}}, nil},
		{"clear with a wrong CSRF token", aliceBrowser, "/clear", url.Values{"csrf": {"wrong"}}, nil},
		{"clear from a foreign origin", aliceBrowser, "/clear", url.Values{"csrf": {csrf}}, http.Header{"Origin": {"https://evil.example"}}},
	} {
		if got := postForm(t, tc.browser, r.public+tc.path, tc.form, tc.header); got != http.StatusForbidden {
			t.Errorf("%s: POST %s = %d, want 403", tc.name, tc.path, got)
		}
	}
	if gs := r.grantsOf(ctx, alice.Sub); len(gs) != 1 || gs[0].Status != "active" {
		t.Errorf("alice's grants after forged posts: %+v, want one active", gs)
	}
	if code, body := page(t, aliceBrowser, r.public+"/"); code != http.StatusOK || !strings.Contains(body, csrf) {
		t.Errorf("alice's session did not survive the forged posts (GET / = %d)", code)
	}

	// Forged callbacks, each against a flow of its own.
	callback := func(name string, b *http.Client, u string) {
		t.Helper()
		if code, _ := page(t, b, u); code != http.StatusBadRequest {
			t.Errorf("%s: callback = %d, want 400", name, code)
		}
	}
	withQuery := func(u *url.URL, edit func(q url.Values)) string {
		v := *u
		q := v.Query()
		edit(q)
		v.RawQuery = q.Encode()
		return v.String()
	}
	b := newBrowser(r)
	back := startFlow(t, r, b, bob)
	callback("state altered", b, withQuery(back, func(q url.Values) { q.Set("state", q.Get("state")+"x") }))

	b = newBrowser(r)
	back = startFlow(t, r, b, bob)
	callback("state missing", b, withQuery(back, func(q url.Values) { q.Del("state") }))

	b = newBrowser(r)
	back = startFlow(t, r, b, bob)
	callback("state given twice, the right one second", b, withQuery(back, func(q url.Values) {
		q["state"] = []string{"forged", q.Get("state")}
	}))

	b = newBrowser(r)
	back = startFlow(t, r, b, bob)
	callback("no flow cookie", newBrowser(r), back.String())

	// Login CSRF: the attacker's answer in the victim's browser, which has
	// a flow of its own.
	attacker, victim := newBrowser(r), newBrowser(r)
	back = startFlow(t, r, attacker, bob)
	resp, err := victim.Get(r.public + "/authorize?features=")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	callback("the attacker's answer with the victim's flow", victim, back.String())
	if gs := r.grantsOf(ctx, bob.Sub); len(gs) != 0 {
		t.Fatalf("bob has grants after forged callbacks: %+v", gs)
	}

	// A replayed answer: the flow cookie is single use.
	b = newBrowser(r)
	back = startFlow(t, r, b, bob)
	cookies := b.Jar.Cookies(&url.URL{Scheme: "http", Host: strings.TrimPrefix(r.public, "http://"), Path: "/oauth2callback"})
	if code, _ := page(t, b, back.String()); code != http.StatusSeeOther {
		t.Fatalf("bob's own callback = %d, want 303", code)
	}
	replay := newBrowser(r)
	u, _ := url.Parse(r.public + "/oauth2callback")
	replay.Jar.SetCookies(u, cookies)
	callback("a replayed answer with the used flow cookie", replay, back.String())
	if gs := r.grantsOf(ctx, bob.Sub); len(gs) != 1 {
		t.Errorf("bob's grants after one consent and a replay: %+v, want one", gs)
	}
}
