package googlesim

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
)

// randomURL returns n random bytes as unpadded base64url text.
func randomURL(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// randomHex returns n random bytes as hex text.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
