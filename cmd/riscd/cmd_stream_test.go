package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/riscd/riscd/config"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
)

// streamTestKey is generated once per test binary: RSA key generation is
// slow. It is the simulated project's service account key.
var (
	streamKeyOnce sync.Once
	streamKey     *rsa.PrivateKey
)

// startStreamSim starts googlesim with its stream API: riscd.example.com
// authorized and loopback delivery allowed.
func startStreamSim(t *testing.T, edit func(*googlesim.Config)) *googlesim.Server {
	t.Helper()
	streamKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		streamKey = k
	})
	cfg := googlesim.Config{ServiceAccountKey: streamKey, AuthorizedDomains: []string{"example.com"}, AllowHTTPDelivery: true}
	if edit != nil {
		edit(&cfg)
	}
	sim, err := googlesim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

// writeServiceAccount writes sim's service account key file into dir.
func writeServiceAccount(t *testing.T, sim *googlesim.Server, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "risc-sa.json")
	mustWrite(t, p, string(sim.ServiceAccountJSON()))
	return p
}

// streamConfigYAML is the risc section pointing riscd stream at sim.
func streamConfigYAML(sim *googlesim.Server, keyFile string) string {
	return "risc:\n  service_account_file: " + keyFile + "\n  management_url: " + sim.ManagementURL() + "\n"
}

