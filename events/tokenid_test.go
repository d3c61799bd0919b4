package events

import (
	"strings"
	"testing"
)

func TestTokenHashKnownValue(t *testing.T) {
	// Computed independently: base64(sha512(sha512(b"1//0gExampleRefreshTokenValue"))).
	const want = "SUc3Lm9twfvVzU2T1UXSdYZcBAJ1RGiEsR+9iv/+lSOOhBkzD+5rHJgPGWUTKc+Gt9ZnmN1P/H8RnRX89tEgbA=="
	if got := TokenHash("1//0gExampleRefreshTokenValue"); got != want {
		t.Errorf("TokenHash = %q, want %q", got, want)
	}
}

func TestOAuthTokenMatches(t *testing.T) {
	const refresh = "1//0gExampleRefreshTokenValue"
	std := TokenHash(refresh)
	url := strings.NewReplacer("+", "-", "/", "_").Replace(std)
	tests := []struct {
		name string
		tok  OAuthToken
		want bool
	}{
		{"hash standard padded", OAuthToken{Alg: AlgHashSHA512SHA512, Token: std}, true},
		{"hash standard unpadded", OAuthToken{Alg: AlgHashSHA512SHA512, Token: strings.TrimRight(std, "=")}, true},
		{"hash url alphabet", OAuthToken{Alg: AlgHashSHA512SHA512, Token: url}, true},
		{"hash url alphabet unpadded", OAuthToken{Alg: AlgHashSHA512SHA512, Token: strings.TrimRight(url, "=")}, true},
		{"hash of other token", OAuthToken{Alg: AlgHashSHA512SHA512, Token: TokenHash("1//other")}, false},
		{"hash truncated", OAuthToken{Alg: AlgHashSHA512SHA512, Token: std[:40]}, false},
		{"prefix 16", OAuthToken{Alg: AlgPrefix, Token: refresh[:16]}, true},
		{"prefix whole token", OAuthToken{Alg: AlgPrefix, Token: refresh}, true},
		{"prefix too short to trust", OAuthToken{Alg: AlgPrefix, Token: "1//0g"}, false},
		{"prefix mismatch", OAuthToken{Alg: AlgPrefix, Token: "1//0gExampleRefX"}, false},
		{"unknown algorithm", OAuthToken{Alg: "sha1", Token: refresh}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.tok.Matches(refresh); got != tt.want {
				t.Errorf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOAuthTokenKeyIgnoresBase64Spelling(t *testing.T) {
	std := TokenHash("1//0gExampleRefreshTokenValue")
	url := strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(std), "=")
	a := SubjectKey(OAuthToken{TokenType: "refresh_token", Alg: AlgHashSHA512SHA512, Token: std})
	b := SubjectKey(OAuthToken{TokenType: "refresh_token", Alg: AlgHashSHA512SHA512, Token: url})
	if a != b {
		t.Errorf("keys differ: %q vs %q", a, b)
	}
	if strings.Contains(a, std[:8]) {
		t.Errorf("key %q reveals the identifier", a)
	}
	prefix := OAuthToken{TokenType: "refresh_token", Alg: AlgPrefix, Token: "1//0gExampleRefr"}
	if k := SubjectKey(prefix); strings.Contains(k, "Example") {
		t.Errorf("key %q reveals the prefix", k)
	}
	if s := prefix.String(); strings.Contains(s, "ExampleRefr") {
		t.Errorf("String() = %q reveals more than 6 characters of the identifier", s)
	}
}
