package riscd_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/riscd/riscd"
)

func TestSecretNeverPrints(t *testing.T) {
	const plain = "1//0-plaintext-refresh-token"
	s := riscd.Secret(plain)
	g := riscd.Grant{Sub: "s", RefreshToken: s, AccessToken: "ya29.plaintext-access"}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "secret", s, "grant", g)
	var tbuf bytes.Buffer
	slog.New(slog.NewTextHandler(&tbuf, nil)).Info("x", "secret", s, "grant", g)
	js, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	txt, _ := s.MarshalText()
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", s), "%s": fmt.Sprintf("%s", s), "%#v": fmt.Sprintf("%#v", s),
		"%q": fmt.Sprintf("%q", s), "%x": fmt.Sprintf("%x", s),
		"grant %+v": fmt.Sprintf("%+v", g), "grant %#v": fmt.Sprintf("%#v", g),
		"error":     fmt.Errorf("wrapped %v: %w", s, errors.New("x")).Error(),
		"slog json": buf.String(), "slog text": tbuf.String(), "json": string(js), "text": string(txt),
	}
	for name, out := range outputs {
		if strings.Contains(out, "plaintext") || strings.Contains(out, fmt.Sprintf("%x", plain)) {
			t.Errorf("%s output %q shows the secret", name, out)
		}
		if name != "%x" && !strings.Contains(out, "[redacted]") {
			t.Errorf("%s output %q does not say [redacted]", name, out)
		}
	}
	if s.Reveal() != plain {
		t.Fatal("Reveal does not return the plaintext")
	}
	if got := fmt.Sprint(riscd.Secret("")); got != "" {
		t.Fatalf("empty secret prints %q, want \"\"", got)
	}
}
