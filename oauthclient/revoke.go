package oauthclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/riscd/riscd"
	"golang.org/x/oauth2"
)

// AuthStyle is how riscd authenticates at the token endpoint, and so at the
// revocation endpoint: client_secret_basic (RFC 6749 §2.3.1), which every
// server must support. A fixed style sends one request per refresh or code
// exchange even when it is refused (auto-detection would send a refused
// one again with the credentials in the body).
const AuthStyle = oauth2.AuthStyleInHeader

// ErrConfig is wrapped by NewRevoker's error when RevokerConfig is unusable.
var ErrConfig = errors.New("oauthclient: invalid config")

// maxAnswer bounds how much of the endpoint's answer is read.
const maxAnswer = 16 << 10

// defaultTimeout bounds a call when the caller's context does not.
const defaultTimeout = 30 * time.Second

// RevokerConfig is what a Revoker needs.
type RevokerConfig struct {
	// URL is the revocation endpoint (Google's is
	// https://oauth2.googleapis.com/revoke). Required, absolute http(s).
	URL string
	// ClientID and ClientSecret authenticate each request (RFC 7009 §2.1).
	// Give both, or neither for a client without a secret, which then
	// sends the token alone.
	ClientID     string
	ClientSecret riscd.Secret
	// AuthStyle is oauth2.AuthStyleInHeader (HTTP Basic) or
	// oauth2.AuthStyleInParams (client_id and client_secret form fields).
	// Default (oauth2.AuthStyleAutoDetect, the zero value): AuthStyle, as
	// at the token endpoint.
	AuthStyle oauth2.AuthStyle
	// HTTPClient makes the calls. Default: a client with a 30-second
	// timeout that follows no redirects (the request carries the secret).
	HTTPClient *http.Client
}

// Revoker calls a token revocation endpoint (RFC 7009) as riscd's OAuth
// client. It is safe for concurrent use.
type Revoker struct {
	cfg RevokerConfig
}

// NewRevoker checks cfg and returns a Revoker. Errors wrap ErrConfig and
// never hold the secret.
func NewRevoker(cfg RevokerConfig) (*Revoker, error) {
	var problems []string
	if u, err := url.Parse(cfg.URL); cfg.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problems = append(problems, "revocation URL: must be an absolute http(s) URL")
	}
	if (cfg.ClientID == "") != cfg.ClientSecret.IsZero() {
		problems = append(problems, "client ID and secret: give both or neither")
	}
	switch cfg.AuthStyle {
	case oauth2.AuthStyleAutoDetect:
		cfg.AuthStyle = AuthStyle
	case oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams:
	default:
		problems = append(problems, fmt.Sprintf("auth style %d: use oauth2.AuthStyleInHeader or oauth2.AuthStyleInParams", cfg.AuthStyle))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrConfig, strings.Join(problems, "; "))
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{
			Timeout:       defaultTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Revoker{cfg: cfg}, nil
}

// URL returns the revocation endpoint.
func (r *Revoker) URL() string { return r.cfg.URL }

// Answer is what the revocation endpoint said.
type Answer struct {
	// Status is the HTTP status: 200 means the token is revoked or was
	// already invalid (RFC 7009 §2.2).
	Status int
	// Code is the "error" member of a JSON error answer (RFC 7009 §2.2.1,
	// RFC 6749 §5.2) when it is a plain error code, such as invalid_token
	// (Google's answer for a token already dead), invalid_client or
	// invalid_request; "" otherwise.
	Code string
}

// Revoked reports whether the endpoint confirmed the revocation (200).
func (a Answer) Revoked() bool { return a.Status == http.StatusOK }

// errorCode matches the error codes an answer may be quoted by.
var errorCode = regexp.MustCompile(`^[a-z_]{1,64}$`)

// Revoke asks the endpoint to revoke token (a refresh or access token):
// POST token=... as a form, with the client's credentials. The error is
// for a request that got no answer (transport failure, ctx's end); it
// never holds the token or the secret.
func (r *Revoker) Revoke(ctx context.Context, token riscd.Secret) (Answer, error) {
	if token.IsZero() {
		return Answer{}, errors.New("revoke: no token")
	}
	form := url.Values{"token": {token.Reveal()}}
	if r.cfg.ClientID != "" && r.cfg.AuthStyle == oauth2.AuthStyleInParams {
		form.Set("client_id", r.cfg.ClientID)
		form.Set("client_secret", r.cfg.ClientSecret.Reveal())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return Answer{}, fmt.Errorf("revoke: build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r.cfg.ClientID != "" && r.cfg.AuthStyle == oauth2.AuthStyleInHeader {
		// RFC 6749 §2.3.1: the client ID and secret are encoded with the
		// application/x-www-form-urlencoded algorithm, then used as the
		// Basic user name and password.
		req.SetBasicAuth(url.QueryEscape(r.cfg.ClientID), url.QueryEscape(r.cfg.ClientSecret.Reveal()))
	}
	resp, err := r.cfg.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return Answer{}, errors.New("revoke: no answer in time")
		}
		return Answer{}, fmt.Errorf("revoke: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	a := Answer{Status: resp.StatusCode}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && errorCode.MatchString(e.Error) {
			a.Code = e.Error
		}
	}
	return a, nil
}
