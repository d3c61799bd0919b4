package record

import (
	"encoding/hex"
	"fmt"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/seal"
)

// GrantKeySize is the size of a grant's key: 8 bytes of creation time
// (Unix nanoseconds, big-endian, increasing) and 4 random bytes. A grant
// ID is its key in hex; the key is the record its tokens are bound to.
const GrantKeySize = 12

// Grant is a grant; its tokens are sealed, bound to its key.
type Grant struct {
	V            int      `json:"v"`
	Sub          string   `json:"sub"`
	Email        string   `json:"email,omitempty"`
	EmailOK      bool     `json:"ev,omitempty"` // Grant.EmailVerified
	Scopes       []string `json:"scopes,omitempty"`
	RefreshToken []byte   `json:"rt,omitempty"`
	AccessToken  []byte   `json:"at,omitempty"`
	TokenType    string   `json:"tt,omitempty"`
	Expiry       Stamp    `json:"exp,omitzero"`
	IDTokenExp   Stamp    `json:"idexp,omitzero"`
	Status       string   `json:"st"`
	Reason       string   `json:"why,omitempty"`
	ChangedBy    string   `json:"by,omitempty"`
	CreatedAt    Stamp    `json:"ca,omitzero"`
	UpdatedAt    Stamp    `json:"ua,omitzero"`
	LastUsedAt   Stamp    `json:"lu,omitzero"`
	RefreshedAt  Stamp    `json:"ra,omitzero"`
}

func (r *Grant) version() int { return r.V }

// SealGrant is the record of g kept under key, its tokens sealed.
func SealGrant(keys *seal.Keyring, key []byte, g riscd.Grant) Grant {
	return Grant{
		V: Version, Sub: g.Sub, Email: g.Email, EmailOK: g.EmailVerified, Scopes: g.Scopes,
		RefreshToken: keys.Seal(g.RefreshToken.Reveal(), TableGrants, key, "rt"),
		AccessToken:  keys.Seal(g.AccessToken.Reveal(), TableGrants, key, "at"),
		TokenType:    g.TokenType, Expiry: StampOf(g.Expiry), IDTokenExp: StampOf(g.IDTokenExp),
		Status: string(g.Status), Reason: g.Reason, ChangedBy: g.ChangedBy,
		CreatedAt: StampOf(g.CreatedAt), UpdatedAt: StampOf(g.UpdatedAt),
		LastUsedAt: StampOf(g.LastUsedAt), RefreshedAt: StampOf(g.RefreshedAt),
	}
}

// DecodeGrant decodes the grant kept under key.
func DecodeGrant(key, data []byte) (Grant, error) {
	var r Grant
	err := Decode(fmt.Sprintf("grant %x", key), data, &r)
	return r, err
}

// OpenRefreshToken opens the grant's refresh token.
func (r *Grant) OpenRefreshToken(keys *seal.Keyring, key []byte) (riscd.Secret, error) {
	rt, err := keys.Open(r.RefreshToken, TableGrants, key, "rt")
	if err != nil {
		return "", fmt.Errorf("store: grant %x: %w", key, err)
	}
	return riscd.Secret(rt), nil
}

// Open is the grant kept under key, its tokens opened.
func (r *Grant) Open(keys *seal.Keyring, key []byte) (riscd.Grant, error) {
	rt, err := r.OpenRefreshToken(keys, key)
	if err != nil {
		return riscd.Grant{}, err
	}
	at, err := keys.Open(r.AccessToken, TableGrants, key, "at")
	if err != nil {
		return riscd.Grant{}, fmt.Errorf("store: grant %x: %w", key, err)
	}
	return r.Grant(key, rt, riscd.Secret(at)), nil
}

// Grant is the grant kept under key, with its tokens (already opened).
func (r *Grant) Grant(key []byte, rt, at riscd.Secret) riscd.Grant {
	return riscd.Grant{
		ID: hex.EncodeToString(key), Sub: r.Sub, Email: r.Email, EmailVerified: r.EmailOK, Scopes: r.Scopes,
		RefreshToken: rt, AccessToken: at, TokenType: r.TokenType,
		Expiry: r.Expiry.Time(), IDTokenExp: r.IDTokenExp.Time(), Status: riscd.GrantStatus(r.Status),
		Reason: r.Reason, ChangedBy: r.ChangedBy, CreatedAt: r.CreatedAt.Time(), UpdatedAt: r.UpdatedAt.Time(),
		LastUsedAt: r.LastUsedAt.Time(), RefreshedAt: r.RefreshedAt.Time(),
	}
}

// RoundGrant is g with its times as a record reads them back: in UTC.
func RoundGrant(g riscd.Grant) riscd.Grant {
	g.Expiry, g.IDTokenExp = Round(g.Expiry), Round(g.IDTokenExp)
	g.CreatedAt, g.UpdatedAt = Round(g.CreatedAt), Round(g.UpdatedAt)
	g.LastUsedAt, g.RefreshedAt = Round(g.LastUsedAt), Round(g.RefreshedAt)
	return g
}
