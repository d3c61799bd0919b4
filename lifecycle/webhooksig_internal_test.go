package lifecycle

import (
	"fmt"
	"strings"
	"testing"

	"github.com/riscd/riscd"
)

// The reference vector published with the Standard Webhooks specification.
func TestSignMatchesStandardWebhooksVector(t *testing.T) {
	s, err := newWebhookSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatalf("newWebhookSigner: %v", err)
	}
	got := s.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("sign = %s, want %s", got, want)
	}
}

func TestWebhookSecretForms(t *testing.T) {
	ref, err := newWebhookSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		secret riscd.Secret
		err    string
	}{
		{"without prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", ""},
		{"surrounding white space", " whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", ""},
		{"empty", "", "required"},
		{"prefix only", "whsec_", "required"},
		{"not base64", "whsec_MfKQ9r8GKYqr*wjUPD8ILPZIo2LaLaSw", "not \"whsec_\" followed by base64"},
		{"too short", "whsec_MfKQ9r8GKYqrTw==", "10 bytes, want at least 16"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := newWebhookSigner(tc.secret)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				if len(tc.secret) > 10 && strings.Contains(err.Error(), strings.TrimPrefix(string(tc.secret), "whsec_")[:8]) {
					t.Errorf("error %q quotes the secret", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("newWebhookSigner: %v", err)
			}
			if got, want := s.sign("id", 1, []byte("b")), ref.sign("id", 1, []byte("b")); got != want {
				t.Errorf("signature %s, want %s (same key)", got, want)
			}
		})
	}
	s, _ := newWebhookSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(f, s); !strings.Contains(out, "redacted") {
			t.Errorf("Sprintf(%q, signer) = %q, want it redacted", f, out)
		}
	}
}
