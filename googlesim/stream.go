package googlesim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Paths of Google's RISC stream management API, relative to URL(). The
// base a client is given is URL() + PathStreamBase (see ManagementURL).
const (
	PathStreamBase         = "/v1beta"
	PathStream             = "/v1beta/stream"
	PathStreamUpdate       = "/v1beta/stream:update"
	PathStreamStatus       = "/v1beta/stream/status"
	PathStreamStatusUpdate = "/v1beta/stream/status:update"
	PathStreamVerify       = "/v1beta/stream:verify"
)

// DeliveryMethodPush is the only delivery method Google's stream takes.
const DeliveryMethodPush = "https://schemas.openid.net/secevent/risc/delivery-method/push"

// Stream statuses, as the status endpoints spell them.
const (
	StreamEnabled  = "enabled"
	StreamDisabled = "disabled"
)

// StreamEventTypes returns the event-type URIs a simulated stream can carry
// by default: the seven of Google's table and account-purged.
func StreamEventTypes() []string {
	return []string{
		EventSessionsRevoked, EventTokensRevoked, EventTokenRevoked, EventAccountDisabled,
		EventAccountEnabled, EventAccountCredentialChangeRequired, EventAccountPurged, EventVerification,
	}
}

// streamSim is the project's one RISC stream and its service account. saMu
// guards sa; the fields from closed on are guarded by Server.mu.
type streamSim struct {
	saMu sync.Mutex
	sa   *serviceAccount

	pushing sync.WaitGroup // asynchronous verification pushes in flight

	closed     bool // Close began: no new asynchronous pushes
	configured bool
	url        string
	events     []string
	enabled    bool
	denial     StreamDenial
	pushes     []PushResult // newest last, at most maxPushes
}

// StreamInfo is the stream's configuration as the simulator holds it.
type StreamInfo struct {
	// DeliveryURL is where events are pushed.
	DeliveryURL string
	// Events are the requested event-type URIs the stream kept.
	Events []string
	// Enabled is false after status:update to "disabled".
	Enabled bool
}

// Stream returns the stream's configuration, and false before the first
// stream:update (or ConfigureStream).
func (s *Server) Stream() (StreamInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.stream
	if !st.configured {
		return StreamInfo{}, false
	}
	return StreamInfo{DeliveryURL: st.url, Events: slices.Clone(st.events), Enabled: st.enabled}, true
}

// ConfigureStream sets the stream as a successful stream:update would,
// without the API's authentication and delivery-URL rules (demos start a
// stream this way), and enables it. Requested URIs the stream cannot carry
// are dropped. Errors wrap ErrInvalidConfig when deliveryURL is not an
// absolute http(s) URL.
func (s *Server) ConfigureStream(deliveryURL string, eventURIs []string) error {
	if _, err := parseAbsolute(deliveryURL); err != nil {
		return fmt.Errorf("googlesim: configure stream: %w: %w", ErrInvalidConfig, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setStreamLocked(deliveryURL, eventURIs)
	s.stream.enabled = true
	return nil
}

// ManagementURL returns the base URL of the stream management API
// (URL() + "/v1beta"), or "" before the server knows its URL.
func (s *Server) ManagementURL() string {
	if b := s.URL(); b != "" {
		return b + PathStreamBase
	}
	return ""
}

// setStreamLocked replaces the stream's configuration, keeping the
// requested URIs the stream supports, in request order, once each.
func (s *Server) setStreamLocked(deliveryURL string, requested []string) {
	var kept []string
	for _, uri := range requested {
		if slices.Contains(s.cfg.StreamEvents, uri) && !slices.Contains(kept, uri) {
			kept = append(kept, uri)
		}
	}
	st := &s.stream
	if !st.configured {
		st.enabled = true // a new stream starts delivering at once
	}
	st.configured, st.url, st.events = true, deliveryURL, kept
}

// streamRoutes adds the management API to the route table.
func (s *Server) streamRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+PathStreamUpdate, s.streamCall(s.handleStreamUpdate))
	mux.HandleFunc("GET "+PathStream, s.streamCall(s.handleStreamGet))
	mux.HandleFunc("POST "+PathStreamStatusUpdate, s.streamCall(s.handleStreamStatusUpdate))
	mux.HandleFunc("GET "+PathStreamStatus, s.streamCall(s.handleStreamStatus))
	mux.HandleFunc("POST "+PathStreamVerify, s.streamCall(s.handleStreamVerify))
}

// streamConfig is the body of stream:update and of GET /stream.
type streamConfig struct {
	Delivery        *streamDelivery `json:"delivery,omitempty"`
	EventsRequested []string        `json:"events_requested,omitempty"`
}

type streamDelivery struct {
	DeliveryMethod string `json:"delivery_method,omitempty"`
	URL            string `json:"url,omitempty"`
}

