package events

import (
	"errors"
	"strings"
	"testing"
)

func TestParseMalformed(t *testing.T) {
	ev := `{"` + TypeSessionsRevoked + `": {"subject": ` + issSubJSON + `}}`
	g := func(claims string) []byte { return []byte(`{` + claims + `}`) }
	base := `"iss": "https://accounts.google.com/", "iat": 1508184845, "jti": "j", `
	ssfBase := `"iss": "https://idp.example.com/", "iat": 1508184845, "jti": "j", `
	sub := `"sub_id": ` + ssfUserJSON + `, `
	tests := []struct {
		name    string
		payload []byte
		f       Format
		want    string // expected description
	}{
		{"empty", nil, FormatGoogle, "not valid JSON"},
		{"not JSON", []byte("eyJhbGciOi"), FormatGoogle, "not valid JSON"},
		{"array", []byte(`[1]`), FormatGoogle, "not a JSON object"},
		{"string", []byte(`"x"`), FormatGoogle, "not a JSON object"},
		{"trailing data", append(g(base+`"events": `+ev), '{', '}'), FormatGoogle, "data after the JSON object"},
		{"truncated", g(base + `"events": ` + ev)[:40], FormatGoogle, "not valid JSON"},
		{"iss missing", g(`"iat": 1, "jti": "j", "events": ` + ev), FormatGoogle, "claims: iss is missing"},
		{"iss null", g(`"iss": null, "iat": 1, "jti": "j", "events": ` + ev), FormatGoogle, "claims: iss is missing"},
		{"iss number", g(`"iss": 5, "iat": 1, "jti": "j", "events": ` + ev), FormatGoogle, "claims: iss is not a string"},
		{"iss empty", g(`"iss": "", "iat": 1, "jti": "j", "events": ` + ev), FormatGoogle, "claims: iss is empty"},
		{"aud number", g(base + `"aud": 5, "events": ` + ev), FormatGoogle, "claims: aud is neither a string nor an array of strings"},
		{"aud object", g(base + `"aud": {}, "events": ` + ev), FormatGoogle, "claims: aud is neither a string nor an array of strings"},
		{"aud array of numbers", g(base + `"aud": ["a", 5], "events": ` + ev), FormatGoogle, "claims: aud holds a value that is not a string"},
		{"iat missing", g(`"iss": "i", "jti": "j", "events": ` + ev), FormatGoogle, "claims: iat is missing"},
		{"iat string", g(`"iss": "i", "iat": "1508184845", "jti": "j", "events": ` + ev), FormatGoogle, "claims: iat is not a number"},
		{"iat bool", g(`"iss": "i", "iat": true, "jti": "j", "events": ` + ev), FormatGoogle, "claims: iat is not a number"},
		{"iat negative", g(`"iss": "i", "iat": -1, "jti": "j", "events": ` + ev), FormatGoogle, "claims: iat is out of range"},
		{"iat huge", g(`"iss": "i", "iat": 1e300, "jti": "j", "events": ` + ev), FormatGoogle, "claims: iat is out of range"},
		{"iat overflow", g(`"iss": "i", "iat": 1e400, "jti": "j", "events": ` + ev), FormatGoogle, "claims: iat is out of range"},
		{"jti missing", g(`"iss": "i", "iat": 1, "events": ` + ev), FormatGoogle, "claims: jti is missing"},
		{"jti number", g(`"iss": "i", "iat": 1, "jti": 7, "events": ` + ev), FormatGoogle, "claims: jti is not a string"},
		{"jti empty", g(`"iss": "i", "iat": 1, "jti": "", "events": ` + ev), FormatGoogle, "claims: jti is empty"},
		{"jti too long", g(`"iss": "i", "iat": 1, "jti": "` + strings.Repeat("é", 257) + `", "events": ` + ev), FormatGoogle, "claims: jti is longer than 256 characters"},
		{"txn number", g(base + `"txn": 1, "events": ` + ev), FormatGoogle, "claims: txn is not a string"},
		{"toe string", g(base + `"toe": "now", "events": ` + ev), FormatGoogle, "claims: toe is not a number"},
		{"events missing", g(`"iss": "i", "iat": 1, "jti": "j"`), FormatGoogle, "claims: events is missing"},
		{"events array", g(base + `"events": [` + ev + `]`), FormatGoogle, "claims: events is not an object"},
		{"events string", g(base + `"events": "x"`), FormatGoogle, "claims: events is not an object"},
		{"events empty", g(base + `"events": {}`), FormatGoogle, "claims: events is empty"},
		{"event not object", g(base + `"events": {"` + TypeSessionsRevoked + `": true}`), FormatGoogle, "sessions-revoked is not an object"},
		{"unknown event not object", g(base + `"events": {"urn:x": []}`), FormatGoogle, `event "urn:x" is not an object`},
		{"event type empty", g(base + `"events": {"": {}}`), FormatGoogle, "events: empty event type"},
		{"duplicate claim", g(base + `"iss": "again", "events": ` + ev), FormatGoogle, `duplicate member "iss"`},
		{"duplicate event", g(base + `"events": {"urn:x": {}, "urn:x": {}}`), FormatGoogle, `duplicate member "urn:x"`},
		{"duplicate in subject", g(base + `"events": {"` + TypeSessionsRevoked + `": {"subject": {"subject_type": "iss-sub", "iss": "a", "sub": "b", "sub": "c"}}}`), FormatGoogle, `duplicate member "sub"`},
		{"duplicate escaped", g(base + `"events": {"urn:x": {"a": 1, "\u0061": 2}}`), FormatGoogle, `duplicate member "a"`},
		{"duplicate deep in array", g(base + `"events": {"urn:x": {"l": [[{"k": 1, "k": 2}]]}}`), FormatGoogle, `duplicate member "k"`},
		{"too deep", g(base + `"events": {"urn:x": ` + strings.Repeat(`[`, 70) + strings.Repeat(`]`, 70) + `}`), FormatGoogle, "JSON nested too deeply"},
		{"google event without subject", g(base + `"events": {"` + TypeSessionsRevoked + `": {}}`), FormatGoogle, "sessions-revoked: subject is missing"},
		{"subject not object", g(base + `"events": {"` + TypeSessionsRevoked + `": {"subject": "7375626A656374"}}`), FormatGoogle, "sessions-revoked: subject is not an object"},
		{"subject without type", g(base + `"events": {"` + TypeSessionsRevoked + `": {"subject": {"iss": "a", "sub": "b"}}}`), FormatGoogle, "sessions-revoked: subject: format is missing"},
		{"subject type number", g(base + `"events": {"` + TypeSessionsRevoked + `": {"subject": {"subject_type": 1}}}`), FormatGoogle, "sessions-revoked: subject: subject_type is not a string"},
		{"subject spellings disagree", g(base + `"events": {"` + TypeSessionsRevoked + `": {"subject": {"subject_type": "email", "format": "iss_sub", "iss": "a", "sub": "b"}}}`), FormatGoogle, "sessions-revoked: subject: format and subject_type disagree"},
		{"subject sub missing", g(base + `"events": {"` + TypeSessionsRevoked + `": {"subject": {"subject_type": "iss-sub", "iss": "a"}}}`), FormatGoogle, "sessions-revoked: subject: sub is missing"},
		{"subject sub number", g(base + `"events": {"` + TypeSessionsRevoked + `": {"subject": {"subject_type": "iss-sub", "iss": "a", "sub": 12}}}`), FormatGoogle, "sessions-revoked: subject: sub is not a string"},
		{"token subject without token", g(base + `"events": {"` + TypeTokenRevoked + `": {"subject": {"subject_type": "oauth_token", "token_type": "refresh_token", "token_identifier_alg": "prefix"}}}`), FormatGoogle, "token-revoked: subject: token is missing"},
		{"token subject alg number", g(base + `"events": {"` + TypeTokenRevoked + `": {"subject": {"subject_type": "oauth_token", "token_type": "refresh_token", "token_identifier_alg": 1, "token": "x"}}}`), FormatGoogle, "token-revoked: subject: token_identifier_alg is not a string"},
		{"reason number", g(base + `"events": {"` + TypeAccountDisabled + `": {"subject": ` + issSubJSON + `, "reason": 5}}`), FormatGoogle, "account-disabled: reason is not a string"},
		{"state object", g(base + `"events": {"` + TypeRISCVerification + `": {"state": {}}}`), FormatGoogle, "verification: state is not a string"},
		{"event_timestamp string", g(base + `"events": {"` + TypeSessionsRevoked + `": {"subject": ` + issSubJSON + `, "event_timestamp": "x"}}`), FormatGoogle, "sessions-revoked: event_timestamp is not a number"},
		{"reason_admin array", g(base + `"events": {"` + TypeSessionsRevoked + `": {"subject": ` + issSubJSON + `, "reason_admin": ["x"]}}`), FormatGoogle, "sessions-revoked: reason_admin is neither a string nor an object"},
		{"reason_user with number", g(base + `"events": {"` + TypeSessionsRevoked + `": {"subject": ` + issSubJSON + `, "reason_user": {"en": 1}}}`), FormatGoogle, "sessions-revoked: reason_user holds a value that is not a string"},
		{"initiating_entity number", g(base + `"events": {"` + TypeSessionsRevoked + `": {"subject": ` + issSubJSON + `, "initiating_entity": 1}}`), FormatGoogle, "sessions-revoked: initiating_entity is not a string"},
		{"ssf without sub_id", g(ssfBase + `"events": {"` + TypeSessionRevoked + `": {}}`), FormatSSF, "claims: sub_id is missing"},
		{"ssf with sub", g(ssfBase + sub + `"sub": "x", "events": {"` + TypeSessionRevoked + `": {}}`), FormatSSF, "claims: sub is not allowed in an SSF SET"},
		{"ssf with null sub", g(ssfBase + sub + `"sub": null, "events": {"` + TypeSessionRevoked + `": {}}`), FormatSSF, "claims: sub is not allowed in an SSF SET"},
		{"ssf sub_id string", g(ssfBase + `"sub_id": "x", "events": {"` + TypeSessionRevoked + `": {}}`), FormatSSF, "sub_id is not an object"},
		{"ssf sub_id unknown format", g(ssfBase + `"sub_id": {"format": "catalog_item", "id": "x"}, "events": {"` + TypeSessionRevoked + `": {}}`), FormatSSF, `sub_id: unknown format "catalog_item"`},
		{"ssf sub_id without format", g(ssfBase + `"sub_id": {"id": "x"}, "events": {"` + TypeSessionRevoked + `": {}}`), FormatSSF, "sub_id: format is missing"},
		{"ssf sub_id format empty", g(ssfBase + `"sub_id": {"format": ""}, "events": {"` + TypeSessionRevoked + `": {}}`), FormatSSF, "sub_id: format is empty"},
		{"aliases in aliases", g(ssfBase + `"sub_id": {"format": "aliases", "identifiers": [{"format": "aliases", "identifiers": [{"format": "opaque", "id": "x"}]}]}, "events": {"urn:x": {}}`), FormatSSF, "sub_id.identifiers: aliases inside aliases"},
		{"aliases empty", g(ssfBase + `"sub_id": {"format": "aliases", "identifiers": []}, "events": {"urn:x": {}}`), FormatSSF, "sub_id: identifiers is empty"},
		{"aliases not array", g(ssfBase + `"sub_id": {"format": "aliases", "identifiers": {}}, "events": {"urn:x": {}}`), FormatSSF, "sub_id: identifiers is not an array"},
		{"alias not object", g(ssfBase + `"sub_id": {"format": "aliases", "identifiers": ["x"]}, "events": {"urn:x": {}}`), FormatSSF, "sub_id.identifiers is not an object"},
		{"complex in complex", g(ssfBase + `"sub_id": {"format": "complex", "user": {"format": "complex", "session": {"format": "opaque", "id": "x"}}}, "events": {"urn:x": {}}`), FormatSSF, "sub_id.user: complex inside complex"},
		{"complex empty", g(ssfBase + `"sub_id": {"format": "complex"}, "events": {"urn:x": {}}`), FormatSSF, "sub_id: complex subject has no members"},
		{"complex member string", g(ssfBase + `"sub_id": {"format": "complex", "user": "x"}, "events": {"urn:x": {}}`), FormatSSF, "sub_id.user is not an object"},
		{"complex member bad", g(ssfBase + `"sub_id": {"format": "complex", "session": {"format": "opaque", "id": 3}}, "events": {"urn:x": {}}`), FormatSSF, "sub_id.session: id is not a string"},
		{"credential-change missing change_type", g(ssfBase + sub + `"events": {"` + TypeCredentialChange + `": {"credential_type": "password"}}`), FormatSSF, "caep:credential-change: change_type is missing"},
		{"credential-change friendly_name number", g(ssfBase + sub + `"events": {"` + TypeCredentialChange + `": {"credential_type": "password", "change_type": "update", "friendly_name": 1}}`), FormatSSF, "caep:credential-change: friendly_name is not a string"},
		{"token-claims-change without claims", g(ssfBase + sub + `"events": {"` + TypeTokenClaimsChange + `": {}}`), FormatSSF, "caep:token-claims-change: claims is missing"},
		{"token-claims-change claims array", g(ssfBase + sub + `"events": {"` + TypeTokenClaimsChange + `": {"claims": []}}`), FormatSSF, "caep:token-claims-change: claims is not an object"},
		{"assurance-level-change without namespace", g(ssfBase + sub + `"events": {"` + TypeAssuranceLevelChange + `": {"current_level": "x"}}`), FormatSSF, "caep:assurance-level-change: namespace is missing"},
		{"device-compliance-change status number", g(ssfBase + sub + `"events": {"` + TypeDeviceComplianceChange + `": {"previous_status": "compliant", "current_status": 0}}`), FormatSSF, "caep:device-compliance-change: current_status is not a string"},
		{"credential-compromise without type", g(ssfBase + sub + `"events": {"` + TypeCredentialCompromise + `": {}}`), FormatSSF, "credential-compromise: credential_type is missing"},
		{"identifier-changed value number", g(ssfBase + sub + `"events": {"` + TypeIdentifierChanged + `": {"new-value": 1}}`), FormatSSF, "identifier-changed: new-value is not a string"},
		{"stream-updated without status", g(ssfBase + sub + `"events": {"` + TypeStreamUpdated + `": {"reason": "x"}}`), FormatSSF, "ssf:stream-updated: status is missing"},
		{"stream-updated reason number", g(ssfBase + sub + `"events": {"` + TypeStreamUpdated + `": {"status": "enabled", "reason": 2}}`), FormatSSF, "ssf:stream-updated: reason is not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustMalformed(t, tt.payload, tt.f); got != tt.want {
				t.Errorf("description = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDescriptionNeverEchoesMuchInput(t *testing.T) {
	longURI := "https://example.com/" + strings.Repeat("a", 500)
	payload := []byte(`{"iss": "i", "iat": 1, "jti": "j", "events": {"` + longURI + `": 5}}`)
	d := mustMalformed(t, payload, FormatGoogle)
	if strings.Contains(d, strings.Repeat("a", 65)) {
		t.Errorf("description %q echoes more than 64 characters of input", d)
	}
	payload = []byte(`{"iss": "i", "iat": 1, "jti": "j", "events": {"urn:x": {"` + strings.Repeat("k", 300) + `": 1, "` + strings.Repeat("k", 300) + `": 2}}}`)
	d = mustMalformed(t, payload, FormatGoogle)
	if len(d) > 100 {
		t.Errorf("description %q is too long", d)
	}
	// A token identifier never appears, even when its subject is broken.
	const secretish = "1//0gSecretPrefix"
	payload = googleSET(TypeTokenRevoked, `{"subject": {"subject_type": "oauth_token", "token": "`+secretish+`", "token_type": 5}}`)
	d = mustMalformed(t, payload, FormatGoogle)
	if strings.Contains(d, "Secret") {
		t.Errorf("description %q echoes the token identifier", d)
	}
}

func TestParseFormatErrors(t *testing.T) {
	r := NewRegistry()
	_, err := r.Parse(googleSET(TypeSessionsRevoked, `{"subject": `+issSubJSON+`}`), Format(0))
	if !errors.Is(err, ErrUnknownFormat) || errors.Is(err, ErrMalformed) {
		t.Errorf("zero Format: err = %v, want ErrUnknownFormat and not ErrMalformed", err)
	}
	var nilReg *Registry
	if _, err := nilReg.Parse([]byte(`{}`), FormatGoogle); err == nil {
		t.Error("nil registry: want an error")
	}
	for name, want := range map[string]Format{"google": FormatGoogle, "ssf": FormatSSF} {
		if got, err := ParseFormat(name); err != nil || got != want || got.String() != name {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	if _, err := ParseFormat("SSF"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("ParseFormat(SSF) err = %v, want ErrUnknownFormat", err)
	}
}

func TestDescriptionOfOtherErrors(t *testing.T) {
	if d := Description(errors.New("x")); d != "" {
		t.Errorf("Description = %q, want empty", d)
	}
	wrapped := errors.Join(errors.New("receiver"), malformed("iss is missing"))
	if d := Description(wrapped); d != "iss is missing" {
		t.Errorf("Description(wrapped) = %q", d)
	}
}
