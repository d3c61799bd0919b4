package googlesim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// demoSim is a stream sim with the demo on and a stream to sink carrying
// every event.
func demoSim(tb testing.TB) (sim, *setSink) {
	tb.Helper()
	s := newStreamSim(tb, func(c *Config) { c.Demo = true })
	sink := newSETSink(tb)
	if err := s.ConfigureStream(sink.URL+"/risc", StreamEventTypes()); err != nil {
		tb.Fatal(err)
	}
	return s, sink
}

// demoPageOf fetches /demo with the browser and returns the page and its
// CSRF token.
func demoPageOf(tb testing.TB, s sim, b *http.Client) (string, string) {
	tb.Helper()
	resp, err := b.Get(s.URL() + PathDemo)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		tb.Fatalf("GET /demo = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(body))
	if m == nil {
		tb.Fatalf("no CSRF token in the page")
	}
	return string(body), m[1]
}

// demoPost posts the page's form; it returns the status and Location.
func demoPost(tb testing.TB, s sim, b *http.Client, form url.Values, header map[string]string) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+PathDemoPush, strings.NewReader(form.Encode()))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	nb := *b
	nb.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := nb.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

func TestDemoRoutesOnlyWhenEnabled(t *testing.T) {
	s := newStreamSim(t, nil)
	for _, p := range []struct{ method, path string }{{"GET", PathDemo}, {"POST", PathDemoPush}, {"POST", PathDemoSend}} {
		req, _ := http.NewRequest(p.method, s.URL()+p.path, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s without Config.Demo = %d, want 404", p.method, p.path, resp.StatusCode)
		}
	}
}

