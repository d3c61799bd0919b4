package boltdb

import "github.com/riscd/riscd/seal"

// Encryption at rest is package seal's; these are its names in package
// store, the same types and functions, kept so callers compile unchanged
// while they move over to package seal.

// Key is seal.Key: an AES-256 key that seals the store's secrets.
type Key = seal.Key

// KeySize is seal.KeySize, the size of a store key in bytes.
const KeySize = seal.KeySize

// ParseKey is seal.ParseKey: it decodes a key from its base64 text form.
func ParseKey(text []byte) (Key, error) { return seal.ParseKey(text) }

// GenerateKey is seal.GenerateKey: a new random key and its text form.
func GenerateKey() (Key, []byte, error) { return seal.GenerateKey() }

// keyring is the set of keys a DB accepts: primary seals, all open.
type keyring = seal.Keyring

func newKeyring(primary Key, old []Key) (*keyring, error) { return seal.NewKeyring(primary, old) }
