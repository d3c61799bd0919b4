package googlesim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestConsentAllowAll(t *testing.T) {
	s := newSim(t, nil)
	loc := mustConsent(t, browser(t), s.authURL(nil), Choice{})
	q := loc.Query()
	if got, want := q.Get("state"), "st-123"; got != want {
		t.Errorf("state = %q, want %q", got, want)
	}
	if got, want := q.Get("scope"), "openid email "+scopeDrive; got != want {
		t.Errorf("scope = %q, want %q", got, want)
	}
	if !strings.HasPrefix(q.Get("code"), "4/") {
		t.Errorf("code %q does not look like Google's (4/...)", q.Get("code"))
	}
	a := s.exchange(t, codeOf(t, loc), "")
	if a.status != http.StatusOK {
		t.Fatalf("exchange: %d %v", a.status, a.body)
	}
	if !strings.HasPrefix(a.str("refresh_token"), "1//") {
		t.Errorf("refresh_token does not start with 1//")
	}
	g, ok := s.Grant("alice@example.com")
	if !ok {
		t.Fatal("no grant for alice after consent")
	}
	if want := []string{"email", scopeDrive, "openid"}; !slices.Equal(g.Scopes, want) {
		t.Errorf("grant scopes = %v, want %v", g.Scopes, want)
	}
	if len(g.RefreshTokens) != 1 || g.RefreshTokens[0] != a.str("refresh_token") {
		t.Errorf("grant refresh tokens do not hold the issued one")
	}
}

func TestConsentDeny(t *testing.T) {
	s := newSim(t, nil)
	loc := mustConsent(t, browser(t), s.authURL(nil), Choice{Deny: true})
	q := loc.Query()
	if q.Get("error") != "access_denied" || q.Get("state") != "st-123" || q.Get("code") != "" {
		t.Errorf("redirect query = %v, want error=access_denied, state=st-123, no code", q)
	}
	if _, ok := s.Grant("alice@example.com"); ok {
		t.Error("a denied consent left a grant")
	}
}

func TestConsentPartialGrant(t *testing.T) {
	s := newSim(t, nil)
	edit := map[string]string{"scope": "openid email " + scopeDrive + " " + scopeCal}
	loc := mustConsent(t, browser(t), s.authURL(edit), Choice{Scopes: []string{scopeCal}})
	if got, want := loc.Query().Get("scope"), "openid email "+scopeCal; got != want {
		t.Errorf("redirect scope = %q, want %q", got, want)
	}
	a := s.exchange(t, codeOf(t, loc), "")
	if got, want := a.str("scope"), "openid email "+scopeCal; got != want {
		t.Errorf("token scope = %q, want %q", got, want)
	}
	g, _ := s.Grant("alice@example.com")
	if slices.Contains(g.Scopes, scopeDrive) {
		t.Errorf("unticked scope granted: %v", g.Scopes)
	}
	if d := s.get(t, PathDriveFiles, a.str("access_token")); d.status != http.StatusForbidden {
		t.Errorf("drive without the drive scope: status %d, want 403", d.status)
	}
}

func TestConsentNothingTickedIsDenied(t *testing.T) {
	s := newSim(t, nil)
	loc := mustConsent(t, browser(t), s.authURL(map[string]string{"scope": scopeDrive}), Choice{Scopes: []string{}})
	if got := loc.Query().Get("error"); got != "access_denied" {
		t.Errorf("error = %q, want access_denied", got)
	}
}

func TestIncludeGrantedScopes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		include string
		want    string
	}{
		{"union", "true", "openid " + scopeDrive + " email"},
		{"new scopes only", "false", "openid " + scopeDrive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, nil)
			b := browser(t)
			s.grantFlow(t, b, map[string]string{"scope": "openid email"}, Choice{})
			a := s.grantFlow(t, b, map[string]string{"scope": "openid " + scopeDrive, "include_granted_scopes": tc.include}, Choice{})
			if got := a.str("scope"); got != tc.want {
				t.Errorf("scope = %q, want %q", got, tc.want)
			}
			g, _ := s.Grant("alice@example.com")
			if want := []string{"email", scopeDrive, "openid"}; !slices.Equal(g.Scopes, want) {
				t.Errorf("grant scopes = %v, want %v (the grant always keeps the union)", g.Scopes, want)
			}
		})
	}
}

func TestRefreshTokenOnlyOnFirstConsent(t *testing.T) {
	s := newSim(t, nil)
	b := browser(t)
	steps := []struct {
		name        string
		edit        map[string]string
		wantRefresh bool
	}{
		{"online first", map[string]string{"access_type": ""}, false},
		{"first offline consent", nil, true},
		{"again without prompt", nil, false},
		{"prompt=consent", map[string]string{"prompt": "consent"}, true},
		{"prompt=consent online", map[string]string{"prompt": "consent", "access_type": "online"}, false},
		{"again after prompt=consent", nil, false},
	}
	for _, st := range steps {
		a := s.grantFlow(t, b, st.edit, Choice{})
		if got := a.str("refresh_token") != ""; got != st.wantRefresh {
			t.Errorf("%s: refresh token issued = %v, want %v", st.name, got, st.wantRefresh)
		}
	}
	if err := s.RevokeGrant("alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if a := s.grantFlow(t, b, nil, Choice{}); a.str("refresh_token") == "" {
		t.Error("first consent after revocation: no refresh token")
	}
}

