package seal

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/riscd/riscd"
)

// Ciphertext layout: Version (1 byte) | key id (IDSize) | nonce (12) |
// AES-GCM sealed data and its 16-byte tag. Overhead is what sealing adds
// to the plaintext's length.
const (
	Version   = 1
	nonceSize = 12
	headerLen = 1 + IDSize
	Overhead  = headerLen + nonceSize + 16
)

// Keyring is the set of keys a store accepts: the primary key seals, every
// key opens. It is not changed after NewKeyring, so it may be shared.
type Keyring struct {
	primary Key
	byID    map[ID]Key
}

// NewKeyring returns the keyring where primary seals and primary and old
// open. It fails for a zero primary or a zero old key.
func NewKeyring(primary Key, old []Key) (*Keyring, error) {
	if primary.IsZero() {
		return nil, errors.New("store: no key configured")
	}
	r := &Keyring{primary: primary, byID: map[ID]Key{primary.k.id: primary}}
	for _, k := range old {
		if k.IsZero() {
			return nil, errors.New("store: an old key is the zero Key")
		}
		r.byID[k.k.id] = k
	}
	return r, nil
}

// WithPrimary returns a keyring where k seals and every key of r still
// opens. k must not be the zero Key.
func (r *Keyring) WithPrimary(k Key) *Keyring {
	n := &Keyring{primary: k, byID: make(map[ID]Key, len(r.byID)+1)}
	for id, v := range r.byID {
		n.byID[id] = v
	}
	n.byID[k.k.id] = k
	return n
}

// Primary returns the key that seals.
func (r *Keyring) Primary() Key { return r.primary }

// KeyIDs returns the ids (Key.ID) of every key of r, sorted.
func (r *Keyring) KeyIDs() []string {
	ids := make([]string, 0, len(r.byID))
	for _, k := range r.byID {
		ids = append(ids, k.ID())
	}
	slices.Sort(ids)
	return ids
}

// aad builds the additional data for one field of one record.
func aad(header []byte, table string, record []byte, field string) []byte {
	b := make([]byte, 0, len("riscd")+len(header)+len(table)+len(record)+len(field)+12)
	b = append(b, "riscd"...)
	b = append(b, header...)
	b = binary.AppendUvarint(b, uint64(len(table)))
	b = append(b, table...)
	b = binary.AppendUvarint(b, uint64(len(record)))
	b = append(b, record...)
	return append(b, field...)
}

// Seal encrypts plain under the primary key, bound to field of the record
// keyed record in table. An empty plaintext seals to nil so absent secrets
// take no room.
func (r *Keyring) Seal(plain, table string, record []byte, field string) []byte {
	if plain == "" {
		return nil
	}
	k := r.primary.k
	out := make([]byte, headerLen+nonceSize, Overhead+len(plain))
	out[0] = Version
	copy(out[1:], k.id[:])
	// crypto/rand.Read does not fail (it crashes the program instead).
	_, _ = rand.Read(out[headerLen:])
	ad := aad(out[:headerLen], table, record, field)
	return k.aead.Seal(out, out[headerLen:], []byte(plain), ad)
}

// Open decrypts a ciphertext Seal made for the same table, record and
// field. A nil ciphertext opens to "". Errors name the field, wrap
// riscd.ErrWrongKey when the sealing key is not in r and riscd.ErrCorrupt
// when the ciphertext is malformed or fails authentication; they never
// contain plaintext.
func (r *Keyring) Open(ct []byte, table string, record []byte, field string) (string, error) {
	if len(ct) == 0 {
		return "", nil
	}
	id, ok := SealedWith(ct)
	if !ok {
		return "", fmt.Errorf("field %s: bad ciphertext header: %w", field, riscd.ErrCorrupt)
	}
	k, ok := r.byID[id]
	if !ok {
		return "", fmt.Errorf("field %s: sealed with key %x, which is not configured: %w", field, id[:], riscd.ErrWrongKey)
	}
	ad := aad(ct[:headerLen], table, record, field)
	plain, err := k.k.aead.Open(nil, ct[headerLen:headerLen+nonceSize], ct[headerLen+nonceSize:], ad)
	if err != nil {
		return "", fmt.Errorf("field %s: authentication failed: %w", field, riscd.ErrCorrupt)
	}
	return string(plain), nil
}

// SealedWith returns the id of the key that sealed ct, and false when ct
// is too short or of another version to be a ciphertext of Seal.
func SealedWith(ct []byte) (ID, bool) {
	var id ID
	if len(ct) < Overhead || ct[0] != Version {
		return id, false
	}
	copy(id[:], ct[1:])
	return id, true
}

// SealedBy reports whether ct is empty or sealed under k.
func SealedBy(ct []byte, k Key) bool {
	if len(ct) == 0 {
		return true
	}
	id, ok := SealedWith(ct)
	return ok && id == k.k.id
}
