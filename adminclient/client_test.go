package adminclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/riscd/riscd/adminclient"
)

// testToken is the admin token of the fake servers; no error, message or
// printed value may carry it.
const testToken = "test-admin-token-0123456789abcdef"

// seen is one request a fake server received.
type seen struct {
	method, rawPath, query, auth, accept string
}

// fake is an httptest server on 127.0.0.1 answering every request with
// the handler given, recording what it received.
type fake struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []seen
}

func newFake(t *testing.T, h http.HandlerFunc) *fake {
	t.Helper()
	f := &fake{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.got = append(f.got, seen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Accept")})
		f.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.got...)
}

// mustClient is a Client of baseURL with testToken.
func mustClient(t *testing.T, baseURL string) *adminclient.Client {
	t.Helper()
	c, err := adminclient.New(adminclient.Config{BaseURL: baseURL, Token: testToken})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// answerJSON writes v as a JSON answer with status.
func answerJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// noToken fails the test if s carries the token.
func noToken(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, testToken) {
		t.Errorf("%s carries the admin token: %s", what, s)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  adminclient.Config
		want string
	}{
		{"no url", adminclient.Config{Token: testToken}, "BaseURL is required"},
		{"relative url", adminclient.Config{BaseURL: "127.0.0.1:9090", Token: testToken}, "not an absolute http or https URL"},
		{"other scheme", adminclient.Config{BaseURL: "ftp://127.0.0.1", Token: testToken}, "not an absolute http or https URL"},
		{"user info", adminclient.Config{BaseURL: "http://admin:" + testToken + "@127.0.0.1:9090", Token: testToken}, "must not carry a user or password"},
		{"query", adminclient.Config{BaseURL: "http://127.0.0.1:9090/?x=1", Token: testToken}, "must not have a query"},
		{"no token", adminclient.Config{BaseURL: "http://127.0.0.1:9090"}, "Token is required"},
		{"token with a newline", adminclient.Config{BaseURL: "http://127.0.0.1:9090", Token: testToken + "\nX-Evil: 1"}, "white space"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := adminclient.New(tc.cfg)
			if !errors.Is(err, adminclient.ErrInvalidConfig) || c != nil {
				t.Fatalf("New: got %v, %v; want nil and ErrInvalidConfig", c, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to say %q", err, tc.want)
			}
			noToken(t, "the error", err.Error())
		})
	}
}

func TestTokenNeverPrinted(t *testing.T) {
	cfg := adminclient.Config{BaseURL: "http://127.0.0.1:9090", Token: testToken}
	c, err := adminclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("client", "token", cfg.Token, "config", cfg)
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{
		"%v config": fmt.Sprintf("%v", cfg), "%+v config": fmt.Sprintf("%+v", cfg), "%#v config": fmt.Sprintf("%#v", cfg),
		"%s token": fmt.Sprintf("%s", cfg.Token), "%v client": fmt.Sprintf("%v", c), "%+v client": fmt.Sprintf("%+v", c),
		"%#v client": fmt.Sprintf("%#v", c), "slog": logged.String(), "json": string(data),
	} {
		noToken(t, name, s)
		if !strings.Contains(s, "redacted") && !strings.Contains(s, "127.0.0.1:9090") {
			t.Errorf("%s: %q shows neither the URL nor [redacted]", name, s)
		}
	}
}

func TestRequests(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		// One answer that decodes as any of the routes' types.
		answerJSON(w, http.StatusOK, map[string]any{})
	})
	ctx := context.Background()
	tests := []struct {
		name      string
		base      string // appended to the fake's URL
		call      func(c *adminclient.Client) error
		method    string
		rawPath   string
		wantQuery string
	}{
		{"list grants", "", func(c *adminclient.Client) error {
			_, err := c.ListGrants(ctx, adminclient.GrantFilter{Sub: "alice", Status: adminclient.GrantHeld, Feature: "drive", Scope: "s", Cursor: "c1", Limit: 7})
			return err
		}, "GET", "/admin/grants", "cursor=c1&feature=drive&limit=7&scope=s&status=held&sub=alice"},
		{"list grants without filters", "", func(c *adminclient.Client) error {
			_, err := c.ListGrants(ctx, adminclient.GrantFilter{})
			return err
		}, "GET", "/admin/grants", ""},
		{"grant with an awkward id", "", func(c *adminclient.Client) error {
			_, err := c.Grant(ctx, "a/b c?d")
			return err
		}, "GET", "/admin/grants/a%2Fb%20c%3Fd", ""},
		{"revoke grant", "", func(c *adminclient.Client) error { _, err := c.RevokeGrant(ctx, "g1"); return err },
			"DELETE", "/admin/grants/g1", ""},
		{"account", "", func(c *adminclient.Client) error { _, err := c.Account(ctx, "1234/5 x"); return err },
			"GET", "/admin/accounts/1234%2F5%20x", ""},
		{"release", "", func(c *adminclient.Client) error { _, err := c.ReleaseAccount(ctx, "1234"); return err },
			"POST", "/admin/accounts/1234/release", ""},
		{"list events", "", func(c *adminclient.Client) error {
			_, err := c.ListEvents(ctx, adminclient.EventFilter{Sub: "alice", Type: "account-disabled", Status: adminclient.EventParked, Limit: 3})
			return err
		}, "GET", "/admin/events", "limit=3&status=parked&sub=alice&type=account-disabled"},
		{"event", "", func(c *adminclient.Client) error { _, err := c.Event(ctx, 42); return err },
			"GET", "/admin/events/42", ""},
		{"retry", "", func(c *adminclient.Client) error { _, err := c.RetryEvent(ctx, 42); return err },
			"POST", "/admin/events/42/retry", ""},
		{"audit", "", func(c *adminclient.Client) error {
			_, err := c.ListAudit(ctx, adminclient.AuditFilter{Sub: "alice", Cursor: "9"})
			return err
		}, "GET", "/admin/audit", "cursor=9&sub=alice"},
		{"outbox", "", func(c *adminclient.Client) error {
			_, err := c.Outbox(ctx, adminclient.OutboxFilter{Kind: "revoke", Limit: 5})
			return err
		}, "GET", "/admin/outbox", "kind=revoke&limit=5"},
		{"failed outbox jobs", "", func(c *adminclient.Client) error {
			_, err := c.Outbox(ctx, adminclient.OutboxFilter{Status: adminclient.OutboxFailed})
			return err
		}, "GET", "/admin/outbox", "status=failed"},
		{"retry outbox job", "", func(c *adminclient.Client) error { _, err := c.RetryOutboxJob(ctx, 7); return err },
			"POST", "/admin/outbox/7/retry", ""},
		{"behind a proxy prefix", "/riscd/", func(c *adminclient.Client) error { _, err := c.Event(ctx, 1); return err },
			"GET", "/riscd/admin/events/1", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.requests())
			if err := tc.call(mustClient(t, f.srv.URL+tc.base)); err != nil {
				t.Fatalf("call: %v", err)
			}
			reqs := f.requests()[before:]
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			got := reqs[0]
			want := seen{tc.method, tc.rawPath, tc.wantQuery, "Bearer " + testToken, "application/json"}
			if got != want {
				t.Errorf("got request %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestInvalidArgumentsSendNothing(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) { answerJSON(w, http.StatusOK, map[string]any{}) })
	c := mustClient(t, f.srv.URL)
	ctx := context.Background()
	calls := map[string]func() error{
		"grant":     func() error { _, err := c.Grant(ctx, ""); return err },
		"revoke":    func() error { _, err := c.RevokeGrant(ctx, ""); return err },
		"account":   func() error { _, err := c.Account(ctx, ""); return err },
		"release":   func() error { _, err := c.ReleaseAccount(ctx, ""); return err },
		"event":     func() error { _, err := c.Event(ctx, 0); return err },
		"retry":     func() error { _, err := c.RetryEvent(ctx, 0); return err },
		"retry job": func() error { _, err := c.RetryOutboxJob(ctx, 0); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, adminclient.ErrInvalidArgument) {
				t.Errorf("got %v, want ErrInvalidArgument", err)
			}
		})
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}

func TestErrorAnswers(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		sentinel   error
		wantCode   string
		wantDetail string
		wantStatus int
		wantInText []string
	}{
		{
			name: "not found",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Request-Id", "req-1")
				answerJSON(w, 404, map[string]any{"error": "not_found", "detail": "grant not found"})
			},
			sentinel: adminclient.ErrNotFound, wantCode: "not_found", wantDetail: "grant not found", wantStatus: 404,
			wantInText: []string{"GET /admin/grants/g1: grant not found (HTTP 404 not_found, request id req-1)"},
		},
		{
			name: "wrong token",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="riscd", error="invalid_token"`)
				answerJSON(w, 401, map[string]any{"error": "unauthorized", "detail": "the bearer token is not valid for this route"})
			},
			sentinel: adminclient.ErrUnauthorized, wantCode: "unauthorized", wantDetail: "the bearer token is not valid for this route", wantStatus: 401,
		},
		{
			name: "admin disabled",
			handler: func(w http.ResponseWriter, r *http.Request) {
				answerJSON(w, 503, map[string]any{"error": "admin_disabled", "detail": "the admin API is off"})
			},
			sentinel: adminclient.ErrAdminDisabled, wantCode: "admin_disabled", wantDetail: "the admin API is off", wantStatus: 503,
		},
		{
			name: "object detail, control characters",
			handler: func(w http.ResponseWriter, r *http.Request) {
				answerJSON(w, 409, map[string]any{"error": "grant_unavailable", "detail": map[string]string{"state": "held\nX", "reason": "r"}})
			},
			wantCode: "grant_unavailable", wantDetail: `{"reason":"r","state":"held\nX"}`, wantStatus: 409,
		},
		{
			name: "a page that is not the admin API",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(404)
				fmt.Fprint(w, "<html>consent page</html>")
			},
			wantCode: "", wantDetail: "Not Found with content type text/html", wantStatus: 404,
			wantInText: []string{"not an admin API answer"},
		},
		{
			name: "redirect not followed",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "https://riscd.example.com/admin/grants/g1", http.StatusPermanentRedirect)
			},
			wantCode: "", wantStatus: 308, wantDetail: "Permanent Redirect with content type text/html, redirecting to https://riscd.example.com/admin/grants/g1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.handler)
			_, err := mustClient(t, f.srv.URL).Grant(context.Background(), "g1")
			var ae *adminclient.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("got %v, want an *APIError", err)
			}
			if ae.Code != tc.wantCode || ae.Detail != tc.wantDetail || ae.StatusCode != tc.wantStatus {
				t.Errorf("got code %q detail %q status %d; want %q %q %d", ae.Code, ae.Detail, ae.StatusCode, tc.wantCode, tc.wantDetail, tc.wantStatus)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("errors.Is(%v, %v) is false", err, tc.sentinel)
			}
			if errors.Is(err, adminclient.ErrNotParked) {
				t.Errorf("%v matches ErrNotParked", err)
			}
			for _, want := range tc.wantInText {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q, want it to hold %q", err, want)
				}
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("error %q is not one line", err)
			}
			if n := len(f.requests()); n != 1 {
				t.Errorf("%d requests, want 1 (redirects are not followed)", n)
			}
			noToken(t, "the error", err.Error())
		})
	}
}

func TestUnexpectedSuccessAnswer(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "OK")
	})
	_, err := mustClient(t, f.srv.URL).ListGrants(context.Background(), adminclient.GrantFilter{})
	if !errors.Is(err, adminclient.ErrUnexpectedAnswer) || !strings.Contains(err.Error(), "text/plain") {
		t.Errorf("got %v, want ErrUnexpectedAnswer naming the content type", err)
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now

	t.Run("refused", func(t *testing.T) {
		_, err := mustClient(t, "http://"+addr).ListGrants(context.Background(), adminclient.GrantFilter{})
		if !errors.Is(err, adminclient.ErrUnreachable) {
			t.Fatalf("got %v, want ErrUnreachable", err)
		}
		if !strings.Contains(err.Error(), "refused") {
			t.Errorf("error %q does not say the connection was refused", err)
		}
		noToken(t, "the error", err.Error())
	})
	t.Run("cancelled", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) { answerJSON(w, 200, map[string]any{}) })
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := mustClient(t, f.srv.URL).ListGrants(ctx, adminclient.GrantFilter{})
		if !errors.Is(err, adminclient.ErrUnreachable) || !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want ErrUnreachable and context.Canceled", err)
		}
	})
}
