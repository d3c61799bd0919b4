package admin_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/admin/admintest"
)

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := admin.New(admin.Config{
		AdminToken:      "same-token-0123456789",
		Features:        map[string]string{"Bad Name": "scope", "ok": ""},
		Issuers:         []string{""},
		InboxStuckAfter: -time.Second,
	})
	if !errors.Is(err, admin.ErrInvalidConfig) {
		t.Fatalf("err = %v, want ErrInvalidConfig", err)
	}
	for _, want := range []string{"Store is required", `feature name "Bad Name"`, `feature "ok" has no scope`, "empty issuer", "InboxStuckAfter"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "same-token") {
		t.Errorf("error %q shows a token", err)
	}
}

func TestNewWithDefaults(t *testing.T) {
	db := admintest.OpenStore(t, time.Now)
	srv, err := admin.New(admin.Config{Store: db})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if srv.Metrics() == nil || srv.Registry() == nil {
		t.Errorf("Metrics or Registry is nil")
	}
}
