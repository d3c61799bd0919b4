package lifecycle

// This file alone computes webhook HMACs. It shares nothing with the
// verification of security event tokens, so a webhook secret can never
// verify a SET.

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/riscd/riscd"
)

// webhookSecretPrefix is how Standard Webhooks prints a secret.
const webhookSecretPrefix = "whsec_"

// minWebhookSecret is the shortest secret accepted, in bytes.
const minWebhookSecret = 16

// webhookSigner signs webhook messages the Standard Webhooks way. It never
// prints its key.
type webhookSigner struct{ key []byte }

// newWebhookSigner decodes a secret: an optional "whsec_" prefix, then
// base64 (standard or URL alphabet, padding optional) of at least
// minWebhookSecret bytes. The error never quotes the secret.
func newWebhookSigner(secret riscd.Secret) (*webhookSigner, error) {
	s := strings.TrimPrefix(strings.TrimSpace(secret.Reveal()), webhookSecretPrefix)
	if s == "" {
		return nil, errors.New("required")
	}
	s = strings.NewReplacer("-", "+", "_", "/").Replace(strings.TrimRight(s, "="))
	key, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New(`not "whsec_" followed by base64`)
	}
	if len(key) < minWebhookSecret {
		return nil, fmt.Errorf("%d bytes, want at least %d", len(key), minWebhookSecret)
	}
	return &webhookSigner{key: key}, nil
}

// sign returns the webhook-signature header value for one message:
// "v1," and standard base64 of HMAC-SHA256(key, id + "." + timestamp + "." + body).
func (s *webhookSigner) sign(id string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, timestamp, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// String keeps the key out of any log line or error.
func (s *webhookSigner) String() string { return "webhookSigner([redacted])" }

// GoString keeps %#v from printing the key.
func (s *webhookSigner) GoString() string { return s.String() }

// GenerateWebhookSecret returns a new random webhook secret in the form
// Standard Webhooks prints ("whsec_" and base64 of 32 bytes), for a secret
// file. It fails only if the system's random source does.
func GenerateWebhookSecret() (riscd.Secret, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("lifecycle: webhook secret: %w", err)
	}
	return riscd.Secret(webhookSecretPrefix + base64.StdEncoding.EncodeToString(b)), nil
}
