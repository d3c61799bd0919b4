package events

// Event-type URIs. Google's two token events live in the "oauth" namespace,
// not the "risc" one; requesting .../risc/event-type/tokens-revoked is a
// mistake production receivers made.
const (
	// Google legacy and RISC 1.0 (https://schemas.openid.net/secevent/risc/event-type/).
	TypeSessionsRevoked                 = "https://schemas.openid.net/secevent/risc/event-type/sessions-revoked"
	TypeAccountDisabled                 = "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
	TypeAccountEnabled                  = "https://schemas.openid.net/secevent/risc/event-type/account-enabled"
	TypeAccountPurged                   = "https://schemas.openid.net/secevent/risc/event-type/account-purged"
	TypeAccountCredentialChangeRequired = "https://schemas.openid.net/secevent/risc/event-type/account-credential-change-required"
	TypeCredentialCompromise            = "https://schemas.openid.net/secevent/risc/event-type/credential-compromise"
	TypeIdentifierChanged               = "https://schemas.openid.net/secevent/risc/event-type/identifier-changed"
	TypeIdentifierRecycled              = "https://schemas.openid.net/secevent/risc/event-type/identifier-recycled"
	TypeOptIn                           = "https://schemas.openid.net/secevent/risc/event-type/opt-in"
	TypeOptOutInitiated                 = "https://schemas.openid.net/secevent/risc/event-type/opt-out-initiated"
	TypeOptOutCancelled                 = "https://schemas.openid.net/secevent/risc/event-type/opt-out-cancelled"
	TypeOptOutEffective                 = "https://schemas.openid.net/secevent/risc/event-type/opt-out-effective"
	TypeRecoveryActivated               = "https://schemas.openid.net/secevent/risc/event-type/recovery-activated"
	TypeRecoveryInformationChanged      = "https://schemas.openid.net/secevent/risc/event-type/recovery-information-changed"
	TypeRISCVerification                = "https://schemas.openid.net/secevent/risc/event-type/verification"

	// Google's token events (https://schemas.openid.net/secevent/oauth/event-type/).
	TypeTokensRevoked = "https://schemas.openid.net/secevent/oauth/event-type/tokens-revoked"
	TypeTokenRevoked  = "https://schemas.openid.net/secevent/oauth/event-type/token-revoked"

	// CAEP 1.0 (https://schemas.openid.net/secevent/caep/event-type/).
	TypeSessionRevoked         = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
	TypeCredentialChange       = "https://schemas.openid.net/secevent/caep/event-type/credential-change"
	TypeTokenClaimsChange      = "https://schemas.openid.net/secevent/caep/event-type/token-claims-change"
	TypeAssuranceLevelChange   = "https://schemas.openid.net/secevent/caep/event-type/assurance-level-change"
	TypeDeviceComplianceChange = "https://schemas.openid.net/secevent/caep/event-type/device-compliance-change"

	// Shared Signals Framework 1.0 (https://schemas.openid.net/secevent/ssf/event-type/).
	TypeSSFVerification = "https://schemas.openid.net/secevent/ssf/event-type/verification"
	TypeStreamUpdated   = "https://schemas.openid.net/secevent/ssf/event-type/stream-updated"
)

// eventType describes one known event type: its URI, its short name (used in
// configuration keys and metric labels) and its decoder.
type eventType struct {
	uri    string
	name   string
	decode decodeFunc
}

// knownTypes returns a fresh table of every event type this package decodes.
// It is a function, not a package variable, so nothing can mutate it.
func knownTypes() []eventType {
	return []eventType{
		{TypeSessionsRevoked, "sessions-revoked", decodeSessionsRevoked},
		{TypeTokensRevoked, "tokens-revoked", decodeTokensRevoked},
		{TypeTokenRevoked, "token-revoked", decodeTokenRevoked},
		{TypeAccountDisabled, "account-disabled", decodeAccountDisabled},
		{TypeAccountEnabled, "account-enabled", decodeAccountEnabled},
		{TypeAccountPurged, "account-purged", decodeAccountPurged},
		{TypeAccountCredentialChangeRequired, "account-credential-change-required", decodeAccountCredentialChangeRequired},
		{TypeCredentialCompromise, "credential-compromise", decodeCredentialCompromise},
		{TypeIdentifierChanged, "identifier-changed", decodeIdentifierChanged},
		{TypeIdentifierRecycled, "identifier-recycled", decodeIdentifierRecycled},
		{TypeOptIn, "opt-in", decodeOptIn},
		{TypeOptOutInitiated, "opt-out-initiated", decodeOptOutInitiated},
		{TypeOptOutCancelled, "opt-out-cancelled", decodeOptOutCancelled},
		{TypeOptOutEffective, "opt-out-effective", decodeOptOutEffective},
		{TypeRecoveryActivated, "recovery-activated", decodeRecoveryActivated},
		{TypeRecoveryInformationChanged, "recovery-information-changed", decodeRecoveryInformationChanged},
		{TypeRISCVerification, "verification", decodeVerification},
		{TypeSessionRevoked, "caep:session-revoked", decodeSessionRevoked},
		{TypeCredentialChange, "caep:credential-change", decodeCredentialChange},
		{TypeTokenClaimsChange, "caep:token-claims-change", decodeTokenClaimsChange},
		{TypeAssuranceLevelChange, "caep:assurance-level-change", decodeAssuranceLevelChange},
		{TypeDeviceComplianceChange, "caep:device-compliance-change", decodeDeviceComplianceChange},
		{TypeSSFVerification, "ssf:verification", decodeVerification},
		{TypeStreamUpdated, "ssf:stream-updated", decodeStreamUpdated},
	}
}

// ShortName returns the short name of a known event-type URI
// ("sessions-revoked", "caep:session-revoked", "ssf:verification", ...), for
// configuration keys and metric labels. It returns "unknown" for a URI this
// package does not know, so a label set stays bounded.
func ShortName(uri string) string {
	for _, t := range knownTypes() {
		if t.uri == uri {
			return t.name
		}
	}
	return "unknown"
}

// TypeForName returns the event-type URI a short name stands for, and false
// when the name is not one ShortName returns for a known type.
func TypeForName(name string) (string, bool) {
	for _, t := range knownTypes() {
		if t.name == name {
			return t.uri, true
		}
	}
	return "", false
}
