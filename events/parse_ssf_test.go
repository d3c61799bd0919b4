package events

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

const ssfUserJSON = `{"format": "iss_sub", "iss": "https://idp.example.com/123456789/", "sub": "99beb27c-c1c2-4955-882a-e0dc4996fcbc"}`

var ssfUser = IssSub{Iss: ssfIss, Sub: "99beb27c-c1c2-4955-882a-e0dc4996fcbc"}

// Every event type under SSF, with its subject from sub_id.
func TestParseSSFEvents(t *testing.T) {
	b := func(uri string) base { return base{uri: uri, subject: ssfUser} }
	tests := []struct {
		name  string
		uri   string
		event string
		want  Event
	}{
		{"caep session-revoked", TypeSessionRevoked, `{}`, SessionRevoked{b(TypeSessionRevoked)}},
		{"caep credential-change", TypeCredentialChange,
			`{"credential_type": "fido2-roaming", "change_type": "create", "fido2_aaguid": "accced6a-63f5-490a-9eea-e59bc1896cfc", "friendly_name": "Jane's USB authenticator", "x509_issuer": "CN=ca", "x509_serial": "01"}`,
			CredentialChange{base: b(TypeCredentialChange), CredentialType: "fido2-roaming", ChangeType: "create",
				FIDO2AAGUID: "accced6a-63f5-490a-9eea-e59bc1896cfc", FriendlyName: "Jane's USB authenticator", X509Issuer: "CN=ca", X509Serial: "01"}},
		{"caep token-claims-change", TypeTokenClaimsChange, `{"claims": {"role": "ro-admin"}}`,
			TokenClaimsChange{base: b(TypeTokenClaimsChange), Claims: json.RawMessage(`{"role": "ro-admin"}`)}},
		{"caep assurance-level-change", TypeAssuranceLevelChange,
			`{"namespace": "NIST-AAL", "current_level": "nist-aal2", "previous_level": "nist-aal1", "change_direction": "increase"}`,
			AssuranceLevelChange{base: b(TypeAssuranceLevelChange), Namespace: "NIST-AAL", CurrentLevel: "nist-aal2", PreviousLevel: "nist-aal1", ChangeDirection: "increase"}},
		{"caep assurance-level-change required only", TypeAssuranceLevelChange, `{"namespace": "Retinal Scan", "current_level": "hi-res-scan"}`,
			AssuranceLevelChange{base: b(TypeAssuranceLevelChange), Namespace: "Retinal Scan", CurrentLevel: "hi-res-scan"}},
		{"caep device-compliance-change", TypeDeviceComplianceChange, `{"current_status": "not-compliant", "previous_status": "compliant"}`,
			DeviceComplianceChange{base: b(TypeDeviceComplianceChange), CurrentStatus: "not-compliant", PreviousStatus: "compliant"}},
		{"risc account-disabled", TypeAccountDisabled, `{"reason": "hijacking"}`, AccountDisabled{base: b(TypeAccountDisabled), Reason: "hijacking"}},
		{"risc account-enabled", TypeAccountEnabled, `{}`, AccountEnabled{b(TypeAccountEnabled)}},
		{"risc account-purged", TypeAccountPurged, `{}`, AccountPurged{b(TypeAccountPurged)}},
		{"risc account-credential-change-required", TypeAccountCredentialChangeRequired, `{}`, AccountCredentialChangeRequired{b(TypeAccountCredentialChangeRequired)}},
		{"risc credential-compromise", TypeCredentialCompromise, `{"credential_type": "password"}`,
			CredentialCompromise{base: b(TypeCredentialCompromise), CredentialType: "password"}},
		{"risc identifier-changed", TypeIdentifierChanged, `{"new-value": "john.roe@example.com"}`,
			IdentifierChanged{base: b(TypeIdentifierChanged), NewValue: "john.roe@example.com"}},
		{"risc identifier-changed underscore", TypeIdentifierChanged, `{"new_value": "john.roe@example.com"}`,
			IdentifierChanged{base: b(TypeIdentifierChanged), NewValue: "john.roe@example.com"}},
		{"risc identifier-changed no value", TypeIdentifierChanged, `{}`, IdentifierChanged{base: b(TypeIdentifierChanged)}},
		{"risc identifier-recycled", TypeIdentifierRecycled, `{}`, IdentifierRecycled{b(TypeIdentifierRecycled)}},
		{"risc opt-in", TypeOptIn, `{}`, OptIn{b(TypeOptIn)}},
		{"risc opt-out-initiated", TypeOptOutInitiated, `{}`, OptOutInitiated{b(TypeOptOutInitiated)}},
		{"risc opt-out-cancelled", TypeOptOutCancelled, `{}`, OptOutCancelled{b(TypeOptOutCancelled)}},
		{"risc opt-out-effective", TypeOptOutEffective, `{}`, OptOutEffective{b(TypeOptOutEffective)}},
		{"risc recovery-activated", TypeRecoveryActivated, `{}`, RecoveryActivated{b(TypeRecoveryActivated)}},
		{"risc recovery-information-changed", TypeRecoveryInformationChanged, `{}`, RecoveryInformationChanged{b(TypeRecoveryInformationChanged)}},
		{"risc sessions-revoked", TypeSessionsRevoked, `{}`, SessionsRevoked{b(TypeSessionsRevoked)}},
		{"oauth tokens-revoked", TypeTokensRevoked, `{}`, TokensRevoked{b(TypeTokensRevoked)}},
		{"ssf verification", TypeSSFVerification, `{"state": "VGhpcyBpcyBhbiBleGFtcGxlIHN0YXRlIHZhbHVlLgo="}`,
			Verification{base: b(TypeSSFVerification), State: "VGhpcyBpcyBhbiBleGFtcGxlIHN0YXRlIHZhbHVlLgo="}},
		{"ssf stream-updated", TypeStreamUpdated, `{"status": "paused", "reason": "License is not valid"}`,
			StreamUpdated{base: b(TypeStreamUpdated), Status: StreamPaused, Reason: "License is not valid"}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.uri] = true
		t.Run(tt.name, func(t *testing.T) {
			set := mustParse(t, ssfSET(ssfUserJSON, tt.uri, tt.event), FormatSSF)
			assertEvent(t, onlyEvent(t, set), tt.want)
			if !reflect.DeepEqual(set.SubID, ssfUser) {
				t.Errorf("sub_id = %#v, want %#v", set.SubID, ssfUser)
			}
			if set.TXN != "8675309" {
				t.Errorf("txn = %q, want 8675309", set.TXN)
			}
		})
	}
	for _, uri := range NewRegistry().Types() {
		if !seen[uri] && uri != TypeTokenRevoked && uri != TypeRISCVerification {
			t.Errorf("event type %s has no SSF case", uri)
		}
	}
}

