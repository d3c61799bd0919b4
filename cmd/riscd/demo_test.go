package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
)

// TestDemoStory follows the demo's printed steps as a newcomer would: sign
// in through the consent flow, then riscd demo send account-disabled and
// tokens-revoked; the grant goes from active to held to revoked, as the
// operator's riscd grants list shows.
func TestDemoStory(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut testkit.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--listen", "127.0.0.1:0", "--internal-listen", "127.0.0.1:0",
			"--google-listen", "127.0.0.1:0", "--dir", t.TempDir()}, nil, &out, &errOut)
	}()
	waitDemoStarted(t, done, &out, &errOut, "Press Ctrl-C to stop")
	printed := map[string]string{}
	for line := range strings.SplitSeq(out.String(), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "riscd" && f[1] == "(public)":
			printed["public"] = f[2]
		case len(f) >= 3 && f[0] == "riscd" && f[1] == "(internal)":
			printed["internal"] = f[2]
		case len(f) >= 3 && f[0] == "Google" && f[1] == "stand-in":
			printed["google"] = f[2]
		case len(f) == 3 && f[0] == "admin" && f[1] == "token":
			printed["admin"] = f[2]
		}
	}
	for _, k := range []string{"public", "internal", "google", "admin"} {
		if printed[k] == "" {
			t.Fatalf("the demo did not print its %s URL or token:\n%s", k, out.String())
		}
	}
	waitReady(t, printed["internal"])

	// Step 1: the consent flow as alice.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(printed["public"] + "/authorize")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := googlesim.Consent(ctx, browser, resp.Header.Get("Location"), googlesim.Choice{User: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err = browser.Get(back.String()); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	env := []string{"RISCD_INTERNAL_ADMIN_TOKEN=" + printed["admin"]}
	grantStatus := func() string {
		t.Helper()
		code, stdout, stderr := runCLI(t, env, "grants", "list", "--internal-url", printed["internal"], "--json")
		if code != exitOK {
			t.Fatalf("grants list: exit %d: %s", code, stderr)
		}
		var page struct {
			Grants []struct {
				Status string `json:"status"`
			} `json:"grants"`
		}
		if err := json.Unmarshal([]byte(stdout), &page); err != nil || len(page.Grants) != 1 {
			t.Fatalf("grants list --json: %v, %s; want one grant", err, stdout)
		}
		return page.Grants[0].Status
	}
	waitStatus := func(want string) {
		t.Helper()
		testkit.Eventually(t, "grant status "+want, func() bool { return grantStatus() == want })
	}
	waitStatus("active")

	// Step 3: Google's events, through the stand-in's stream.
	for _, step := range []struct {
		args []string
		want string
	}{
		{[]string{"account-disabled", "--reason", "hijacking", "--sub", "alice@example.com"}, "held"},
		{[]string{"tokens-revoked", "--sub", "alice@example.com"}, "revoked"},
	} {
		args := append([]string{"demo", "send"}, step.args...)
		code, stdout, stderr := runCLI(t, nil, append(args, "--google-url", printed["google"])...)
		if code != exitOK || !strings.Contains(stdout, "202 Accepted") {
			t.Fatalf("demo send %s: exit %d, stdout %q, stderr %q", step.args[0], code, stdout, stderr)
		}
		waitStatus(step.want)
	}

	// The admin page answers at the printed address.
	if code := getStatus(t, printed["internal"]+"/admin/ui/login"); code != http.StatusOK {
		t.Errorf("admin page sign-in: %d", code)
	}
	// A mistyped event name is refused with the stand-in's reason.
	if code, _, stderr := runCLI(t, nil, "demo", "send", "account-hijacked", "--google-url", printed["google"]); code != exitFailure || !strings.Contains(stderr, "refused") {
		t.Errorf("demo send of an unknown event: exit %d, stderr %q", code, stderr)
	}
	// Without a running stand-in the message says what to do.
	if code, _, stderr := runCLI(t, nil, "demo", "send", "sessions-revoked", "--sub", "x", "--google-url", "http://127.0.0.1:1"); code != exitFailure || !strings.Contains(stderr, "is riscd demo running?") {
		t.Errorf("demo send without a stand-in: exit %d, stderr %q", code, stderr)
	}

	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("demo exit %d after cancel, want 0; stderr %s", code, errOut.String())
	}
}
