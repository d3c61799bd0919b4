package record

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/seal"
)

// Account is an account, kept under its sub.
type Account struct {
	V                        int      `json:"v"`
	Email                    string   `json:"email,omitempty"`
	SessionsRevokedAt        Stamp    `json:"sra,omitzero"`
	SigninDisabled           bool     `json:"signin_off,omitempty"`
	Held                     bool     `json:"held,omitempty"`
	Review                   bool     `json:"review,omitempty"`
	ReconsentRequired        bool     `json:"reconsent,omitempty"`
	CredentialChangeRequired bool     `json:"cred_change,omitempty"`
	Purged                   bool     `json:"purged,omitempty"`
	Flags                    []string `json:"flags,omitempty"`
	CreatedAt                Stamp    `json:"ca,omitzero"`
	UpdatedAt                Stamp    `json:"ua,omitzero"`
}

func (r *Account) version() int { return r.V }

// AccountOf is the record of a.
func AccountOf(a riscd.Account) Account {
	return Account{
		V: Version, Email: a.Email, SessionsRevokedAt: StampOf(a.SessionsRevokedAt),
		SigninDisabled: a.SigninDisabled, Held: a.Held, Review: a.Review, ReconsentRequired: a.ReconsentRequired,
		CredentialChangeRequired: a.CredentialChangeRequired, Purged: a.Purged, Flags: a.Flags,
		CreatedAt: StampOf(a.CreatedAt), UpdatedAt: StampOf(a.UpdatedAt),
	}
}

// Account is the account of sub r keeps.
func (r *Account) Account(sub string) riscd.Account {
	return riscd.Account{
		Sub: sub, Email: r.Email, SessionsRevokedAt: r.SessionsRevokedAt.Time(),
		SigninDisabled: r.SigninDisabled, Held: r.Held, Review: r.Review, ReconsentRequired: r.ReconsentRequired,
		CredentialChangeRequired: r.CredentialChangeRequired, Purged: r.Purged, Flags: r.Flags,
		CreatedAt: r.CreatedAt.Time(), UpdatedAt: r.UpdatedAt.Time(),
	}
}

// DecodeAccount decodes the account of sub.
func DecodeAccount(sub string, data []byte) (riscd.Account, error) {
	var r Account
	if err := Decode(fmt.Sprintf("account %q", sub), data, &r); err != nil {
		return riscd.Account{}, err
	}
	return r.Account(sub), nil
}

// Audit is an audit entry, kept under its id.
type Audit struct {
	V           int      `json:"v"`
	At          Stamp    `json:"at,omitzero"`
	Transmitter string   `json:"tx,omitempty"`
	EventJTI    string   `json:"jti,omitempty"`
	EventType   string   `json:"type,omitempty"`
	Sub         string   `json:"sub,omitempty"`
	GrantIDs    []string `json:"grants,omitempty"`
	Action      string   `json:"action,omitempty"`
	Outcome     string   `json:"outcome,omitempty"`
	Detail      string   `json:"detail,omitempty"`
	Actor       string   `json:"actor,omitempty"`
	DryRun      bool     `json:"dry,omitempty"`
}

func (r *Audit) version() int { return r.V }

// AuditOf is the record of e.
func AuditOf(e riscd.AuditEntry) Audit {
	return Audit{
		V: Version, At: StampOf(e.At), Transmitter: e.Transmitter, EventJTI: e.EventJTI,
		EventType: e.EventType, Sub: e.Sub, GrantIDs: e.GrantIDs, Action: e.Action, Outcome: e.Outcome,
		Detail: e.Detail, Actor: e.Actor, DryRun: e.DryRun,
	}
}