// Google's messages for the stream API's errors (its error code reference).
const (
	msgNoStream         = "Project has no RISC configuration."
	msgNoStreamStatus   = "Project has no existing RISC configuration, cannot update status."
	msgNotHTTPS         = "The delivery endpoint must be an HTTPS URL."
	msgNotProjectDomain = "The delivery endpoint does not belong to any of your project's domains."
	msgInvalidStatus    = "Unsupported status. Invalid status."
	msgInvalidJSON      = "Invalid JSON payload received."
)

func missingField(name string) *streamError {
	return &streamError{http.StatusBadRequest, "Stream configuration must contain " + name + " field."}
}

// handleStreamUpdate is POST /v1beta/stream:update: it replaces the stream.
func (s *Server) handleStreamUpdate(r *http.Request) (any, *streamError) {
	var body streamConfig
	if e := decodeStreamBody(r, &body); e != nil {
		return nil, e
	}
	switch {
	case body.Delivery == nil:
		return nil, missingField("delivery")
	case body.Delivery.DeliveryMethod == "":
		return nil, missingField("delivery.delivery_method")
	case body.Delivery.URL == "":
		return nil, missingField("delivery.url")
	case len(body.EventsRequested) == 0:
		return nil, missingField("events_requested")
	case body.Delivery.DeliveryMethod != DeliveryMethodPush:
		return nil, &streamError{http.StatusBadRequest, "Unsupported delivery method: " + body.Delivery.DeliveryMethod}
	}
	if e := s.checkDeliveryURL(body.Delivery.URL); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setStreamLocked(body.Delivery.URL, body.EventsRequested)
	return s.streamConfigLocked(), nil
}

// checkDeliveryURL applies Google's rules: HTTPS on an authorized domain;
// with AllowHTTPDelivery, any loopback URL too.
func (s *Server) checkDeliveryURL(raw string) *streamError {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return &streamError{http.StatusForbidden, msgNotHTTPS}
	}
	host := strings.ToLower(u.Hostname())
	if s.cfg.AllowHTTPDelivery && isLoopbackHost(host) {
		return nil
	}
	if u.Scheme != "https" {
		return &streamError{http.StatusForbidden, msgNotHTTPS}
	}
	for _, d := range s.cfg.AuthorizedDomains {
		d = strings.ToLower(d)
		if host == d || strings.HasSuffix(host, "."+d) {
			return nil
		}
	}
	return &streamError{http.StatusForbidden, msgNotProjectDomain}
}

// streamConfigLocked renders the stream as GET /stream answers it.
func (s *Server) streamConfigLocked() streamConfig {
	st := &s.stream
	return streamConfig{
		Delivery:        &streamDelivery{DeliveryMethod: DeliveryMethodPush, URL: st.url},
		EventsRequested: slices.Clone(st.events),
	}
}

// handleStreamGet is GET /v1beta/stream.
func (s *Server) handleStreamGet(*http.Request) (any, *streamError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stream.configured {
		return nil, &streamError{http.StatusNotFound, msgNoStream}
	}
	return s.streamConfigLocked(), nil
}

type streamStatusBody struct {
	Status string `json:"status"`
}

// handleStreamStatusUpdate is POST /v1beta/stream/status:update.
func (s *Server) handleStreamStatusUpdate(r *http.Request) (any, *streamError) {
	var body streamStatusBody
	if e := decodeStreamBody(r, &body); e != nil {
		return nil, e
	}
	if body.Status != StreamEnabled && body.Status != StreamDisabled {
		return nil, &streamError{http.StatusForbidden, msgInvalidStatus}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stream.configured {
		return nil, &streamError{http.StatusNotFound, msgNoStreamStatus}
	}
	s.stream.enabled = body.Status == StreamEnabled
	return body, nil
}

// handleStreamStatus is GET /v1beta/stream/status.
func (s *Server) handleStreamStatus(*http.Request) (any, *streamError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stream.configured {
		return nil, &streamError{http.StatusNotFound, msgNoStream}
	}
	return streamStatusBody{Status: statusWord(s.stream.enabled)}, nil
}

func statusWord(enabled bool) string {
	if enabled {
		return StreamEnabled
	}
	return StreamDisabled
}

type verifyBody struct {
	State *string `json:"state"`
}

// handleStreamVerify is POST /v1beta/stream:verify: Google answers at once
// and pushes a verification SET carrying the state afterwards, when the
// stream is enabled and requests verification events.
func (s *Server) handleStreamVerify(r *http.Request) (any, *streamError) {
	var body verifyBody
	if e := decodeStreamBody(r, &body); e != nil {
		return nil, e
	}
	if body.State == nil {
		return nil, missingField("state")
	}
	s.mu.Lock()
	configured := s.stream.configured
	s.mu.Unlock()
	if !configured {
		return nil, &streamError{http.StatusNotFound, msgNoStream}
	}
	s.pushVerificationAsync(*body.State)
	return struct{}{}, nil
}

// decodeStreamBody reads a JSON body of at most 64 KiB.
func decodeStreamBody(r *http.Request, v any) *streamError {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	if err := dec.Decode(v); err != nil {
		return &streamError{http.StatusBadRequest, msgInvalidJSON}
	}
	return nil
}
