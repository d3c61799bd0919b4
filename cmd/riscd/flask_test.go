package main

// The Flask example (examples/flask/app.py) against riscd demo, as its
// printed command runs it, driven by headless Chromium.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/lifecycle"
)

// debianPython is the interpreter the example names: Debian's, which has
// Debian's python3-flask and python3-requests.
const debianPython = "/usr/bin/python3"

// requireFlask skips the test without Debian's python3-flask and
// python3-requests, or fails it under CI, which installs them.
func requireFlask(t *testing.T) {
	t.Helper()
	if out, err := exec.Command(debianPython, "-c", "import flask, requests").CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s cannot import flask and requests (%v: %s): .ci/run installs python3-flask python3-requests", debianPython, err, out)
		}
		t.Skip("the Flask example needs Debian's python3-flask and python3-requests: apt-get install python3-flask python3-requests")
	}
}

// flaskCommand finds the command riscd demo printed for the Flask example
// (lines continued by a backslash): its environment assignments and its
// argv.
func flaskCommand(t *testing.T, printed string) (env, argv []string) {
	t.Helper()
	lines := strings.Split(printed, "\n")
	for i, line := range lines {
		if !strings.HasPrefix(strings.TrimSpace(line), "RISCD_URL=") {
			continue
		}
		var words []string
		for ; i < len(lines); i++ {
			words = append(words, strings.Fields(strings.TrimSuffix(lines[i], `\`))...)
			if !strings.HasSuffix(lines[i], `\`) {
				break
			}
		}
		for len(words) > 0 && strings.Contains(words[0], "=") {
			env, words = append(env, words[0]), words[1:]
		}
		return env, words
	}
	t.Fatalf("riscd demo printed no command for the Flask example:\n%s", printed)
	return nil, nil
}

// signedHook is a webhook request signed as riscd signs them (Standard
// Webhooks), sent at sentAt.
func signedHook(t *testing.T, target, secret, id string, sentAt time.Time, body []byte) *http.Request {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(sentAt.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", ts)
	req.Header.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return req
}

// TestFlaskExampleAgainstDemo runs riscd demo with --webhook-url,
// --webhook-secret-file and --return-url, then the Flask example with the
// command the demo printed. In Chromium a user signs into the Flask app,
// connects Drive through riscd's connect session and googlesim's consent
// page, and lists their files through /test with a token from riscd. Then
// riscd demo send account-disabled --reason hijacking: riscd's signed
// webhook reaches the app, and the user's next page shows them signed out.
// The app refuses webhooks with a broken signature or an old timestamp.
func TestFlaskExampleAgainstDemo(t *testing.T) {
	requireFlask(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	flaskAddr, err := freeAddr("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	flaskURL := "http://" + flaskAddr
	secret, err := lifecycle.GenerateWebhookSecret()
	if err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(t.TempDir(), "webhook.secret")
	if err := os.WriteFile(secretFile, []byte(secret.Reveal()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	var out, errOut testkit.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--listen", "127.0.0.1:0", "--internal-listen", "127.0.0.1:0",
			"--google-listen", "127.0.0.1:0", "--dir", t.TempDir(),
			"--webhook-url", flaskURL + "/riscd/webhook", "--webhook-secret-file", secretFile,
			"--return-url", flaskURL + "/"}, nil, &out, &errOut)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	waitDemoStarted(t, done, &out, &errOut, "Press Ctrl-C to stop")
	var google, appToken string
	for line := range strings.SplitSeq(out.String(), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "Google" && f[1] == "stand-in":
			google = f[2]
		case len(f) == 3 && f[0] == "app" && f[1] == "token":
			appToken = f[2]
		}
	}
	env, argv := flaskCommand(t, out.String())
	want := []string{"GOOGLE_API_URL=" + google, "RISCD_WEBHOOK_SECRET_FILE=" + secretFile, "HOST=127.0.0.1", "PORT=" + strings.TrimPrefix(flaskAddr, "127.0.0.1:")}
	for _, w := range want {
		if !strings.Contains(strings.Join(env, " "), w) {
			t.Errorf("the printed Flask command %q lacks %s", env, w)
		}
	}
	if len(argv) != 2 || argv[0] != debianPython || argv[1] != "examples/flask/app.py" {
		t.Fatalf("the printed Flask command runs %q, want %s examples/flask/app.py", argv, debianPython)
	}

	// The Flask app, from the root of the source as the demo says.
	var flaskOut testkit.SyncBuffer
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &flaskOut, &flaskOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("the Flask app's output:\n%s", flaskOut.String())
		}
	})
	testkit.Eventually(t, "the Flask app to answer", func() bool {
		select {
		case <-exited:
			t.Fatalf("the Flask app exited: %s", flaskOut.String())
		default:
		}
		resp, err := http.Get(flaskURL + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	alice := googlesim.DefaultUsers()[0]
	tctx := testkit.Chromium(t)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}

	do("sign into the Flask app",
		chromedp.Navigate(flaskURL+"/"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "ann"),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("user")),
	)
	if got := text("#user"); got != "ann" {
		t.Fatalf("signed in as %q, want ann", got)
	}
	do("connect Drive: riscd's connect session, googlesim's consent page",
		chromedp.Click(chromedp.ID("authorize")),
		chromedp.WaitVisible(chromedp.ID("consent")),
	)
	loc, err := chromedp.Run(tctx, chromedp.Location())
	if err != nil || !strings.HasPrefix(loc, google) {
		t.Fatalf("after /authorize the browser is at %s (%v), want googlesim's consent page", loc, err)
	}
	do("choose alice and allow",
		chromedp.Click(chromedp.CSS(`input[name="user"][value="`+alice.Sub+`"]`)),
		chromedp.Click(chromedp.CSS(`button[value="allow"]`)),
		chromedp.WaitVisible(chromedp.ID("account")),
	)
	if got := text("#account"); got != alice.Email {
		t.Errorf("the Flask app shows the Google account %q, want %s", got, alice.Email)
	}
	do("list the Drive files", chromedp.Navigate(flaskURL+"/test"), chromedp.WaitReady(chromedp.CSS("body")))
	body := text("body")
	var files struct {
		Files []struct{ ID, Name string }
	}
	if err := json.Unmarshal([]byte(body), &files); err != nil || len(files.Files) == 0 {
		t.Fatalf("/test shows %q (%v), want Drive's file list", body, err)
	}
	if wantFiles := googlesim.DriveFiles(alice.Sub); files.Files[0].Name != wantFiles[0].Name || files.Files[0].ID != wantFiles[0].ID {
		t.Errorf("/test lists %+v, want alice's files %+v", files.Files, wantFiles)
	}

	// Google reports alice's account hijacked.
	if code, stdout, stderr := runCLI(t, nil, "demo", "send", "account-disabled", "--reason", "hijacking",
		"--sub", alice.Email, "--google-url", google); code != exitOK {
		t.Fatalf("demo send: exit %d: %s %s", code, stdout, stderr)
	}
	testkit.Eventually(t, "the Flask app to sign ann out", func() bool {
		if err := chromedp.Do(tctx, chromedp.Navigate(flaskURL+"/"), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
			t.Fatalf("reload: %v", err)
		}
		n, err := chromedp.Run(tctx, chromedp.Evaluate[int](`document.querySelectorAll("#signed-out").length`))
		return err == nil && n == 1
	})
	do("the next page", chromedp.Navigate(flaskURL+"/test"), chromedp.WaitVisible(chromedp.ID("username")))
	if loc, err := chromedp.Run(tctx, chromedp.Location()); err != nil || loc != flaskURL+"/" {
		t.Errorf("/test after the sign-out leads to %s (%v), want the sign-in page", loc, err)
	}

	// Another user, in another browser (this one is signed into googlesim
	// as alice, whose consent covers Drive: Google would answer at once),
	// connects bob's account, then revokes it through riscd: /test goes
	// back to the consent page.
	bob := googlesim.DefaultUsers()[1]
	tctx = testkit.Chromium(t)
	do("sign in as ben and refuse on the consent page",
		chromedp.Navigate(flaskURL+"/"),
		chromedp.SendKeys(chromedp.ID("username"), "ben"),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("authorize")),
		chromedp.Click(chromedp.ID("authorize")),
		chromedp.WaitVisible(chromedp.ID("consent")),
		chromedp.Click(chromedp.CSS(`input[name="user"][value="`+bob.Sub+`"]`)),
		chromedp.Click(chromedp.CSS(`button[value="deny"]`)),
		chromedp.WaitVisible(chromedp.ID("connect-error")),
	)
	if got := text("#connect-error"); !strings.Contains(got, "denied") {
		t.Errorf("after a refusal the Flask app says %q, want the session's status, denied", got)
	}
	do("connect bob's account",
		chromedp.Click(chromedp.ID("authorize")),
		chromedp.WaitVisible(chromedp.ID("consent")),
		chromedp.Click(chromedp.CSS(`input[name="user"][value="`+bob.Sub+`"]`)),
		chromedp.Click(chromedp.CSS(`button[value="allow"]`)),
		chromedp.WaitVisible(chromedp.ID("account")),
	)
	if got := text("#account"); got != bob.Email {
		t.Errorf("ben's Google account is %q, want %s", got, bob.Email)
	}
	do("revoke", chromedp.Click(chromedp.ID("revoke")), chromedp.WaitVisible(chromedp.ID("revoked")))
	do("test again", chromedp.Navigate(flaskURL+"/test"), chromedp.WaitVisible(chromedp.ID("consent")))
	if loc, err := chromedp.Run(tctx, chromedp.Location()); err != nil || !strings.HasPrefix(loc, google) {
		t.Errorf("/test after /revoke leads to %s (%v), want googlesim's consent page", loc, err)
	}

	t.Run("webhook signatures", func(t *testing.T) {
		// signIn signs user into the app in a browser of its own and
		// returns a function fetching the user's index page.
		signIn := func(t *testing.T, user string) func() string {
			t.Helper()
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar}
			resp, err := c.PostForm(flaskURL+"/login", url.Values{"user": {user}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return func() string {
				t.Helper()
				resp, err := c.Get(flaskURL + "/")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return string(b)
			}
		}
		hook := func(users ...string) []byte {
			at := time.Now().UTC().Truncate(time.Second)
			b, _ := json.Marshal(map[string]any{"type": "sessions-revoked", "sub": "1", "action": "end_sessions,set_sessions_revoked_at",
				"at": at, "end_sessions_before": at.Add(time.Second - time.Nanosecond), "signin_disabled": false, "held": false,
				"grant_ids": []string{}, "app_users": users})
			return b
		}
		send := func(t *testing.T, req *http.Request) int {
			t.Helper()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		target := flaskURL + "/riscd/webhook"
		other, err := lifecycle.GenerateWebhookSecret()
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			req  func(t *testing.T, user string) *http.Request
		}{
			{"another secret", func(t *testing.T, user string) *http.Request {
				return signedHook(t, target, other.Reveal(), "msg_other", time.Now(), hook(user))
			}},
			{"body changed", func(t *testing.T, user string) *http.Request {
				r := signedHook(t, target, secret.Reveal(), "msg_changed", time.Now(), hook("nobody"))
				body := hook(user)
				r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
				return r
			}},
			{"too old", func(t *testing.T, user string) *http.Request {
				return signedHook(t, target, secret.Reveal(), "msg_old", time.Now().Add(-6*time.Minute), hook(user))
			}},
			{"no signature", func(t *testing.T, user string) *http.Request {
				r := signedHook(t, target, secret.Reveal(), "msg_unsigned", time.Now(), hook(user))
				r.Header.Del("webhook-signature")
				return r
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				user := strings.ReplaceAll(tc.name, " ", "-")
				page := signIn(t, user)
				if got := send(t, tc.req(t, user)); got != http.StatusUnauthorized {
					t.Errorf("status %d, want 401", got)
				}
				if p := page(); !strings.Contains(p, `id="user"`) || strings.Contains(p, "signed-out") {
					t.Errorf("after a refused webhook the session of %s ended:\n%s", user, p)
				}
			})
		}
		page := signIn(t, "carl")
		if got := send(t, signedHook(t, target, secret.Reveal(), "msg_good", time.Now(), hook("carl"))); got != http.StatusNoContent {
			t.Fatalf("a well signed webhook: status %d, want 204", got)
		}
		if p := page(); !strings.Contains(p, `id="signed-out"`) {
			t.Errorf("after a well signed sessions-revoked naming carl, carl's page is:\n%s", p)
		}
	})

	// The app keeps no secret in its output.
	for name, s := range map[string]string{"app token": appToken, "webhook secret": secret.Reveal()} {
		if s == "" || strings.Contains(flaskOut.String(), s) {
			t.Errorf("the Flask app's output holds the %s (or the demo printed none)", name)
		}
	}
}