// Entry is the audit entry id r keeps.
func (r *Audit) Entry(id uint64) riscd.AuditEntry {
	return riscd.AuditEntry{
		ID: id, At: r.At.Time(), Transmitter: r.Transmitter, EventJTI: r.EventJTI, EventType: r.EventType,
		Sub: r.Sub, GrantIDs: r.GrantIDs, Action: r.Action, Outcome: r.Outcome, Detail: r.Detail,
		Actor: r.Actor, DryRun: r.DryRun,
	}
}

// DecodeAudit decodes the audit entry id.
func DecodeAudit(id uint64, data []byte) (riscd.AuditEntry, error) {
	var r Audit
	if err := Decode(fmt.Sprintf("audit entry %d", id), data, &r); err != nil {
		return riscd.AuditEntry{}, err
	}
	return r.Entry(id), nil
}

// Mark is a mark of work done at most once. It keeps its key, so a store
// can tell it sits where its key hashes.
type Mark struct {
	V       int    `json:"v"`
	Key     string `json:"key"`
	At      Stamp  `json:"at,omitzero"`
	AuditID uint64 `json:"audit,omitempty"`
}

func (r *Mark) version() int { return r.V }

// MarkOf is the record of m.
func MarkOf(m riscd.Mark) Mark {
	return Mark{V: Version, Key: m.Key, At: StampOf(m.At), AuditID: m.AuditID}
}

// DecodeMark decodes a mark stored under k.
func DecodeMark(k, data []byte) (riscd.Mark, error) {
	var r Mark
	if err := Decode(fmt.Sprintf("mark %x", k), data, &r); err != nil {
		return riscd.Mark{}, err
	}
	return riscd.Mark{Key: r.Key, At: r.At.Time(), AuditID: r.AuditID}, nil
}

// CheckMarkKey refuses a mark key PutMark would not store.
func CheckMarkKey(key string) error {
	if key == "" || len(key) > riscd.MaxMarkKey {
		return fmt.Errorf("store: mark: key of %d bytes (want 1 to %d): %w", len(key), riscd.MaxMarkKey, riscd.ErrInvalid)
	}
	return nil
}

// Flow is a consent flow, kept under the SHA-256 of its ID (its key); its
// secrets are sealed.
type Flow struct {
	V            int      `json:"v"`
	State        []byte   `json:"state,omitempty"`
	PKCEVerifier []byte   `json:"pkce,omitempty"`
	Nonce        []byte   `json:"nonce,omitempty"`
	Features     []string `json:"features,omitempty"`
	Scopes       []string `json:"scopes,omitempty"`
	Sub          string   `json:"sub,omitempty"`
	ConnectID    string   `json:"connect,omitempty"`
	CreatedAt    Stamp    `json:"ca,omitzero"`
}

func (r *Flow) version() int { return r.V }

// SealFlow is the record of f kept under key, its secrets sealed.
func SealFlow(keys *seal.Keyring, key []byte, f riscd.Flow) Flow {
	return Flow{
		V:            Version,
		State:        keys.Seal(f.State.Reveal(), TableFlows, key, "state"),
		PKCEVerifier: keys.Seal(f.PKCEVerifier.Reveal(), TableFlows, key, "pkce"),
		Nonce:        keys.Seal(f.Nonce.Reveal(), TableFlows, key, "nonce"),
		Features:     f.Features, Scopes: f.Scopes, Sub: f.Sub, ConnectID: f.ConnectID, CreatedAt: StampOf(f.CreatedAt),
	}
}

// DecodeFlow decodes the flow kept under key.
func DecodeFlow(key, data []byte) (Flow, error) {
	var r Flow
	err := Decode(fmt.Sprintf("flow %x", key[:min(8, len(key))]), data, &r)
	return r, err
}

