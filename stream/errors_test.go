package stream

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riscd/riscd/googlesim"
)

// checkError checks err is an *Error of kind with hint text, and that it
// quotes neither a token the client sent nor the service account key.
func checkError(tb testing.TB, err error, kind error, status int, hint string, rec *tokenRecorder, sim *googlesim.Server) {
	tb.Helper()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, kind) || e.HTTPStatus != status || !strings.Contains(err.Error(), hint) {
		tb.Fatalf("got %v (%#v), want *Error %v, HTTP %d, saying %q", err, e, kind, status, hint)
	}
	for _, s := range []error{ErrNoStream, ErrMissingRole, ErrUnauthorized, ErrNotHTTPS} {
		if s != kind && errors.Is(err, s) {
			tb.Errorf("error also matches %v", s)
		}
	}
	var key struct {
		PrivateKey string `json:"private_key"`
	}
	_ = json.Unmarshal(sim.ServiceAccountJSON(), &key)
	text := err.Error()
	for _, tok := range rec.seen() {
		if tok == "" || strings.Contains(text, tok) || strings.Contains(text, strings.Split(tok, ".")[2]) {
			tb.Errorf("error %q quotes the bearer token", text)
		}
	}
	if strings.Contains(text, "PRIVATE KEY") || strings.Contains(text, key.PrivateKey[40:80]) {
		tb.Errorf("error %q quotes the key", text)
	}
}

func TestGoogleErrorsAgainstSim(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t, nil)
	c, rec := newClient(t, sim)
	update := func() error {
		_, _, err := c.Update(ctx, "https://riscd.example.com/risc", []string{googlesim.EventVerification})
		return err
	}
	// Before any stream: every read and write but update is 404.
	for name, call := range map[string]func() error{
		"get":        func() error { _, err := c.Get(ctx); return err },
		"status":     func() error { _, err := c.Status(ctx); return err },
		"set status": func() error { return c.SetStatus(ctx, true) },
		"verify":     func() error { return c.Verify(ctx, "s") },
	} {
		t.Run("no stream/"+name, func(t *testing.T) {
			checkError(t, call(), ErrNoStream, http.StatusNotFound, "no stream yet: run riscd stream update first", rec, sim)
		})
	}
	for _, tc := range []struct {
		name   string
		url    string
		events []string
		kind   error
		status int
		hint   string
	}{
		{"http", "http://riscd.example.com/risc", []string{googlesim.EventVerification}, ErrNotHTTPS, 403, "must be an HTTPS URL: set public_url"},
		{"other domain", "https://riscd.example.org/risc", []string{googlesim.EventVerification}, ErrDomainNotAuthorized, 403,
			"the delivery endpoint must be HTTPS on one of the project's authorized domains (Google Cloud console > APIs & Services > OAuth consent screen)"},
		{"no events", "https://riscd.example.com/risc", nil, ErrBadRequest, 400, "malformed or missing a field"},
		{"no URL", "", []string{googlesim.EventVerification}, ErrBadRequest, 400, "malformed or missing a field"},
	} {
		t.Run("update/"+tc.name, func(t *testing.T) {
			_, _, err := c.Update(ctx, tc.url, tc.events)
			checkError(t, err, tc.kind, tc.status, tc.hint, rec, sim)
			if !strings.HasPrefix(err.Error(), "stream: update: ") {
				t.Errorf("error %q lacks the stream: update: prefix", err)
			}
		})
	}
	for _, tc := range []struct {
		d      googlesim.StreamDenial
		kind   error
		status int
		hint   string
	}{
		{googlesim.StreamNotServiceAccount, ErrNotServiceAccount, 403, "accepts only a service account"},
		{googlesim.StreamMissingRole, ErrMissingRole, 403, "the service account needs the RISC Configuration Admin role (roles/riscconfigs.admin)"},
		{googlesim.StreamNoOAuthClient, ErrNoOAuthClient, 403, "the project has no OAuth client"},
		{googlesim.StreamProjectNotFound, ErrProjectNotFound, 403, "cannot find the service account's project"},
		{googlesim.StreamFirebaseManaged, ErrFirebaseManaged, 403, "Firebase manages this project's stream"},
		{googlesim.StreamAPIDisabled, ErrAPIDisabled, 403, "the RISC API is not enabled"},
		{googlesim.StreamUnavailable, ErrUnavailable, 503, "try again later"},
	} {
		t.Run("denial/"+tc.kind.Error(), func(t *testing.T) {
			sim.SetStreamDenial(tc.d)
			defer sim.SetStreamDenial(googlesim.StreamAllowed)
			checkError(t, update(), tc.kind, tc.status, tc.hint, rec, sim)
		})
	}
	t.Run("another service account's key", func(t *testing.T) {
		other := newSim(t, func(c *googlesim.Config) { c.ServiceAccountKey = testKey(t, 2) })
		oc, orec := newClient(t, other)
		oc.base = sim.ManagementURL()
		_, err := oc.Get(ctx)
		checkError(t, err, ErrUnauthorized, 401, "check that risc.service_account_file holds a current key", orec, sim)
	})
	if err := update(); err != nil {
		t.Fatalf("update after the denials: %v", err)
	}
}

func TestErrorClassification(t *testing.T) {
	// Answers the client cannot provoke from googlesim: Google's table has
	// them, so the client must still explain them.
	for _, tc := range []struct {
		status int
		body   string
		kind   error
		hint   string
	}{
		{403, `{"error": {"code": 403, "message": "Unsupported status. Invalid status.", "status": "PERMISSION_DENIED"}}`, ErrUnsupportedStatus, "only the stream statuses enabled and disabled"},
		{403, `{"error": {"code": 403, "message": "The caller does not have permission", "status": "PERMISSION_DENIED"}}`, ErrPermissionDenied, "Google denied the call"},
		{502, `<html>Bad Gateway</html>`, ErrUnavailable, "HTTP 502: try again later"},
		{429, `{"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}`, ErrUnavailable, "HTTP 429"},
		{400, `{"error": {"code": 400, "message": "Stream configuration must contain delivery field.", "status": "INVALID_ARGUMENT"}}`, ErrBadRequest, "missing a field"},
	} {
		t.Run(tc.kind.Error(), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			sim := newSim(t, nil)
			c, rec := newClient(t, sim)
			c.base = srv.URL
			err := c.SetStatus(context.Background(), true)
			checkError(t, err, tc.kind, tc.status, tc.hint, rec, sim)
		})
	}
	t.Run("message clipped and cleaned", func(t *testing.T) {
		e := newError(403, []byte(`{"error": {"code": 403, "message": "`+strings.Repeat("x", 400)+`\u0007", "status": "PERMISSION_DENIED"}}`))
		if len(e.Message) != 303 || strings.ContainsRune(e.Message, 7) {
			t.Errorf("message of %d bytes %q, want 300 printable characters and ...", len(e.Message), e.Message[:10])
		}
	})
}

func TestTransportErrorHidesToken(t *testing.T) {
	sim := newSim(t, nil)
	c, rec := newClient(t, sim)
	srv := httptest.NewServer(http.NotFoundHandler())
	c.base = srv.URL
	srv.Close()
	_, err := c.Status(context.Background())
	if err == nil || errors.As(err, new(*Error)) {
		t.Fatalf("Status against a closed port = %v, want a transport error", err)
	}
	for _, tok := range rec.seen() {
		if strings.Contains(err.Error(), tok) {
			t.Errorf("error %q quotes the token", err)
		}
	}
}
