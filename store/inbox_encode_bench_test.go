package store

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkEncodeInbox is the cost of encodeInbox for a Google-shaped SET
// (about 1 KB of compact JWS and its payload): compacting the claims,
// sealing Raw and Claims, and encoding the record. PrepareInbox does this
// outside the transaction for every received SET.
func BenchmarkEncodeInbox(b *testing.B) {
	keys := testKeyring(b)
	claims := `{"iss":"https://accounts.google.com","aud":"123456789012-bench.apps.googleusercontent.com","iat":1772366400,"jti":"T0000000000000001","events":{"https://schemas.openid.net/secevent/risc/event-type/account-disabled":{"subject":{"subject_type":"iss-sub","iss":"https://accounts.google.com","sub":"100000001"},"reason":"hijacking"}}}`
	enc := base64.RawURLEncoding
	raw := enc.EncodeToString([]byte(`{"alg":"RS256","kid":"bench-kid"}`)) + "." + enc.EncodeToString([]byte(claims)) + "." +
		enc.EncodeToString([]byte(strings.Repeat("s", 256)))
	e := InboxEntry{
		Transmitter: "google", Iss: "https://accounts.google.com", JTI: "T0000000000000001",
		Subject: "iss-sub:https://accounts.google.com|100000001",
		Types:   []string{"https://schemas.openid.net/secevent/risc/event-type/account-disabled"},
		Raw:     raw, Claims: []byte(claims), Status: InboxPending,
		ReceivedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	}
	for b.Loop() {
		if _, _, err := encodeInbox(keys, e); err != nil {
			b.Fatal(fmt.Errorf("encodeInbox: %w", err))
		}
	}
}
