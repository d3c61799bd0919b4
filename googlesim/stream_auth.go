package googlesim

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// RISCManagementAudience is the aud of the service-account JWT that
// authenticates a stream management call.
const RISCManagementAudience = "https://risc.googleapis.com/google.identity.risc.v1beta.RiscManagementService"

// StreamDenial makes every stream management call fail the way Google
// answers a project or caller that is not set up right.
type StreamDenial int

// Stream denials, each answered with Google's status and message.
const (
	StreamAllowed           StreamDenial = iota // no denial
	StreamNotServiceAccount                     // 403: the caller is not a service account
	StreamMissingRole                           // 403: no RISC Configuration Admin role
	StreamNoOAuthClient                         // 403: the project has no OAuth client
	StreamProjectNotFound                       // 403: the service account's project is gone
	StreamFirebaseManaged                       // 403: Firebase manages the project's stream
	StreamAPIDisabled                           // 403: the RISC API is not enabled in the project
	StreamUnavailable                           // 503: a passing backend failure
)

// streamError is an error answer of the stream API.
type streamError struct {
	status  int
	message string
}

// denialError returns Google's answer for d.
func (s *Server) denialError(d StreamDenial) *streamError {
	forbidden := func(msg string) *streamError { return &streamError{http.StatusForbidden, msg} }
	switch d {
	case StreamNotServiceAccount:
		return forbidden("Stream management APIs should only be called by a service account.")
	case StreamMissingRole:
		return forbidden("Service account needs permission to access your RISC configuration.")
	case StreamNoOAuthClient:
		return forbidden("To use this API your project must have at least one OAuth client configured.")
	case StreamProjectNotFound:
		return forbidden("Project could not be found.")
	case StreamFirebaseManaged:
		return forbidden("Existing stream configuration does not have spec-compliant delivery method for RISC.")
	case StreamAPIDisabled:
		return forbidden("RISC Management API has not been used in project " + s.cfg.ProjectID +
			" before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/risc.googleapis.com/overview?project=" +
			s.cfg.ProjectID + " then retry.")
	case StreamUnavailable:
		return &streamError{http.StatusServiceUnavailable, "The service is currently unavailable."}
	}
	return nil
}

// SetStreamDenial makes every later stream management call that
// authenticates fail with d's answer; StreamAllowed clears it.
func (s *Server) SetStreamDenial(d StreamDenial) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stream.denial = d
}

// streamCall wraps a stream API handler: authentication, the denial
// switch, then the handler, with Google's error shape on failure.
func (s *Server) streamCall(h func(*http.Request) (any, *streamError)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var out any
		e := s.streamAuthorize(r)
		if e == nil {
			out, e = h(r)
		}
		if e != nil {
			s.log.InfoContext(r.Context(), "googlesim: stream api: refused", "path", r.URL.Path, "status", e.status)
			if e.status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
			}
			writeAPIError(w, e.status, e.message, statusName(e.status), nil)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// streamAuthorize checks the caller as Google does: a user's OAuth access
// token is not a service account; anything else must be the service
// account's self-signed JWT. Then the denial switch applies.
func (s *Server) streamAuthorize(r *http.Request) *streamError {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(h, "bearer ")
	}
	unauthorized := &streamError{http.StatusUnauthorized,
		"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential."}
	if !ok || tok == "" {
		return unauthorized
	}
	s.mu.Lock()
	it, userToken := s.state.tokens[tok]
	userToken = userToken && it.kind == accessToken && s.now().Before(it.expires)
	denial := s.stream.denial
	s.mu.Unlock()
	if userToken {
		return s.denialError(StreamNotServiceAccount)
	}
	sa, err := s.serviceAccount()
	if err != nil {
		s.log.ErrorContext(r.Context(), "googlesim: stream api", "err", err)
		return &streamError{http.StatusInternalServerError, "Internal error encountered."}
	}
	if reason := checkServiceAccountJWT(tok, sa, s.now()); reason != "" {
		s.log.InfoContext(r.Context(), "googlesim: stream api: bad credentials", "reason", reason)
		return unauthorized
	}
	return s.denialError(denial)
}

// maxJWTSkew is how far in the future a JWT's iat may lie.
const maxJWTSkew = 5 * time.Minute

// checkServiceAccountJWT verifies a self-signed service-account JWT and
// returns "" when it is good, or why not (for the log, never the token).
func checkServiceAccountJWT(tok string, sa *serviceAccount, now time.Time) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "not a compact JWS"
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	var claims struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Iat *int64          `json:"iat"`
		Exp *int64          `json:"exp"`
	}
	rawHdr, err1 := b64.DecodeString(parts[0])
	rawClaims, err2 := b64.DecodeString(parts[1])
	sig, err3 := b64.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(rawHdr, &hdr) != nil || json.Unmarshal(rawClaims, &claims) != nil {
		return "malformed JWT"
	}
	if hdr.Alg != "RS256" {
		return "alg is not RS256"
	}
	if hdr.Kid != sa.keyID {
		return "unknown kid"
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&sa.key.PublicKey, crypto.SHA256, digest[:], sig) != nil {
		return "bad signature"
	}
	switch {
	case claims.Iss != sa.email || claims.Sub != sa.email:
		return "iss and sub must be the service account's email"
	case !audienceHas(claims.Aud, RISCManagementAudience):
		return "wrong audience"
	case claims.Iat == nil || claims.Exp == nil:
		return "iat or exp missing"
	case *claims.Exp-*claims.Iat > 3600 || *claims.Exp <= *claims.Iat:
		return "exp must be within an hour of iat"
	case !now.Before(time.Unix(*claims.Exp, 0)):
		return "expired"
	case time.Unix(*claims.Iat, 0).After(now.Add(maxJWTSkew)):
		return "issued in the future"
	}
	return ""
}

// audienceHas reports whether a JSON aud (string or array) names want.
func audienceHas(raw json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == want
	}
	var many []string
	return json.Unmarshal(raw, &many) == nil && slices.Contains(many, want)
}
