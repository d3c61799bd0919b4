package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// webhook is one delivery the sink accepted.
type webhook struct {
	ID       string // webhook-id
	Type     string `json:"type"`
	Sub      string `json:"sub"`
	EventJTI string `json:"event_jti"`
	Action   string `json:"action"`
}

// webhookSink is the app's webhook endpoint: it checks each delivery's
// Standard Webhooks signature (with code written here from the spec, not
// riscd's), records it by webhook-id, and can go down (its port refuses
// connections) and come back on the same port.
type webhookSink struct {
	secret []byte
	addr   string

	mu        sync.Mutex
	srv       *http.Server
	byID      map[string][]webhook // every delivery, by webhook-id
	order     []string             // webhook-ids in first-arrival order
	bad       []string             // why deliveries were refused
	delivered int
}

func startWebhookSink(t testing.TB, secret []byte) *webhookSink {
	t.Helper()
	s := &webhookSink{secret: secret, byID: map[string][]webhook{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(func() {
		s.mu.Lock()
		srv := s.srv
		s.mu.Unlock()
		if srv != nil {
			srv.Close()
		}
	})
	return s
}

func (s *webhookSink) url() string { return "http://" + s.addr }

func (s *webhookSink) serve(ln net.Listener) {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// down closes the sink's listener and connections: deliveries are refused.
func (s *webhookSink) down() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// up listens on the sink's port again.
func (s *webhookSink) up(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ln, err := net.Listen("tcp", s.addr)
		if err == nil {
			s.serve(ln)
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("webhook sink: listen on %s again: %v", s.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *webhookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	id := r.Header.Get("webhook-id")
	if err := s.verify(r.Header, body, time.Now()); err != nil {
		s.mu.Lock()
		s.bad = append(s.bad, fmt.Sprintf("%s: %v", id, err))
		s.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var h webhook
	if err := json.Unmarshal(body, &h); err != nil {
		s.mu.Lock()
		s.bad = append(s.bad, fmt.Sprintf("%s: body: %v", id, err))
		s.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.ID = id
	s.mu.Lock()
	if _, seen := s.byID[id]; !seen {
		s.order = append(s.order, id)
	}
	s.byID[id] = append(s.byID[id], h)
	s.delivered++
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// verify checks the Standard Webhooks headers: an id, a timestamp within
// five minutes, and a v1 signature over "id.timestamp.body".
func (s *webhookSink) verify(h http.Header, body []byte, now time.Time) error {
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	if id == "" {
		return errors.New("no webhook-id")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return fmt.Errorf("webhook-timestamp %q not within 5 minutes", ts)
	}
	mac := hmac.New(sha256.New, s.secret)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		v, b64, ok := strings.Cut(sig, ",")
		if !ok || v != "v1" {
			continue
		}
		if got, err := base64.StdEncoding.DecodeString(b64); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no valid v1 signature")
}

// snapshot returns the deliveries so far, by webhook-id.
func (s *webhookSink) snapshot() map[string][]webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]webhook, len(s.byID))
	for id, hs := range s.byID {
		out[id] = append([]webhook(nil), hs...)
	}
	return out
}

// refused returns why deliveries were refused (bad signature or body).
func (s *webhookSink) refused() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bad...)
}

// counts returns the number of distinct webhook-ids and of deliveries.
func (s *webhookSink) counts() (ids, deliveries int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID), s.delivered
}
