package googlesim

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2/google"

	"github.com/riscd/riscd/internal/testkit"
)

// streamSim starts a server whose clock is the system clock (x/oauth2 signs
// service-account JWTs with it), with a service account key, loopback
// delivery allowed and example.com authorized.
func newStreamSim(tb testing.TB, edit func(*Config)) sim {
	tb.Helper()
	return newSim(tb, func(c *Config) {
		c.Now = time.Now
		c.ServiceAccountKey = testKey(tb, 3)
		c.AllowHTTPDelivery = true
		c.AuthorizedDomains = []string{"example.com"}
		if edit != nil {
			edit(c)
		}
	})
}

// saToken returns a bearer token for the sim's service account, made by
// x/oauth2 exactly as a client would.
func saToken(tb testing.TB, s sim) string {
	tb.Helper()
	ts, err := google.JWTAccessTokenSourceFromJSON(s.ServiceAccountJSON(), RISCManagementAudience)
	if err != nil {
		tb.Fatalf("JWTAccessTokenSourceFromJSON: %v", err)
	}
	tok, err := ts.Token()
	if err != nil {
		tb.Fatal(err)
	}
	return tok.AccessToken
}

// call sends a stream API request with a JSON body (nil for none).
func (s sim) call(tb testing.TB, method, path, bearer string, body any) answer {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		raw, ok := body.(string)
		if !ok {
			b, err := json.Marshal(body)
			if err != nil {
				tb.Fatal(err)
			}
			raw = string(b)
		}
		rd = strings.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.URL()+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return doJSON(tb, req)
}

// updateBody is a stream:update body.
func updateBody(url string, events ...string) map[string]any {
	return map[string]any{
		"delivery":         map[string]any{"delivery_method": DeliveryMethodPush, "url": url},
		"events_requested": events,
	}
}

// wantGoogleError checks an error answer of Google's JSON APIs.
func wantGoogleError(tb testing.TB, a answer, status int, word, message string) {
	tb.Helper()
	e, _ := a.body["error"].(map[string]any)
	if a.status != status || e == nil || e["status"] != word || e["code"] != float64(status) || !strings.Contains(e["message"].(string), message) {
		tb.Fatalf("got %d %v, want %d %s with message containing %q", a.status, a.body, status, word, message)
	}
}

// setSink is a receiver that records the claims of every SET pushed to it.
type setSink struct {
	*httptest.Server
	mu     sync.Mutex
	claims []map[string]any
	status int
	hang   bool
}

func newSETSink(tb testing.TB) *setSink {
	tb.Helper()
	k := &setSink{status: http.StatusAccepted}
	k.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		k.mu.Lock()
		hang, status := k.hang, k.status
		k.mu.Unlock()
		if hang {
			<-r.Context().Done()
			return
		}
		parts := strings.Split(string(body), ".")
		var c map[string]any
		if len(parts) == 3 {
			if raw, err := b64.DecodeString(parts[1]); err == nil {
				_ = json.Unmarshal(raw, &c)
			}
		}
		k.mu.Lock()
		k.claims = append(k.claims, c)
		k.mu.Unlock()
		w.WriteHeader(status)
	}))
	tb.Cleanup(k.Close)
	return k
}

// got returns the claims received so far.
func (k *setSink) got() []map[string]any {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.claims)
}

// waitFor waits until the sink has n SETs.
func (k *setSink) waitFor(tb testing.TB, n int) []map[string]any {
	tb.Helper()
	var got []map[string]any
	testkit.Eventually(tb, fmt.Sprintf("%d SETs at the sink", n), func() bool {
		got = k.got()
		return len(got) >= n
	})
	return got
}

// eventOf returns the one event of a SET's claims: its type and members.
func eventOf(tb testing.TB, claims map[string]any) (string, map[string]any) {
	tb.Helper()
	evs, _ := claims["events"].(map[string]any)
	if len(evs) != 1 {
		tb.Fatalf("claims %v: want one event", claims)
	}
	for typ, body := range evs {
		m, _ := body.(map[string]any)
		return typ, m
	}
	return "", nil
}