// sub_id in every RFC 9493 format, SSF's additions, complex and aliases.
func TestParseSSFSubIDFormats(t *testing.T) {
	tests := []struct {
		name  string
		subID string
		want  Subject
		key   string
	}{
		{"iss_sub", ssfUserJSON, ssfUser, "iss_sub:https://idp.example.com/123456789|99beb27c-c1c2-4955-882a-e0dc4996fcbc"},
		{"email", `{"format": "email", "email": "User@Example.com"}`, Email{Address: "User@Example.com"}, "email:user@example.com"},
		{"phone_number", `{"format": "phone_number", "phone_number": "+12065550100"}`, Phone{Number: "+12065550100"}, "phone_number:+12065550100"},
		{"opaque", `{"format": "opaque", "id": "11112222333344445555"}`, Opaque{ID: "11112222333344445555"}, "opaque:11112222333344445555"},
		{"account", `{"format": "account", "uri": "acct:example.user@service.example.com"}`, Account{URI: "acct:example.user@service.example.com"}, "account:acct:example.user@service.example.com"},
		{"did", `{"format": "did", "url": "did:example:123456"}`, DID{URL: "did:example:123456"}, "did:did:example:123456"},
		{"uri", `{"format": "uri", "uri": "https://user.example.com/"}`, URI{URI: "https://user.example.com/"}, "uri:https://user.example.com/"},
		{"jwt_id", `{"format": "jwt_id", "iss": "https://idp.example.com/987654321/", "jti": "f61t6e20zdo3px56gepu8rzlsp4c1dpc0fx7"}`,
			JWTID{Iss: "https://idp.example.com/987654321/", JTI: "f61t6e20zdo3px56gepu8rzlsp4c1dpc0fx7"}, "jwt_id:https://idp.example.com/987654321/|f61t6e20zdo3px56gepu8rzlsp4c1dpc0fx7"},
		{"jwt-id draft spelling", `{"format": "jwt-id", "iss": "https://idp.example.com/", "jti": "B70BA622"}`,
			JWTID{Iss: "https://idp.example.com/", JTI: "B70BA622"}, "jwt_id:https://idp.example.com/|B70BA622"},
		{"saml_assertion_id", `{"format": "saml_assertion_id", "issuer": "https://idp.example.com/987654321/", "assertion_id": "_a75adf55-01d7-dbd8372ebdfc"}`,
			SAMLAssertionID{Issuer: "https://idp.example.com/987654321/", AssertionID: "_a75adf55-01d7-dbd8372ebdfc"}, "saml_assertion_id:https://idp.example.com/987654321/|_a75adf55-01d7-dbd8372ebdfc"},
		{"aliases", `{"format": "aliases", "identifiers": [{"format": "email", "email": "user@example.com"}, {"format": "phone_number", "phone_number": "+12065550100"}, ` + ssfUserJSON + `]}`,
			Aliases{Identifiers: []Subject{Email{Address: "user@example.com"}, Phone{Number: "+12065550100"}, ssfUser}},
			"iss_sub:https://idp.example.com/123456789|99beb27c-c1c2-4955-882a-e0dc4996fcbc"},
		{"aliases without iss_sub", `{"format": "aliases", "identifiers": [{"format": "email", "email": "user@example.com"}, {"format": "opaque", "id": "x"}]}`,
			Aliases{Identifiers: []Subject{Email{Address: "user@example.com"}, Opaque{ID: "x"}}}, "email:user@example.com"},
		{"complex", `{"format": "complex", "session": {"format": "opaque", "id": "dMTlD|1600802906337.16|16008.16"}, "user": ` + ssfUserJSON + `, "tenant": {"format": "opaque", "id": "123456789"}}`,
			Complex{User: ssfUser, Session: Opaque{ID: "dMTlD|1600802906337.16|16008.16"}, Tenant: Opaque{ID: "123456789"}},
			"iss_sub:https://idp.example.com/123456789|99beb27c-c1c2-4955-882a-e0dc4996fcbc"},
		{"complex every member", `{"format": "complex", "user": {"format": "email", "email": "u@example.com"}, "session": {"format": "opaque", "id": "s"}, "device": {"format": "opaque", "id": "d"}, "application": {"format": "opaque", "id": "a"}, "tenant": {"format": "opaque", "id": "t"}, "org_unit": {"format": "opaque", "id": "o"}, "group": {"format": "opaque", "id": "g"}, "x-vendor": {"format": "opaque", "id": "v"}}`,
			Complex{User: Email{Address: "u@example.com"}, Session: Opaque{ID: "s"}, Device: Opaque{ID: "d"}, Application: Opaque{ID: "a"},
				Tenant: Opaque{ID: "t"}, OrgUnit: Opaque{ID: "o"}, Group: Opaque{ID: "g"}, Other: map[string]Subject{"x-vendor": Opaque{ID: "v"}}},
			"email:u@example.com"},
		{"complex without user", `{"format": "complex", "device": ` + ssfUserJSON + `, "tenant": {"format": "opaque", "id": "123456789"}}`,
			Complex{Device: ssfUser, Tenant: Opaque{ID: "123456789"}},
			"iss_sub:https://idp.example.com/123456789|99beb27c-c1c2-4955-882a-e0dc4996fcbc"},
		{"complex without format", `{"user": {"format": "email", "email": "bar@example.com"}, "tenant": {"format": "iss_sub", "iss": "http://example.com/idp1", "sub": "1234"}}`,
			Complex{User: Email{Address: "bar@example.com"}, Tenant: IssSub{Iss: "http://example.com/idp1", Sub: "1234"}}, "email:bar@example.com"},
		{"complex with aliases user", `{"format": "complex", "user": {"format": "aliases", "identifiers": [{"format": "email", "email": "u@example.com"}]}}`,
			Complex{User: Aliases{Identifiers: []Subject{Email{Address: "u@example.com"}}}}, "email:u@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := mustParse(t, ssfSET(tt.subID, TypeSessionRevoked, `{}`), FormatSSF)
			if !reflect.DeepEqual(set.SubID, tt.want) {
				t.Errorf("sub_id:\n got %#v\nwant %#v", set.SubID, tt.want)
			}
			if got := onlyEvent(t, set).Subject(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("event subject = %#v, want sub_id", got)
			}
			if got := set.Key(); got != tt.key {
				t.Errorf("Key() = %q, want %q", got, tt.key)
			}
			if s := set.SubID.String(); s == "" || len(s) > 200 {
				t.Errorf("String() = %q, want short and non-empty", s)
			}
		})
	}
}