func TestSecondConsentSkipsPage(t *testing.T) {
	s := newSim(t, nil)
	b := browser(t)
	s.grantFlow(t, b, nil, Choice{})
	resp, err := (&http.Client{Jar: b.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(s.authURL(nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("second request for covered scopes: status %d, want 302 without a page", resp.StatusCode)
	}
	loc, _ := resp.Location()
	if got := loc.Query().Get("prompt"); got != "none" {
		t.Errorf("prompt = %q, want none", got)
	}
	codeOf(t, loc)
}

func TestLoginHint(t *testing.T) {
	for _, hint := range []string{"bob@example.com", "BOB@example.com", "107316725092467203375"} {
		t.Run(hint, func(t *testing.T) {
			s := newSim(t, nil)
			page := fetchConsentForm(t, browser(t), s.authURL(map[string]string{"login_hint": hint}))
			if !page.chooser || page.selected != "107316725092467203375" {
				t.Errorf("chooser=%v selected=%q, want the chooser with bob preselected", page.chooser, page.selected)
			}
			s.grantFlow(t, browser(t), map[string]string{"login_hint": hint}, Choice{})
			if _, ok := s.Grant("bob@example.com"); !ok {
				t.Error("no grant for the hinted user")
			}
			if _, ok := s.Grant("alice@example.com"); ok {
				t.Error("grant for a user not hinted")
			}
		})
	}
}

func TestSelectAccountShowsChooser(t *testing.T) {
	s := newSim(t, nil)
	b := browser(t)
	s.grantFlow(t, b, nil, Choice{})
	if page := fetchConsentForm(t, b, s.authURL(map[string]string{"prompt": "consent"})); page.chooser {
		t.Error("prompt=consent for a signed-in user showed the chooser")
	}
	page := fetchConsentForm(t, b, s.authURL(map[string]string{"prompt": "select_account"}))
	if !page.chooser || len(page.users) != 2 {
		t.Fatalf("prompt=select_account: chooser=%v users=%v, want the chooser with both users", page.chooser, page.users)
	}
	s.grantFlow(t, b, map[string]string{"prompt": "select_account"}, Choice{User: "bob@example.com"})
	if _, ok := s.Grant("bob@example.com"); !ok {
		t.Error("choosing bob on the chooser gave him no grant")
	}
}

func TestPromptNone(t *testing.T) {
	s := newSim(t, nil)
	b := browser(t)
	none := map[string]string{"prompt": "none"}
	if got := mustConsent(t, b, s.authURL(none), Choice{}).Query().Get("error"); got != "login_required" {
		t.Errorf("not signed in: error = %q, want login_required", got)
	}
	s.grantFlow(t, b, map[string]string{"scope": "openid email"}, Choice{})
	if got := mustConsent(t, b, s.authURL(none), Choice{}).Query().Get("error"); got != "consent_required" {
		t.Errorf("scopes not granted yet: error = %q, want consent_required", got)
	}
	loc := mustConsent(t, b, s.authURL(map[string]string{"prompt": "none", "scope": "openid email"}), Choice{})
	if a := s.exchange(t, codeOf(t, loc), ""); a.status != http.StatusOK {
		t.Errorf("prompt=none code exchange: %d %v", a.status, a.body)
	}
	hinted := map[string]string{"prompt": "none", "scope": "openid", "login_hint": "bob@example.com"}
	if got := mustConsent(t, b, s.authURL(hinted), Choice{}).Query().Get("error"); got != "interaction_required" {
		t.Errorf("hint names an account not signed in: error = %q, want interaction_required", got)
	}
	s.SignOut()
	if got := mustConsent(t, b, s.authURL(map[string]string{"prompt": "none", "scope": "openid email"}), Choice{}).Query().Get("error"); got != "login_required" {
		t.Errorf("after SignOut: error = %q, want login_required", got)
	}
}

func TestAuthorizeErrorPages(t *testing.T) {
	s := newSim(t, nil)
	cases := []struct {
		name string
		edit map[string]string
		code string
	}{
		{"unknown client", map[string]string{"client_id": "999-other.apps.googleusercontent.com"}, "invalid_client"},
		{"missing client", map[string]string{"client_id": ""}, "invalid_request"},
		{"missing redirect_uri", map[string]string{"redirect_uri": ""}, "invalid_request"},
		{"trailing slash", map[string]string{"redirect_uri": testRedirect + "/"}, "redirect_uri_mismatch"},
		{"case", map[string]string{"redirect_uri": strings.ToUpper(testRedirect)}, "redirect_uri_mismatch"},
		{"scheme", map[string]string{"redirect_uri": "https" + strings.TrimPrefix(testRedirect, "http")}, "redirect_uri_mismatch"},
		{"other host", map[string]string{"redirect_uri": "http://127.0.0.1:9/evil"}, "redirect_uri_mismatch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Consent(context.Background(), browser(t), s.authURL(tc.edit), Choice{})
			var pe *PageError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *PageError (no redirect)", err)
			}
			if pe.Status != http.StatusBadRequest || pe.Code != tc.code {
				t.Errorf("page = %d %s, want 400 %s", pe.Status, pe.Code, tc.code)
			}
		})
	}
}

func TestAuthorizeRedirectErrors(t *testing.T) {
	s := newSim(t, nil)
	cases := []struct {
		name string
		edit map[string]string
		code string
	}{
		{"response_type token", map[string]string{"response_type": "token"}, "invalid_request"},
		{"no response_type", map[string]string{"response_type": ""}, "invalid_request"},
		{"no scope", map[string]string{"scope": ""}, "invalid_request"},
		{"unknown scope", map[string]string{"scope": "openid https://evil.example/scope"}, "invalid_scope"},
		{"prompt none consent", map[string]string{"prompt": "none consent"}, "invalid_request"},
		{"prompt wrong case", map[string]string{"prompt": "Consent"}, "invalid_request"},
		{"prompt unknown", map[string]string{"prompt": "login"}, "invalid_request"},
		{"pkce method", map[string]string{"code_challenge": s256("v"), "code_challenge_method": "S512"}, "invalid_request"},
		{"pkce method without challenge", map[string]string{"code_challenge_method": "S256"}, "invalid_request"},
		{"pkce challenge too short", map[string]string{"code_challenge": "abc", "code_challenge_method": "S256"}, "invalid_request"},
		{"access_type", map[string]string{"access_type": "forever"}, "invalid_request"},
		{"include_granted_scopes", map[string]string{"include_granted_scopes": "yes"}, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			loc := mustConsent(t, browser(t), s.authURL(tc.edit), Choice{})
			q := loc.Query()
			if q.Get("error") != tc.code || q.Get("state") != "st-123" || q.Get("code") != "" {
				t.Errorf("redirect query = %v, want error=%s state=st-123", q, tc.code)
			}
		})
	}
	t.Run("repeated parameter", func(t *testing.T) {
		loc := mustConsent(t, browser(t), s.authURL(nil)+"&scope=email", Choice{})
		if got := loc.Query().Get("error"); got != "invalid_request" {
			t.Errorf("error = %q, want invalid_request", got)
		}
	})
}

