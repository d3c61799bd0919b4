package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs one command line in-process and returns its exit status and output.
func runCLI(t *testing.T, environ []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, environ, &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpOnEveryCommand(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"serve", "--help"}, {"config", "check", "--help"}, {"config", "--help"},
		{"demo", "--help"}, {"demo", "send", "--help"}, {"store", "rotate-key", "--help"}, {"store", "check", "--help"}, {"store", "copy", "--help"}, {"store", "--help"}, {"version", "--help"}, {"webhook-secret", "--help"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, _ := runCLI(t, nil, args...)
			if code != exitOK || !strings.Contains(out, "Usage") && !strings.Contains(out, "usage") {
				t.Errorf("exit %d, stdout %q; want 0 and a usage text", code, out)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, nil, "version")
	if code != exitOK || !strings.HasPrefix(out, "riscd ") {
		t.Errorf("exit %d, stdout %q", code, out)
	}
}

func TestUnknownCommandAndFlag(t *testing.T) {
	if code, _, errOut := runCLI(t, nil, "frobnicate"); code != exitUsage || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: exit %d, stderr %q", code, errOut)
	}
	if code, _, _ := runCLI(t, nil, "serve", "--nope"); code != exitUsage {
		t.Errorf("unknown flag: exit %d, want %d", code, exitUsage)
	}
}

