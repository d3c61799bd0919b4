package googlesim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riscd/riscd/internal/testkit"
)

// testKeys are generated once per test binary: RSA key generation is slow,
// the more so under -race.
var (
	testKeysOnce sync.Once
	testKeysVal  []*rsa.PrivateKey
)

// testKey returns the i-th shared test key (0 <= i < 5).
func testKey(tb testing.TB, i int) *rsa.PrivateKey {
	tb.Helper()
	testKeysOnce.Do(func() {
		for range 5 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			testKeysVal = append(testKeysVal, k)
		}
	})
	return testKeysVal[i]
}

const (
	testRedirect = "http://127.0.0.1:9/oauth2/callback"
	scopeDrive   = "https://www.googleapis.com/auth/drive.metadata.readonly"
	scopeCal     = "https://www.googleapis.com/auth/calendar.readonly"
)

// sim is a started Server with its test clock.
type sim struct {
	*Server
	clock *testkit.Clock
}

// newSim starts a Server on 127.0.0.1:0 with shared keys (key 0 current,
// keys 1 and 2 spare), a pinned clock and one registered redirect URI.
func newSim(tb testing.TB, edit func(*Config)) sim {
	tb.Helper()
	clk := testkit.NewClock(time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC))
	cfg := Config{
		ClientSecret: "GOCSPX-test-secret",
		RedirectURIs: []string{testRedirect},
		Keys:         []*rsa.PrivateKey{testKey(tb, 0), testKey(tb, 1), testKey(tb, 2)},
		Now:          clk.Now,
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return sim{Server: s, clock: clk}
}

// browser returns an http.Client with its own cookie jar.
func browser(tb testing.TB) *http.Client {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

// authParams are the usual authorization parameters; edit overrides them
// (an empty value deletes the parameter).
func (s sim) authURL(edit map[string]string) string {
	v := url.Values{
		"client_id":     {s.ClientID()},
		"redirect_uri":  {testRedirect},
		"response_type": {"code"},
		"scope":         {"openid email " + scopeDrive},
		"state":         {"st-123"},
		"access_type":   {"offline"},
	}
	for k, val := range edit {
		if val == "" {
			v.Del(k)
		} else {
			v.Set(k, val)
		}
	}
	return s.URL() + PathAuthorize + "?" + v.Encode()
}

// mustConsent runs Consent and fails the test on error.
func mustConsent(tb testing.TB, client *http.Client, authURL string, c Choice) *url.URL {
	tb.Helper()
	loc, err := Consent(context.Background(), client, authURL, c)
	if err != nil {
		tb.Fatalf("Consent: %v", err)
	}
	return loc
}

// codeOf returns the code of a successful redirect to the app.
func codeOf(tb testing.TB, loc *url.URL) string {
	tb.Helper()
	q := loc.Query()
	if e := q.Get("error"); e != "" {
		tb.Fatalf("redirect carries error=%s, want a code", e)
	}
	if !strings.HasPrefix(loc.String(), testRedirect+"?") {
		tb.Fatalf("redirect to %s, want %s", loc, testRedirect)
	}
	code := q.Get("code")
	if code == "" {
		tb.Fatalf("redirect %s has no code", loc.Redacted())
	}
	return code
}

// answer is a decoded JSON answer.
type answer struct {
	status int
	body   map[string]any
	header http.Header
}

func (a answer) str(name string) string {
	s, _ := a.body[name].(string)
	return s
}

// post sends a form to path; basic != nil authenticates with Basic.
func (s sim) post(tb testing.TB, path string, form url.Values, basic *[2]string) answer {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+path, strings.NewReader(form.Encode()))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != nil {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	return doJSON(tb, req)
}

func (s sim) get(tb testing.TB, path, bearer string) answer {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL()+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return doJSON(tb, req)
}

func doJSON(tb testing.TB, req *http.Request) answer {
	tb.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			tb.Fatalf("%s: body %q is not JSON: %v", req.URL.Path, raw, err)
		}
	}
	return a
}

// exchange redeems code with client_secret_post.
func (s sim) exchange(tb testing.TB, code, verifier string) answer {
	tb.Helper()
	f := url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect},
		"client_id": {s.ClientID()}, "client_secret": {s.ClientSecret()},
	}
	if verifier != "" {
		f.Set("code_verifier", verifier)
	}
	return s.post(tb, PathToken, f, nil)
}

// refresh uses a refresh token with client_secret_post.
func (s sim) refresh(tb testing.TB, rt string) answer {
	tb.Helper()
	return s.post(tb, PathToken, url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {rt},
		"client_id": {s.ClientID()}, "client_secret": {s.ClientSecret()},
	}, nil)
}

// basic is the client's credentials for client_secret_basic.
func (s sim) basic() *[2]string { return &[2]string{s.ClientID(), s.ClientSecret()} }

// grantFlow runs consent (allow all) and exchange, returning the tokens.
func (s sim) grantFlow(tb testing.TB, client *http.Client, edit map[string]string, c Choice) answer {
	tb.Helper()
	loc := mustConsent(tb, client, s.authURL(edit), c)
	a := s.exchange(tb, codeOf(tb, loc), "")
	if a.status != http.StatusOK {
		tb.Fatalf("exchange: status %d body %v", a.status, a.body)
	}
	return a
}

// s256 returns the S256 challenge of verifier.
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return b64.EncodeToString(sum[:])
}

// wantError checks an OAuth error answer.
func wantError(tb testing.TB, a answer, status int, code, desc string) {
	tb.Helper()
	if a.status != status || a.str("error") != code || (desc != "" && a.str("error_description") != desc) {
		tb.Errorf("got %d %v, want %d error=%q description=%q", a.status, a.body, status, code, desc)
	}
}
