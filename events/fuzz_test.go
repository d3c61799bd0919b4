package events

import (
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error it returns is
// ErrMalformed with a short description, and that what it accepts is
// consistent. Seeds live in testdata/fuzz/FuzzParse as well.
func FuzzParse(f *testing.F) {
	f.Add(googleSET(TypeAccountDisabled, `{"subject": `+issSubJSON+`, "reason": "hijacking"}`))
	f.Add(googleSET(TypeTokenRevoked, `{"subject": {"subject_type": "oauth_token", "token_type": "refresh_token", "token_identifier_alg": "prefix", "token": "1//0gAbcdefghijk"}}`))
	f.Add(googleSET(TypeRISCVerification, `{"state": "s"}`))
	f.Add(ssfSET(ssfUserJSON, TypeSessionRevoked, `{"reason_admin": {"en": "x"}, "event_timestamp": 1615304991}`))
	f.Add(ssfSET(`{"format": "complex", "user": `+ssfUserJSON+`, "tenant": {"format": "opaque", "id": "t"}}`, TypeCredentialChange, `{"credential_type": "password", "change_type": "update"}`))
	f.Add(ssfSET(`{"format": "aliases", "identifiers": [{"format": "email", "email": "a@b"}]}`, "urn:x", `{"y": 1}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	reg := NewRegistry()
	f.Fuzz(func(t *testing.T, payload []byte) {
		checkErr := CheckJSON(payload)
		for _, format := range []Format{FormatGoogle, FormatSSF} {
			set, err := reg.Parse(payload, format)
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("%v: error %v is not ErrMalformed", format, err)
				}
				if d := Description(err); d == "" || len(d) > 300 {
					t.Fatalf("%v: description %q empty or too long", format, d)
				}
				continue
			}
			if checkErr != nil {
				t.Fatalf("%v: Parse accepted what CheckJSON rejects: %v", format, checkErr)
			}
			if set.Iss == "" || set.JTI == "" || len(set.Events) == 0 || set.Format != format {
				t.Fatalf("%v: accepted an incomplete SET: %+v", format, set)
			}
			if format == FormatSSF && set.SubID == nil {
				t.Fatalf("SSF SET without sub_id accepted")
			}
			for _, e := range set.Events {
				if e.Type() == "" {
					t.Fatalf("%v: event without a type", format)
				}
				if s := e.Subject(); s != nil {
					_ = s.String()
					_ = SubjectKey(s)
					IssSubOf(s)
					EmailOf(s)
				}
			}
			if k := set.Key(); len(k) > maxKeyLen+2 {
				t.Fatalf("key too long: %d bytes", len(k))
			}
		}
	})
}
