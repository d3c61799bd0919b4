package events

import "encoding/json"

// SessionRevoked (CAEP session-revoked): the session(s) the subject
// describes were revoked; with a complex subject, every session matching all
// its members. Meta.EventTimestamp, when set, is when.
type SessionRevoked struct{ base }

// CredentialChange (CAEP credential-change): a credential was created,
// revoked, updated or deleted. CredentialType ("password", "fido2-roaming",
// ...) and ChangeType ("create", "revoke", "update" or "delete", as CAEP's
// change_type) are required; the rest are "" when absent.
type CredentialChange struct {
	base
	CredentialType string
	ChangeType     string
	FriendlyName   string
	X509Issuer     string
	X509Serial     string
	FIDO2AAGUID    string
}

// TokenClaimsChange (CAEP token-claims-change): claims of the token the
// subject names changed. Claims is the required "claims" object, raw.
type TokenClaimsChange struct {
	base
	Claims json.RawMessage
}

// AssuranceLevelChange (CAEP assurance-level-change): the authentication
// assurance level changed. Namespace and CurrentLevel are required;
// PreviousLevel and ChangeDirection ("increase", "decrease") are "" when
// absent.
type AssuranceLevelChange struct {
	base
	Namespace       string
	CurrentLevel    string
	PreviousLevel   string
	ChangeDirection string
}

// DeviceComplianceChange (CAEP device-compliance-change): a device's
// compliance status changed, from PreviousStatus to CurrentStatus
// ("compliant", "not-compliant"); both are required.
type DeviceComplianceChange struct {
	base
	PreviousStatus string
	CurrentStatus  string
}

func decodeSessionRevoked(_ object, b base, w string) (Event, error) {
	return subjectOnly(b, w, SessionRevoked{b})
}

func decodeCredentialChange(o object, b base, w string) (Event, error) {
	e := CredentialChange{base: b}
	var err error
	if e.CredentialType, err = o.requiredStr(w, "credential_type"); err != nil {
		return nil, err
	}
	if e.ChangeType, err = o.requiredStr(w, "change_type"); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"friendly_name", &e.FriendlyName},
		{"x509_issuer", &e.X509Issuer},
		{"x509_serial", &e.X509Serial},
		{"fido2_aaguid", &e.FIDO2AAGUID},
	} {
		if *f.dst, err = o.optionalStr(w, f.name); err != nil {
			return nil, err
		}
	}
	return subjectOnly(b, w, e)
}

func decodeTokenClaimsChange(o object, b base, w string) (Event, error) {
	v, ok := o.value("claims")
	if !ok {
		return nil, malformed("%s: claims is missing", w)
	}
	if !isKind(v, '{') {
		return nil, malformed("%s: claims is not an object", w)
	}
	return subjectOnly(b, w, TokenClaimsChange{base: b, Claims: append(json.RawMessage(nil), v...)})
}

func decodeAssuranceLevelChange(o object, b base, w string) (Event, error) {
	e := AssuranceLevelChange{base: b}
	var err error
	if e.Namespace, err = o.requiredStr(w, "namespace"); err != nil {
		return nil, err
	}
	if e.CurrentLevel, err = o.requiredStr(w, "current_level"); err != nil {
		return nil, err
	}
	if e.PreviousLevel, err = o.optionalStr(w, "previous_level"); err != nil {
		return nil, err
	}
	if e.ChangeDirection, err = o.optionalStr(w, "change_direction"); err != nil {
		return nil, err
	}
	return subjectOnly(b, w, e)
}

func decodeDeviceComplianceChange(o object, b base, w string) (Event, error) {
	e := DeviceComplianceChange{base: b}
	var err error
	if e.PreviousStatus, err = o.requiredStr(w, "previous_status"); err != nil {
		return nil, err
	}
	if e.CurrentStatus, err = o.requiredStr(w, "current_status"); err != nil {
		return nil, err
	}
	return subjectOnly(b, w, e)
}
