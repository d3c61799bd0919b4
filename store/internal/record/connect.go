package record

import (
	"bytes"
	"fmt"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/seal"
)

// Connect is a connect session, kept under its ID (not a bearer
// credential: see riscd.ConnectSession). The login hint and the email are
// personal data, sealed; the start token and the flow's state are kept as
// digests only.
type Connect struct {
	V           int      `json:"v"`
	AppUser     string   `json:"app_user"`
	Features    []string `json:"features,omitempty"`
	ReturnTo    string   `json:"return_to"`
	LoginHint   []byte   `json:"hint,omitempty"`
	StartDigest []byte   `json:"start,omitempty"`
	StateDigest []byte   `json:"state,omitempty"`
	Status      string   `json:"status"`
	Sub         string   `json:"sub,omitempty"`
	Email       []byte   `json:"email,omitempty"`
	GrantID     string   `json:"grant,omitempty"`
	Scopes      []string `json:"scopes,omitempty"`
	Error       string   `json:"error,omitempty"`
	CreatedAt   Stamp    `json:"ca,omitzero"`
	ExpiresAt   Stamp    `json:"exp,omitzero"`
}

func (r *Connect) version() int { return r.V }

// SealConnect is the record of s, its personal data sealed.
func SealConnect(keys *seal.Keyring, s riscd.ConnectSession) Connect {
	k := []byte(s.ID)
	return Connect{
		V: Version, AppUser: s.AppUser, Features: s.Features, ReturnTo: s.ReturnTo,
		LoginHint:   keys.Seal(s.LoginHint, TableConnect, k, "hint"),
		StartDigest: s.StartDigest, StateDigest: s.StateDigest, Status: string(s.Status), Sub: s.Sub,
		Email:   keys.Seal(s.Email, TableConnect, k, "email"),
		GrantID: s.GrantID, Scopes: s.Scopes, Error: s.Error,
		CreatedAt: StampOf(s.CreatedAt), ExpiresAt: StampOf(s.ExpiresAt),
	}
}

// DecodeConnect decodes the connect session id.
func DecodeConnect(id, data []byte) (Connect, error) {
	var r Connect
	err := Decode(fmt.Sprintf("connect session %q", id), data, &r)
	return r, err
}

// Open is the connect session id, its personal data opened.
func (r *Connect) Open(keys *seal.Keyring, id []byte) (riscd.ConnectSession, error) {
	hint, err := keys.Open(r.LoginHint, TableConnect, id, "hint")
	if err != nil {
		return riscd.ConnectSession{}, fmt.Errorf("store: connect session %q: %w", id, err)
	}
	email, err := keys.Open(r.Email, TableConnect, id, "email")
	if err != nil {
		return riscd.ConnectSession{}, fmt.Errorf("store: connect session %q: %w", id, err)
	}
	return riscd.ConnectSession{
		ID: string(id), AppUser: r.AppUser, Features: r.Features, ReturnTo: r.ReturnTo, LoginHint: hint,
		StartDigest: bytes.Clone(r.StartDigest), StateDigest: bytes.Clone(r.StateDigest),
		Status: riscd.ConnectStatus(r.Status), Sub: r.Sub, Email: email, GrantID: r.GrantID, Scopes: r.Scopes,
		Error: r.Error, CreatedAt: r.CreatedAt.Time(), ExpiresAt: r.ExpiresAt.Time(),
	}, nil
}

// CheckAppUser refuses an app user not of 1 to riscd.MaxAppUser bytes.
func CheckAppUser(appUser string) error {
	if appUser == "" || len(appUser) > riscd.MaxAppUser {
		return fmt.Errorf("store: app user of %d bytes (want 1 to %d): %w", len(appUser), riscd.MaxAppUser, riscd.ErrInvalid)
	}
	return nil
}

// CheckConnect refuses a connect session without an ID (of at most 255
// bytes), an expiry, a status or a valid app user.
func CheckConnect(s riscd.ConnectSession) error {
	if s.ID == "" || len(s.ID) > 255 {
		return fmt.Errorf("store: connect session: id of %d bytes (want 1 to 255): %w", len(s.ID), riscd.ErrInvalid)
	}
	if s.ExpiresAt.IsZero() || s.Status == "" {
		return fmt.Errorf("store: connect session: expiry and status are required: %w", riscd.ErrInvalid)
	}
	return CheckAppUser(s.AppUser)
}

// Link is an app-user link; the app user and the sub are its key.
type Link struct {
	V         int   `json:"v"`
	CreatedAt Stamp `json:"ca,omitzero"`
}

func (r *Link) version() int { return r.V }

// LinkOf is the record of l.
func LinkOf(l riscd.AppUserLink) Link { return Link{V: Version, CreatedAt: StampOf(l.CreatedAt)} }
