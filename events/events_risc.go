package events

// CredentialCompromise (RISC 1.0 credential-compromise): a credential of the
// subject was compromised. CredentialType is required ("password", "pin",
// "x509", "fido2-platform", ...).
type CredentialCompromise struct {
	base
	CredentialType string
}

// IdentifierChanged (RISC 1.0 identifier-changed): the identifier in the
// subject (an email address or phone number) changed to NewValue ("" when
// the transmitter did not say).
type IdentifierChanged struct {
	base
	NewValue string
}

// IdentifierRecycled (RISC 1.0 identifier-recycled): the identifier in the
// subject now belongs to someone else.
type IdentifierRecycled struct{ base }

// OptIn (RISC 1.0 opt-in): the account opted in to RISC event exchange.
type OptIn struct{ base }

// OptOutInitiated (RISC 1.0 opt-out-initiated): the account asked to opt out.
type OptOutInitiated struct{ base }

// OptOutCancelled (RISC 1.0 opt-out-cancelled): the opt-out was cancelled.
type OptOutCancelled struct{ base }

// OptOutEffective (RISC 1.0 opt-out-effective): the opt-out took effect.
type OptOutEffective struct{ base }

// RecoveryActivated (RISC 1.0 recovery-activated): account recovery started.
type RecoveryActivated struct{ base }

// RecoveryInformationChanged (RISC 1.0 recovery-information-changed): the
// account's recovery information changed.
type RecoveryInformationChanged struct{ base }

func decodeCredentialCompromise(o object, b base, w string) (Event, error) {
	ct, err := o.requiredStr(w, "credential_type")
	if err != nil {
		return nil, err
	}
	return subjectOnly(b, w, CredentialCompromise{base: b, CredentialType: ct})
}

func decodeIdentifierChanged(o object, b base, w string) (Event, error) {
	// RISC 1.0 spells the member "new-value"; accept "new_value" too.
	nv, err := o.optionalStr(w, "new-value")
	if err != nil {
		return nil, err
	}
	if nv == "" {
		if nv, err = o.optionalStr(w, "new_value"); err != nil {
			return nil, err
		}
	}
	return subjectOnly(b, w, IdentifierChanged{base: b, NewValue: nv})
}

func decodeIdentifierRecycled(_ object, b base, w string) (Event, error) {
	return subjectOnly(b, w, IdentifierRecycled{b})
}

func decodeOptIn(_ object, b base, w string) (Event, error) {
	return subjectOnly(b, w, OptIn{b})
}

func decodeOptOutInitiated(_ object, b base, w string) (Event, error) {
	return subjectOnly(b, w, OptOutInitiated{b})
}

func decodeOptOutCancelled(_ object, b base, w string) (Event, error) {
	return subjectOnly(b, w, OptOutCancelled{b})
}

func decodeOptOutEffective(_ object, b base, w string) (Event, error) {
	return subjectOnly(b, w, OptOutEffective{b})
}

func decodeRecoveryActivated(_ object, b base, w string) (Event, error) {
	return subjectOnly(b, w, RecoveryActivated{b})
}

func decodeRecoveryInformationChanged(_ object, b base, w string) (Event, error) {
	return subjectOnly(b, w, RecoveryInformationChanged{b})
}