func TestConfigCheck(t *testing.T) {
	t.Run("ok", func(t *testing.T) {
		f := writeTestFiles(t, "")
		code, out, errOut := runCLI(t, nil, "config", "check", "--config", f.config)
		if code != exitOK || !strings.Contains(out, "OK") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})
	t.Run("unknown key exits 2 with one line", func(t *testing.T) {
		f := writeTestFiles(t, "bogus: 1\n")
		code, _, errOut := runCLI(t, nil, "config", "check", "--config", f.config)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code != exitUsage || len(lines) != 1 || !strings.Contains(lines[0], f.config+":12: bogus: unknown key") {
			t.Fatalf("exit %d, stderr %q; want 2 and one line naming file, line and key", code, errOut)
		}
	})
	t.Run("redirect rules", func(t *testing.T) {
		f := writeTestFiles(t, "")
		mustWrite(t, f.secrets, `{"web":{"client_id":"x","client_secret":"s","auth_uri":"https://a.example.com","token_uri":"https://t.example.com","redirect_uris":["http://riscd.example.com/oauth2callback"]}}`)
		code, _, errOut := runCLI(t, []string{"RISCD_PUBLIC_URL=http://riscd.example.com"}, "config", "check", "--config", f.config)
		if code != exitUsage || !strings.Contains(errOut, "public_url") || !strings.Contains(errOut, "https") {
			t.Fatalf("exit %d, stderr %q; want 2 and the https rule", code, errOut)
		}
	})
	t.Run("loopback http accepted", func(t *testing.T) {
		f := writeTestFiles(t, "")
		code, _, errOut := runCLI(t, []string{"RISCD_PUBLIC_URL=http://localhost:8080"}, "config", "check", "--config", f.config)
		if code != exitOK {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	// What serve or the stream commands would refuse, config check refuses
	// too, naming the key and its line.
	t.Run("store folder missing", func(t *testing.T) {
		f := writeTestFiles(t, "")
		missing := filepath.Join(f.dir, "no-such-folder", "riscd.db")
		mustWrite(t, f.config, strings.Replace(readFile(t, f.config), filepath.Join(f.dir, "riscd.db"), missing, 1))
		code, _, errOut := runCLI(t, nil, "config", "check", "--config", f.config)
		if code != exitUsage || !strings.Contains(errOut, f.config+":8: store.path: "+missing+": its folder") {
			t.Fatalf("exit %d, stderr %q; want 2 naming store.path at line 8 and its folder", code, errOut)
		}
		if code, _, errOut := runCLI(t, nil, "serve", "--config", f.config); code != exitUsage || !strings.Contains(errOut, "store.path") {
			t.Fatalf("serve: exit %d, stderr %q; want it refused too", code, errOut)
		}
	})
	t.Run("service account file missing", func(t *testing.T) {
		gone := filepath.Join(t.TempDir(), "sa.json")
		f := writeTestFiles(t, "risc:\n  service_account_file: "+gone+"\n")
		code, _, errOut := runCLI(t, nil, "config", "check", "--config", f.config)
		if code != exitUsage || !strings.Contains(errOut, f.config+":13: risc.service_account_file: "+gone+": no such file") {
			t.Fatalf("exit %d, stderr %q; want 2 naming risc.service_account_file at line 13", code, errOut)
		}
		if code, _, errOut := runCLI(t, nil, "stream", "status", "--config", f.config); code != exitUsage || !strings.Contains(errOut, "risc.service_account_file") {
			t.Fatalf("stream status: exit %d, stderr %q; want it refused too", code, errOut)
		}
	})
	t.Run("service account file unset is a warning", func(t *testing.T) {
		f := writeTestFiles(t, "")
		code, _, errOut := runCLI(t, nil, "config", "check", "--config", f.config)
		if code != exitOK || !strings.Contains(errOut, "warning: "+f.config+": risc.service_account_file: not set") {
			t.Fatalf("exit %d, stderr %q; want 0 and a warning", code, errOut)
		}
	})
	t.Run("warnings do not fail", func(t *testing.T) {
		f := writeTestFiles(t, "")
		os.Chmod(f.key, 0o640)
		code, _, errOut := runCLI(t, nil, "config", "check", "--config", f.config)
		if code != exitOK || !strings.Contains(errOut, "warning:") || !strings.Contains(errOut, "store.key_file") {
			t.Fatalf("exit %d, stderr %q; want 0 and a warning about store.key_file", code, errOut)
		}
	})
}

// fileDigest is the SHA-256 of a file, or "absent".
func fileDigest(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return "absent"
	}
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return string(s[:])
}

func TestServeStartupFailures(t *testing.T) {
	t.Run("busy port", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		f := writeTestFiles(t, "")
		db := filepath.Join(f.dir, "riscd.db")
		code, _, errOut := runCLI(t, []string{"RISCD_LISTEN=" + ln.Addr().String()}, "serve", "--config", f.config)
		if code != exitUsage || !strings.Contains(errOut, "listen: "+ln.Addr().String()+" is already in use") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		if fileDigest(t, db) != "absent" {
			t.Errorf("a failed start-up created the store file")
		}
	})
	t.Run("not a riscd store", func(t *testing.T) {
		f := writeTestFiles(t, "")
		db := filepath.Join(f.dir, "riscd.db")
		mustWrite(t, db, strings.Repeat("not a database ", 500))
		before := fileDigest(t, db)
		code, _, errOut := runCLI(t, nil, "serve", "--config", f.config)
		if code != exitUsage || !strings.Contains(errOut, "not a riscd store") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Fatalf("exit %d, stderr %q; want 2 and one line", code, errOut)
		}
		if fileDigest(t, db) != before {
			t.Errorf("the foreign file was modified")
		}
	})
	t.Run("bad config creates nothing", func(t *testing.T) {
		f := writeTestFiles(t, "")
		os.Remove(f.secrets)
		code, _, errOut := runCLI(t, nil, "serve", "--config", f.config)
		if code != exitUsage || !strings.Contains(errOut, "google.client_secrets_file") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		if fileDigest(t, filepath.Join(f.dir, "riscd.db")) != "absent" {
			t.Errorf("a bad config created the store file")
		}
	})
}

// The top-level help names every subcommand each command dispatches to
// ("store check" among them), and each of those answers --help.
func TestTopLevelHelpListsEverySubcommand(t *testing.T) {
	_, help, _ := runCLI(t, nil, "--help")
	for _, c := range commands() {
		if !strings.Contains(help, "\n  "+c.name+" ") {
			t.Errorf("riscd --help does not list %s", c.name)
		}
		if c.subs == nil {
			continue
		}
		for _, sub := range c.subs() {
			if !strings.Contains(help, " "+c.name+" "+sub+",") && !strings.Contains(help, " "+c.name+" "+sub+"\n") {
				t.Errorf("riscd --help does not list %s %s:\n%s", c.name, sub, help)
			}
			if code, out, errOut := runCLI(t, nil, c.name, sub, "--help"); code != exitOK || !strings.Contains(strings.ToLower(out), "usage") {
				t.Errorf("riscd %s %s --help: exit %d, stdout %q, stderr %q", c.name, sub, code, out, errOut)
			}
		}
	}
	if !strings.Contains(help, "store check") {
		t.Errorf("riscd --help does not name store check:\n%s", help)
	}
}
