package boltdb

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd/store/internal/record"
)

// benchInboxEntry is a Google-shaped SET as the receiver stores it: the
// compact JWS (about 1 KB) and its payload.
func benchInboxEntry() InboxEntry {
	claims := `{"iss":"https://accounts.google.com","aud":"123456789012-bench.apps.googleusercontent.com","iat":1772366400,"jti":"T0000000000000001","events":{"https://schemas.openid.net/secevent/risc/event-type/account-disabled":{"subject":{"subject_type":"iss-sub","iss":"https://accounts.google.com","sub":"100000001"},"reason":"hijacking"}}}`
	enc := base64.RawURLEncoding
	raw := enc.EncodeToString([]byte(`{"alg":"RS256","kid":"bench-kid"}`)) + "." + enc.EncodeToString([]byte(claims)) + "." +
		enc.EncodeToString([]byte(strings.Repeat("s", 256)))
	return InboxEntry{
		Transmitter: "google", Iss: "https://accounts.google.com", JTI: "T0000000000000001",
		Subject: "iss-sub:https://accounts.google.com|100000001",
		Types:   []string{"https://schemas.openid.net/secevent/risc/event-type/account-disabled"},
		Raw:     raw, Claims: []byte(claims), Status: InboxPending,
		ReceivedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	}
}

// BenchmarkEncodeInbox is the cost of encodeInbox for a Google-shaped SET:
// compacting the claims, sealing Raw and Claims, and encoding the record.
// PrepareInbox does this outside the transaction for every received SET.
func BenchmarkEncodeInbox(b *testing.B) {
	keys := testKeyring(b)
	e := benchInboxEntry()
	for b.Loop() {
		if _, _, err := encodeInbox(keys, e, nil); err != nil {
			b.Fatal(fmt.Errorf("encodeInbox: %w", err))
		}
	}
}

// BenchmarkInboxJSON is the JSON part of encodeInbox alone: checking and
// compacting the claims and encoding the sealed record.
func BenchmarkInboxJSON(b *testing.B) {
	e := benchInboxEntry()
	r, err := record.SealInbox(testKeyring(b), e, nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := appendCompactJSON(make([]byte, 0, len(e.Claims)), e.Claims); err != nil {
			b.Fatal(err)
		}
		if _, err := marshalInboxRecord(&r.Inbox); err != nil {
			b.Fatal(err)
		}
	}
}
