package companion_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd/companion"
)

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := companion.New(companion.Config{
		AdminToken:   "same-token-0123456789",
		AppToken:     "same-token-0123456789",
		TokenTimeout: -time.Second,
	})
	if !errors.Is(err, companion.ErrInvalidConfig) {
		t.Fatalf("err = %v, want ErrInvalidConfig", err)
	}
	for _, want := range []string{"Store is required", "Serve is required", "AppToken must differ", "TokenTimeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "same-token") {
		t.Errorf("error %q shows a token", err)
	}
}

func TestNewRefusesWhiteSpaceInTokens(t *testing.T) {
	_, err := companion.New(companion.Config{AppToken: "app token"})
	if !errors.Is(err, companion.ErrInvalidConfig) || !strings.Contains(err.Error(), "AppToken must not contain white space") {
		t.Errorf("err = %v, want the app token's white space named", err)
	}
}