func TestServiceAccountJSON(t *testing.T) {
	s := newStreamSim(t, nil)
	var f map[string]string
	if err := json.Unmarshal(s.ServiceAccountJSON(), &f); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"type": "service_account", "project_id": DefaultProjectID, "client_email": s.ServiceAccountEmail(),
		"token_uri": s.URL() + PathToken, "universe_domain": "googleapis.com",
	} {
		if f[name] != want {
			t.Errorf("%s = %q, want %q", name, f[name], want)
		}
	}
	if !strings.HasPrefix(f["private_key"], "-----BEGIN PRIVATE KEY-----\n") || len(f["private_key_id"]) != 40 || len(f["client_id"]) != 21 {
		t.Errorf("private_key, private_key_id or client_id malformed: key id %q client id %q", f["private_key_id"], f["client_id"])
	}
	if got, want := s.ServiceAccountEmail(), "riscd-stream@"+DefaultProjectID+".iam.gserviceaccount.com"; got != want {
		t.Errorf("ServiceAccountEmail = %q, want %q", got, want)
	}
	if !bytes.Equal(s.ServiceAccountJSON(), s.ServiceAccountJSON()) {
		t.Errorf("ServiceAccountJSON changes between calls")
	}
	// x/oauth2 signs a token the API accepts: the first call finds no stream.
	a := s.call(t, http.MethodGet, PathStream, saToken(t, s), nil)
	wantGoogleError(t, a, http.StatusNotFound, "NOT_FOUND", "Project has no RISC configuration.")
}

func TestStreamLifecycle(t *testing.T) {
	s := newStreamSim(t, nil)
	tok := saToken(t, s)
	const caep = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
	a := s.call(t, http.MethodPost, PathStreamUpdate, tok,
		updateBody("https://riscd.example.com/risc", EventAccountDisabled, caep, EventVerification, EventAccountDisabled))
	if a.status != http.StatusOK {
		t.Fatalf("stream:update = %d %v", a.status, a.body)
	}
	a = s.call(t, http.MethodGet, PathStream, tok, nil)
	d, _ := a.body["delivery"].(map[string]any)
	evs, _ := a.body["events_requested"].([]any)
	if a.status != http.StatusOK || d["url"] != "https://riscd.example.com/risc" || d["delivery_method"] != DeliveryMethodPush ||
		!slices.Equal(evs, []any{EventAccountDisabled, EventVerification}) {
		t.Fatalf("GET stream = %d %v, want the URL and the two supported events once each (CAEP dropped)", a.status, a.body)
	}
	for _, step := range []struct {
		set, want string
	}{{"", StreamEnabled}, {StreamDisabled, StreamDisabled}, {StreamEnabled, StreamEnabled}} {
		if step.set != "" {
			a = s.call(t, http.MethodPost, PathStreamStatusUpdate, tok, map[string]string{"status": step.set})
			if a.status != http.StatusOK || a.str("status") != step.set {
				t.Fatalf("status:update %s = %d %v", step.set, a.status, a.body)
			}
		}
		a = s.call(t, http.MethodGet, PathStreamStatus, tok, nil)
		if a.status != http.StatusOK || a.str("status") != step.want {
			t.Fatalf("after setting %q: status = %d %v, want %s", step.set, a.status, a.body, step.want)
		}
	}
	// A second update keeps the status the operator set.
	s.call(t, http.MethodPost, PathStreamStatusUpdate, tok, map[string]string{"status": StreamDisabled})
	s.call(t, http.MethodPost, PathStreamUpdate, tok, updateBody("https://riscd.example.com/risc", EventVerification))
	info, ok := s.Stream()
	if !ok || info.Enabled || !slices.Equal(info.Events, []string{EventVerification}) {
		t.Errorf("Stream() = %+v %v, want disabled with verification only", info, ok)
	}
}

