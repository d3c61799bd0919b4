package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/riscd/riscd/config"
	"github.com/riscd/riscd/lifecycle"
)

// demoApp is what riscd demo's --webhook-url, --webhook-secret-file and
// --return-url tell riscd about an app running beside it: where its
// webhooks go, signed with which secret, and where connect sessions may
// send the browser back to.
type demoApp struct {
	webhookURL        string
	webhookSecretFile string
	returnURL         string
}

// check reports the first problem of the flags' values.
func (a demoApp) check() error {
	if a.webhookURL != "" && !config.IsHTTPURL(a.webhookURL) {
		return usageError{errors.New("--webhook-url: want an absolute http or https URL")}
	}
	if a.webhookSecretFile != "" && a.webhookURL == "" {
		return usageError{errors.New("--webhook-secret-file: needs --webhook-url")}
	}
	if a.returnURL != "" {
		u, err := url.Parse(a.returnURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return usageError{errors.New("--return-url: want an absolute http or https URL without user info, query or fragment")}
		}
	}
	return nil
}

// writeConfig adds the companion section to the demo's config: the webhook
// (with a secret of its own in dir unless --webhook-secret-file names one)
// and the return URL. It returns the webhook secret's file ("" without a
// webhook).
func (a demoApp) writeConfig(dir, configPath string) (string, error) {
	if a.webhookURL == "" && a.returnURL == "" {
		return "", nil
	}
	lines := []string{"companion:"}
	secretFile := ""
	if a.webhookURL != "" {
		secretFile = a.webhookSecretFile
		if secretFile == "" {
			secret, err := lifecycle.GenerateWebhookSecret()
			if err != nil {
				return "", err
			}
			secretFile = filepath.Join(dir, "webhook.secret")
			if err := os.WriteFile(secretFile, []byte(secret.Reveal()+"\n"), 0o600); err != nil {
				return "", err
			}
		} else if abs, err := filepath.Abs(secretFile); err == nil {
			secretFile = abs
		}
		lines = append(lines, "  webhook_url: "+a.webhookURL, "  webhook_secret_file: "+secretFile)
	}
	if a.returnURL != "" {
		lines = append(lines, "  return_urls: ["+a.returnURL+"]")
	}
	f, err := os.OpenFile(configPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return "", err
	}
	_, err = io.WriteString(f, strings.Join(lines, "\n")+"\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return secretFile, err
}

// printFlask prints the command that runs the Flask example
// (examples/flask/app.py) against the running demo, listening where
// --return-url points.
func (a demoApp) printFlask(w io.Writer, internalAddr, appTokenFile, secretFile, googleURL string) {
	if a.returnURL == "" {
		return
	}
	u, _ := url.Parse(a.returnURL) // checked by check
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	lines := []string{"RISCD_URL=http://" + internalAddr + " RISCD_APP_TOKEN_FILE=" + shellWord(appTokenFile)}
	if secretFile != "" {
		lines = append(lines, "RISCD_WEBHOOK_SECRET_FILE="+shellWord(secretFile))
	}
	lines = append(lines, "GOOGLE_API_URL="+googleURL+" HOST="+host+" PORT="+port, "/usr/bin/python3 examples/flask/app.py")
	fmt.Fprintf(w, `
The Flask example against this demo (from the root of riscd's source; Debian's
python3-flask and python3-requests):
  %s
Then open %s://%s/, sign in with any name and connect Google Drive.
`, strings.Join(lines, " \\\n    "), u.Scheme, u.Host)
	if secretFile == "" {
		fmt.Fprintln(w, "(Without --webhook-url it never learns of Google's events.)")
	}
}

// shellWord quotes s for a POSIX shell when it holds anything but plain
// path characters.
func shellWord(s string) string {
	plain := func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-:=+", r)
	}
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool { return !plain(r) }) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
