package lifecycle_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riscd/riscd/lifecycle"
)

// hook is one webhook request the receiver saw.
type hook struct {
	id, timestamp string
	body          []byte
	payload       lifecycle.WebhookPayload
	status        int // what the receiver answered
}

// receiver is an app's webhook endpoint on 127.0.0.1 (or in process). It checks every
// request's signature with its own implementation of the Standard Webhooks
// scheme and answers what answer says (204 by default).
type receiver struct {
	t      *testing.T
	srv    *httptest.Server // nil when requests arrive in process
	url    string           // where webhooks go, without the path
	key    []byte
	now    func() time.Time
	mu     sync.Mutex
	answer func(lifecycle.WebhookPayload) int
	body   func(h http.Header) string // the answer's body; nil: none
	hooks  []hook
}

func newReceiver(t *testing.T, secret string, now func() time.Time) *receiver {
	t.Helper()
	r := newReceiverInProcess(t, secret, now)
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	r.url = r.srv.URL
	return r
}

// newReceiverInProcess is a receiver without a socket: requests reach it
// through the HTTP client its client method returns, so it works inside a
// synctest bubble (where a goroutine waiting on the network would keep the
// bubble's clock from advancing).
func newReceiverInProcess(t *testing.T, secret string, now func() time.Time) *receiver {
	t.Helper()
	// Standard Webhooks: the secret is "whsec_" then base64 of the key.
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatalf("test secret: %v", err)
	}
	return &receiver{t: t, key: key, now: now, url: "http://webhooks.test"}
}

// client returns an HTTP client whose requests the receiver serves in
// process, redirects not followed (as lifecycle's default client).
func (r *receiver) client() *http.Client {
	return &http.Client{
		Transport:     inProcess{http.HandlerFunc(r.serve)},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// inProcess is an http.RoundTripper that serves requests with a handler.
type inProcess struct{ h http.Handler }

func (p inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	rec := httptest.NewRecorder()
	p.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// verify checks a request as a Standard Webhooks consumer must: the three
// headers present, the timestamp within five minutes, and one of the
// space-separated "v1,<base64>" signatures equal to HMAC-SHA256 over
// "<id>.<timestamp>.<body>" keyed with the decoded secret.
func (r *receiver) verify(h http.Header, body []byte) string {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return "missing webhook headers"
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "timestamp is not an integer"
	}
	r.mu.Lock()
	now := r.now()
	r.mu.Unlock()
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return "timestamp outside the tolerance"
	}
	mac := hmac.New(sha256.New, r.key)
	io.WriteString(mac, id+"."+ts+"."+string(body))
	want := mac.Sum(nil)
	for _, s := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return ""
		}
	}
	return "no valid v1 signature"
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
		r.t.Errorf("webhook request %s with Content-Type %q", req.Method, req.Header.Get("Content-Type"))
	}
	if problem := r.verify(req.Header, body); problem != "" {
		r.t.Errorf("webhook %s: %s", req.Header.Get("webhook-id"), problem)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	p := mustJSON(r.t, body)
	r.mu.Lock()
	status := http.StatusNoContent
	if r.answer != nil {
		if s := r.answer(p); s != 0 {
			status = s
		}
	}
	r.hooks = append(r.hooks, hook{id: req.Header.Get("webhook-id"), timestamp: req.Header.Get("webhook-timestamp"), body: body, payload: p, status: status})
	answerBody := r.body
	r.mu.Unlock()
	w.WriteHeader(status)
	if answerBody != nil {
		io.WriteString(w, answerBody(req.Header))
	}
}

// setNow changes the clock the receiver checks timestamps against.
func (r *receiver) setNow(now func() time.Time) {
	r.mu.Lock()
	r.now = now
	r.mu.Unlock()
}

// setAnswer changes what the receiver answers; nil answers 204.
func (r *receiver) setAnswer(fn func(lifecycle.WebhookPayload) int) {
	r.mu.Lock()
	r.answer = fn
	r.mu.Unlock()
}

// setBody has the receiver answer with the body fn makes of the request's
// headers; nil answers none.
func (r *receiver) setBody(fn func(h http.Header) string) {
	r.mu.Lock()
	r.body = fn
	r.mu.Unlock()
}

// all returns every request seen so far.
func (r *receiver) all() []hook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hook(nil), r.hooks...)
}

// delivered returns the requests answered 2xx, in arrival order.
func (r *receiver) delivered() []hook {
	var out []hook
	for _, h := range r.all() {
		if h.status/100 == 2 {
			out = append(out, h)
		}
	}
	return out
}