// The CAEP example with every optional member.
func TestParseCAEPMetadata(t *testing.T) {
	subID := `{"format": "complex", "user": ` + ssfUserJSON + `, "device": {"format": "iss_sub", "iss": "https://idp.example.com/123456789/", "sub": "e9297990"}, "tenant": {"format": "opaque", "id": "123456789"}}`
	event := `{"initiating_entity": "policy", "reason_admin": {"en": "Policy Violation: C076E822"}, "reason_user": {"en": "This device is no longer compliant.", "it": "Questo dispositivo non è più conforme."}, "event_timestamp": 1615304991}`
	set := mustParse(t, ssfSET(subID, TypeSessionRevoked, event), FormatSSF)
	m := onlyEvent(t, set).Metadata()
	want := Meta{
		EventTimestamp:   time.Unix(1615304991, 0).UTC(),
		InitiatingEntity: "policy",
		ReasonAdmin:      Reason{"en": "Policy Violation: C076E822"},
		ReasonUser:       Reason{"en": "This device is no longer compliant.", "it": "Questo dispositivo non è più conforme."},
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("meta:\n got %#v\nwant %#v", m, want)
	}
	if got := m.ReasonUser.Text("it"); got != "Questo dispositivo non è più conforme." {
		t.Errorf("Text(it) = %q", got)
	}
	if got := m.ReasonUser.Text("fr"); got != "This device is no longer compliant." {
		t.Errorf("Text(fr) = %q, want the en text", got)
	}
	u, ok := IssSubOf(set.Subject())
	if !ok || u != ssfUser {
		t.Errorf("IssSubOf = %v, %v; want %v", u, ok, ssfUser)
	}
}

