package googlesim

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Paths of the demo page and its JSON endpoint (Config.Demo only).
const (
	PathDemo     = "/demo"
	PathDemoPush = "/demo/push"
	PathDemoSend = "/demo/send"
)

// demoCSRFCookie carries the demo page's CSRF token (double submit: the
// form must echo the cookie).
const demoCSRFCookie = "googlesim_demo_csrf"

// demoPushTimeout bounds one push made from the demo.
const demoPushTimeout = 15 * time.Second

// DemoEventNames returns the event names the demo sends, in page order.
func DemoEventNames() []string {
	return []string{
		"sessions-revoked", "tokens-revoked", "token-revoked", "account-disabled", "account-enabled",
		"credential-change-required", "account-purged", "verification",
	}
}

// demoRoutes adds the demo page and its JSON endpoint to the route table.
func (s *Server) demoRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PathDemo, s.handleDemoPage)
	mux.HandleFunc("POST "+PathDemoPush, s.handleDemoPush)
	mux.HandleFunc("POST "+PathDemoSend, s.handleDemoSend)
}

// DemoRequest asks the demo to send one event to the stream: the JSON body
// of POST /demo/send, and what each button of the demo page posts.
type DemoRequest struct {
	// Event is one of DemoEventNames ("account-credential-change-required"
	// is accepted for "credential-change-required").
	Event string `json:"event"`
	// Sub names the user by sub or email; verification needs none.
	Sub string `json:"sub,omitempty"`
	// Reason of account-disabled: "hijacking", "bulk-account", or "none"
	// (or empty) for none.
	Reason string `json:"reason,omitempty"`
	// State of verification; default a random one.
	State string `json:"state,omitempty"`
	// Alg of token-revoked's identifier: "hash" (default) or "prefix".
	Alg string `json:"alg,omitempty"`
}

// errDemoRequest marks a DemoRequest the demo cannot act on.
var errDemoRequest = errors.New("bad demo request")

// DemoEvent builds the event a DemoRequest asks for. token-revoked names the
// user's newest live refresh token. Errors wrap ErrUnknownUser, or describe
// an unknown event name, reason or alg, or a user without a refresh token.
func (s *Server) DemoEvent(req DemoRequest) (Event, error) {
	name := req.Event
	if name == "account-credential-change-required" {
		name = "credential-change-required"
	}
	if name == "verification" {
		state := req.State
		if state == "" {
			state = "demo-" + randomHex(8)
		}
		return Verification(state), nil
	}
	if !slices.Contains(DemoEventNames(), name) {
		return Event{}, fmt.Errorf("googlesim: demo: %w: unknown event %q (want one of %s)", errDemoRequest, req.Event, strings.Join(DemoEventNames(), ", "))
	}
	u, ok := s.lookupUser(req.Sub)
	if !ok {
		return Event{}, fmt.Errorf("googlesim: demo: %w: %q", ErrUnknownUser, req.Sub)
	}
	switch name {
	case "sessions-revoked":
		return SessionsRevoked(u.Sub), nil
	case "tokens-revoked":
		return TokensRevoked(u.Sub), nil
	case "account-enabled":
		return AccountEnabled(u.Sub), nil
	case "credential-change-required":
		return AccountCredentialChangeRequired(u.Sub), nil
	case "account-purged":
		return AccountPurged(u.Sub), nil
	case "account-disabled":
		switch req.Reason {
		case ReasonHijacking, ReasonBulkAccount:
			return AccountDisabled(u.Sub, req.Reason), nil
		case "", "none":
			return AccountDisabled(u.Sub, ""), nil
		}
		return Event{}, fmt.Errorf("googlesim: demo: %w: reason %q (want hijacking, bulk-account or none)", errDemoRequest, req.Reason)
	}
	// token-revoked
	alg := IdentifierHash
	switch req.Alg {
	case "", "hash", string(IdentifierHash):
	case "prefix":
		alg = IdentifierPrefix
	default:
		return Event{}, fmt.Errorf("googlesim: demo: %w: alg %q (want hash or prefix)", errDemoRequest, req.Alg)
	}
	g, ok := s.Grant(u.Sub)
	if !ok || len(g.RefreshTokens) == 0 {
		return Event{}, fmt.Errorf("googlesim: demo: %w: %s holds no refresh token from this client; consent with offline access first", errDemoRequest, u.Email)
	}
	return TokenRevoked(g.RefreshTokens[len(g.RefreshTokens)-1], alg), nil
}

