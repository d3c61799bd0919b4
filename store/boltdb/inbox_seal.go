package boltdb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/riscd/riscd/seal"
)

// An inbox entry's SET (Raw, the compact JWS) and its claims are sealed
// like the grants' tokens: the claims of a token-revoked event carry the
// first characters of the refresh token it names (the token_identifier_alg
// "prefix" of Google's RISC documentation,
// https://developers.google.com/identity/protocols/risc#token-revoked),
// and the SET carries them too, in its payload. The additional data binds
// each ciphertext to its entry's (iss, jti), through the dedupe index's
// key, and to its field: the entry's ID is not known yet when the record is
// encoded for the journal. Records an earlier riscd wrote hold both in
// plaintext (Raw, Claims); they are read as they are, and sealed when the
// entry is next written or the key rotated (RotateKey).

// sealedRecord is an inbox record as written, and its claims in plaintext.
type sealedRecord struct {
	inboxRecord
	claims []byte // e's claims, compacted
}

// sealedInboxRecord is the record of e with Raw and Claims sealed under
// keys' primary key. kept is the claims the store holds for e already (nil
// for a new entry): claims equal to them are checked as appendStoredJSON
// does. Errors wrap ErrInvalid (claims that are not JSON in UTF-8).
func sealedInboxRecord(keys *keyring, e InboxEntry, kept []byte) (sealedRecord, error) {
	r := inboxToRecord(e)
	var claims []byte
	if len(e.Claims) > 0 {
		compact := appendCompactJSON
		if bytes.Equal(e.Claims, kept) {
			compact = appendStoredJSON
		}
		c, err := compact(make([]byte, 0, len(e.Claims)), e.Claims)
		if err != nil {
			return sealedRecord{}, fmt.Errorf("claims: %v: %w", err, ErrInvalid)
		}
		claims = c
	}
	jk := inboxSealKey(r.Iss, r.JTI)
	r.Raw, r.Claims = "", nil
	r.SealedRaw = keys.Seal(e.Raw, bucketInbox, jk, "raw")
	r.SealedClaims = keys.Seal(string(claims), bucketInbox, jk, "claims")
	return sealedRecord{r, claims}, nil
}

// inboxSealKey is the record key the additional data of an entry's sealed
// fields names: its (iss, jti) as decodeInbox reads them back (JSON
// replaces each byte of invalid UTF-8 with U+FFFD).
func inboxSealKey(iss, jti string) []byte {
	asRead := func(s string) string {
		if utf8.ValidString(s) {
			return s
		}
		return string([]rune(s))
	}
	return jtiKey(asRead(iss), asRead(jti))
}

// open replaces r's sealed fields with their plaintext. A record without
// them (an earlier riscd's) is left as it is.
func (r *inboxRecord) open(keys *keyring) error {
	if len(r.SealedRaw) == 0 && len(r.SealedClaims) == 0 {
		return nil
	}
	jk := inboxSealKey(r.Iss, r.JTI)
	raw, err := keys.Open(r.SealedRaw, bucketInbox, jk, "raw")
	if err != nil {
		return err
	}
	claims, err := keys.Open(r.SealedClaims, bucketInbox, jk, "claims")
	if err != nil {
		return err
	}
	r.Raw, r.Claims, r.SealedRaw, r.SealedClaims = raw, nil, nil, nil
	if claims != "" {
		r.Claims = json.RawMessage(claims)
	}
	return nil
}

// sealing reports whether r holds Raw or Claims, and the id of the key
// that sealed them: the zero id for the plaintext of an earlier riscd.
func (r *inboxRecord) sealing() (id seal.ID, secret bool) {
	for _, ct := range [][]byte{r.SealedRaw, r.SealedClaims} {
		if len(ct) > 0 {
			id, _ = seal.SealedWith(ct)
			return id, true
		}
	}
	return id, r.Raw != "" || len(r.Claims) > 0
}

// staleUnder reports whether r holds Raw or Claims not sealed under keys'
// primary key.
func (r *inboxRecord) staleUnder(keys *keyring) bool {
	id, secret := r.sealing()
	return secret && id != keys.Primary().RawID()
}

// resealInbox is Tx.reseal for an inbox record (RotateKey): it seals Raw
// and Claims under the primary key, or reports false when they are.
func (t *Tx) resealInbox(key, v []byte) ([]byte, bool, error) {
	var r inboxRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, false, fmt.Errorf("store: reseal %s %x: undecodable record: %w", bucketInbox, key, ErrCorrupt)
	}
	if !r.staleUnder(t.keys) {
		return nil, false, nil
	}
	e, err := decodeInbox(t.keys, key, v)
	if err != nil {
		return nil, false, fmt.Errorf("store: reseal: %w", err)
	}
	_, data, err := encodeInbox(t.keys, e, e.Claims)
	if err != nil {
		return nil, false, fmt.Errorf("store: reseal %s %x: %w", bucketInbox, key, err)
	}
	return data, true, nil
}
