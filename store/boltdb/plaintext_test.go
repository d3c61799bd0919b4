package boltdb_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/boltdb"
	"github.com/riscd/riscd/store/storetest"
)

// encodings returns the forms a plaintext could take in a file: itself, hex,
// and base64 in both alphabets at each of the three alignments it could
// have inside a longer encoded string.
func encodings(p string) map[string]string {
	out := map[string]string{"plain": p, "hex": hex.EncodeToString([]byte(p))}
	for _, enc := range []struct {
		name string
		e    *base64.Encoding
	}{{"base64", base64.StdEncoding}, {"base64url", base64.URLEncoding}} {
		for shift := range 3 {
			s := enc.e.EncodeToString(append(make([]byte, shift), p...))
			// Drop the characters that depend on neighbouring bytes.
			s = s[4 : len(s)-4]
			out[enc.name+string(rune('0'+shift))] = s
		}
	}
	return out
}

func TestNoPlaintextSecretOnDisk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "riscd.db")
	key := mustKey(t)
	db := mustOpen(t, boltdb.Options{Path: path, Key: key})
	ctx := t.Context()
	secrets := map[string]string{
		"refresh token":      storetest.RefreshToken(1001),
		"access token":       storetest.AccessToken(1001),
		"other refresh":      storetest.RefreshToken(1002),
		"CSRF token":         "csrf-Zm9vYmFyYmF6cXV4LWNzcmYtdG9rZW4tdmFsdWU",
		"session id":         "sid-c2Vzc2lvbi1pZC1iZWFyZXItc2VjcmV0LXZhbHVl",
		"PKCE verifier":      "pkce-dmVyaWZpZXItNDMtdG8tMTI4LWNoYXJzLWxvbmctc2VjcmV0",
		"flow state":         "state-c3RhdGUtcGFyYW1ldGVyLWJvdW5kLXRvLWNvb2tpZQ",
		"flow id":            "flow-Zmxvdy1jb29raWUtdmFsdWUtc2VjcmV0LXRleHQ",
		"nonce":              "nonce-bm9uY2UtZm9yLWlkLXRva2VuLXZlcmlmaWNhdGlvbg",
		"revoke job token":   storetest.RefreshToken(1003),
		"refresh prefix end": storetest.RefreshToken(1001)[4:16],
		"connect start":      "start-c3RhcnQtdG9rZW4tb2YtYS1jb25uZWN0LXNlc3Npb24",
		"connect login hint": "hint-of-ann@example.org",
		"connect email":      "email-of-ann@example.org",
	}
	g, err := db.CreateGrant(ctx, riscd.Grant{Sub: "s", RefreshToken: riscd.Secret(secrets["refresh token"]), AccessToken: riscd.Secret(secrets["access token"])})
	if err != nil {
		t.Fatal(err)
	}
	// Replace the tokens once, so old versions of the record existed too.
	if _, err := db.UpdateGrant(ctx, g.ID, func(g riscd.Grant) (riscd.Grant, error) {
		g.RefreshToken = riscd.Secret(secrets["other refresh"])
		return g, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSession(ctx, riscd.Session{ID: riscd.Secret(secrets["session id"]), Sub: "s", CSRF: riscd.Secret(secrets["CSRF token"])}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateFlow(ctx, riscd.Flow{ID: riscd.Secret(secrets["flow id"]), State: riscd.Secret(secrets["flow state"]),
		PKCEVerifier: riscd.Secret(secrets["PKCE verifier"]), Nonce: riscd.Secret(secrets["nonce"])}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxRevoke, Token: riscd.Secret(secrets["revoke job token"]), GrantID: g.ID}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateConnectSession(ctx, riscd.ConnectSession{ID: "connect-id", AppUser: "u", Status: riscd.ConnectConnected,
		StartDigest: riscd.IDDigest(riscd.Secret(secrets["connect start"])), LoginHint: secrets["connect login hint"],
		Email: secrets["connect email"], ExpiresAt: g.CreatedAt.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte("riscd-store")) || !bytes.Contains(raw, []byte(`"sub":"s"`)) {
		t.Fatal("the file does not look like the store just written")
	}
	for name, s := range secrets {
		for form, needle := range encodings(s) {
			if bytes.Contains(raw, []byte(needle)) {
				t.Errorf("%s found on disk (%s)", name, form)
			}
		}
	}
}

// A token-revoked event names the refresh token by its first characters
// (token_identifier_alg "prefix",
// https://developers.google.com/identity/protocols/risc#token-revoked):
// they are in the SET's payload and in its claims, which the inbox keeps
// sealed, in the bbolt file and in the journal alike.
func TestNoTokenPrefixOnDiskAfterTokenRevoked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "riscd.db")
	key := mustKey(t)
	db := mustOpen(t, boltdb.Options{Path: path, Key: key})
	ctx := t.Context()
	prefix := storetest.RefreshToken(2001)[:riscd.RefreshPrefixLen]
	set := func(jti string) riscd.InboxEntry {
		claims := `{"iss":"https://accounts.google.com","aud":"client-1","iat":1767268800,"jti":"` + jti + `","events":{` +
			`"https://schemas.openid.net/secevent/oauth/event-type/token-revoked":{"subject":{"subject_type":"oauth_token",` +
			`"token_type":"refresh_token","token_identifier_alg":"prefix","token":"` + prefix + `"}}}}`
		b64 := base64.RawURLEncoding.EncodeToString
		return riscd.InboxEntry{Transmitter: "google", Iss: "https://accounts.google.com", JTI: jti,
			Types: []string{"https://schemas.openid.net/secevent/oauth/event-type/token-revoked"},
			Raw:   b64([]byte(`{"alg":"RS256","kid":"k1"}`)) + "." + b64([]byte(claims)) + ".c2lnbmF0dXJl", Claims: []byte(claims)}
	}
	// The receiver's way in: the journal, then the applier.
	p, err := db.PrepareInbox(set("revoked-journal"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AppendInbox(ctx, []boltdb.PreparedInbox{p}); err != nil {
		t.Fatal(err)
	}
	// And the transaction's, then a rewrite as the dispatcher's.
	direct, _, err := db.PutInbox(ctx, set("revoked-direct"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateInbox(ctx, direct.ID, func(e riscd.InboxEntry) (riscd.InboxEntry, error) {
		e.Status = riscd.InboxDone
		return e, nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, jti := range []string{"revoked-journal", "revoked-direct"} {
		e, err := db.InboxByJTI(ctx, "https://accounts.google.com", jti)
		if want := set(jti); err != nil || e.Raw != want.Raw || string(e.Claims) != string(want.Claims) {
			t.Fatalf("%s read back: raw %q, claims %s, %v; want them as received", jti, e.Raw, e.Claims, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	journals := boltdb.JournalPaths(path)
	for _, f := range []string{path, journals[0], journals[1]} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(f)] = b
	}
	// The journal keeps the applied record until the file starts over.
	if !bytes.Contains(files[filepath.Base(path)], []byte(`"jti":"revoked-direct"`)) ||
		!bytes.Contains(append(files[filepath.Base(path)+"-journal"], files[filepath.Base(path)+"-journal.1"]...), []byte(`"jti":"revoked-journal"`)) {
		t.Fatal("the files do not hold the records just written")
	}
	for name, b := range files {
		for form, needle := range encodings(prefix) {
			if bytes.Contains(b, []byte(needle)) {
				t.Errorf("the refresh token's prefix is in %s (%s)", name, form)
			}
		}
	}
}
