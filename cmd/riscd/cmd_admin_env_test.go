package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/lifecycle"
	"github.com/riscd/riscd/store/boltdb"
)

// adminTestToken is the admin token of the test server. No output of any
// command may carry it.
const adminTestToken = "cli-admin-token-0123456789abcdef"

// adminDriveScope is the scope of the test server's "drive" feature.
const adminDriveScope = "https://www.googleapis.com/auth/drive.readonly"

// adminT0 is the test clock's start.
var adminT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// adminEnv is a real admin server over a real store, with the lifecycle
// carrying out operator actions, served on 127.0.0.1.
type adminEnv struct {
	t         testing.TB
	db        *boltdb.DB
	clock     *testkit.Clock
	url       string
	addr      string // host:port of the server
	tokenFile string // holds adminTestToken
	requests  atomic.Int64
}

// adminEnvConfig changes the admin server's Config before it is built.
type adminEnvConfig func(*admin.Config)

func newAdminEnv(t testing.TB, edits ...adminEnvConfig) *adminEnv {
	t.Helper()
	e := &adminEnv{t: t, clock: testkit.NewClock(adminT0)}
	key, _, err := boltdb.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	e.db, err = boltdb.Open(context.Background(), boltdb.Options{
		Path: filepath.Join(t.TempDir(), "riscd.db"), Key: key, Now: e.clock.Now, LockTimeout: time.Second,
	})
	if err != nil {
		t.Fatalf("boltdb.Open: %v", err)
	}
	t.Cleanup(func() { e.db.Close() })
	l, err := lifecycle.New(lifecycle.Config{Store: e.db, RevokeURL: "http://127.0.0.1:1/revoke", Now: e.clock.Now})
	if err != nil {
		t.Fatalf("lifecycle.New: %v", err)
	}
	cfg := admin.Config{
		Store: e.db, Operator: operator{l}, AdminToken: adminTestToken,
		Features: map[string]string{"drive": adminDriveScope}, Now: e.clock.Now,
	}
	for _, edit := range edits {
		edit(&cfg)
	}
	srv, err := admin.New(cfg)
	if err != nil {
		t.Fatalf("admin.New: %v", err)
	}
	ec := echo.New()
	srv.Register(ec)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.requests.Add(1)
		ec.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	e.url, e.addr = hs.URL, hs.Listener.Addr().String()
	e.tokenFile = writeAdminTestFile(t, "admin.token", adminTestToken+"\n")
	return e
}

// writeAdminTestFile writes a file (mode 0600) in a temporary directory.
func writeAdminTestFile(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// adminResult is what one command line did.
type adminResult struct {
	code           int
	stdout, stderr string
}

// run runs "riscd args..." against the server, with the token in the
// environment and --internal-url appended, and checks that no output
// carries the token.
func (e *adminEnv) run(args ...string) adminResult {
	e.t.Helper()
	return e.runWith([]string{envAdminToken + "=" + adminTestToken}, append(args, "--internal-url", e.url)...)
}

// runWith runs "riscd args..." with environ as it is.
func (e *adminEnv) runWith(environ []string, args ...string) adminResult {
	e.t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, environ, &out, &errb)
	r := adminResult{code, out.String(), errb.String()}
	if strings.Contains(r.stdout+r.stderr, adminTestToken) {
		e.t.Errorf("riscd %s: the output carries the admin token:\n%s%s", strings.Join(args, " "), r.stdout, r.stderr)
	}
	return r
}

// ok fails the test unless the command exited 0.
func (r adminResult) ok(t *testing.T) adminResult {
	t.Helper()
	if r.code != exitOK {
		t.Fatalf("exit %d, want 0\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return r
}

// fails checks the exit status and that stderr is one line holding every
// one of wants.
func (r adminResult) fails(t *testing.T, code int, wants ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n != 0 {
		t.Errorf("stderr has %d lines, want 1: %q", n+1, r.stderr)
	}
	for _, w := range wants {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr %q does not say %q", r.stderr, w)
		}
	}
}

// decode decodes stdout as JSON into v.
func (r adminResult) decode(t *testing.T, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not the JSON expected: %v\n%s", err, r.stdout)
	}
}

// adminParsedTable is a table printed by a command: its header and rows, cut
// at the header's column starts.
type adminParsedTable struct {
	header []string
	rows   [][]string
}

// parseAdminTable reads the table that starts at the line beginning with
// firstColumn, up to the first empty line, and checks that every cell
// starts exactly under its header.
func parseAdminTable(t *testing.T, out, firstColumn string) adminParsedTable {
	t.Helper()
	lines := strings.Split(out, "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, firstColumn+" ") {
			start = i
			break
		}
	}
	if start < 0 {
		t.Fatalf("no table with a %s column in:\n%s", firstColumn, out)
	}
	head := lines[start]
	var offsets []int
	var pt adminParsedTable
	for i := 0; i < len(head); i++ {
		if head[i] != ' ' && (i == 0 || head[i-1] == ' ') {
			offsets = append(offsets, i)
		}
	}
	pt.header = strings.Fields(head)
	if len(pt.header) != len(offsets) {
		t.Fatalf("header %q: a column name holds a space", head)
	}
	for _, l := range lines[start+1:] {
		if strings.TrimSpace(l) == "" {
			break
		}
		var row []string
		for j, off := range offsets {
			if off >= len(l) {
				t.Fatalf("row %q is shorter than the header %q", l, head)
			}
			if off > 0 && l[off-1] != ' ' || l[off] == ' ' {
				t.Errorf("row %q: column %s does not start at offset %d", l, pt.header[j], off)
			}
			end := len(l)
			if j+1 < len(offsets) {
				end = min(offsets[j+1], len(l))
			}
			row = append(row, strings.TrimSpace(l[off:end]))
		}
		pt.rows = append(pt.rows, row)
	}
	return pt
}