// Open is the flow id kept under key, its secrets opened.
func (r *Flow) Open(keys *seal.Keyring, key []byte, id riscd.Secret) (riscd.Flow, error) {
	f := riscd.Flow{ID: id, Features: r.Features, Scopes: r.Scopes, Sub: r.Sub, ConnectID: r.ConnectID, CreatedAt: r.CreatedAt.Time()}
	for _, s := range r.secrets(&f) {
		plain, err := keys.Open(s.ct, TableFlows, key, s.field)
		if err != nil {
			return riscd.Flow{}, fmt.Errorf("store: flow %x: %w", key[:min(8, len(key))], err)
		}
		*s.dst = riscd.Secret(plain)
	}
	return f, nil
}

type sealedSecret struct {
	field string
	ct    []byte
	dst   *riscd.Secret
}

func (r *Flow) secrets(f *riscd.Flow) []sealedSecret {
	return []sealedSecret{{"state", r.State, &f.State}, {"pkce", r.PKCEVerifier, &f.PKCEVerifier}, {"nonce", r.Nonce, &f.Nonce}}
}

// Session is a browser session, kept under the SHA-256 of its ID (its
// key); its CSRF token is sealed.
type Session struct {
	V         int    `json:"v"`
	Sub       string `json:"sub,omitempty"`
	Email     string `json:"email,omitempty"`
	CSRF      []byte `json:"csrf,omitempty"`
	CreatedAt Stamp  `json:"ca,omitzero"`
	ExpiresAt Stamp  `json:"exp,omitzero"`
}

func (r *Session) version() int { return r.V }

// SealSession is the record of s kept under key, its CSRF token sealed.
func SealSession(keys *seal.Keyring, key []byte, s riscd.Session) Session {
	return Session{
		V: Version, Sub: s.Sub, Email: s.Email,
		CSRF:      keys.Seal(s.CSRF.Reveal(), TableSessions, key, "csrf"),
		CreatedAt: StampOf(s.CreatedAt), ExpiresAt: StampOf(s.ExpiresAt),
	}
}

// DecodeSession decodes the session kept under key.
func DecodeSession(key, data []byte) (Session, error) {
	var r Session
	err := Decode(fmt.Sprintf("session %x", key[:min(8, len(key))]), data, &r)
	return r, err
}

// Open is the session id kept under key, its CSRF token opened.
func (r *Session) Open(keys *seal.Keyring, key []byte, id riscd.Secret) (riscd.Session, error) {
	csrf, err := keys.Open(r.CSRF, TableSessions, key, "csrf")
	if err != nil {
		return riscd.Session{}, fmt.Errorf("store: session %x: %w", key[:min(8, len(key))], err)
	}
	return riscd.Session{ID: id, Sub: r.Sub, Email: r.Email, CSRF: riscd.Secret(csrf),
		CreatedAt: r.CreatedAt.Time(), ExpiresAt: r.ExpiresAt.Time()}, nil
}

// AdminSession is an admin page session, kept under the SHA-256 of its ID
// (its key); its CSRF token is sealed.
type AdminSession struct {
	V         int    `json:"v"`
	Operator  string `json:"op,omitempty"`
	CSRF      []byte `json:"csrf,omitempty"`
	CreatedAt Stamp  `json:"ca,omitzero"`
	ExpiresAt Stamp  `json:"exp,omitzero"`
}

func (r *AdminSession) version() int { return r.V }

// SealAdminSession is the record of s kept under key, its CSRF token
// sealed.
func SealAdminSession(keys *seal.Keyring, key []byte, s riscd.AdminSession) AdminSession {
	return AdminSession{
		V: Version, Operator: s.Operator, CSRF: keys.Seal(s.CSRF.Reveal(), TableAdminSessions, key, "csrf"),
		CreatedAt: StampOf(s.Created), ExpiresAt: StampOf(s.Expires),
	}
}

// DecodeAdminSession decodes the admin session kept under key.
func DecodeAdminSession(key, data []byte) (AdminSession, error) {
	var r AdminSession
	err := Decode(fmt.Sprintf("admin session %x", key[:min(8, len(key))]), data, &r)
	return r, err
}