func TestStreamBeforeUpdate(t *testing.T) {
	s := newStreamSim(t, nil)
	tok := saToken(t, s)
	for _, tc := range []struct {
		method, path string
		body         any
		msg          string
	}{
		{http.MethodGet, PathStream, nil, msgNoStream},
		{http.MethodGet, PathStreamStatus, nil, msgNoStream},
		{http.MethodPost, PathStreamStatusUpdate, map[string]string{"status": "enabled"}, msgNoStreamStatus},
		{http.MethodPost, PathStreamVerify, map[string]string{"state": "x"}, msgNoStream},
	} {
		t.Run(tc.path, func(t *testing.T) {
			wantGoogleError(t, s.call(t, tc.method, tc.path, tok, tc.body), http.StatusNotFound, "NOT_FOUND", tc.msg)
		})
	}
}

func TestStreamUpdateErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		allow  bool
		body   any
		status int
		msg    string
	}{
		{"invalid JSON", true, "{", http.StatusBadRequest, msgInvalidJSON},
		{"no delivery", true, map[string]any{"events_requested": []string{EventVerification}}, http.StatusBadRequest, "must contain delivery field"},
		{"no method", true, map[string]any{"delivery": map[string]any{"url": "https://a.example.com/r"}, "events_requested": []string{EventVerification}}, http.StatusBadRequest, "delivery.delivery_method"},
		{"no url", true, map[string]any{"delivery": map[string]any{"delivery_method": DeliveryMethodPush}, "events_requested": []string{EventVerification}}, http.StatusBadRequest, "delivery.url"},
		{"no events", true, updateBody("https://a.example.com/r"), http.StatusBadRequest, "events_requested"},
		{"other method", true, map[string]any{"delivery": map[string]any{"delivery_method": "urn:ietf:rfc:8935", "url": "https://a.example.com/r"}, "events_requested": []string{EventVerification}}, http.StatusBadRequest, "Unsupported delivery method"},
		{"http on an authorized domain", true, updateBody("http://riscd.example.com/risc", EventVerification), http.StatusForbidden, msgNotHTTPS},
		{"not a URL", true, updateBody("riscd.example.com/risc", EventVerification), http.StatusForbidden, msgNotHTTPS},
		{"https elsewhere", true, updateBody("https://riscd.example.org/risc", EventVerification), http.StatusForbidden, msgNotProjectDomain},
		{"suffix is not a subdomain", true, updateBody("https://notexample.com/risc", EventVerification), http.StatusForbidden, msgNotProjectDomain},
		{"http loopback without the switch", false, updateBody("http://127.0.0.1:9/risc", EventVerification), http.StatusForbidden, msgNotHTTPS},
		{"https loopback without the switch", false, updateBody("https://localhost/risc", EventVerification), http.StatusForbidden, msgNotProjectDomain},
		{"subdomain", false, updateBody("https://a.b.Example.COM:8443/risc", EventVerification), http.StatusOK, ""},
		{"loopback with the switch", true, updateBody("http://[::1]:8080/risc", EventVerification), http.StatusOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStreamSim(t, func(c *Config) { c.AllowHTTPDelivery = tc.allow })
			a := s.call(t, http.MethodPost, PathStreamUpdate, saToken(t, s), tc.body)
			if tc.status == http.StatusOK {
				if a.status != http.StatusOK {
					t.Fatalf("got %d %v, want 200", a.status, a.body)
				}
				return
			}
			wantGoogleError(t, a, tc.status, statusName(tc.status), tc.msg)
			if _, ok := s.Stream(); ok {
				t.Errorf("a refused update configured the stream")
			}
		})
	}
}