func TestParseReasonPlainString(t *testing.T) {
	// SSF's own example sends reasons as plain strings.
	event := `{"reason_admin": "Policy Violation: C076E82F", "reason_user": "Landspeed violation.", "event_timestamp": 1600975810.5}`
	set := mustParse(t, ssfSET(ssfUserJSON, TypeSessionRevoked, event), FormatSSF)
	m := onlyEvent(t, set).Metadata()
	if got := m.ReasonAdmin.Text("en"); got != "Policy Violation: C076E82F" {
		t.Errorf("reason_admin = %q", got)
	}
	if got := m.ReasonUser[""]; got != "Landspeed violation." {
		t.Errorf("reason_user = %q", got)
	}
	if want := time.Unix(1600975810, 500_000_000).UTC(); !m.EventTimestamp.Equal(want) {
		t.Errorf("event_timestamp = %v, want %v", m.EventTimestamp, want)
	}
}

// RISC 1.0 and CAEP events may carry their own subject; it wins over sub_id.
func TestParseEventOwnSubject(t *testing.T) {
	event := `{"subject": {"format": "email", "email": "foo@example.com"}}`
	set := mustParse(t, ssfSET(ssfUserJSON, TypeAccountEnabled, event), FormatSSF)
	if got, want := onlyEvent(t, set).Subject(), (Email{Address: "foo@example.com"}); !reflect.DeepEqual(got, want) {
		t.Errorf("event subject = %#v, want %#v", got, want)
	}
	if !reflect.DeepEqual(set.Subject(), ssfUser) {
		t.Errorf("SET subject = %#v, want sub_id", set.Subject())
	}
}

