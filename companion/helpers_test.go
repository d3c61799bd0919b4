package companion_test

import "time"

// subjectJSON is GET /v1/subjects/{sub}'s answer.
type subjectJSON struct {
	Sub                      string     `json:"sub"`
	SessionsRevokedAt        *time.Time `json:"sessions_revoked_at"`
	SigninDisabled           bool       `json:"signin_disabled"`
	Held                     bool       `json:"held"`
	Review                   bool       `json:"review"`
	ReconsentRequired        bool       `json:"reconsent_required"`
	CredentialChangeRequired bool       `json:"credential_change_required"`
	Purged                   bool       `json:"purged"`
	Grants                   []struct {
		ID     string   `json:"id"`
		Scopes []string `json:"scopes"`
		Status string   `json:"status"`
		Reason string   `json:"reason"`
	} `json:"grants"`
}
