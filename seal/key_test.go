package seal_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/seal"
)

func TestParseKey(t *testing.T) {
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(250 - i) // bytes that differ between the std and URL alphabets
	}
	want, err := seal.ParseKey([]byte(base64.StdEncoding.EncodeToString(raw)))
	if err != nil {
		t.Fatal(err)
	}
	good := []struct{ name, text string }{
		{"std padded", base64.StdEncoding.EncodeToString(raw)},
		{"std raw", base64.RawStdEncoding.EncodeToString(raw)},
		{"url padded", base64.URLEncoding.EncodeToString(raw)},
		{"url raw", base64.RawURLEncoding.EncodeToString(raw)},
		{"whitespace", "\n  " + base64.StdEncoding.EncodeToString(raw) + "\r\n"},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			k, err := seal.ParseKey([]byte(tc.text))
			if err != nil {
				t.Fatalf("ParseKey: %v", err)
			}
			if !k.Equal(want) || k.ID() != want.ID() {
				t.Fatalf("key id %s, want %s", k.ID(), want.ID())
			}
		})
	}
	bad := []struct{ name, text, says string }{
		{"empty", "  ", "empty"},
		{"not base64", "this is not a key!", "not base64"},
		{"16 bytes", base64.StdEncoding.EncodeToString(raw[:16]), "16 bytes"},
		{"33 bytes", base64.StdEncoding.EncodeToString(append(raw, 1)), "33 bytes"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := seal.ParseKey([]byte(tc.text))
			if !errors.Is(err, riscd.ErrInvalid) {
				t.Fatalf("ParseKey: got %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("error %q does not say %q", err, tc.says)
			}
			if text := strings.TrimSpace(tc.text); text != "" && strings.Contains(err.Error(), text) {
				t.Fatalf("error %q contains the key text", err)
			}
		})
	}
}

func TestGenerateKey(t *testing.T) {
	k, text, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(k.ID()) {
		t.Fatalf("ID %q: want 16 hex characters", k.ID())
	}
	back, err := seal.ParseKey(text)
	if err != nil {
		t.Fatalf("ParseKey of GenerateKey's text: %v", err)
	}
	if !back.Equal(k) {
		t.Fatal("parsed key differs from the generated one")
	}
	other, _, _ := seal.GenerateKey()
	if other.Equal(k) || other.ID() == k.ID() {
		t.Fatal("two generated keys are equal")
	}
	var zero seal.Key
	if !zero.IsZero() || k.IsZero() || zero.ID() != "" {
		t.Fatal("IsZero/ID wrong for the zero Key")
	}
}

// holder is a struct that carries a key, as a store's options do.
type holder struct {
	Path string
	Key  seal.Key
}

func TestKeyNeverPrintsMaterial(t *testing.T) {
	k, text, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(string(text))
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "key", k, "opts", holder{Key: k})
	js, _ := json.Marshal(struct{ K seal.Key }{k})
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", k), "%+v": fmt.Sprintf("%+v", k), "%#v": fmt.Sprintf("%#v", k),
		"%s": fmt.Sprintf("%s", k), "%x": fmt.Sprintf("%x", k), "struct %+v": fmt.Sprintf("%+v", holder{Key: k}),
		"slog": buf.String(), "json": string(js),
	}
	for name, out := range outputs {
		for _, secret := range []string{string(text), base64.RawURLEncoding.EncodeToString(raw), fmt.Sprintf("%x", raw)} {
			if strings.Contains(out, secret) {
				t.Fatalf("%s output %q contains key material", name, out)
			}
		}
		if name != "%x" && !strings.Contains(out, k.ID()) {
			t.Errorf("%s output %q does not name the key id", name, out)
		}
	}
}
