package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// maxAnswer bounds what the client reads of one answer from riscd.
const maxAnswer = 1 << 20

// Client calls riscd's companion API on the internal listener with the app
// token. Build it with New. It is safe for concurrent use. Its String and
// GoString never print the app token.
type Client struct {
	base   string
	token  string
	hc     *http.Client
	now    func() time.Time
	margin time.Duration
}

// Option sets an optional part of a Client.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests with hc (default
// http.DefaultClient). hc's own timeout, transport and proxy apply.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithNow sets the clock the token cache and the session guard read
// (default time.Now).
func WithNow(now func() time.Time) Option {
	return func(c *Client) {
		if now != nil {
			c.now = now
		}
	}
}

// WithExpiryMargin sets how long before its expiry a cached access token is
// asked for again (default DefaultExpiryMargin). Negative values count as 0.
func WithExpiryMargin(d time.Duration) Option {
	return func(c *Client) { c.margin = max(d, 0) }
}

// DefaultExpiryMargin is how long before its expiry a TokenSource asks riscd
// for a new access token, as oauth2.ReuseTokenSource does.
const DefaultExpiryMargin = 10 * time.Second

// New returns a Client of the companion API at baseURL (riscd's internal
// listener, e.g. "http://127.0.0.1:9090") that authenticates with appToken
// (internal.app_token_file). It does no I/O.
func New(baseURL, appToken string, opts ...Option) *Client {
	c := &Client{
		base:   strings.TrimRight(baseURL, "/"),
		token:  strings.TrimSpace(appToken),
		hc:     http.DefaultClient,
		now:    time.Now,
		margin: DefaultExpiryMargin,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// String names the API the Client calls, never its token.
func (c *Client) String() string { return "riscd client for " + c.base }

// GoString keeps %#v from printing the token.
func (c *Client) GoString() string { return c.String() }

// call sends one request to riscd: body (when not nil) as JSON, and decodes
// a 2xx answer into out. Any other answer becomes the error of that
// answer's code (see errors.go).
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("riscd client: %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("riscd client: %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("riscd client: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("riscd client: %s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return answerError(resp, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("riscd client: %s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}
