package googlesim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
)

// handleOpenIDConfiguration serves the OpenID discovery document.
func (s *Server) handleOpenIDConfiguration(w http.ResponseWriter, r *http.Request) {
	base := s.URL()
	iss, err := s.issuer()
	if err != nil || base == "" {
		s.log.ErrorContext(r.Context(), "googlesim: openid configuration", "err", err)
		writeAPIError(w, http.StatusInternalServerError, "base URL unknown", "INTERNAL", nil)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                base + PathAuthorize,
		"token_endpoint":                        base + PathToken,
		"userinfo_endpoint":                     base + PathUserinfo,
		"revocation_endpoint":                   base + PathRevoke,
		"jwks_uri":                              base + PathJWKS,
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"claims_supported":                      []string{"aud", "email", "email_verified", "exp", "iat", "iss", "name", "sub"},
		"code_challenge_methods_supported":      []string{"plain", "S256"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
	})
}

// handleRISCConfiguration serves /.well-known/risc-configuration: issuer
// and jwks_uri, plus the non-standard members Google's document has. The
// stream endpoints it names are not served by this simulator.
func (s *Server) handleRISCConfiguration(w http.ResponseWriter, r *http.Request) {
	base := s.URL()
	iss, err := s.RISCIssuer()
	if err != nil || base == "" {
		s.log.ErrorContext(r.Context(), "googlesim: risc configuration", "err", err)
		writeAPIError(w, http.StatusInternalServerError, "base URL unknown", "INTERNAL", nil)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                     iss,
		"jwks_uri":                   base + PathJWKS,
		"delivery_methods_supported": []string{"https://schemas.openid.net/secevent/risc/delivery-method/push"},
		"configuration_endpoint":     base + "/v1beta/stream",
		"status_endpoint":            base + "/v1beta/stream/status",
		"verification_endpoint":      base + "/v1beta/stream:verify",
		"add_subject_endpoint":       base + "/v1beta/subject:add",
		"remove_subject_endpoint":    base + "/v1beta/subject:remove",
	})
}

// clientSecrets is the shape of Google's downloaded client_secret.json.
type clientSecrets struct {
	Web clientSecretsWeb `json:"web"`
}

type clientSecretsWeb struct {
	ClientID                string   `json:"client_id"`
	ProjectID               string   `json:"project_id"`
	AuthURI                 string   `json:"auth_uri"`
	TokenURI                string   `json:"token_uri"`
	AuthProviderX509CertURL string   `json:"auth_provider_x509_cert_url"`
	ClientSecret            string   `json:"client_secret"`
	RedirectURIs            []string `json:"redirect_uris"`
}

// ClientSecretsJSON returns a client_secret.json in the shape Google's
// console downloads ({"web": {...}}), pointing at this server, with the
// redirect URIs registered so far (sorted). Errors: ErrNoIssuer before the
// server knows its URL.
func (s *Server) ClientSecretsJSON() ([]byte, error) {
	base := s.URL()
	if base == "" {
		return nil, fmt.Errorf("googlesim: client secrets: %w: Start or SetBaseURL first", ErrNoIssuer)
	}
	s.mu.Lock()
	uris := make([]string, 0, len(s.redirects))
	for u := range s.redirects {
		uris = append(uris, u)
	}
	s.mu.Unlock()
	slices.Sort(uris)
	b, err := json.MarshalIndent(clientSecrets{Web: clientSecretsWeb{
		ClientID:                s.cfg.ClientID,
		ProjectID:               s.cfg.ProjectID,
		AuthURI:                 base + PathAuthorize,
		TokenURI:                base + PathToken,
		AuthProviderX509CertURL: base + "/oauth2/v1/certs",
		ClientSecret:            s.cfg.ClientSecret,
		RedirectURIs:            uris,
	}}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("googlesim: client secrets: %w", err)
	}
	return b, nil
}
