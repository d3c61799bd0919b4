package googlesim

import (
	"fmt"
	"net/http"
	"time"
)

// Endpoint names a group of routes that SetFault can break and Stats
// counts.
type Endpoint string

// Endpoints that take faults.
const (
	EndpointAuthorize           Endpoint = "authorize" // the consent page and its form
	EndpointToken               Endpoint = "token"
	EndpointRevoke              Endpoint = "revoke"
	EndpointJWKS                Endpoint = "jwks"
	EndpointOpenIDConfiguration Endpoint = "openid-configuration"
	EndpointRISCConfiguration   Endpoint = "risc-configuration"
	EndpointUserinfo            Endpoint = "userinfo"
	EndpointDrive               Endpoint = "drive"
)

var knownEndpoints = map[Endpoint]bool{
	EndpointAuthorize: true, EndpointToken: true, EndpointRevoke: true, EndpointJWKS: true,
	EndpointOpenIDConfiguration: true, EndpointRISCConfiguration: true, EndpointUserinfo: true,
	EndpointDrive: true,
}

// Fault makes an endpoint misbehave. Delay is served first, then Hang, then
// Status; a Fault with only a Delay answers normally, late.
type Fault struct {
	// Status, when not zero, is answered instead of the normal answer, with
	// a JSON error body shaped like Google's for that endpoint.
	Status int
	// Hang holds the request until the client gives up (its context ends)
	// or the Server closes; the connection is then dropped without answer.
	Hang bool
	// Delay holds the request this long before answering; a client that
	// gives up first gets no answer.
	Delay time.Duration
	// Count is the number of requests the fault applies to; 0 means every
	// request until the fault is cleared.
	Count int
}

type faultState struct {
	f    Fault
	left int // requests left when f.Count > 0
}

// SetFault installs f on the endpoint, replacing any fault there; the zero
// Fault clears it. Errors: ErrUnknownEndpoint.
func (s *Server) SetFault(ep Endpoint, f Fault) error {
	if !knownEndpoints[ep] {
		return fmt.Errorf("googlesim: set fault %q: %w", ep, ErrUnknownEndpoint)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f == (Fault{}) {
		delete(s.faults, ep)
		return nil
	}
	s.faults[ep] = &faultState{f: f, left: f.Count}
	return nil
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// takeFault counts a request to ep and returns the fault to apply to it.
func (s *Server) takeFault(ep Endpoint) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Requests[ep]++
	st, ok := s.faults[ep]
	if !ok {
		return Fault{}, false
	}
	if st.f.Count > 0 {
		st.left--
		if st.left <= 0 {
			delete(s.faults, ep)
		}
	}
	return st.f, true
}

// fault wraps an endpoint's handler with the fault switch.
func (s *Server) fault(ep Endpoint, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.takeFault(ep)
		if !ok {
			h(w, r)
			return
		}
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			case <-s.done:
				t.Stop()
				panic(http.ErrAbortHandler)
			}
		}
		if f.Hang {
			select {
			case <-r.Context().Done():
				return
			case <-s.done:
				panic(http.ErrAbortHandler) // drop the connection, as a dead backend would
			}
		}
		if f.Status != 0 {
			writeFaultAnswer(w, ep, f.Status)
			return
		}
		h(w, r)
	})
}

// writeFaultAnswer writes Google's error shape for status: the OAuth shape on
// the token and revoke endpoints, the API shape elsewhere.
func writeFaultAnswer(w http.ResponseWriter, ep Endpoint, status int) {
	text := http.StatusText(status)
	if text == "" {
		text = "Error"
	}
	switch ep {
	case EndpointToken, EndpointRevoke:
		code := "internal_failure"
		if status < 500 {
			code = "invalid_request"
		}
		oauthError{Status: status, Code: code, Description: text}.write(w)
	default:
		writeAPIError(w, status, text, statusName(status), nil)
	}
}

// statusName maps an HTTP status to Google's API status word.
func statusName(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	default:
		if status >= 500 {
			return "INTERNAL"
		}
		return "FAILED_PRECONDITION"
	}
}

// apiError is the error body of Google's JSON APIs (Drive, userinfo, ...).
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code    int              `json:"code"`
	Message string           `json:"message"`
	Errors  []apiErrorDetail `json:"errors,omitempty"`
	Status  string           `json:"status"`
}

type apiErrorDetail struct {
	Message      string `json:"message"`
	Domain       string `json:"domain"`
	Reason       string `json:"reason"`
	Location     string `json:"location,omitempty"`
	LocationType string `json:"locationType,omitempty"`
}

func writeAPIError(w http.ResponseWriter, status int, message, statusWord string, details []apiErrorDetail) {
	writeJSON(w, status, apiError{Error: apiErrorBody{Code: status, Message: message, Errors: details, Status: statusWord}})
}