// noSecrets fails when the output holds a piece of the service account key.
func noSecrets(t *testing.T, sim *googlesim.Server, outputs ...string) {
	t.Helper()
	var k struct {
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal(sim.ServiceAccountJSON(), &k); err != nil {
		t.Fatal(err)
	}
	for _, o := range outputs {
		if strings.Contains(o, "PRIVATE KEY") || strings.Contains(o, k.PrivateKey[60:100]) {
			t.Errorf("output quotes the service account key: %q", o)
		}
	}
}

func TestStreamCommands(t *testing.T) {
	sim := startStreamSim(t, nil)
	dir := t.TempDir()
	f := writeTestFiles(t, streamConfigYAML(sim, writeServiceAccount(t, sim, dir)))
	cli := func(environ []string, args ...string) (int, string, string) {
		t.Helper()
		code, out, errOut := runCLI(t, environ, append(args, "--config", f.config)...)
		noSecrets(t, sim, out, errOut)
		return code, out, errOut
	}

	if code, _, errOut := cli(nil, "stream", "show"); code != exitFailure || !strings.Contains(errOut, "no stream yet: run riscd stream update first") {
		t.Fatalf("show before update: exit %d, stderr %q; want 1 and the hint", code, errOut)
	}
	code, out, errOut := cli(nil, "stream", "update")
	if code != exitOK || !strings.Contains(out, "stream updated") || !strings.Contains(out, "https://riscd.example.com/risc") ||
		!strings.Contains(out, "account-disabled") || !strings.Contains(out, "enabled") || strings.Contains(errOut, "dropped") {
		t.Fatalf("update: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	info, ok := sim.Stream()
	if !ok || info.DeliveryURL != "https://riscd.example.com/risc" || len(info.Events) != len(config.Default().RISC.Events) ||
		!strings.Contains(strings.Join(info.Events, " "), events.TypeTokensRevoked) {
		t.Fatalf("sim stream = %+v, want riscd's URL and every default event", info)
	}

	t.Run("dropped types are warned about", func(t *testing.T) {
		code, out, errOut := cli([]string{"RISCD_RISC_EVENTS=account-disabled, caep:session-revoked, verification"}, "stream", "update", "--json")
		var v streamView
		if err := json.Unmarshal([]byte(out), &v); err != nil || code != exitOK {
			t.Fatalf("exit %d, stdout %q: %v", code, out, err)
		}
		if len(v.Dropped) != 1 || v.Dropped[0] != events.TypeSessionRevoked || len(v.Events) != 2 || v.Status != "enabled" {
			t.Errorf("JSON = %+v, want CAEP session-revoked dropped and two events kept", v)
		}
		if !strings.Contains(errOut, "warning: Google dropped caep:session-revoked") {
			t.Errorf("stderr %q, want a warning naming the dropped type", errOut)
		}
	})

	code, out, _ = cli(nil, "stream", "show", "--json")
	var v streamView
	if err := json.Unmarshal([]byte(out), &v); err != nil || code != exitOK || v.DeliveryURL != "https://riscd.example.com/risc" ||
		v.Status != "enabled" || v.DeliveryMethod != googlesim.DeliveryMethodPush || len(v.EventNames) != 2 || v.EventNames[0] != "account-disabled" {
		t.Fatalf("show --json: exit %d, %q (%v)", code, out, err)
	}
	for _, step := range []struct{ cmd, want string }{{"disable", "disabled"}, {"status", "disabled"}, {"enable", "enabled"}, {"status", "enabled"}} {
		code, out, errOut := cli(nil, "stream", step.cmd)
		if code != exitOK || strings.TrimSpace(out) != step.want {
			t.Fatalf("stream %s: exit %d, stdout %q, stderr %q; want %s", step.cmd, code, out, errOut, step.want)
		}
	}
	if code, out, _ := cli(nil, "stream", "status", "--json"); code != exitOK || strings.TrimSpace(out) != "{\n  \"status\": \"enabled\"\n}" {
		t.Errorf("status --json: exit %d, %q", code, out)
	}
	t.Run("show warns when the stream points elsewhere", func(t *testing.T) {
		if err := sim.ConfigureStream("https://old.example.com/risc", []string{events.TypeRISCVerification}); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := cli(nil, "stream", "show")
		if code != exitOK || !strings.Contains(errOut, "run riscd stream update") {
			t.Errorf("exit %d, stderr %q; want a warning", code, errOut)
		}
	})
}

func TestStreamCommandErrors(t *testing.T) {
	sim := startStreamSim(t, nil)
	for _, tc := range []struct {
		name    string
		yaml    func(dir string) string
		environ []string
		setup   func(t *testing.T, sim *googlesim.Server)
		args    []string
		code    int
		want    string
	}{
		{"no key file configured", func(string) string { return "" }, nil, nil, []string{"show"}, exitUsage, "risc.service_account_file: required for stream management"},
		{"key file missing", func(dir string) string { return streamConfigYAML(sim, filepath.Join(dir, "gone.json")) }, nil, nil, []string{"show"}, exitUsage, "gone.json: no such file"},
		{"client secrets as key", func(dir string) string {
			p := filepath.Join(dir, "client_secret.json")
			if err := os.WriteFile(p, []byte(`{"web": {"client_id": "x", "client_secret": "GOCSPX-test-secret"}}`), 0o600); err != nil {
				panic(err)
			}
			return streamConfigYAML(sim, p)
		}, nil, nil, []string{"status"}, exitUsage, `type is ""`},
		{"unknown command", func(dir string) string { return "" }, nil, nil, []string{"delete"}, exitUsage, `unknown command "delete"`},
		{"role missing", func(dir string) string { return streamConfigYAML(sim, writeServiceAccount(t, sim, dir)) }, nil,
			func(t *testing.T, sim *googlesim.Server) {
				sim.SetStreamDenial(googlesim.StreamMissingRole)
				t.Cleanup(func() { sim.SetStreamDenial(googlesim.StreamAllowed) })
			}, []string{"update"}, exitFailure, "the service account needs the RISC Configuration Admin role (roles/riscconfigs.admin)"},
		{"unknown flag", func(dir string) string { return streamConfigYAML(sim, writeServiceAccount(t, sim, dir)) }, nil, nil,
			[]string{"update", "--force"}, exitUsage, "flag provided but not defined"},
		{"bad timeout", func(dir string) string { return streamConfigYAML(sim, writeServiceAccount(t, sim, dir)) }, nil, nil,
			[]string{"verify", "--timeout", "0s", "--internal-url", "http://127.0.0.1:9"}, exitUsage, "--timeout must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			f := writeTestFiles(t, tc.yaml(dir))
			if tc.setup != nil {
				tc.setup(t, sim)
			}
			code, out, errOut := runCLI(t, tc.environ, append(append([]string{"stream"}, tc.args...), "--config", f.config)...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut, tc.code, tc.want)
			}
			noSecrets(t, sim, out, errOut)
			if strings.Contains(errOut, "GOCSPX-test-secret") {
				t.Errorf("stderr quotes the client secret")
			}
		})
	}
}

func TestStreamDeliveryURLRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		domains []string
		environ []string
		want    string
	}{
		{"not an authorized domain", []string{"example.org"}, nil,
			"the delivery endpoint must be HTTPS on one of the project's authorized domains (Google Cloud console > APIs & Services > OAuth consent screen)"},
		{"not https", []string{"example.com"}, []string{"RISCD_PUBLIC_URL=http://localhost:8080"}, "the delivery endpoint must be an HTTPS URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := startStreamSim(t, func(c *googlesim.Config) { c.AuthorizedDomains, c.AllowHTTPDelivery = tc.domains, false })
			dir := t.TempDir()
			f := writeTestFiles(t, streamConfigYAML(sim, writeServiceAccount(t, sim, dir)))
			code, _, errOut := runCLI(t, tc.environ, "stream", "update", "--config", f.config)
			if code != exitFailure || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, errOut, tc.want)
			}
			if _, ok := sim.Stream(); ok {
				t.Errorf("a refused update configured the stream")
			}
		})
	}
}

func TestStreamHelp(t *testing.T) {
	for _, args := range [][]string{{"stream", "--help"}, {"stream", "verify", "--help"}, {"stream", "show", "-h"}} {
		code, out, _ := runCLI(t, nil, args...)
		if code != exitOK || !strings.Contains(out, "Usage: riscd stream") {
			t.Errorf("%q: exit %d, stdout %q", args, code, out)
		}
	}
	if code, out, _ := runCLI(t, nil, "stream"); code != exitUsage || !strings.Contains(out, "verify") {
		t.Errorf("bare stream: exit %d, stdout %q; want 2 and the command list", code, out)
	}
}