// column returns the cells of the named column.
func (pt adminParsedTable) column(t *testing.T, name string) []string {
	t.Helper()
	for i, h := range pt.header {
		if h == name {
			var out []string
			for _, r := range pt.rows {
				out = append(out, r[i])
			}
			return out
		}
	}
	t.Fatalf("no column %s in %v", name, pt.header)
	return nil
}

// grant seeds a grant of sub with scopes; a status other than active is
// set afterwards, with reason. The clock moves a second after it.
func (e *adminEnv) grant(sub string, scopes []string, status riscd.GrantStatus, reason string) riscd.Grant {
	e.t.Helper()
	ctx := context.Background()
	g, err := e.db.CreateGrant(ctx, riscd.Grant{
		Sub: sub, Email: sub + "@example.com", EmailVerified: true, Scopes: scopes,
		RefreshToken: riscd.Secret(fmt.Sprintf("1//0refresh-%s-%d-secretpart", sub, e.clock.Now().Unix())),
		AccessToken:  riscd.Secret("ya29.access-" + sub), TokenType: "Bearer", Expiry: e.clock.Now().Add(time.Hour),
	})
	if err != nil {
		e.t.Fatalf("CreateGrant: %v", err)
	}
	if status != riscd.GrantActive {
		g, err = e.db.UpdateGrant(ctx, g.ID, func(old riscd.Grant) (riscd.Grant, error) {
			old.Status, old.Reason, old.ChangedBy = status, reason, "jti-"+sub
			return old, nil
		})
		if err != nil {
			e.t.Fatalf("UpdateGrant: %v", err)
		}
	}
	e.clock.Advance(time.Second)
	return g
}

// adminTestIssuer is the issuer of the seeded events.
const adminTestIssuer = "https://accounts.google.com/"

// event seeds an account-disabled event about sub with the given
// processing state. The clock moves a second after it.
func (e *adminEnv) event(jti, sub string, status riscd.InboxStatus, attempts int, lastErr string) riscd.InboxEntry {
	e.t.Helper()
	ctx := context.Background()
	claims := fmt.Sprintf(`{"iss":%q,"aud":"client-1","iat":1767268800,"jti":%q,"events":{%q:{"subject":{"subject_type":"iss-sub","iss":%q,"sub":%q},"reason":"hijacking"}}}`,
		adminTestIssuer, jti, events.TypeAccountDisabled, adminTestIssuer, sub)
	entry, created, err := e.db.PutInbox(ctx, riscd.InboxEntry{
		Transmitter: "google", Iss: adminTestIssuer, JTI: jti, Types: []string{events.TypeAccountDisabled},
		Subject: events.SubjectKey(events.IssSub{Iss: adminTestIssuer, Sub: sub}),
		Raw:     "eyJhbGciOiJSUzI1NiJ9.raw-set-" + jti + ".signature", Claims: json.RawMessage(claims),
	})
	if err != nil || !created {
		e.t.Fatalf("PutInbox: created %v, %v", created, err)
	}
	if status != riscd.InboxPending || attempts > 0 {
		entry, err = e.db.UpdateInbox(ctx, entry.ID, func(x riscd.InboxEntry) (riscd.InboxEntry, error) {
			x.Status, x.Attempts, x.LastError = status, attempts, lastErr
			if status == riscd.InboxDone {
				x.DoneAt = e.clock.Now()
			}
			return x, nil
		})
		if err != nil {
			e.t.Fatalf("UpdateInbox: %v", err)
		}
	}
	e.clock.Advance(time.Second)
	return entry
}

// parseAdminFields reads the "name:  value" block at the start of out, up to
// the first empty line: each name with its value and the lines below it.
// It checks that every value starts in the same column.
func parseAdminFields(t *testing.T, out string) map[string][]string {
	t.Helper()
	fields := map[string][]string{}
	col, last := -1, ""
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == "" {
			break
		}
		name, rest, ok := strings.Cut(l, ":")
		if strings.HasPrefix(l, " ") || !ok {
			if last == "" {
				t.Fatalf("line %q continues no field", l)
			}
			fields[last] = append(fields[last], strings.TrimSpace(l))
			continue
		}
		start := len(name) + 1 + len(rest) - len(strings.TrimLeft(rest, " "))
		if col >= 0 && start != col {
			t.Errorf("field %s: value starts at column %d, others at %d", name, start, col)
		}
		col, last = start, name
		fields[name] = []string{strings.TrimSpace(rest)}
	}
	return fields
}

// wantAdminFields fails the test unless fields holds every name with the value
// (first line) given.
func wantAdminFields(t *testing.T, fields map[string][]string, want map[string]string) {
	t.Helper()
	for name, v := range want {
		got, ok := fields[name]
		if !ok || got[0] != v {
			t.Errorf("field %s: got %q, want %q", name, got, v)
		}
	}
}