func TestParseSSFExtras(t *testing.T) {
	payload := []byte(`{"iss": "https://idp.example.com/", "aud": ["a", "b"], "iat": 1615305159.25, "jti": "j1", "toe": 1615305000, "exp": "ignored", "sub_id": ` + ssfUserJSON + `,
		"events": {"` + TypeCredentialChange + `": {"credential_type": "password", "change_type": "update"}, "https://example.com/vendor-event": {"x": [1, 2]}}}`)
	set := mustParse(t, payload, FormatSSF)
	if !reflect.DeepEqual(set.Aud, []string{"a", "b"}) {
		t.Errorf("aud = %q", set.Aud)
	}
	if want := time.Unix(1615305159, 250_000_000).UTC(); !set.IAT.Equal(want) {
		t.Errorf("iat = %v, want %v", set.IAT, want)
	}
	if want := time.Unix(1615305000, 0).UTC(); !set.TOE.Equal(want) {
		t.Errorf("toe = %v, want %v", set.TOE, want)
	}
	if got, want := set.Types(), []string{TypeCredentialChange, "https://example.com/vendor-event"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Types() = %q, want %q (document order)", got, want)
	}
}

func TestParseUnknownKept(t *testing.T) {
	const uri = "https://schemas.openid.net/secevent/caep/event-type/session-established"
	raw := `{"fp_ua": "abb0b6e7", "acr": "AAL2", "amr": ["otp"], "event_timestamp": 1615304991}`
	t.Run("ssf", func(t *testing.T) {
		set := mustParse(t, ssfSET(`{"format": "email", "email": "someuser@somedomain.com"}`, uri, raw), FormatSSF)
		u, ok := onlyEvent(t, set).(Unknown)
		if !ok {
			t.Fatalf("event is %T, want Unknown", set.Events[0])
		}
		if u.URI != uri || u.Type() != uri {
			t.Errorf("URI, Type() = %q, %q; want %q", u.URI, u.Type(), uri)
		}
		if string(u.Raw) != raw {
			t.Errorf("Raw = %s, want %s", u.Raw, raw)
		}
		if !reflect.DeepEqual(u.Subject(), Email{Address: "someuser@somedomain.com"}) {
			t.Errorf("subject = %#v, want sub_id", u.Subject())
		}
		if !u.Metadata().EventTimestamp.Equal(time.Unix(1615304991, 0)) {
			t.Errorf("event_timestamp = %v", u.Metadata().EventTimestamp)
		}
		if ShortName(uri) != "unknown" {
			t.Errorf("ShortName = %q, want unknown", ShortName(uri))
		}
	})
	t.Run("google with own subject and odd members", func(t *testing.T) {
		event := `{"subject": ` + issSubJSON + `, "reason_admin": 5, "anything": {"nested": [true]}}`
		set := mustParse(t, googleSET("https://schemas.openid.net/secevent/risc/event-type/future-thing", event), FormatGoogle)
		u, ok := onlyEvent(t, set).(Unknown)
		if !ok {
			t.Fatalf("event is %T, want Unknown", set.Events[0])
		}
		if !reflect.DeepEqual(u.Subject(), googleUser) {
			t.Errorf("subject = %#v, want %#v", u.Subject(), googleUser)
		}
		if string(u.Raw) != event {
			t.Errorf("Raw = %s, want %s", u.Raw, event)
		}
	})
	t.Run("unknown subject format kept", func(t *testing.T) {
		event := `{"subject": {"format": "catalog_item", "catalog_id": "c0384/winter/2354122"}, "claims": {"role": "ro-admin"}}`
		set := mustParse(t, ssfSET(ssfUserJSON, TypeTokenClaimsChange, event), FormatSSF)
		s, ok := onlyEvent(t, set).Subject().(UnknownSubject)
		if !ok {
			t.Fatalf("subject is %T, want UnknownSubject", onlyEvent(t, set).Subject())
		}
		if s.Format() != "catalog_item" || string(s.Raw) != `{"format": "catalog_item", "catalog_id": "c0384/winter/2354122"}` {
			t.Errorf("unknown subject = %q %s", s.Format(), s.Raw)
		}
	})
}