// TestStreamVerifyEndToEnd registers the stream of a running riscd with
// googlesim and verifies it: Google's verification event goes through the
// receiver into the inbox, and the command finds it through the admin API.
func TestStreamVerifyEndToEnd(t *testing.T) {
	sim := startStreamSim(t, nil)
	cfgPath := simConfig(t, sim)
	keyFile := writeServiceAccount(t, sim, filepath.Dir(cfgPath))
	// writeDemoFiles ends the file with the risc section: add the stream keys to it.
	mustWrite(t, cfgPath, readFile(t, cfgPath)+
		"  service_account_file: "+keyFile+"\n  management_url: "+sim.ManagementURL()+"\n")
	m := MustRunMain(t, cfgPath)
	internal := "http://" + m.InternalAddr()
	waitReady(t, internal)
	cli := func(environ []string, args ...string) (int, string, string) {
		t.Helper()
		code, out, errOut := runCLI(t, environ, append(args, "--config", cfgPath)...)
		noSecrets(t, sim, out, errOut)
		return code, out, errOut
	}
	if code, _, errOut := cli(nil, "stream", "update"); code != exitOK {
		t.Fatalf("update: exit %d, stderr %q", code, errOut)
	}

	code, out, errOut := cli(nil, "stream", "verify", "--internal-url", internal, "--timeout", "30s")
	if code != exitOK || !strings.Contains(out, "verification event received") || !strings.Contains(out, "round trip") {
		t.Fatalf("verify: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = cli(nil, "stream", "verify", "--internal-url", internal, "--timeout", "30s", "--json")
	var v verifyView
	if err := json.Unmarshal([]byte(out), &v); err != nil || code != exitOK || v.EventID == 0 || !strings.HasPrefix(v.State, "riscd-verify-") || v.ReceivedAt.IsZero() || v.RoundTripMS < 0 {
		t.Fatalf("verify --json: exit %d, stdout %q, stderr %q (%v)", code, out, errOut, err)
	}
	if errOut != "" {
		t.Errorf("verify --json wrote to stderr: %q", errOut)
	}
	// googlesim records a push once its answer is back, which may be after
	// the command found the event riscd stored before answering.
	testkit.Eventually(t, "two verification pushes answered 202", func() bool {
		pushes := sim.StreamPushes()
		return len(pushes) == 2 && pushes[1].Status == 202
	})
	if pushes := sim.StreamPushes(); len(pushes) != 2 {
		t.Errorf("sim pushes = %+v, want two verifications", pushes)
	}

	t.Run("wrong admin token", func(t *testing.T) {
		code, _, errOut := cli([]string{envAdminToken + "=not-the-admin-token-0123456789"}, "stream", "verify", "--internal-url", internal, "--timeout", "30s")
		if code != exitFailure || !strings.Contains(errOut, "refused the admin token") || strings.Contains(errOut, "not-the-admin-token") {
			t.Errorf("exit %d, stderr %q; want 1, the refusal, and no token", code, errOut)
		}
	})
	t.Run("internal.listen on port 0", func(t *testing.T) {
		code, _, errOut := cli(nil, "stream", "verify")
		if code != exitUsage || !strings.Contains(errOut, "pass --internal-url") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("never arrives", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := "http://" + ln.Addr().String() + "/risc"
		ln.Close()
		if err := sim.ConfigureStream(dead, googlesim.StreamEventTypes()); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := cli(nil, "stream", "verify", "--internal-url", internal, "--timeout", "1s")
		if code != exitFailure || !strings.Contains(errOut, "reached riscd within 1s") || !strings.Contains(errOut, "riscd stream show") {
			t.Errorf("exit %d, stderr %q; want 1 and advice", code, errOut)
		}
	})
	t.Run("disabled stream", func(t *testing.T) {
		if code, _, errOut := cli(nil, "stream", "disable"); code != exitOK {
			t.Fatalf("disable: %d %q", code, errOut)
		}
		code, _, errOut := cli(nil, "stream", "verify", "--internal-url", internal)
		if code != exitFailure || !strings.Contains(errOut, "run riscd stream enable first") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("verification not requested", func(t *testing.T) {
		if code, _, errOut := cli([]string{"RISCD_RISC_EVENTS=account-disabled"}, "stream", "update"); code != exitOK {
			t.Fatalf("update: %d %q", code, errOut)
		}
		code, _, errOut := cli(nil, "stream", "verify", "--internal-url", internal)
		if code != exitFailure || !strings.Contains(errOut, "add verification to risc.events") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
}

func TestStreamKeyFileModeWarning(t *testing.T) {
	sim := startStreamSim(t, nil)
	dir := t.TempDir()
	key := writeServiceAccount(t, sim, dir)
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	f := writeTestFiles(t, streamConfigYAML(sim, key))
	_, _, errOut := runCLI(t, nil, "stream", "status", "--config", f.config)
	if !strings.Contains(errOut, "risc.service_account_file") || !strings.Contains(errOut, "chmod 600") {
		t.Errorf("stderr %q, want a warning about the key file's mode", errOut)
	}
}
