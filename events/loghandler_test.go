package events

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestLogHandler(t *testing.T) {
	const id = "1//0gSecretishPrefixAbc"
	payload := googleSET(TypeTokenRevoked, `{"subject": {"subject_type": "oauth_token", "token_type": "refresh_token", "token_identifier_alg": "prefix", "token": "`+id+`"}}`)
	set := mustParse(t, payload, FormatGoogle)
	var buf bytes.Buffer
	h := LogHandler(slog.New(slog.NewTextHandler(&buf, nil)))
	err := h.Handle(context.Background(), Delivery{Entry: Entry{ID: 9, Transmitter: "google", Claims: payload}, SET: set, Attempt: 1})
	if err != nil {
		t.Fatalf("Handle = %v, want nil", err)
	}
	out := buf.String()
	for _, want := range []string{"entry=9", "transmitter=google", "jti=" + testJTI, "token-revoked"} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}
	if strings.Contains(out, "Secretish") {
		t.Errorf("log %q holds the token identifier", out)
	}
}
