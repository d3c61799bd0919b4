package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/seal"
)

// Inbox is an inbox entry. Its SET (Raw, the compact JWS) and its claims
// are sealed like the grants' tokens: the claims of a token-revoked event
// carry the first characters of the refresh token it names (the
// token_identifier_alg "prefix" of Google's RISC documentation,
// https://developers.google.com/identity/protocols/risc#token-revoked),
// and the SET carries them too, in its payload. The additional data binds
// each ciphertext to the entry's (iss, jti), through InboxSealKey, and to
// its field: the entry's ID may not be known yet when the record is
// encoded. Records an earlier riscd wrote hold both in plaintext (Raw,
// Claims); they are read as they are, and sealed when next written.
type Inbox struct {
	V            int             `json:"v"`
	Transmitter  string          `json:"tx,omitempty"`
	Iss          string          `json:"iss"`
	JTI          string          `json:"jti"`
	Subject      string          `json:"subj,omitempty"`
	Types        []string        `json:"types,omitempty"`
	Raw          string          `json:"raw,omitempty"`
	Claims       json.RawMessage `json:"claims,omitempty"`
	SealedRaw    []byte          `json:"sraw,omitempty"`
	SealedClaims []byte          `json:"sclaims,omitempty"`
	ReceivedAt   Stamp           `json:"ra,omitzero"`
	Status       string          `json:"st"`
	Attempts     int             `json:"n,omitempty"`
	LastError    string          `json:"err,omitempty"`
	NextAttempt  Stamp           `json:"next,omitzero"`
	DoneAt       Stamp           `json:"done,omitzero"`
}

func (r *Inbox) version() int { return r.V }

// InboxOf is the record of e, in plaintext.
func InboxOf(e riscd.InboxEntry) Inbox {
	return Inbox{
		V: Version, Transmitter: e.Transmitter, Iss: e.Iss, JTI: e.JTI, Subject: e.Subject, Types: e.Types,
		Raw: e.Raw, Claims: e.Claims, ReceivedAt: StampOf(e.ReceivedAt), Status: string(e.Status),
		Attempts: e.Attempts, LastError: e.LastError, NextAttempt: StampOf(e.NextAttemptAt), DoneAt: StampOf(e.DoneAt),
	}
}

// Entry is the inbox entry id r keeps (opened, or in plaintext).
func (r *Inbox) Entry(id uint64) riscd.InboxEntry {
	return riscd.InboxEntry{
		ID: id, Transmitter: r.Transmitter, Iss: r.Iss, JTI: r.JTI, Subject: r.Subject, Types: r.Types,
		Raw: r.Raw, Claims: r.Claims, ReceivedAt: r.ReceivedAt.Time(), Status: riscd.InboxStatus(r.Status),
		Attempts: r.Attempts, LastError: r.LastError, NextAttemptAt: r.NextAttempt.Time(), DoneAt: r.DoneAt.Time(),
	}
}

// SealedInbox is an inbox record as written, and its claims in plaintext.
type SealedInbox struct {
	Inbox
	PlainClaims []byte // the entry's claims, compacted
}

// SealInbox is the record of e with Raw and Claims sealed under keys'
// primary key. kept is the claims the store holds for e already (nil for a
// new entry): claims equal to them may hold invalid UTF-8, which an
// earlier riscd accepted. Errors wrap riscd.ErrInvalid (claims that are
// not JSON) and want a prefix naming the entry.
func SealInbox(keys *seal.Keyring, e riscd.InboxEntry, kept []byte) (SealedInbox, error) {
	return SealInboxUnder(keys, InboxSealKey(e.Iss, e.JTI), e, kept)
}

// SealInboxUnder is SealInbox binding the sealed fields to the record jk
// rather than to InboxSealKey, for a store that keeps an entry's binding
// apart from its (iss, jti).
func SealInboxUnder(keys *seal.Keyring, jk []byte, e riscd.InboxEntry, kept []byte) (SealedInbox, error) {
	r := InboxOf(e)
	var claims []byte
	if len(e.Claims) > 0 {
		c, err := CompactJSON(make([]byte, 0, len(e.Claims)), e.Claims, bytes.Equal(e.Claims, kept))
		if err != nil {
			return SealedInbox{}, fmt.Errorf("claims: %v: %w", err, riscd.ErrInvalid)
		}
		claims = c
	}
	r.Raw, r.Claims = "", nil
	r.SealedRaw = keys.Seal(e.Raw, TableInbox, jk, "raw")
	r.SealedClaims = keys.Seal(string(claims), TableInbox, jk, "claims")
	return SealedInbox{r, claims}, nil
}

// InboxSealKey is the record the additional data of an entry's sealed
// fields names: its (iss, jti) as a decoded record holds them (JSON
// replaces each byte of invalid UTF-8 with U+FFFD) under JTIKey.
func InboxSealKey(iss, jti string) []byte {
	asRead := func(s string) string {
		if utf8.ValidString(s) {
			return s
		}
		return string([]rune(s))
	}
	return JTIKey(asRead(iss), asRead(jti))
}

// Open replaces r's sealed fields with their plaintext. A record without
// them (an earlier riscd's) is left as it is.
func (r *Inbox) Open(keys *seal.Keyring) error {
	return r.OpenUnder(keys, InboxSealKey(r.Iss, r.JTI))
}

// OpenUnder is Open for fields bound to the record jk (SealInboxUnder).
func (r *Inbox) OpenUnder(keys *seal.Keyring, jk []byte) error {
	if len(r.SealedRaw) == 0 && len(r.SealedClaims) == 0 {
		return nil
	}
	raw, err := keys.Open(r.SealedRaw, TableInbox, jk, "raw")
	if err != nil {
		return err
	}
	claims, err := keys.Open(r.SealedClaims, TableInbox, jk, "claims")
	if err != nil {
		return err
	}
	r.Raw, r.Claims, r.SealedRaw, r.SealedClaims = raw, nil, nil, nil
	if claims != "" {
		r.Claims = json.RawMessage(claims)
	}
	return nil
}

// DecodeInbox decodes the inbox entry id and opens its sealed fields,
// bound to the record jk (nil: to InboxSealKey).
func DecodeInbox(keys *seal.Keyring, id uint64, jk, data []byte) (riscd.InboxEntry, error) {
	var r Inbox
	if err := Decode(fmt.Sprintf("inbox entry %d", id), data, &r); err != nil {
		return riscd.InboxEntry{}, err
	}
	if jk == nil {
		jk = InboxSealKey(r.Iss, r.JTI)
	}
	if err := r.OpenUnder(keys, jk); err != nil {
		return riscd.InboxEntry{}, fmt.Errorf("store: inbox entry %d: %w", id, err)
	}
	return r.Entry(id), nil
}

// Sealing reports whether r holds Raw or Claims, and the id of the key
// that sealed them: the zero id for the plaintext of an earlier riscd.
func (r *Inbox) Sealing() (id seal.ID, secret bool) {
	for _, ct := range [][]byte{r.SealedRaw, r.SealedClaims} {
		if len(ct) > 0 {
			id, _ = seal.SealedWith(ct)
			return id, true
		}
	}
	return id, r.Raw != "" || len(r.Claims) > 0
}