func TestRegistryNamesRoundTrip(t *testing.T) {
	r := NewRegistry()
	names := map[string]bool{}
	for _, uri := range r.Types() {
		name := ShortName(uri)
		if name == "unknown" || names[name] {
			t.Errorf("ShortName(%s) = %q: unknown or duplicate", uri, name)
		}
		names[name] = true
		back, ok := TypeForName(name)
		if !ok || back != uri {
			t.Errorf("TypeForName(%q) = %q, %v; want %q", name, back, ok, uri)
		}
		if !r.Known(uri) {
			t.Errorf("Known(%s) = false", uri)
		}
	}
	if len(r.Types()) != 24 {
		t.Errorf("registry knows %d types, want 24", len(r.Types()))
	}
	if _, ok := TypeForName("caep:session-established"); ok {
		t.Error("TypeForName accepted an unknown name")
	}
	for name, want := range map[string]string{
		"sessions-revoked": TypeSessionsRevoked, "tokens-revoked": TypeTokensRevoked,
		"caep:session-revoked": TypeSessionRevoked, "ssf:verification": TypeSSFVerification,
		"verification": TypeRISCVerification,
	} {
		if got, _ := TypeForName(name); got != want {
			t.Errorf("TypeForName(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestRegistriesAreIndependent(t *testing.T) {
	a, b := NewRegistry(), NewRegistry()
	delete(a.types, TypeSessionRevoked)
	if !b.Known(TypeSessionRevoked) {
		t.Error("changing one registry changed another")
	}
}

func TestOccurredAt(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    int64
	}{
		{"event_timestamp wins", []byte(`{"iss": "i", "iat": 300, "toe": 200, "jti": "j", "sub_id": {"format": "opaque", "id": "x"}, "events": {"` + TypeSessionRevoked + `": {"event_timestamp": 100}}}`), 100},
		{"then toe", []byte(`{"iss": "i", "iat": 300, "toe": 200, "jti": "j", "sub_id": {"format": "opaque", "id": "x"}, "events": {"` + TypeSessionRevoked + `": {}}}`), 200},
		{"then iat", []byte(`{"iss": "i", "iat": 300, "jti": "j", "sub_id": {"format": "opaque", "id": "x"}, "events": {"` + TypeSessionRevoked + `": {}}}`), 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := mustParse(t, tt.payload, FormatSSF)
			if got := set.OccurredAt(onlyEvent(t, set)); !got.Equal(time.Unix(tt.want, 0)) {
				t.Errorf("OccurredAt = %v, want %v", got, time.Unix(tt.want, 0).UTC())
			}
		})
	}
}
