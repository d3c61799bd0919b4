package store

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
)

// Ciphertext layout: version (1 byte) | key id (8) | nonce (12) | AES-GCM
// sealed data and tag. The additional data binds a ciphertext to its header,
// its bucket, its record key and its field, so a ciphertext copied into
// another record or field fails to open.
const (
	sealVersion   = 1
	nonceSize     = 12
	sealHeaderLen = 1 + keyIDSize
	sealOverhead  = sealHeaderLen + nonceSize + 16
)

// sealAAD builds the additional data for one field of one record.
func sealAAD(header []byte, bucket string, key []byte, field string) []byte {
	b := make([]byte, 0, len("riscd")+len(header)+len(bucket)+len(key)+len(field)+12)
	b = append(b, "riscd"...)
	b = append(b, header...)
	b = binary.AppendUvarint(b, uint64(len(bucket)))
	b = append(b, bucket...)
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	return append(b, field...)
}

// seal encrypts plain under the primary key. An empty plaintext seals to nil
// so absent secrets take no room.
func (r *keyring) seal(plain, bucket string, key []byte, field string) []byte {
	if plain == "" {
		return nil
	}
	k := r.primary.k
	out := make([]byte, sealHeaderLen+nonceSize, sealOverhead+len(plain))
	out[0] = sealVersion
	copy(out[1:], k.id[:])
	// crypto/rand.Read does not fail (it crashes the program instead).
	_, _ = rand.Read(out[sealHeaderLen:])
	ad := sealAAD(out[:sealHeaderLen], bucket, key, field)
	return k.aead.Seal(out, out[sealHeaderLen:], []byte(plain), ad)
}

// sealedKeyID returns the id of the key that sealed ct.
func sealedKeyID(ct []byte) ([keyIDSize]byte, bool) {
	var id [keyIDSize]byte
	if len(ct) < sealOverhead || ct[0] != sealVersion {
		return id, false
	}
	copy(id[:], ct[1:])
	return id, true
}

// open decrypts a ciphertext made by seal for the same bucket, key and field.
// A nil ciphertext opens to "". Errors wrap ErrWrongKey when the sealing key
// is not configured and ErrCorrupt when authentication fails; they never
// contain plaintext.
func (r *keyring) open(ct []byte, bucket string, key []byte, field string) (string, error) {
	if len(ct) == 0 {
		return "", nil
	}
	id, ok := sealedKeyID(ct)
	if !ok {
		return "", fmt.Errorf("field %s: bad ciphertext header: %w", field, ErrCorrupt)
	}
	k, ok := r.byID[id]
	if !ok {
		return "", fmt.Errorf("field %s: sealed with key %x, which is not configured: %w", field, id, ErrWrongKey)
	}
	ad := sealAAD(ct[:sealHeaderLen], bucket, key, field)
	plain, err := k.k.aead.Open(nil, ct[sealHeaderLen:sealHeaderLen+nonceSize], ct[sealHeaderLen+nonceSize:], ad)
	if err != nil {
		return "", fmt.Errorf("field %s: authentication failed: %w", field, ErrCorrupt)
	}
	return string(plain), nil
}

// sealedBy reports whether ct is empty or sealed under k.
func sealedBy(ct []byte, k Key) bool {
	if len(ct) == 0 {
		return true
	}
	id, ok := sealedKeyID(ct)
	return ok && id == k.k.id
}
