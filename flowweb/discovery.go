package flowweb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// ErrDiscovery is wrapped by Discover's errors.
var ErrDiscovery = errors.New("openid provider discovery failed")

// maxDiscoveryDocument bounds the discovery document riscd reads.
const maxDiscoveryDocument = 1 << 20

// Discovery is what riscd takes from an OpenID provider's discovery
// document (OpenID Connect Discovery 1.0 §3).
type Discovery struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	// RevocationEndpoint is RFC 8414 §2's revocation_endpoint (RFC 7009);
	// empty when the provider publishes none.
	RevocationEndpoint string `json:"revocation_endpoint"`
	JWKSURI            string `json:"jwks_uri"`
	UserinfoEndpoint   string `json:"userinfo_endpoint"`
	// IDTokenSigningAlgs is id_token_signing_alg_values_supported.
	IDTokenSigningAlgs []string `json:"id_token_signing_alg_values_supported"`
	// ScopesSupported is scopes_supported (optional).
	ScopesSupported []string `json:"scopes_supported"`
}

// Discover fetches issuer + "/.well-known/openid-configuration" (OpenID
// Connect Discovery 1.0 §4) with client and checks it: the issuer it names
// must equal issuer exactly (§4.3), the authorization, token and JWKS
// endpoints must be absolute http(s) URLs, and at least one ID-token
// algorithm it supports must be among AllowedIDTokenAlgorithms. Errors wrap
// ErrDiscovery.
func Discover(ctx context.Context, client *http.Client, issuer string) (Discovery, error) {
	fail := func(format string, args ...any) (Discovery, error) {
		return Discovery{}, fmt.Errorf("%w: %s: %s", ErrDiscovery, issuer, fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(issuer)
	if err != nil || !isHTTP(u) || u.RawQuery != "" || u.Fragment != "" {
		return fail("the issuer must be an http or https URL without query or fragment")
	}
	where := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, where, nil)
	if err != nil {
		return fail("%v", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fail("%v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail("GET %s answered HTTP %d", where, resp.StatusCode)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return fail("GET %s answered %q, not application/json", where, resp.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoveryDocument+1))
	if err != nil {
		return fail("read the document: %v", err)
	}
	if len(body) > maxDiscoveryDocument {
		return fail("the document is larger than %d bytes", maxDiscoveryDocument)
	}
	var d Discovery
	if err := json.Unmarshal(body, &d); err != nil {
		return fail("the document is not the expected JSON: %v", err)
	}
	if d.Issuer != issuer {
		return fail("the document names issuer %q, not the configured one (OpenID Connect Discovery 1.0 §4.3)", d.Issuer)
	}
	for _, e := range []struct{ name, v string }{
		{"authorization_endpoint", d.AuthorizationEndpoint}, {"token_endpoint", d.TokenEndpoint}, {"jwks_uri", d.JWKSURI},
	} {
		if eu, err := url.Parse(e.v); e.v == "" || err != nil || !isHTTP(eu) {
			return fail("%s must be an absolute http or https URL", e.name)
		}
	}
	if d.RevocationEndpoint != "" {
		if eu, err := url.Parse(d.RevocationEndpoint); err != nil || !isHTTP(eu) {
			return fail("revocation_endpoint must be an absolute http or https URL")
		}
	}
	if _, err := d.IDTokenAlgorithms(); err != nil {
		return fail("%v", err)
	}
	return d, nil
}

// IDTokenAlgorithms returns the ID-token algorithms riscd accepts from this
// provider: those of id_token_signing_alg_values_supported that are among
// AllowedIDTokenAlgorithms, or RS256 when the document lists none (the
// member is required, and RS256 must be among its values: OpenID Connect
// Discovery 1.0 §3). An error when none of the listed ones is allowed.
func (d Discovery) IDTokenAlgorithms() ([]string, error) {
	if len(d.IDTokenSigningAlgs) == 0 {
		return []string{"RS256"}, nil
	}
	var out []string
	for _, a := range AllowedIDTokenAlgorithms() {
		if slices.Contains(d.IDTokenSigningAlgs, a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("id_token_signing_alg_values_supported lists no algorithm riscd accepts (%s)",
			strings.Join(AllowedIDTokenAlgorithms(), ", "))
	}
	return out, nil
}
