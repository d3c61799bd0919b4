package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"golang.org/x/oauth2"

	"github.com/riscd/riscd/client"
)

// fakeCompanion stands in for riscd's internal listener: POST /v1/token
// serves an access token for alice and refuses bob's held grant.
func fakeCompanion() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Sub string `json:"sub"`
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Header.Get("Authorization") != "Bearer app-token":
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"unauthorized"}`)
		case r.URL.Path != "/v1/token" || decodeJSON(r, &body) != nil:
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"bad_request"}`)
		case body.Sub == "alice":
			exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
			io.WriteString(w, `{"access_token":"ya29.alice","token_type":"Bearer","expiry":"`+exp+`","scopes":["openid"]}`)
		default:
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"error":"grant_unavailable","detail":{"state":"held","reason":"hijacking"}}`)
		}
	}))
}

// fakeGoogleAPI answers with the bearer token it was sent.
func fakeGoogleAPI() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "called with %q", r.Header.Get("Authorization"))
	}))
}

func Example() {
	riscd, api := fakeCompanion(), fakeGoogleAPI()
	defer riscd.Close()
	defer api.Close()
	ctx := context.Background()

	c := client.New(riscd.URL, "app-token")
	hc := oauth2.NewClient(ctx, c.TokenSource(ctx, client.Sub("alice"), "openid"))
	resp, err := hc.Get(api.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(b))

	_, err = c.TokenSource(ctx, client.Sub("bob"), "openid").Token()
	var unavailable *client.UnavailableError
	if errors.As(err, &unavailable) {
		fmt.Println("bob's grant is", unavailable.State, "after", unavailable.Reason)
	}
	// Output:
	// called with "Bearer ya29.alice"
	// bob's grant is held after hijacking
}
