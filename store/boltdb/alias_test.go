package boltdb_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/boltdb"
)

// Package store's names for the domain's errors are the same values, so
// errors.Is matches a store error against either name.
func TestErrorsAreTheDomainErrors(t *testing.T) {
	pairs := []struct {
		name         string
		store, riscd error
	}{
		{"ErrNotFound", riscd.ErrNotFound, riscd.ErrNotFound},
		{"ErrExists", riscd.ErrExists, riscd.ErrExists},
		{"ErrInvalid", riscd.ErrInvalid, riscd.ErrInvalid},
		{"ErrWrongKey", riscd.ErrWrongKey, riscd.ErrWrongKey},
		{"ErrCorrupt", riscd.ErrCorrupt, riscd.ErrCorrupt},
		{"ErrClosed", riscd.ErrClosed, riscd.ErrClosed},
		{"ErrBusy", riscd.ErrBusy, riscd.ErrBusy},
	}
	for _, p := range pairs {
		if p.store != p.riscd {
			t.Errorf("store.%s is not riscd.%s", p.name, p.name)
		}
	}
	db := mustOpen(t, boltdb.Options{Path: filepath.Join(t.TempDir(), "riscd.db"), Key: mustKey(t)})
	_, err := db.Grant(t.Context(), "0123456789abcdef01234567")
	if !errors.Is(err, riscd.ErrNotFound) || !errors.Is(err, riscd.ErrNotFound) {
		t.Fatalf("Grant of a missing id: %v, want riscd.ErrNotFound", err)
	}
	var g riscd.Grant = riscd.Grant{Sub: "s"}
	if fmt.Sprintf("%T", g) != "riscd.Grant" {
		t.Fatalf("boltdb.Grant is %T, want riscd.Grant", g)
	}
}
