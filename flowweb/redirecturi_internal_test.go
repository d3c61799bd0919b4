package flowweb

import (
	"strings"
	"testing"
)

// Each of Google's redirect-URI rules with a URI it rejects and one it accepts.
func TestCheckRedirectURI(t *testing.T) {
	for _, tc := range []struct {
		rule, reject, accept, want string
	}{
		{"https only", "http://riscd.example.com/cb", "https://riscd.example.com/cb", "https"},
		{"http for localhost", "ftp://localhost/cb", "http://localhost:8080/oauth2callback", "scheme"},
		{"http for 127/8", "http://10.0.0.1/cb", "http://127.0.0.2:9000/oauth2callback", "https"},
		{"http for [::1]", "http://[2001:db8::1]/cb", "http://[::1]:8080/oauth2callback", "https"},
		{"no raw IP", "https://192.0.2.10/cb", "https://riscd.example.com/cb", "raw IP"},
		{"no raw IPv6", "https://[2001:db8::1]/cb", "https://[::1]/cb", "raw IP"},
		{"public suffix TLD", "https://riscd.internal/cb", "https://riscd.example.co.uk/cb", "public suffix"},
		{"host not a suffix", "https://co.uk/cb", "https://example.co.uk/cb", "public suffix"},
		{"single label", "https://riscd/cb", "https://riscd.example.com/cb", "fully qualified"},
		{"googleusercontent", "https://x.googleusercontent.com/cb", "https://x.google.com/cb", "googleusercontent"},
		{"shortener", "https://bit.ly/cb", "https://bit.example.com/cb", "shortener"},
		{"shortener subdomain", "https://x.goo.gl/cb", "https://goo.example.com/cb", "shortener"},
		{"userinfo", "https://user@riscd.example.com/cb", "https://riscd.example.com/cb", "user info"},
		{"userinfo with password", "https://u:p@riscd.example.com/cb", "https://riscd.example.com/u/p", "user info"},
		{"traversal", "https://riscd.example.com/a/../cb", "https://riscd.example.com/a/b..c", "traversal"},
		{"backslash traversal", "https://riscd.example.com/a\\../cb", "https://riscd.example.com/a.b/cb", "traversal"},
		{"encoded traversal", "https://riscd.example.com/a/%2e%2e/cb", "https://riscd.example.com/a/%2e/cb", "traversal"},
		{"encoded slash traversal", "https://riscd.example.com/a%2F..%2Fcb", "https://riscd.example.com/a%2Fb", "traversal"},
		{"double-encoded traversal", "https://riscd.example.com/a%252F..%252Fcb", "https://riscd.example.com/a%2520b", "traversal"},
		{"fragment", "https://riscd.example.com/cb#x", "https://riscd.example.com/cb", "fragment"},
		{"empty fragment", "https://riscd.example.com/cb#", "https://riscd.example.com/cb", "fragment"},
		{"open redirect", "https://riscd.example.com/cb?next=https://evil.example.com", "https://riscd.example.com/cb?next=/home", "open redirect"},
		{"scheme-relative redirect", "https://riscd.example.com/cb?u=//evil.example.com", "https://riscd.example.com/cb?u=a", "open redirect"},
		{"encoded redirect", "https://riscd.example.com/cb?u=https%3A%2F%2Fevil.example.com", "https://riscd.example.com/cb?u=a%20b", "open redirect"},
		{"wildcard", "https://*.example.com/cb", "https://www.example.com/cb", "wildcard"},
		{"wildcard in path", "https://riscd.example.com/*", "https://riscd.example.com/x", "wildcard"},
		{"non-printable", "https://riscd.example.com/c\x01b", "https://riscd.example.com/cb", "non-printable"},
		{"space", "https://riscd.example.com/c b", "https://riscd.example.com/c%20b", "non-printable"},
		{"non-ASCII", "https://riscd.example.com/caf\u00e9", "https://riscd.example.com/caf%C3%A9", "non-ASCII"},
		{"invalid percent-encoding", "https://riscd.example.com/c%zzb", "https://riscd.example.com/c%41b", "percent-encoding"},
		{"truncated percent-encoding", "https://riscd.example.com/cb%4", "https://riscd.example.com/cb%41", "percent-encoding"},
		{"encoded NUL", "https://riscd.example.com/c%00b", "https://riscd.example.com/c%01b", "NUL"},
		{"overlong NUL", "https://riscd.example.com/c%C0%80b", "https://riscd.example.com/c%C3%80b", "NUL"},
		{"not absolute", "/oauth2callback", "https://riscd.example.com/oauth2callback", "absolute"},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			err := CheckRedirectURI(tc.reject)
			if err == nil {
				t.Errorf("CheckRedirectURI(%q) = nil, want an error about %q", tc.reject, tc.want)
			} else if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("CheckRedirectURI(%q) = %q, want it to mention %q", tc.reject, err, tc.want)
			}
			if err := CheckRedirectURI(tc.accept); err != nil {
				t.Errorf("CheckRedirectURI(%q) = %v, want nil", tc.accept, err)
			}
		})
	}
}

func FuzzCheckRedirectURI(f *testing.F) {
	for _, s := range []string{"https://riscd.example.com/oauth2callback", "http://localhost:8080/cb", "https://a/%2e%2e/", "https://u@x.example.com/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if CheckRedirectURI(raw) != nil {
			return
		}
		// Whatever passes must be printable ASCII without fragment, userinfo or traversal.
		if strings.ContainsAny(raw, "#* ") || hasTraversal(raw) || strings.Contains(strings.ToLower(raw), "%00") {
			t.Fatalf("accepted %q", raw)
		}
	})
}