func TestStreamStatusAndVerifyErrors(t *testing.T) {
	s := newStreamSim(t, nil)
	tok := saToken(t, s)
	s.call(t, http.MethodPost, PathStreamUpdate, tok, updateBody("https://riscd.example.com/risc", EventVerification))
	for _, tc := range []struct {
		name, path string
		body       any
		status     int
		msg        string
	}{
		{"status paused", PathStreamStatusUpdate, map[string]string{"status": "paused"}, http.StatusForbidden, msgInvalidStatus},
		{"status missing", PathStreamStatusUpdate, map[string]string{}, http.StatusForbidden, msgInvalidStatus},
		{"status upper case", PathStreamStatusUpdate, map[string]string{"status": "ENABLED"}, http.StatusForbidden, msgInvalidStatus},
		{"status not JSON", PathStreamStatusUpdate, "status=enabled", http.StatusBadRequest, msgInvalidJSON},
		{"verify without state", PathStreamVerify, map[string]string{}, http.StatusBadRequest, "state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantGoogleError(t, s.call(t, http.MethodPost, tc.path, tok, tc.body), tc.status, statusName(tc.status), tc.msg)
		})
	}
	if info, _ := s.Stream(); !info.Enabled {
		t.Errorf("a refused status change disabled the stream")
	}
}

func TestStreamDenials(t *testing.T) {
	s := newStreamSim(t, nil)
	tok := saToken(t, s)
	for _, tc := range []struct {
		d      StreamDenial
		status int
		msg    string
	}{
		{StreamNotServiceAccount, http.StatusForbidden, "should only be called by a service account"},
		{StreamMissingRole, http.StatusForbidden, "Service account needs permission to access your RISC configuration"},
		{StreamNoOAuthClient, http.StatusForbidden, "at least one OAuth client configured"},
		{StreamProjectNotFound, http.StatusForbidden, "Project could not be found."},
		{StreamFirebaseManaged, http.StatusForbidden, "does not have spec-compliant delivery method"},
		{StreamAPIDisabled, http.StatusForbidden, "has not been used in project " + DefaultProjectID + " before or it is disabled"},
		{StreamUnavailable, http.StatusServiceUnavailable, "currently unavailable"},
	} {
		t.Run(strings.Fields(tc.msg)[0], func(t *testing.T) {
			s.SetStreamDenial(tc.d)
			for _, p := range []struct{ method, path string }{
				{http.MethodGet, PathStream}, {http.MethodPost, PathStreamUpdate}, {http.MethodGet, PathStreamStatus},
				{http.MethodPost, PathStreamStatusUpdate}, {http.MethodPost, PathStreamVerify},
			} {
				a := s.call(t, p.method, p.path, tok, updateBody("https://riscd.example.com/risc", EventVerification))
				wantGoogleError(t, a, tc.status, statusName(tc.status), tc.msg)
			}
		})
	}
	s.SetStreamDenial(StreamAllowed)
	if a := s.call(t, http.MethodPost, PathStreamUpdate, tok, updateBody("https://riscd.example.com/risc", EventVerification)); a.status != http.StatusOK {
		t.Errorf("after clearing the denial: %d %v, want 200", a.status, a.body)
	}
}

func TestStreamConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"short key", func(c *Config) { c.ServiceAccountKey = mustSmallKey(t) }, "service account key"},
		{"bad email", func(c *Config) { c.ServiceAccountEmail = "robot" }, "has no @"},
		{"URL as domain", func(c *Config) { c.AuthorizedDomains = []string{"https://example.com"} }, "authorized domain 0"},
		{"empty domain", func(c *Config) { c.AuthorizedDomains = []string{"example.com", ""} }, "authorized domain 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Keys: []*rsa.PrivateKey{testKey(t, 0)}}
			tc.edit(&cfg)
			_, err := New(cfg)
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want ErrInvalidConfig naming %q", err, tc.want)
			}
		})
	}
}

// mustSmallKey makes a 1024-bit key, too short for the simulator.
func mustSmallKey(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}
