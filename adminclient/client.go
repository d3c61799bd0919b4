package adminclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// DefaultTimeout bounds one request of a Client built without an HTTPClient.
const DefaultTimeout = 30 * time.Second

// MaxLimit is the largest page the admin API's list routes answer.
const MaxLimit = 1000

// maxAnswer bounds the body of one answer; a page of MaxLimit grants or
// events is far smaller.
const maxAnswer = 32 << 20

// maxDetail bounds the detail an APIError carries.
const maxDetail = 500

// Token is the admin bearer token. It prints, logs and marshals as
// "[redacted]"; convert it with string(t) to use it.
type Token string

// String redacts the token.
func (Token) String() string { return "[redacted]" }

// GoString redacts the token.
func (Token) GoString() string { return `"[redacted]"` }

// LogValue redacts the token.
func (Token) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// MarshalJSON redacts the token.
func (Token) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// Config is what New needs.
type Config struct {
	// BaseURL is the internal listener's http or https URL, such as
	// http://127.0.0.1:9090; a path (a reverse proxy's prefix) is kept.
	// Required; it must not carry a user name or password.
	BaseURL string
	// Token is the admin token (internal.admin_token_file). Required.
	Token Token
	// HTTPClient sends the requests. Default: a client with
	// DefaultTimeout. Redirects are never followed, whatever its
	// CheckRedirect: a redirect is answered as an *APIError with Location.
	HTTPClient *http.Client
	// UserAgent is sent with every request. Default "riscd-adminclient".
	UserAgent string
	// Actor is the operator's name, sent with every action (the actor
	// parameter of POST and DELETE requests): the audit records the action
	// as operator:<Actor>. "": operator. It must be 1 to 64 letters, digits
	// and . _ @ + - (the API refuses others).
	Actor string
}

// Client calls riscd's admin API. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	token Token
	hc    *http.Client
	ua    string
	actor string
}

// New checks cfg and builds a Client; it sends nothing. Errors wrap
// ErrInvalidConfig and never show the token.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	switch {
	case cfg.BaseURL == "":
		return nil, fmt.Errorf("%w: BaseURL is required", ErrInvalidConfig)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return nil, fmt.Errorf("%w: BaseURL %q is not an absolute http or https URL", ErrInvalidConfig, cfg.BaseURL)
	case u.User != nil:
		return nil, fmt.Errorf("%w: BaseURL must not carry a user or password; pass the admin token as Token", ErrInvalidConfig)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("%w: BaseURL %s must not have a query or fragment", ErrInvalidConfig, u.Redacted())
	case cfg.Token == "":
		return nil, fmt.Errorf("%w: Token is required", ErrInvalidConfig)
	case strings.IndexFunc(string(cfg.Token), func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return nil, fmt.Errorf("%w: Token holds white space or a control character", ErrInvalidConfig)
	}
	hc := &http.Client{Timeout: DefaultTimeout}
	if cfg.HTTPClient != nil {
		copied := *cfg.HTTPClient
		hc = &copied
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	ua := cfg.UserAgent
	if ua == "" {
		ua = "riscd-adminclient"
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = strings.TrimSuffix(u.RawPath, "/")
	return &Client{base: u, token: cfg.Token, hc: hc, ua: ua, actor: cfg.Actor}, nil
}

// BaseURL returns the URL the Client calls, without a trailing slash.
func (c *Client) BaseURL() string { return c.base.String() }

// String names the Client by its URL; the token is never shown.
func (c *Client) String() string { return "adminclient.Client(" + c.BaseURL() + ")" }

// GoString is String.
func (c *Client) GoString() string { return c.String() }

// do sends one request to path (already escaped, from the API's root) with
// query, and decodes a 2xx answer into out.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, out any) error {
	u := *c.base
	u.RawPath = c.base.EscapedPath() + path
	p, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return fmt.Errorf("%s %s: %w: %v", method, path, ErrInvalidArgument, err)
	}
	u.Path = p
	if c.actor != "" && method != http.MethodGet {
		query = maps.Clone(query)
		if query == nil {
			query = url.Values{}
		}
		query.Set("actor", c.actor)
	}
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return fmt.Errorf("%s %s: %w: %v", method, path, ErrInvalidArgument, err)
	}
	req.Header.Set("Authorization", "Bearer "+string(c.token))
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL; the caller knows it
		}
		return fmt.Errorf("%s %s: %w: %w", method, path, ErrUnreachable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return fmt.Errorf("%s %s: %w: reading the answer: %w", method, path, ErrUnreachable, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return apiError(method, path, resp, body)
	}
	if len(body) > maxAnswer {
		return fmt.Errorf("%s %s: %w: the answer is larger than %d bytes", method, path, ErrUnexpectedAnswer, maxAnswer)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s %s: %w: HTTP %d with %s that does not decode: %v",
			method, path, ErrUnexpectedAnswer, resp.StatusCode, describeType(resp), err)
	}
	return nil
}

// apiError builds the *APIError of a non-2xx answer.
func apiError(method, path string, resp *http.Response, body []byte) *APIError {
	e := &APIError{
		Method: method, Path: path, StatusCode: resp.StatusCode,
		RequestID: clean(resp.Header.Get("X-Request-Id"), 64),
		Location:  clean(resp.Header.Get("Location"), maxDetail),
	}
	var b struct {
		Error  string          `json:"error"`
		Detail json.RawMessage `json:"detail"`
	}
	if isJSON(resp) && json.Unmarshal(body, &b) == nil && b.Error != "" {
		e.Code = clean(b.Error, 64)
		var s string
		if err := json.Unmarshal(b.Detail, &s); err == nil {
			e.Detail = clean(s, maxDetail)
		} else if len(b.Detail) > 0 && !bytes.Equal(b.Detail, []byte("null")) {
			var compact bytes.Buffer
			if json.Compact(&compact, b.Detail) == nil {
				e.Detail = clean(compact.String(), maxDetail)
			}
		}
		return e
	}
	e.Detail = fmt.Sprintf("%s with %s", http.StatusText(resp.StatusCode), describeType(resp))
	if e.Location != "" {
		e.Detail += ", redirecting to " + e.Location
	}
	return e
}

func isJSON(resp *http.Response) bool {
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// describeType names an answer's content type for a message.
func describeType(resp *http.Response) string {
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt == "" {
		return "no content type"
	}
	return "content type " + mt
}

// clean makes s safe for a one-line message: control characters become
// spaces and the result is at most n bytes.
func clean(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}