func TestDemoPage(t *testing.T) {
	s := newStreamSim(t, func(c *Config) { c.Demo = true })
	b := browser(t)
	page, _ := demoPageOf(t, s, b)
	if !strings.Contains(page, "No stream yet") {
		t.Errorf("page without a stream does not say so")
	}
	sink := newSETSink(t)
	if err := s.ConfigureStream(sink.URL+"/risc", StreamEventTypes()); err != nil {
		t.Fatal(err)
	}
	page, csrf := demoPageOf(t, s, b)
	for _, want := range []string{
		sink.URL + "/risc", `id="stream-status" class="ok">enabled`, "alice@example.com", "bob@example.com",
		DefaultUsers()[0].Sub, `value="account-disabled/hijacking"`, `value="verification"`, "Nothing sent yet",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(page, `title="no refresh token issued to this user yet"`); n != 2 {
		t.Errorf("%d disabled token-revoked buttons, want 2 (nobody consented yet)", n)
	}
	for _, asset := range []string{"<script", "<link", "src=", "@import"} {
		if strings.Contains(page, asset) {
			t.Errorf("page has %q: it must load no scripts or external assets", asset)
		}
	}

	alice := s.Users()[0]
	code, loc := demoPost(t, s, b, url.Values{"csrf": {csrf}, "sub": {alice.Sub}, "event": {"account-disabled/hijacking"}}, nil)
	if code != http.StatusSeeOther || loc != PathDemo+"#pushes" {
		t.Fatalf("POST /demo/push = %d to %q, want 303 back to the page", code, loc)
	}
	got := sink.waitFor(t, 1)
	typ, body := eventOf(t, got[0])
	if typ != EventAccountDisabled || body["reason"] != ReasonHijacking || body["subject"].(map[string]any)["sub"] != alice.Sub {
		t.Fatalf("receiver got %v, want account-disabled/hijacking for alice", got[0])
	}
	page, _ = demoPageOf(t, s, b)
	if !strings.Contains(page, `class="push-status ok">202</strong>`) {
		t.Errorf("page does not show the push's 202")
	}

	// A push that cannot be made is listed with its reason.
	demoPost(t, s, b, url.Values{"csrf": {csrf}, "sub": {alice.Sub}, "event": {"token-revoked"}}, nil)
	page, _ = demoPageOf(t, s, b)
	if !strings.Contains(page, "holds no refresh token") {
		t.Errorf("page does not explain the refused token-revoked")
	}
}

func TestDemoPushCSRF(t *testing.T) {
	s, sink := demoSim(t)
	b := browser(t)
	_, csrf := demoPageOf(t, s, b)
	form := func(tok string) url.Values {
		return url.Values{"csrf": {tok}, "sub": {"alice@example.com"}, "event": {"sessions-revoked"}}
	}
	for _, tc := range []struct {
		name   string
		client *http.Client
		form   url.Values
		header map[string]string
	}{
		{"no token", b, url.Values{"sub": {"alice@example.com"}, "event": {"sessions-revoked"}}, nil},
		{"wrong token", b, form(otherLast(csrf)), nil},
		{"no cookie", browser(t), form(csrf), nil},
		{"cross-site", b, form(csrf), map[string]string{"Sec-Fetch-Site": "cross-site"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _ := demoPost(t, s, tc.client, tc.form, tc.header); code != http.StatusForbidden {
				t.Errorf("got %d, want 403", code)
			}
		})
	}
	if n := len(s.StreamPushes()); n != 0 || len(sink.got()) != 0 {
		t.Errorf("refused posts pushed %d events", n)
	}
}

// otherLast returns tok with its last character changed.
func otherLast(tok string) string {
	last := "A"
	if strings.HasSuffix(tok, last) {
		last = "B"
	}
	return tok[:len(tok)-1] + last
}

// demoSend posts a JSON body to /demo/send.
func demoSend(tb testing.TB, s sim, body string, header map[string]string) answer {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+PathDemoSend, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return doJSON(tb, req)
}

func TestDemoSendEveryEvent(t *testing.T) {
	s, sink := demoSim(t)
	alice := s.Users()[0]
	rt := s.grantFlow(t, browser(t), nil, Choice{User: alice.Email}).str("refresh_token")
	if rt == "" {
		t.Fatal("no refresh token")
	}
	for i, tc := range []struct {
		req    DemoRequest
		typ    string
		member string
		want   any
	}{
		{DemoRequest{Event: "sessions-revoked", Sub: alice.Sub}, EventSessionsRevoked, "", nil},
		{DemoRequest{Event: "tokens-revoked", Sub: alice.Email}, EventTokensRevoked, "", nil},
		{DemoRequest{Event: "token-revoked", Sub: alice.Sub}, EventTokenRevoked, "token", HashIdentifier(rt, nil)},
		{DemoRequest{Event: "token-revoked", Sub: alice.Sub, Alg: "prefix"}, EventTokenRevoked, "token", PrefixIdentifier(rt)},
		{DemoRequest{Event: "account-disabled", Sub: alice.Sub, Reason: "hijacking"}, EventAccountDisabled, "reason", "hijacking"},
		{DemoRequest{Event: "account-disabled", Sub: alice.Sub, Reason: "bulk-account"}, EventAccountDisabled, "reason", "bulk-account"},
		{DemoRequest{Event: "account-disabled", Sub: alice.Sub, Reason: "none"}, EventAccountDisabled, "reason", nil},
		{DemoRequest{Event: "account-enabled", Sub: alice.Sub}, EventAccountEnabled, "", nil},
		{DemoRequest{Event: "credential-change-required", Sub: alice.Sub}, EventAccountCredentialChangeRequired, "", nil},
		{DemoRequest{Event: "account-credential-change-required", Sub: alice.Sub}, EventAccountCredentialChangeRequired, "", nil},
		{DemoRequest{Event: "account-purged", Sub: alice.Sub}, EventAccountPurged, "", nil},
		{DemoRequest{Event: "verification", State: "st-9"}, EventVerification, "state", "st-9"},
	} {
		name := tc.req.Event + "/" + tc.req.Reason + tc.req.Alg
		t.Run(name, func(t *testing.T) {
			body, _ := json.Marshal(tc.req)
			a := demoSend(t, s, string(body), nil)
			if a.status != http.StatusOK || a.body["status"] != float64(http.StatusAccepted) || a.body["event"] != tc.typ || a.body["sent"] != true {
				t.Fatalf("got %d %v, want 200 with status 202 for %s", a.status, a.body, tc.typ)
			}
			got := sink.waitFor(t, i+1)[i]
			typ, ev := eventOf(t, got)
			if typ != tc.typ || got["jti"] != a.body["jti"] {
				t.Fatalf("receiver got %v, want %s with jti %v", got, tc.typ, a.body["jti"])
			}
			if tc.member == "token" {
				ev = ev["subject"].(map[string]any)
			}
			if tc.member != "" && ev[tc.member] != tc.want {
				t.Errorf("%s = %v, want %v", tc.member, ev[tc.member], tc.want)
			}
			if subj, ok := ev["subject"].(map[string]any); ok && tc.member != "token" && subj["sub"] != alice.Sub {
				t.Errorf("subject %v, want alice", subj)
			}
		})
	}
	if strings.Contains(mustJSON(t, s.StreamPushes()), rt) {
		t.Errorf("push records hold the refresh token")
	}
}

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestDemoSendErrors(t *testing.T) {
	s, _ := demoSim(t)
	for _, tc := range []struct {
		name, body string
		header     map[string]string
		status     int
		msg        string
	}{
		{"unknown event", `{"event": "account-exploded", "sub": "alice@example.com"}`, nil, http.StatusBadRequest, "unknown event"},
		{"unknown user", `{"event": "sessions-revoked", "sub": "mallory@example.com"}`, nil, http.StatusBadRequest, "unknown user"},
		{"bad reason", `{"event": "account-disabled", "sub": "alice@example.com", "reason": "flu"}`, nil, http.StatusBadRequest, "reason"},
		{"bad alg", `{"event": "token-revoked", "sub": "alice@example.com", "alg": "md5"}`, nil, http.StatusBadRequest, "alg"},
		{"no refresh token", `{"event": "token-revoked", "sub": "bob@example.com"}`, nil, http.StatusBadRequest, "no refresh token"},
		{"unknown member", `{"event": "sessions-revoked", "user": "x"}`, nil, http.StatusBadRequest, "JSON object"},
		{"not JSON", `event=sessions-revoked`, nil, http.StatusBadRequest, "JSON object"},
		{"form content type", `{}`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType, "application/json"},
		{"foreign origin", `{"event": "sessions-revoked", "sub": "alice@example.com"}`, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden, "cross-origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := demoSend(t, s, tc.body, tc.header)
			e, _ := a.body["error"].(map[string]any)
			if a.status != tc.status || e == nil || !strings.Contains(e["message"].(string), tc.msg) {
				t.Fatalf("got %d %v, want %d with %q", a.status, a.body, tc.status, tc.msg)
			}
		})
	}
	t.Run("stream disabled", func(t *testing.T) {
		s.mu.Lock()
		s.stream.enabled = false
		s.mu.Unlock()
		a := demoSend(t, s, `{"event": "sessions-revoked", "sub": "alice@example.com"}`, nil)
		wantGoogleError(t, a, http.StatusConflict, "FAILED_PRECONDITION", "stream disabled")
	})
	if n := len(s.StreamPushes()); n != 0 {
		t.Errorf("%d pushes recorded, want none", n)
	}
}
