package riscd

// States of a grant that cannot serve an access token, as the token broker
// reports them (package lifecycle's StateError, the GrantState contract of
// package admin's TokenBroker) and the companion API answers them.
const (
	StateHeld              = "held"               // grants held after an account event until released
	StateRevoked           = "revoked"            // tokens discarded; the user must consent again
	StateReconsentRequired = "reconsent_required" // the account must consent again
	StateReauthRequired    = "reauth_required"    // Google demands re-authentication (invalid_rapt)
)

// ReasonNoRefreshToken is the reason reported with StateReconsentRequired
// for an active grant whose access token is used up and that has no refresh
// token (a provider that issued none).
const ReasonNoRefreshToken = "no refresh token"
