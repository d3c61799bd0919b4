package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// Google's management API: its base URL and the audience of the
// service-account JWT that authenticates a call.
const (
	DefaultBaseURL = "https://risc.googleapis.com/v1beta"
	Audience       = "https://risc.googleapis.com/google.identity.risc.v1beta.RiscManagementService"
)

// maxAnswer bounds the answer body read from the API.
const maxAnswer = 1 << 20

// Options tune a Client. Zero values get the defaults documented on each
// field.
type Options struct {
	// BaseURL of the management API, without a trailing slash. Default
	// DefaultBaseURL; tests point it at googlesim.
	BaseURL string
	// HTTPClient makes the calls. Default: a client with a 30-second
	// timeout.
	HTTPClient *http.Client
	// Now is the clock a Checker built on the client measures with.
	// Default time.Now. (The service account's JWTs carry the system
	// clock's time, as x/oauth2 signs them.)
	Now func() time.Time
}

// Client calls the management API of one project's stream as its service
// account. It is safe for concurrent use.
type Client struct {
	base  string
	http  *http.Client
	now   func() time.Time
	token oauth2.TokenSource
	email string
}

// keyFile is the part of a service account key file New checks itself, so
// that its errors can name what is wrong without quoting the file.
type keyFile struct {
	Type         string `json:"type"`
	ClientEmail  string `json:"client_email"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
}

// New builds a Client from a service account's JSON key file as the Google
// Cloud console downloads it. It makes no call: ctx is accepted for
// symmetry with the calls and is not kept. Errors wrap ErrInvalidKey when
// the file is not JSON, not a service account key, lacks client_email,
// private_key_id or private_key, or its key does not parse, and name the
// problem, never the key; a BaseURL that is not an absolute http(s) URL is
// reported as such.
func New(_ context.Context, serviceAccountJSON []byte, opts Options) (*Client, error) {
	var kf keyFile
	if err := json.Unmarshal(serviceAccountJSON, &kf); err != nil {
		return nil, fmt.Errorf("stream: %w: not a JSON key file", ErrInvalidKey)
	}
	if kf.Type != "service_account" {
		return nil, fmt.Errorf("stream: %w: type is %q, want \"service_account\" (a key of a service account, from IAM & Admin > Service Accounts > Keys)", ErrInvalidKey, clip(kf.Type, 40))
	}
	var missing []string
	for name, v := range map[string]string{"client_email": kf.ClientEmail, "private_key_id": kf.PrivateKeyID, "private_key": kf.PrivateKey} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("stream: %w: missing %s", ErrInvalidKey, strings.Join(sortedCopy(missing), ", "))
	}
	ts, err := google.JWTAccessTokenSourceFromJSON(serviceAccountJSON, Audience)
	if err != nil {
		return nil, fmt.Errorf("stream: %w: private_key is not a PEM RSA private key", ErrInvalidKey)
	}
	base := strings.TrimRight(opts.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("stream: base URL %q is not an absolute http(s) URL", base)
	}
	c := &Client{base: base, http: opts.HTTPClient, now: opts.Now, token: ts, email: kf.ClientEmail}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// ServiceAccount returns the email of the service account the client
// calls as.
func (c *Client) ServiceAccount() string { return c.email }

// BaseURL returns the management API's base URL the client calls.
func (c *Client) BaseURL() string { return c.base }

// call sends one request (body marshalled as JSON when not nil) and decodes
// a 200 answer into out (when not nil). A non-200 answer is an *Error.
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	tok, err := c.token.Token()
	if err != nil {
		return errors.New("sign the service account's JWT: the key cannot sign")
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return newError(resp.StatusCode, raw)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: answer is not the JSON expected: %w", method, path, err)
	}
	return nil
}
