package riscd

import (
	"time"
)

// Account is riscd's view of one Google subject, created on first consent (or
// by an event naming a known subject) and kept as a tombstone after a purge.
type Account struct {
	Sub                      string
	Email                    string
	SessionsRevokedAt        time.Time // apps end their sessions created before this
	SigninDisabled           bool
	Held                     bool
	Review                   bool
	ReconsentRequired        bool
	CredentialChangeRequired bool
	Purged                   bool
	Flags                    []string // free-form markers set by actions ("credential-change", ...)
	CreatedAt                time.Time
	UpdatedAt                time.Time
}

// NeedsAttention reports whether the account's state asks for an
// operator's eye: held, under review, sign-in disabled, re-consent or a
// credential change required, purged, or flagged.
func (a Account) NeedsAttention() bool {
	return a.Held || a.Review || a.SigninDisabled || a.ReconsentRequired || a.CredentialChangeRequired || a.Purged || len(a.Flags) > 0
}
