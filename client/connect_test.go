package client_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/riscd/riscd/client"
	"github.com/riscd/riscd/internal/testkit"
)

func TestConnect(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /v1/connect": func(w http.ResponseWriter, r *http.Request) {
			answer(w, http.StatusOK, `{"id":"c/1 2","url":"http://127.0.0.1:8080/connect/c12","expires_at":"2026-03-01T12:10:00Z"}`)
		},
		"GET /v1/connect/{id}": func(w http.ResponseWriter, r *http.Request) {
			if r.PathValue("id") != "c/1 2" {
				answer(w, http.StatusNotFound, `{"error":"not_found"}`)
				return
			}
			answer(w, http.StatusOK, `{"status":"done","app_user":"u-123","sub":"110169484474386276334","email":"ann@example.com",`+
				`"grant_id":"g1","scopes":["openid","email"],"features":["drive"],"error":""}`)
		},
	})
	c := mustNew(f, testkit.NewClock(t0))
	ctx := context.Background()
	s, err := c.Connect(ctx, "u-123", []string{"drive", "calendar"}, "https://app.example/back?x=1")
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "c/1 2" || s.URL != "http://127.0.0.1:8080/connect/c12" || !s.ExpiresAt.Equal(time.Date(2026, 3, 1, 12, 10, 0, 0, time.UTC)) {
		t.Errorf("session %+v", s)
	}
	body := f.requests()[0].body
	if body["app_user"] != "u-123" || body["return_to"] != "https://app.example/back?x=1" ||
		!slices.Equal(toStrings(body["features"]), []string{"drive", "calendar"}) {
		t.Errorf("POST /v1/connect body %v, want app_user, features, return_to", body)
	}

	res, err := c.ConnectResult(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := client.ConnectResult{Status: "done", AppUser: "u-123", Sub: "110169484474386276334", Email: "ann@example.com",
		GrantID: "g1", Scopes: []string{"openid", "email"}, Features: []string{"drive"}}
	if res.Status != want.Status || res.AppUser != want.AppUser || res.Sub != want.Sub || res.Email != want.Email ||
		res.GrantID != want.GrantID || !slices.Equal(res.Scopes, want.Scopes) || !slices.Equal(res.Features, want.Features) || res.Error != "" {
		t.Errorf("result %+v, want %+v", res, want)
	}
	if got := f.requests()[1].path; got != "/v1/connect/c%2F1%202" {
		t.Errorf("GET path %q, want the id escaped as one segment", got)
	}

	if _, err := c.ConnectResult(ctx, "gone"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("unknown session: %v, want ErrNotFound", err)
	}
	if _, err := c.Connect(ctx, "", nil, ""); err == nil {
		t.Error("Connect without an app user: no error")
	}
}

func TestConnectSendsNoFeaturesAsEmpty(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{"POST /v1/connect": func(w http.ResponseWriter, r *http.Request) {
		answer(w, http.StatusBadRequest, `{"error":"bad_request","detail":"unknown feature"}`)
	}})
	_, err := mustNew(f, testkit.NewClock(t0)).Connect(context.Background(), "u-1", nil, "")
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Code != "bad_request" {
		t.Errorf("err = %v, want *APIError 400 bad_request", err)
	}
	body := f.requests()[0].body
	if fs, ok := body["features"].([]any); !ok || len(fs) != 0 {
		t.Errorf("features = %#v, want []", body["features"])
	}
	if _, ok := body["return_to"]; ok {
		t.Errorf("return_to sent though empty: %v", body)
	}
}

// toStrings converts a decoded JSON array of strings.
func toStrings(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, x := range a {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