// Open is the admin session id kept under key, its CSRF token opened.
func (r *AdminSession) Open(keys *seal.Keyring, key []byte, id riscd.Secret) (riscd.AdminSession, error) {
	csrf, err := keys.Open(r.CSRF, TableAdminSessions, key, "csrf")
	if err != nil {
		return riscd.AdminSession{}, fmt.Errorf("store: admin session %x: %w", key[:min(8, len(key))], err)
	}
	return riscd.AdminSession{ID: id, CSRF: riscd.Secret(csrf), Operator: r.Operator,
		Created: r.CreatedAt.Time(), Expires: r.ExpiresAt.Time()}, nil
}

// Outbox is an outbox job, kept under its id; its token is sealed, bound
// to U64Key(id).
type Outbox struct {
	V           int             `json:"v"`
	Kind        string          `json:"kind"`
	Key         string          `json:"key,omitempty"`
	Token       []byte          `json:"tok,omitempty"`
	Payload     json.RawMessage `json:"payload,omitempty"`
	GrantID     string          `json:"grant,omitempty"`
	CreatedAt   Stamp           `json:"ca,omitzero"`
	Deadline    Stamp           `json:"deadline,omitzero"`
	Status      string          `json:"st"`
	Attempts    int             `json:"n,omitempty"`
	LastError   string          `json:"err,omitempty"`
	NextAttempt Stamp           `json:"next,omitzero"`
	DoneAt      Stamp           `json:"done,omitzero"`
}

func (r *Outbox) version() int { return r.V }

// SealOutbox is the record of j, its token sealed and its payload
// compacted. ErrInvalid for a payload that is not JSON.
func SealOutbox(keys *seal.Keyring, j riscd.OutboxJob) (Outbox, error) {
	r := Outbox{
		V: Version, Kind: string(j.Kind), Key: j.Key,
		Token:   keys.Seal(j.Token.Reveal(), TableOutbox, U64Key(j.ID), "tok"),
		GrantID: j.GrantID, CreatedAt: StampOf(j.CreatedAt), Deadline: StampOf(j.Deadline),
		Status: string(j.Status), Attempts: j.Attempts, LastError: j.LastError,
		NextAttempt: StampOf(j.NextAttemptAt), DoneAt: StampOf(j.DoneAt),
	}
	if len(j.Payload) > 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, j.Payload); err != nil {
			return Outbox{}, fmt.Errorf("store: outbox job %d: payload: %v: %w", j.ID, err, riscd.ErrInvalid)
		}
		r.Payload = buf.Bytes()
	}
	return r, nil
}

// DecodeOutbox decodes the outbox job id.
func DecodeOutbox(id uint64, data []byte) (Outbox, error) {
	var r Outbox
	err := Decode(fmt.Sprintf("outbox job %d", id), data, &r)
	return r, err
}

// Open is the outbox job id, its token opened.
func (r *Outbox) Open(keys *seal.Keyring, id uint64) (riscd.OutboxJob, error) {
	tok, err := keys.Open(r.Token, TableOutbox, U64Key(id), "tok")
	if err != nil {
		return riscd.OutboxJob{}, fmt.Errorf("store: outbox job %d: %w", id, err)
	}
	return r.Job(id, riscd.Secret(tok)), nil
}

// Job is the outbox job id r keeps, with its token (already opened).
func (r *Outbox) Job(id uint64, token riscd.Secret) riscd.OutboxJob {
	return riscd.OutboxJob{
		ID: id, Kind: riscd.OutboxKind(r.Kind), Key: r.Key, Token: token, Payload: r.Payload,
		GrantID: r.GrantID, CreatedAt: r.CreatedAt.Time(), Deadline: r.Deadline.Time(),
		Status: riscd.OutboxStatus(r.Status), Attempts: r.Attempts, LastError: r.LastError,
		NextAttemptAt: r.NextAttempt.Time(), DoneAt: r.DoneAt.Time(),
	}
}