// demoSend builds and pushes the event of req.
func (s *Server) demoSend(ctx context.Context, req DemoRequest) (PushResult, error) {
	ev, err := s.DemoEvent(req)
	if err != nil {
		return PushResult{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, demoPushTimeout)
	defer cancel()
	return s.PushToStream(ctx, ev)
}

// handleDemoSend is POST /demo/send: a JSON DemoRequest in, the PushResult
// out (200 whenever a push was attempted, whatever the receiver answered;
// 400 for a bad request, 409 when the stream cannot carry the event). A
// cross-site page cannot post JSON without a CORS preflight, which this
// server never grants; a foreign Origin is refused outright.
func (s *Server) handleDemoSend(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeAPIError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json", "INVALID_ARGUMENT", nil)
		return
	}
	if o := r.Header.Get("Origin"); o != "" && o != s.URL() {
		writeAPIError(w, http.StatusForbidden, "cross-origin request refused", "PERMISSION_DENIED", nil)
		return
	}
	var req DemoRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeAPIError(w, http.StatusBadRequest, "body must be a JSON object with event, sub, reason, state, alg", "INVALID_ARGUMENT", nil)
		return
	}
	res, err := s.demoSend(r.Context(), req)
	switch {
	case errors.Is(err, errDemoRequest) || errors.Is(err, ErrUnknownUser):
		writeAPIError(w, http.StatusBadRequest, err.Error(), "INVALID_ARGUMENT", nil)
	case errors.Is(err, ErrNoStream) || errors.Is(err, ErrStreamDisabled) || errors.Is(err, ErrEventNotRequested):
		writeAPIError(w, http.StatusConflict, err.Error(), "FAILED_PRECONDITION", nil)
	default: // sent, or tried: the result tells
		writeJSON(w, http.StatusOK, res)
	}
}

// handleDemoPush is POST /demo/push, the page's buttons: it checks the
// CSRF token, pushes, and sends the browser back to the page, where the
// result heads the list of pushes.
func (s *Server) handleDemoPush(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	c, err := r.Cookie(demoCSRFCookie)
	form := r.PostForm.Get("csrf")
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) != 1 || crossSite(r) {
		http.Error(w, "CSRF check failed: reload the demo page and try again", http.StatusForbidden)
		return
	}
	event, reason, _ := strings.Cut(r.PostForm.Get("event"), "/")
	req := DemoRequest{Event: event, Sub: r.PostForm.Get("sub"), Reason: reason, State: r.PostForm.Get("state")}
	if _, err := s.demoSend(r.Context(), req); err != nil && !s.pushRecorded(err) {
		s.mu.Lock()
		s.recordPushLocked(PushResult{At: s.now(), Name: event, Sub: req.Sub, Error: err.Error()})
		s.mu.Unlock()
	}
	http.Redirect(w, r, PathDemo+"#pushes", http.StatusSeeOther)
}

// pushRecorded reports whether err comes from a push that was attempted
// (and so is already in the list).
func (s *Server) pushRecorded(err error) bool {
	return !errors.Is(err, errDemoRequest) && !errors.Is(err, ErrUnknownUser) &&
		!errors.Is(err, ErrNoStream) && !errors.Is(err, ErrStreamDisabled) && !errors.Is(err, ErrEventNotRequested)
}

// crossSite reports a request a browser marks as coming from another site.
func crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return false
	}
	return true
}

// demoCSRF returns the browser's CSRF token, setting a new one when it has
// none.
func demoCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(demoCSRFCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	tok := randomURL(32)
	http.SetCookie(w, &http.Cookie{
		Name: demoCSRFCookie, Value: tok, Path: PathDemo,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
	return tok
}
