package flowweb

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrInvalidParam is wrapped by ValidatePrompt and ValidateLoginHint.
var ErrInvalidParam = errors.New("invalid parameter")

// maxLoginHint bounds login_hint: an email address (at most 320 characters)
// or a sub (at most 255).
const maxLoginHint = 320

// ValidatePrompt checks an OAuth prompt value as Google defines it: a
// space-separated, case-sensitive list of none, consent and select_account,
// each at most once, with none only alone. The empty string (no prompt) is
// valid. The error wraps ErrInvalidParam and quotes the offending word only
// when it is one of a few known shapes, never arbitrary input.
func ValidatePrompt(prompt string) error {
	return validatePrompt(prompt, "none, consent and select_account", "consent", "select_account")
}

// ValidateOIDCPrompt checks a prompt value as OpenID Connect Core 1.0
// §3.1.2.1 defines it: a space-separated, case-sensitive list of none,
// login, consent and select_account, each at most once, with none only
// alone. The empty string is valid. Errors as ValidatePrompt's.
func ValidateOIDCPrompt(prompt string) error {
	return validatePrompt(prompt, "none, login, consent and select_account", "login", "consent", "select_account")
}

// validatePrompt accepts none alone, or words of allowed, each once.
func validatePrompt(prompt, list string, allowed ...string) error {
	if prompt == "" {
		return nil
	}
	words := strings.Split(prompt, " ")
	seen := map[string]bool{}
	for _, w := range words {
		switch {
		case w == "none" || slices.Contains(allowed, w):
		case w == "":
			return fmt.Errorf("prompt: %w: values are separated by single spaces", ErrInvalidParam)
		default:
			return fmt.Errorf("prompt: %w: only %s are allowed (case-sensitive)", ErrInvalidParam, list)
		}
		if seen[w] {
			return fmt.Errorf("prompt: %w: %s is repeated", ErrInvalidParam, w)
		}
		seen[w] = true
	}
	if seen["none"] && len(words) > 1 {
		return fmt.Errorf("prompt: %w: none must be alone", ErrInvalidParam)
	}
	return nil
}

// ValidateLoginHint checks a login_hint value: an email address or a Google
// sub, so valid UTF-8 of at most 320 bytes without spaces or control
// characters. The empty string (no hint) is valid. The error wraps
// ErrInvalidParam and does not repeat the value.
func ValidateLoginHint(hint string) error {
	if hint == "" {
		return nil
	}
	if len(hint) > maxLoginHint {
		return fmt.Errorf("login_hint: %w: longer than %d bytes", ErrInvalidParam, maxLoginHint)
	}
	if !utf8.ValidString(hint) {
		return fmt.Errorf("login_hint: %w: not UTF-8", ErrInvalidParam)
	}
	for _, r := range hint {
		if unicode.IsSpace(r) || unicode.IsControl(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("login_hint: %w: spaces and control characters are not allowed", ErrInvalidParam)
		}
	}
	return nil
}
