package riscd

import "log/slog"

// Secret holds a token, code or key in memory. It never prints itself: String,
// GoString, LogValue and MarshalJSON all give "[redacted]", so a Secret that
// reaches a log line, an error message or a JSON answer by mistake leaks
// nothing. Use Reveal where the plaintext is really needed (an HTTP call to
// the token or revoke endpoint, the companion API's access token).
type Secret string

const redacted = "[redacted]"

// Reveal returns the plaintext.
func (s Secret) Reveal() string { return string(s) }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s == "" }

// String returns "[redacted]" (or "" for an empty secret).
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the plaintext.
func (s Secret) GoString() string { return s.String() }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON never emits the plaintext.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalText never emits the plaintext.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
