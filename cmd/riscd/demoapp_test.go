package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoAppFlagsRefused: the app's flags are checked before anything
// starts.
func TestDemoAppFlagsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"webhook URL not http", []string{"--webhook-url", "ftp://127.0.0.1/hooks"}, "--webhook-url"},
		{"secret file without webhook", []string{"--webhook-secret-file", "/dev/null"}, "--webhook-secret-file: needs --webhook-url"},
		{"return URL with a query", []string{"--return-url", "http://127.0.0.1:5000/?a=b"}, "--return-url"},
		{"return URL relative", []string{"--return-url", "/connected"}, "--return-url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"demo", "--listen", "127.0.0.1:0", "--internal-listen", "127.0.0.1:0", "--google-listen", "127.0.0.1:0"}, tc.args...)
			code, stdout, stderr := runCLI(t, nil, args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) || strings.Contains(stdout, "demo is running") {
				t.Errorf("exit %d, stderr %q; want exit %d naming %s before starting", code, stderr, exitUsage, tc.want)
			}
		})
	}
}

// TestDemoAppConfig: --webhook-url without --webhook-secret-file makes a
// secret in the demo's folder; the config written loads, and the printed
// command names the secret, the app token, the stand-in and where the
// return URL listens.
func TestDemoAppConfig(t *testing.T) {
	sim := startSim(t)
	dir := t.TempDir()
	cfgPath, err := writeDemoFiles(dir, sim, "http://127.0.0.1:1", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := demoApp{webhookURL: "http://127.0.0.1:5000/riscd/webhook", returnURL: "http://127.0.0.1:5000/"}
	secretFile, err := app.writeConfig(dir, cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if secretFile != filepath.Join(dir, "webhook.secret") {
		t.Errorf("secret file %s, want one in the demo's folder", secretFile)
	}
	l, err := load(cfgPath, nil, secretsOptions{needKey: true})
	if err != nil {
		t.Fatalf("the demo's config with the app's section: %v", err)
	}
	data, err := os.ReadFile(secretFile)
	if err != nil || l.secrets.WebhookSecret.Reveal() != strings.TrimSpace(string(data)) || !strings.HasPrefix(string(data), "whsec_") {
		t.Errorf("webhook secret loaded %v, file %v: want the file's whsec_ secret", l.secrets.WebhookSecret.IsZero(), err)
	}
	if l.cfg.Companion.WebhookURL != app.webhookURL {
		t.Errorf("companion.webhook_url %q, want %q", l.cfg.Companion.WebhookURL, app.webhookURL)
	}

	var out strings.Builder
	app.printFlask(&out, "127.0.0.1:9999", "/tmp/demo dir/app.token", secretFile, sim.URL())
	for _, want := range []string{
		"RISCD_URL=http://127.0.0.1:9999", "RISCD_APP_TOKEN_FILE='/tmp/demo dir/app.token'", "RISCD_WEBHOOK_SECRET_FILE=" + secretFile,
		"GOOGLE_API_URL=" + sim.URL(), "HOST=127.0.0.1 PORT=5000", "/usr/bin/python3 examples/flask/app.py", "open http://127.0.0.1:5000/",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("printed\n%s\nlacks %q", out.String(), want)
		}
	}
	out.Reset()
	demoApp{}.printFlask(&out, "127.0.0.1:9999", "app.token", "", sim.URL())
	if out.Len() != 0 {
		t.Errorf("without --return-url it printed %q, want nothing", out.String())
	}
}
