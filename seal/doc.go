// Package seal encrypts riscd's secrets at rest, whatever the storage
// engine: refresh and access tokens, session CSRF tokens, flow state,
// received SETs and their claims.
//
// A Keyring holds the keys a store accepts: its primary key seals, every
// key opens. Seal encrypts with AES-256-GCM (NIST SP 800-38D) and returns
// a ciphertext laid out as
//
//	version (1 byte) | key id (8) | nonce (12) | sealed data and tag (16)
//
// The additional authenticated data binds the ciphertext to its header and
// to its place: the table (a bbolt bucket), the record's key and the field,
// so a ciphertext copied into another record or field fails to open. The
// key id (the first 8 bytes of a domain-separated SHA-256 of the key) lets
// a store re-encrypted under a new key keep opening what older keys sealed.
//
// Keys are 32 random bytes kept as base64 text in a key file (ParseKey,
// GenerateKey, ReadKeyFile, LoadOrCreateKeyFile). A Key never prints its
// material, only its id. Open's errors wrap riscd.ErrWrongKey when the
// sealing key is not in the keyring and riscd.ErrCorrupt when
// authentication fails; no error carries plaintext or key material.
package seal
