package store

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
)

// KeySize is the size of a store key in bytes (AES-256).
const KeySize = 32

// keyIDSize is the size of the key id carried by every ciphertext.
const keyIDSize = 8

// Key is an AES-256 key that seals the store's secrets, with a short public
// ID (the first 8 bytes of a domain-separated SHA-256 of the key, in hex) that
// every ciphertext carries. The zero Key is "no key". A Key never prints its
// material: String, GoString, LogValue and MarshalJSON show only the ID.
type Key struct {
	k *keyData
}

type keyData struct {
	id   [keyIDSize]byte
	hex  string
	aead cipher.AEAD
}

// ParseKey decodes a key from its text form: base64 (standard or URL
// alphabet, padding optional, surrounding whitespace ignored) of exactly 32
// bytes. The error says what was wrong (not base64, or the size found),
// never the text itself.
func ParseKey(text []byte) (Key, error) {
	s := string(bytes.TrimSpace(text))
	if s == "" {
		return Key{}, fmt.Errorf("store: parse key: empty: %w", ErrInvalid)
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
		return Key{}, fmt.Errorf("store: parse key: not base64: %w", ErrInvalid)
	}
	defer clear(raw)
	if len(raw) != KeySize {
		return Key{}, fmt.Errorf("store: parse key: %d bytes, want %d: %w", len(raw), KeySize, ErrInvalid)
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
	d.hex = hex.EncodeToString(d.id[:])
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

// IsZero reports whether k is the zero Key.
func (k Key) IsZero() bool { return k.k == nil }

// Equal reports whether k and o are the same key.
func (k Key) Equal(o Key) bool {
	if k.k == nil || o.k == nil {
		return k.k == o.k
	}
	return k.k.id == o.k.id
}

// String shows the key ID only.
func (k Key) String() string { return "store.Key(" + k.ID() + ")" }

// GoString keeps %#v from printing key material.
func (k Key) GoString() string { return k.String() }

// LogValue implements slog.LogValuer: the key ID only.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }

// MarshalJSON emits the key ID only.
func (k Key) MarshalJSON() ([]byte, error) { return []byte(`"` + k.String() + `"`), nil }

// keyring is the set of keys a DB accepts: primary seals, all open.
type keyring struct {
	primary Key
	byID    map[[keyIDSize]byte]Key
}

func newKeyring(primary Key, old []Key) (*keyring, error) {
	if primary.IsZero() {
		return nil, errors.New("store: no key configured")
	}
	r := &keyring{primary: primary, byID: map[[keyIDSize]byte]Key{primary.k.id: primary}}
	for _, k := range old {
		if k.IsZero() {
			return nil, errors.New("store: an old key is the zero Key")
		}
		r.byID[k.k.id] = k
	}
	return r, nil
}

// withPrimary returns a keyring where k seals and every key of r still opens.
func (r *keyring) withPrimary(k Key) *keyring {
	n := &keyring{primary: k, byID: make(map[[keyIDSize]byte]Key, len(r.byID)+1)}
	for id, v := range r.byID {
		n.byID[id] = v
	}
	n.byID[k.k.id] = k
	return n
}
