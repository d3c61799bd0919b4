package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd/client"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
)

// hookReceiver is an app's webhook endpoint on 127.0.0.1 that verifies
// each webhook with the Go client and hands the events on.
func hookReceiver(t *testing.T, secret string) (string, <-chan client.Event) {
	t.Helper()
	events := make(chan client.Event, 16)
	h, err := client.NewWebhookHandler(client.WebhookConfig{
		Secrets: []string{secret},
		OnEvent: func(_ context.Context, ev client.Event) error { events <- ev; return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/hooks", events
}

// waitEvent waits for a verified webhook of type typ.
func waitEvent(t *testing.T, events <-chan client.Event, typ string) client.Event {
	t.Helper()
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case ev := <-events:
			if ev.Type == typ {
				return ev
			}
		case <-timeout.C:
			t.Fatalf("no verified %s webhook reached the app", typ)
		}
	}
}

// printedDemo reads the addresses the demo printed.
func printedDemo(t *testing.T, out string) map[string]string {
	t.Helper()
	printed := map[string]string{}
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "riscd" && f[1] == "(public)":
			printed["public"] = f[2]
		case len(f) >= 3 && f[0] == "riscd" && f[1] == "(internal)":
			printed["internal"] = f[2]
		case len(f) >= 3 && f[0] == "Google" && f[1] == "stand-in":
			printed["google"] = f[2]
		}
	}
	for _, k := range []string{"public", "internal", "google"} {
		if printed[k] == "" {
			t.Fatalf("the demo did not print its %s URL:\n%s", k, out)
		}
	}
	return printed
}

// The demo on ports of its own, with an app's webhook URL: riscd demo send
// finds the running demo's stand-in without --google-url (from the state
// file of the last demo started, or of --dir), and the app receives a
// signed webhook it verifies. Started again in the same folder, the demo
// keeps its config, store and addresses, and RISCD_* variables override
// its keys as they do for serve.
func TestDemoWebhookAfterSend(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	environ := []string{"XDG_CACHE_HOME=" + cache}
	secretFile := filepath.Join(t.TempDir(), "webhook.secret")
	if code, _, stderr := runCLI(t, nil, "webhook-secret", "--file", secretFile); code != exitOK {
		t.Fatalf("webhook-secret: %s", stderr)
	}
	secret, err := os.ReadFile(secretFile)
	if err != nil {
		t.Fatal(err)
	}
	hookURL, events := hookReceiver(t, strings.TrimSpace(string(secret)))

	start := func(environ []string, args ...string) (map[string]string, *testkit.SyncBuffer, func()) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		var out, errOut testkit.SyncBuffer
		done := make(chan int, 1)
		go func() { done <- run(ctx, append([]string{"demo", "--dir", dir}, args...), environ, &out, &errOut) }()
		waitDemoStarted(t, done, &out, &errOut, "Press Ctrl-C to stop")
		printed := printedDemo(t, out.String())
		waitReady(t, printed["internal"])
		stop := func() {
			cancel()
			if code := <-done; code != exitOK {
				t.Errorf("demo exit %d after cancel, want 0; stderr %s", code, errOut.String())
			}
		}
		return printed, &out, stop
	}
	printed, out, stop := start(environ, "--listen", "127.0.0.1:0", "--internal-listen", "127.0.0.1:0", "--google-listen", "127.0.0.1:0",
		"--webhook-url", hookURL, "--webhook-secret-file", secretFile, "--redirect-uri", "https://riscd.example.test/oauth2callback")
	var printedSend []string // the printed riscd demo send account-disabled, without "riscd"
	for line := range strings.SplitSeq(out.String(), "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[0] == "riscd" && f[1] == "demo" && f[2] == "send" && f[3] == "account-disabled" {
			printedSend = f[1:]
		}
	}
	if !strings.Contains(strings.Join(printedSend, " "), "--google-url "+printed["google"]) {
		t.Errorf("the printed send command %q does not carry the stand-in's URL:\n%s", printedSend, out.String())
	}
	if !strings.Contains(out.String(), "wrote a new demo config") {
		t.Errorf("the demo does not say it wrote its config:\n%s", out.String())
	}

	// A hand-written config's redirect URI, given with --redirect-uri, is
	// accepted; any other is not.
	for uri, want := range map[string]bool{"https://riscd.example.test/oauth2callback": true, "https://other.example.test/oauth2callback": false} {
		q := url.Values{"client_id": {googlesim.DefaultClientID}, "redirect_uri": {uri}, "response_type": {"code"}, "scope": {"openid email"}}
		resp, err := http.Get(printed["google"] + googlesim.PathAuthorize + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := !strings.Contains(string(body), "redirect_uri_mismatch"); got != want {
			t.Errorf("authorize with redirect_uri %s: accepted %v, want %v (%d)", uri, got, want, resp.StatusCode)
		}
	}

	// Alice connects through the consent flow.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(printed["public"] + "/authorize")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := googlesim.Consent(t.Context(), browser, resp.Header.Get("Location"), googlesim.Choice{User: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err = browser.Get(back.String()); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	send := func(environ []string, args ...string) {
		t.Helper()
		code, stdout, stderr := runCLI(t, environ, append([]string{"demo", "send"}, args...)...)
		if code != exitOK || !strings.Contains(stdout, "202 Accepted") {
			t.Fatalf("demo send %v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	// Found through the last demo's state in the user's cache folder.
	send(environ, "sessions-revoked", "--sub", "alice@example.com")
	ev := waitEvent(t, events, "sessions-revoked")
	if ev.Sub != googlesim.DefaultUsers()[0].Sub || ev.EndSessionsBefore == nil || !ev.EndsSession(time.Now().Add(-time.Hour)) {
		t.Errorf("webhook %+v: want alice's sessions-revoked ending older sessions", ev)
	}
	// The command the demo printed, as printed.
	send(nil, printedSend[2:]...)
	if ev := waitEvent(t, events, "account-disabled"); !ev.Held {
		t.Errorf("webhook %+v: want held", ev)
	}
	stop()
	if _, err := os.Stat(filepath.Join(cache, "riscd", demoStateName)); !os.IsNotExist(err) {
		t.Errorf("the stopped demo left its state in the cache folder (%v)", err)
	}

	// Again in the same folder: the config is kept, with its addresses and
	// store; an environment variable moves the webhook to another app.
	hookURL2, events2 := hookReceiver(t, strings.TrimSpace(string(secret)))
	printed2, out2, stop2 := start(append(environ, "RISCD_COMPANION_WEBHOOK_URL="+hookURL2))
	defer stop2()
	if !strings.Contains(out2.String(), "kept the demo config") || printed2["google"] != printed["google"] || printed2["internal"] != printed["internal"] {
		t.Errorf("second start: want the kept config's addresses %v, got %v:\n%s", printed, printed2, out2.String())
	}
	// Found through --dir.
	send(nil, "account-enabled", "--sub", "alice@example.com", "--dir", dir)
	if ev := waitEvent(t, events2, "account-enabled"); ev.Held || len(ev.GrantIDs) != 1 {
		t.Errorf("webhook %+v: want alice's grant released", ev)
	}
	if code, _, stderr := runCLI(t, nil, "demo", "--dir", dir, "--listen", "127.0.0.1:0"); code != exitUsage || !strings.Contains(stderr, "kept as it is") {
		t.Errorf("--listen with a kept config: exit %d, stderr %q; want a usage error", code, stderr)
	}
}
