package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"

	"github.com/riscd/riscd"
)

// KeySize is the size of a key in bytes (AES-256).
const KeySize = 32

// IDSize is the size of the key id every ciphertext carries.
const IDSize = 8

// ID is a key's id as a ciphertext carries it.
type ID [IDSize]byte

// Bytes returns the id's bytes, as a record key holds them.
func (id ID) Bytes() []byte { return id[:] }

// String is the id in hex, as Key.ID gives it.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Key is an AES-256 key that seals a store's secrets, with a short public
// ID (the first 8 bytes of a domain-separated SHA-256 of the key, in hex) that
// every ciphertext carries. The zero Key is "no key". A Key never prints its
// material: String, GoString, LogValue and MarshalJSON show only the ID.
type Key struct {
	k *keyData
}

type keyData struct {
	id   ID
	hex  string
	aead cipher.AEAD
}

// ParseKey decodes a key from its text form: base64 (standard or URL
// alphabet, padding optional, surrounding whitespace ignored) of exactly 32
// bytes. The error says what was wrong (not base64, or the size found),
// never the text itself; it wraps riscd.ErrInvalid.
func ParseKey(text []byte) (Key, error) {
	s := string(bytes.TrimSpace(text))
	if s == "" {
		return Key{}, fmt.Errorf("store: parse key: empty: %w", riscd.ErrInvalid)
	}
	var raw []byte
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		if b, err := enc.DecodeString(s); err == nil {
			raw = b
			break
		}
	}
	if raw == nil {
		return Key{}, fmt.Errorf("store: parse key: not base64: %w", riscd.ErrInvalid)
	}
	defer clear(raw)
	if len(raw) != KeySize {
		return Key{}, fmt.Errorf("store: parse key: %d bytes, want %d: %w", len(raw), KeySize, riscd.ErrInvalid)
	}
	return newKey(raw)
}

// GenerateKey makes a new random key and returns it with its text form
// (standard base64 with padding), ready for a key file. It fails only if the
// system's random source does.
func GenerateKey() (Key, []byte, error) {
	raw := make([]byte, KeySize)
	defer clear(raw)
	if _, err := rand.Read(raw); err != nil {
		return Key{}, nil, fmt.Errorf("store: generate key: %w", err)
	}
	k, err := newKey(raw)
	if err != nil {
		return Key{}, nil, err
	}
	text := make([]byte, base64.StdEncoding.EncodedLen(len(raw)))
	base64.StdEncoding.Encode(text, raw)
	return k, text, nil
}

func newKey(raw []byte) (Key, error) {
	block, err := aes.NewCipher(raw)
	if err != nil {
		return Key{}, fmt.Errorf("store: key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return Key{}, fmt.Errorf("store: key: %w", err)
	}
	h := sha256.New()
	h.Write([]byte("riscd store key id\x00"))
	h.Write(raw)
	d := &keyData{aead: aead}
	copy(d.id[:], h.Sum(nil))
	d.hex = d.id.String()
	return Key{k: d}, nil
}

// ID returns the key's public identifier (16 hex characters), or "" for the
// zero Key.
func (k Key) ID() string {
	if k.k == nil {
		return ""
	}
	return k.k.hex
}

// RawID returns the key's id as ciphertexts carry it; the zero ID for the
// zero Key.
func (k Key) RawID() ID {
	if k.k == nil {
		return ID{}
	}
	return k.k.id
}

// IsZero reports whether k is the zero Key.
func (k Key) IsZero() bool { return k.k == nil }

// Equal reports whether k and o are the same key.
func (k Key) Equal(o Key) bool {
	if k.k == nil || o.k == nil {
		return k.k == o.k
	}
	return k.k.id == o.k.id
}

// String shows the key ID only. (The text is the one riscd has always
// printed, from when keys were package store's.)
func (k Key) String() string { return "store.Key(" + k.ID() + ")" }

// GoString keeps %#v from printing key material.
func (k Key) GoString() string { return k.String() }

// LogValue implements slog.LogValuer: the key ID only.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }

// MarshalJSON emits the key ID only.
func (k Key) MarshalJSON() ([]byte, error) { return []byte(`"` + k.String() + `"`), nil }