func TestForcedAuthError(t *testing.T) {
	s := newSim(t, nil)
	for _, code := range []string{"admin_policy_enforced", "org_internal", "disallowed_useragent"} {
		s.SetAuthError(code)
		q := mustConsent(t, browser(t), s.authURL(nil), Choice{}).Query()
		if q.Get("error") != code || q.Get("state") != "st-123" {
			t.Errorf("forced %s: redirect query %v", code, q)
		}
	}
	s.SetAuthError("")
	codeOf(t, mustConsent(t, browser(t), s.authURL(nil), Choice{}))
}

func TestConsentPageMarkup(t *testing.T) {
	s := newSim(t, nil)
	resp, err := browser(t).Get(s.authURL(map[string]string{"scope": "openid email " + scopeDrive + " " + scopeCal, "state": "secret-state-value", "nonce": "n-0S6"}))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	page := string(body)
	for _, want := range []string{
		`name="scope" value="` + scopeDrive + `" checked`,
		`name="scope" value="` + scopeCal + `" checked`,
		`data-identity="openid"`, `data-identity="email"`,
		`value="allow"`, `value="deny"`, `name="req"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	for _, leak := range []string{"secret-state-value", "n-0S6", testRedirect, "http://", "https://fonts", "<script"} {
		if strings.Contains(page, leak) {
			t.Errorf("page contains %q: request parameters or external assets on the page", leak)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
}

func TestConsentAnswerIsSingleUse(t *testing.T) {
	s := newSim(t, nil)
	b := browser(t)
	form := fetchConsentForm(t, b, s.authURL(nil))
	v, err := form.answer(Choice{})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{http.StatusFound, http.StatusBadRequest} {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+form.action, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("answer %d: status %d, want %d", i+1, resp.StatusCode, want)
		}
	}
}

func TestConsentHelperRefusesBadChoices(t *testing.T) {
	s := newSim(t, nil)
	_, err := Consent(context.Background(), browser(t), s.authURL(nil), Choice{User: "mallory@example.com"})
	var pe *PageError
	if !errors.As(err, &pe) || pe.Code != "invalid_request" {
		t.Errorf("unknown user: err = %v, want an invalid_request page", err)
	}
	if _, err := Consent(context.Background(), browser(t), s.authURL(nil), Choice{Scopes: []string{scopeCal}}); err == nil || errors.As(err, &pe) {
		t.Errorf("scope not on the page: err = %v, want a helper error", err)
	}
}

// fetchConsentForm GETs the consent page and parses its form.
func fetchConsentForm(tb testing.TB, b *http.Client, authURL string) *consentForm {
	tb.Helper()
	resp, err := b.Get(authURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("consent page: status %d", resp.StatusCode)
	}
	f, err := parseConsentPage(body)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}
