package events

import (
	"testing"
)

func BenchmarkParseGoogle(b *testing.B) {
	payload := googleSET(TypeAccountDisabled, `{"subject": `+issSubJSON+`, "reason": "hijacking"}`)
	reg := NewRegistry()
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := reg.Parse(payload, FormatGoogle); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseSSFComplex(b *testing.B) {
	subID := `{"format": "complex", "session": {"format": "opaque", "id": "dMTlD|1600802906337.16|16008.16"}, "user": ` + ssfUserJSON + `, "tenant": {"format": "opaque", "id": "123456789"}}`
	payload := ssfSET(subID, TypeSessionRevoked, `{"initiating_entity": "policy", "reason_admin": {"en": "Landspeed Policy Violation: C076E82F"}, "reason_user": {"en": "Access attempt from multiple regions.", "es-410": "Intento de acceso desde varias regiones."}, "event_timestamp": 1615304991}`)
	reg := NewRegistry()
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := reg.Parse(payload, FormatSSF); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckJSON(b *testing.B) {
	payload := googleSET(TypeAccountDisabled, `{"subject": `+issSubJSON+`, "reason": "hijacking"}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckJSON(payload); err != nil {
			b.Fatal(err)
		}
	}
}
