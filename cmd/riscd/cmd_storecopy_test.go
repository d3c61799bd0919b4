package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store"
	"github.com/riscd/riscd/store/boltdb"
)

// copyConfig writes a configuration whose store key is 32 bytes of b.
func copyConfig(t *testing.T, b byte) (config, dbPath string) {
	t.Helper()
	f := writeTestFiles(t, "")
	key := make([]byte, 32)
	for i := range key {
		key[i] = b
	}
	mustWrite(t, f.key, base64.StdEncoding.EncodeToString(key)+"\n")
	return f.config, filepath.Join(f.dir, "riscd.db")
}

// openConfigStore opens the store a configuration names, as riscd does.
func openConfigStore(t *testing.T, config string) riscd.DB {
	t.Helper()
	l, err := load(config, nil, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(t.Context(), storeOptions(l.cfg, l.secrets))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

const copyCmdRT = "1//0copy-command-refresh-token"

func TestStoreCopyCommand(t *testing.T) {
	ctx := context.Background()
	from, fromDB := copyConfig(t, 1)
	to, toDB := copyConfig(t, 2) // another key

	db := openConfigStore(t, from)
	g, err := db.CreateGrant(ctx, riscd.Grant{Sub: "sub-1", RefreshToken: copyCmdRT, AccessToken: "ya29.copy-command"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Inbox().PutInbox(ctx, riscd.InboxEntry{Iss: "https://accounts.google.com/", JTI: "jti-1", Raw: "a.b.c"}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSession(ctx, riscd.Session{ID: "session-id", Sub: "sub-1", CSRF: "csrf", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	a, err := db.AppendAudit(ctx, riscd.AuditEntry{Sub: "sub-1", Action: "consent"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.PutMark(ctx, riscd.Mark{Key: "work", AuditID: a.ID}); err != nil {
		t.Fatal(err)
	}

	// While riscd runs on the source, its file is locked: refused, and no
	// target is made.
	code, _, errOut := runCLI(t, nil, "store", "copy", "--from", from, "--to", to)
	if code != exitUsage || !strings.Contains(errOut, "in use") {
		t.Errorf("copy from a store in use: exit %d, stderr %q; want %d and a message that it is in use", code, errOut, exitUsage)
	}
	if _, err := os.Stat(toDB); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused copy made the target: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// The first Open after the inbox journal was used commits the
	// journal's bookkeeping (the engine's, at any Open); the copy itself
	// must write nothing more.
	if err := openConfigStore(t, from).Close(); err != nil {
		t.Fatal(err)
	}
	srcSum := fileSum(t, fromDB)

	code, out, errOut := runCLI(t, nil, "store", "copy", "--from", from, "--to", to)
	if code != exitOK {
		t.Fatalf("copy: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, want := range []string{"grants", "marks", "check of the source: ok", "check of the target: ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("copy output lacks %q: %q", want, out)
		}
	}
	if strings.Contains(out, "MISMATCH") {
		t.Errorf("copy output reports a mismatch: %q", out)
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && (f[0] == "grants" || f[0] == "marks") && (f[1] != "1" || f[2] != "1" || f[3] != "1") {
			t.Errorf("counts line %q: want 1 copied, 1 in each store", line)
		}
	}
	if strings.Contains(out+errOut, "copy-command") || strings.Contains(out+errOut, "csrf") {
		t.Errorf("copy output shows a secret: %q %q", out, errOut)
	}
	if fileSum(t, fromDB) != srcSum {
		t.Errorf("the copy changed the source file")
	}

	// The target holds the grant, its tokens sealed under its own key.
	l, err := load(from, nil, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := boltdb.Open(ctx, boltdb.Options{Path: toDB, Key: l.secrets.StoreKey}); !errors.Is(err, boltdb.ErrWrongKey) {
		t.Errorf("open of the target under the source's key: %v, want ErrWrongKey", err)
	}
	dst := openConfigStore(t, to)
	got, err := dst.GrantByRefreshDigest(ctx, riscd.RefreshTokenDigest(copyCmdRT))
	if err != nil || got.ID != g.ID || got.AccessToken != "ya29.copy-command" || !got.CreatedAt.Equal(g.CreatedAt) {
		t.Errorf("the copied grant: ID %s, %v; want %s with its tokens and times", got.ID, err, g.ID)
	}
	if _, err := dst.Session(ctx, "session-id"); err != nil {
		t.Errorf("the copied session: %v", err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	dstSum := fileSum(t, toDB)

	// The target is not empty any more: a second copy is refused and
	// writes nothing.
	code, _, errOut = runCLI(t, nil, "store", "copy", "--from", from, "--to", to)
	if code == exitOK || !strings.Contains(errOut, "not empty") {
		t.Errorf("copy into a store that is not empty: exit %d, stderr %q; want a failure saying so", code, errOut)
	}
	if fileSum(t, toDB) != dstSum {
		t.Errorf("the refused copy changed the target file")
	}
}

func TestStoreCopyRefusals(t *testing.T) {
	from, fromDB := copyConfig(t, 1)
	db := openConfigStore(t, from)
	if _, err := db.CreateGrant(context.Background(), riscd.Grant{Sub: "sub-1"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Another configuration naming the same file by another path.
	same, _ := copyConfig(t, 2)
	text := readFile(t, same)
	i := strings.Index(text, "  path: ")
	j := strings.Index(text[i:], "\n")
	alias := filepath.Join(filepath.Dir(fromDB), "..", filepath.Base(filepath.Dir(fromDB)), filepath.Base(fromDB))
	mustWrite(t, same, text[:i]+"  path: "+alias+text[i+j:])

	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no flags", nil, "required"},
		{"no target", []string{"--from", from}, "required"},
		{"same configuration", []string{"--from", from, "--to", from}, "same store"},
		{"same file", []string{"--from", from, "--to", same}, "same store"},
	} {
		code, _, errOut := runCLI(t, nil, append([]string{"store", "copy"}, c.args...)...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", c.name, code, errOut, exitUsage, c.want)
		}
	}
	db = openConfigStore(t, from)
	defer db.Close()
	if n, err := db.Count(context.Background()); err != nil || n.Grants != 1 {
		t.Errorf("the source after refused copies: %+v, %v", n, err)
	}
}

// TestStoreCopyCountsMismatch: counts that differ anywhere (copied,
// source, target) are reported, and fail the copy.
func TestStoreCopyCountsMismatch(t *testing.T) {
	same := riscd.Counts{Grants: 2, Marks: 1, Inbox: 3, InboxDone: 3}
	var out strings.Builder
	if !printCounts(&cliEnv{stdout: &out}, same, same, same) || strings.Contains(out.String(), "MISMATCH") {
		t.Errorf("equal counts reported as different: %q", out.String())
	}
	for _, c := range []struct {
		name             string
		copied, src, dst riscd.Counts
	}{
		{"target short", same, same, riscd.Counts{Grants: 2, Inbox: 3, InboxDone: 3}},
		{"source changed", same, riscd.Counts{Grants: 3, Marks: 1, Inbox: 3, InboxDone: 3}, same},
		{"status differs", same, same, riscd.Counts{Grants: 2, Marks: 1, Inbox: 3, InboxDone: 2, InboxParked: 1}},
	} {
		out.Reset()
		if printCounts(&cliEnv{stdout: &out}, c.copied, c.src, c.dst) || !strings.Contains(out.String(), "MISMATCH") {
			t.Errorf("%s: not reported: %q", c.name, out.String())
		}
	}
}
