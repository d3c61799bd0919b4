// Package storetest is the behavioural suite every riscd store must pass.
// Run drives each store operation through its public API; every case runs
// against a fresh store, is read back both before and after the store is
// closed and reopened, and ends with the store's consistency check.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/store/boltdb"
)

// OpenFunc opens (creating if needed) the store at path with the given
// clock, failing t on error. The suite calls it again with the same path to
// reopen a store it closed, so it must use the same keys every time.
type OpenFunc func(t *testing.T, path string, now func() time.Time) *boltdb.DB

// Clock is a settable clock for stores under test, safe for concurrent
// use: the one riscd's tests share.
type Clock = testkit.Clock

// NewClock returns a clock reading t.
func NewClock(t time.Time) *Clock { return testkit.NewClock(t) }

// start is the suite's initial clock reading: nanosecond precision, so a
// store that truncates times fails.
func start() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC) }

// env is one case's world: a store file, its clock and the open DB.
type env struct {
	t     *testing.T
	ctx   context.Context
	path  string
	open  OpenFunc
	clock *Clock
	db    *boltdb.DB
}

func (e *env) reopen() {
	e.t.Helper()
	if err := e.db.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.db = e.open(e.t, e.path, e.clock.Now)
}

// tcase is one behaviour: run acts on the store and returns a verify
// function, which must only read. The runner calls verify on the live
// store, then again after a close and reopen.
type tcase struct {
	name string
	run  func(e *env) (verify func(e *env))
}

// Run runs the whole suite against the stores open makes.
func Run(t *testing.T, open OpenFunc) {
	groups := []struct {
		name  string
		cases []tcase
	}{
		{"grants", grantCases()},
		{"accounts", accountCases()},
		{"sessions", sessionCases()},
		{"flows", flowCases()},
		{"inbox", inboxCases()},
		{"outbox", outboxCases()},
		{"audit", auditCases()},
		{"marks", markCases()},
		{"tx", txCases()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) { runCase(t, open, c) })
			}
		})
	}
}

func runCase(t *testing.T, open OpenFunc, c tcase) {
	e := &env{
		t:     t,
		ctx:   t.Context(),
		path:  filepath.Join(t.TempDir(), "riscd.db"),
		open:  open,
		clock: NewClock(start()),
	}
	e.db = open(t, e.path, e.clock.Now)
	verify := c.run(e)
	if verify != nil {
		verify(e)
	}
	if err := e.db.Check(e.ctx); err != nil {
		t.Fatalf("Check after the case: %v", err)
	}
	e.reopen()
	if verify != nil {
		verify(e)
	}
	if err := e.db.Check(e.ctx); err != nil {
		t.Fatalf("Check after reopening: %v", err)
	}
	if err := e.db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// must takes a call's two results and returns a function that fails tb if
// the error is not nil and returns the value: must(db.Grant(ctx, id))(t).
func must[T any](v T, err error) func(tb testing.TB) T {
	return func(tb testing.TB) T {
		tb.Helper()
		if err != nil {
			tb.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

// noErr fails tb if err is not nil.
func noErr(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("unexpected error: %v", err)
	}
}

// wantErr fails tb unless errors.Is(err, target).
func wantErr(tb testing.TB, what string, err, target error) {
	tb.Helper()
	if !errors.Is(err, target) {
		tb.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// same fails tb if got and want differ in any exported field. Times compare
// with Equal, nil and empty slices are equal, secrets compare by plaintext.
func same(tb testing.TB, what string, got, want any) {
	tb.Helper()
	if d := diff(reflect.ValueOf(got), reflect.ValueOf(want), ""); len(d) > 0 {
		tb.Fatalf("%s: fields differ: %v", what, d)
	}
}

func diff(got, want reflect.Value, path string) []string {
	if got.Type() != want.Type() {
		return []string{path + ": types differ"}
	}
	switch {
	case got.Type() == reflect.TypeFor[time.Time]():
		g, w := got.Interface().(time.Time), want.Interface().(time.Time)
		if !g.Equal(w) {
			return []string{fmt.Sprintf("%s: %v, want %v", path, g, w)}
		}
	case got.Kind() == reflect.Struct:
		var out []string
		for i := range got.NumField() {
			if f := got.Type().Field(i); f.IsExported() {
				out = append(out, diff(got.Field(i), want.Field(i), path+"."+f.Name)...)
			}
		}
		return out
	case got.Kind() == reflect.Slice:
		if got.Len() != want.Len() {
			return []string{fmt.Sprintf("%s: %d elements, want %d", path, got.Len(), want.Len())}
		}
		var out []string
		for i := range got.Len() {
			out = append(out, diff(got.Index(i), want.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	case got.Kind() == reflect.String:
		if got.String() != want.String() {
			if got.Type() == reflect.TypeFor[riscd.Secret]() {
				return []string{path + ": secrets differ"}
			}
			return []string{fmt.Sprintf("%s: %q, want %q", path, got.String(), want.String())}
		}
	default:
		if !reflect.DeepEqual(got.Interface(), want.Interface()) {
			return []string{fmt.Sprintf("%s: %v, want %v", path, got.Interface(), want.Interface())}
		}
	}
	return nil
}

// RefreshToken makes a realistic Google refresh token ("1//0" and 99
// URL-safe characters) from a seed; the same seed gives the same token.
func RefreshToken(seed uint64) string { return "1//0" + tokenChars(seed, 99) }

// AccessToken makes a realistic Google access token ("ya29." and 200
// URL-safe characters) from a seed.
func AccessToken(seed uint64) string { return "ya29." + tokenChars(seed^0x5bd1e995, 200) }

func tokenChars(seed uint64, n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}
