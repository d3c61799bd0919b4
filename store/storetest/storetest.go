// Package storetest is the behavioural suite of riscd's store: the
// specification of the contract of package riscd (Store, ReadTx, Tx, DB and
// the Shortcuts every engine embeds). What store.go and shortcuts.go say in
// words, the cases here say in code; an engine is a riscd store when it
// passes them.
//
// The suite is engine-neutral: every case uses only riscd.DB's methods (the
// Store methods, the ReadTx and Tx methods run as one-call shortcuts, the
// Update* helpers), and reaches the engine only through a Harness, which
// makes a new, empty store and reopens one (the copy cases make two new
// stores and copy one into the other). An engine's own test runs it:
//
//	func TestSuite(t *testing.T) {
//		storetest.RunTests(t, storetest.Harness{
//			New: func(t *testing.T, now func() time.Time) riscd.DB {
//				// a fresh store (file, database...) with clock now
//			},
//			Reopen: func(t *testing.T, db riscd.DB, now func() time.Time) riscd.DB {
//				// close db, open the same store again with clock now
//			},
//		})
//	}
//
// Every case runs against a new store: it acts on it and returns a verify
// function that only reads, which RunTests calls on the live store, then
// Check, then again after Reopen (so that what a case wrote is shown to be
// durable and read back alike from a cold start), then Check and Close.
// What only one engine does (bbolt's file damage and inbox journal, say)
// is tested by that engine's own tests.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/internal/testkit"
)

// Harness is how the suite makes and reopens stores of one engine.
type Harness struct {
	// New returns a new, empty store whose clock is now.
	New func(t *testing.T, now func() time.Time) riscd.DB
	// Reopen closes db and opens the same store again with the clock now
	// (same file or database, same keys). A case may have closed db itself (Close is safe to call twice: the
	// second call returns nil or ErrClosed).
	Reopen func(t *testing.T, db riscd.DB, now func() time.Time) riscd.DB
}

// Clock is a settable clock for stores under test, safe for concurrent
// use: the one riscd's tests share.
type Clock = testkit.Clock

// NewClock returns a clock reading t.
func NewClock(t time.Time) *Clock { return testkit.NewClock(t) }

// start is the suite's initial clock reading: nanosecond precision, so a
// store that truncates times fails.
func start() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC) }

// env is one case's world: the harness, the store's clock and the open
// store.
type env struct {
	t      *testing.T
	ctx    context.Context
	h      Harness
	clock  *Clock
	db     riscd.DB
	closed bool // db was closed by RunTests
}

// reopen closes the store and opens it again.
func (e *env) reopen() {
	e.t.Helper()
	e.closed = true
	e.db = e.h.Reopen(e.t, e.db, e.clock.Now)
	e.closed = false
}

// another returns a second new, empty store on the case's clock, for
// the cases that need two (a copy between stores); it is closed when the
// case ends and is not reopened.
func (e *env) another() riscd.DB {
	e.t.Helper()
	db := e.h.New(e.t, e.clock.Now)
	e.t.Cleanup(func() { _ = db.Close() })
	return db
}

// tcase is one behaviour: run acts on the store and returns a verify
// function, which must only read. The runner calls verify on the live
// store, then again after a close and reopen.
type tcase struct {
	name string
	run  func(e *env) (verify func(e *env))
}

// RunTests runs every case against h's stores: after each case it runs
// verify on the live store, Check, then Reopen, verify again, Check again,
// Close.
func RunTests(t *testing.T, h Harness) {
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
		{"connect", connectCases()},
		{"tx", txCases()},
		{"helpers", helperCases()},
		{"maintenance", maintenanceCases()},
		{"locks", lockCases()},
		{"admin sessions", adminSessionCases()},
		{"copy", copyCases()},
		{"prefetch", prefetchCases()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) { runCase(t, h, c) })
			}
		})
	}
}

func runCase(t *testing.T, h Harness, c tcase) {
	e := &env{t: t, ctx: t.Context(), h: h, clock: NewClock(start())}
	e.db = h.New(t, e.clock.Now)
	t.Cleanup(func() {
		if !e.closed { // the case failed half-way
			_ = e.db.Close()
		}
	})
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
	e.closed = true
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
