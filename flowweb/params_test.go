package flowweb_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/riscd/riscd/flowweb"
)

func TestValidatePrompt(t *testing.T) {
	for _, tc := range []struct {
		prompt string
		ok     bool
	}{
		{"", true},
		{"none", true},
		{"consent", true},
		{"select_account", true},
		{"consent select_account", true},
		{"select_account consent", true},
		{"none consent", false},
		{"consent none", false},
		{"Consent", false},
		{"NONE", false},
		{"login", false},
		{"consent  select_account", false},
		{" consent", false},
		{"consent ", false},
		{"consent consent", false},
		{"consent\tselect_account", false},
	} {
		t.Run(tc.prompt, func(t *testing.T) {
			err := flowweb.ValidatePrompt(tc.prompt)
			if got := err == nil; got != tc.ok {
				t.Fatalf("ValidatePrompt(%q) = %v, want ok=%v", tc.prompt, err, tc.ok)
			}
			if err != nil && !errors.Is(err, flowweb.ErrInvalidParam) {
				t.Errorf("error %v does not wrap ErrInvalidParam", err)
			}
		})
	}
}

func TestValidateLoginHint(t *testing.T) {
	for _, tc := range []struct {
		name, hint string
		ok         bool
	}{
		{"empty", "", true},
		{"email", "alice@example.com", true},
		{"sub", "110169484474386276334", true},
		{"unicode email", "zoë@exämple.de", true},
		{"space", "alice @example.com", false},
		{"newline", "alice\n@example.com", false},
		{"nul", "alice\x00", false},
		{"not utf-8", "alice\xff", false},
		{"too long", strings.Repeat("a", 321), false},
		{"longest", strings.Repeat("a", 320), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := flowweb.ValidateLoginHint(tc.hint)
			if got := err == nil; got != tc.ok {
				t.Fatalf("ValidateLoginHint(%q) = %v, want ok=%v", tc.hint, err, tc.ok)
			}
			if err != nil && (!errors.Is(err, flowweb.ErrInvalidParam) || (tc.hint != "" && strings.Contains(err.Error(), tc.hint))) {
				t.Errorf("error %v: want ErrInvalidParam without the value", err)
			}
		})
	}
}
