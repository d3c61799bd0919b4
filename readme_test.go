package riscd_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readmeBlocks returns the README's fenced code blocks of a language.
func readmeBlocks(t *testing.T, lang string) []string {
	t.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?ms)^```" + regexp.QuoteMeta(lang) + "\n(.*?)^```\n")
	var out []string
	for _, m := range re.FindAllStringSubmatch(string(data), -1) {
		out = append(out, m[1])
	}
	if len(out) == 0 {
		t.Fatalf("README.md has no %s block", lang)
	}
	return out
}

// Every ```go block of the README compiles as shown, imports included:
// each is laid, through go's -overlay, as a package of its own inside the
// module (nothing is written to the source tree), and go build compiles it.
func TestReadmeGoBlocksCompile(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed: %v", err)
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	replace := map[string]string{}
	var pkgs []string
	for i, block := range readmeBlocks(t, "go") {
		if !strings.HasPrefix(block, "package ") {
			t.Errorf("go block %d does not start with its package clause:\n%s", i+1, block)
			continue
		}
		src := filepath.Join(tmp, fmt.Sprintf("block%d.go", i+1))
		if err := os.WriteFile(src, []byte(block), 0o600); err != nil {
			t.Fatal(err)
		}
		dir := fmt.Sprintf("internal/readmeblocks/block%d", i+1)
		replace[filepath.Join(root, dir, "block.go")] = src
		pkgs = append(pkgs, "./"+dir)
	}
	overlay, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		t.Fatal(err)
	}
	overlayFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goCmd, append([]string{"build", "-overlay", overlayFile}, pkgs...)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("go build of the README's go blocks: %v\n%s", err, out)
	}
}

// The README's Python and JavaScript webhook verification and session rule
// decide as riscd means: each language's blocks, run on the same signed
// webhooks and decisions, give the wanted answers.
func TestReadmePythonAndJavaScript(t *testing.T) {
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"type":"sessions-revoked","sub":"1","end_sessions_before":"2026-03-01T12:00:00.999999999Z","signin_disabled":false,"held":false}`)
	sign := func(k []byte, id string, ts time.Time, b []byte) string {
		m := hmac.New(sha256.New, k)
		fmt.Fprintf(m, "%s.%d.%s", id, ts.Unix(), b)
		return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	type hookCase struct {
		Secret  string            `json:"secret"`
		Headers map[string]string `json:"headers"`
		Body    []byte            `json:"body"`
		Now     int64             `json:"now"`
	}
	hook := func(k []byte, ts time.Time, b []byte, sigPrefix string) hookCase {
		return hookCase{Secret: secret, Body: body, Now: now.Unix(), Headers: map[string]string{
			"webhook-id": "msg_1", "webhook-timestamp": strconv.FormatInt(ts.Unix(), 10), "webhook-signature": sigPrefix + sign(k, "msg_1", ts, b),
		}}
	}
	hooks := []hookCase{
		hook(key, now, body, ""),
		hook(key, now.Add(-4*time.Minute), body, "v1,AAAA "),
		hook(key, now.Add(-6*time.Minute), body, ""),
		hook([]byte("another key of 32 bytes........."), now, body, ""),
		hook(key, now, []byte(`{"type":"other"}`), ""),
	}
	wantHooks := []bool{true, true, false, false, false}

	type ruleCase struct {
		Decision  map[string]any `json:"decision"`
		CreatedMS int64          `json:"created_ms"`
	}
	ms := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMilli()
	}
	before := func(b string) map[string]any {
		return map[string]any{"end_sessions_before": b, "signin_disabled": false, "held": false}
	}
	rules := []ruleCase{
		{before("2026-03-01T12:00:00.999999999Z"), ms("2026-03-01T12:00:00.999Z")},
		{before("2026-03-01T12:00:00.999999999Z"), ms("2026-03-01T12:00:01Z")},
		{before("2026-03-01T12:00:00.5Z"), ms("2026-03-01T12:00:00.5Z")},
		{before("2026-03-01T12:00:00.5Z"), ms("2026-03-01T12:00:00.501Z")},
		{before("2026-03-01T12:00:00Z"), ms("2026-03-01T12:00:00Z")},
		{before("2026-03-01T12:00:00Z"), ms("2026-03-01T12:00:00.001Z")},
		{map[string]any{"signin_disabled": true, "held": false}, ms("2026-03-01T13:00:00Z")},
		{map[string]any{"signin_disabled": false, "held": true}, ms("2026-03-01T13:00:00Z")},
		{map[string]any{"signin_disabled": false, "held": false}, ms("2026-03-01T11:00:00Z")},
	}
	wantRules := []bool{true, false, true, false, true, false, true, true, false}
	input, err := json.Marshal(map[string]any{"hooks": hooks, "rules": rules})
	if err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(wantHooks), wantRules...)

	for _, lang := range []struct {
		name, block, harness string
		cmd                  []string
	}{
		{"Python", "python", `
import base64 as _b64, datetime as _dt, json as _json, sys as _sys
_in = _json.load(_sys.stdin)
_out = [verify(c['secret'], c['headers'], _b64.b64decode(c['body']), c['now']) for c in _in['hooks']]
_epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_out += [ends(c['decision'], _epoch + _dt.timedelta(milliseconds=c['created_ms'])) for c in _in['rules']]
print(_json.dumps(_out))
`, []string{"python3", "-I", "-"}},
		{"JavaScript", "js", `
const _in = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
const _out = _in.hooks.map((c) => verify(c.secret, c.headers, Buffer.from(c.body, 'base64'), c.now));
for (const c of _in.rules) _out.push(ends(c.decision, new Date(c.created_ms)));
console.log(JSON.stringify(_out));
`, []string{"node", "-"}},
	} {
		t.Run(lang.name, func(t *testing.T) {
			bin, err := exec.LookPath(lang.cmd[0])
			if err != nil {
				if os.Getenv("CI") == "true" {
					t.Fatalf("%s is needed: %v", lang.cmd[0], err)
				}
				t.Skipf("no %s on PATH; install it (CI=true makes this a failure)", lang.cmd[0])
			}
			program := strings.Join(readmeBlocks(t, lang.block), "\n") + lang.harness
			dir := t.TempDir()
			file := filepath.Join(dir, "readme."+lang.block)
			if err := os.WriteFile(file, []byte(program), 0o600); err != nil {
				t.Fatal(err)
			}
			args := append(slices.Clone(lang.cmd[1:len(lang.cmd)-1]), file)
			cmd := exec.Command(bin, args...)
			cmd.Stdin = bytes.NewReader(input)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v\n%s\n%s", lang.name, err, stderr.String(), program)
			}
			var got []bool
			if err := json.Unmarshal(out, &got); err != nil || !slices.Equal(got, want) {
				t.Errorf("%s answers %s (%v), want %v", lang.name, out, err, want)
			}
		})
	}
}
