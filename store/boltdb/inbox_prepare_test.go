package boltdb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/riscd/riscd/store/internal/record"
	bolt "go.etcd.io/bbolt"
)

// openInternal opens a store in a temporary directory with a fixed clock.
func openInternal(tb testing.TB, now time.Time) *DB {
	tb.Helper()
	key, _, err := GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	db, err := Open(tb.Context(), Options{Path: filepath.Join(tb.TempDir(), "riscd.db"), Key: key,
		LockTimeout: 50 * time.Millisecond, Now: func() time.Time { return now }})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// rawInbox returns the stored bytes of every inbox record, by id.
func rawInbox(tb testing.TB, db *DB) map[string][]byte {
	tb.Helper()
	out := map[string][]byte{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucketInbox)).ForEach(func(k, v []byte) error {
			out[string(k)] = bytes.Clone(v)
			return nil
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestPreparedInboxStoresWhatPutInboxStores(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	entries := []InboxEntry{
		{Transmitter: "google", Iss: "https://accounts.google.com", JTI: "j1", Subject: "iss-sub:a|b",
			Types: []string{"urn:x"}, Raw: "h.p.s", Claims: json.RawMessage(` {"jti" : "j1", "h":"<&>"} `)},
		{Iss: "https://accounts.google.com", JTI: "j2", ReceivedAt: now.Add(-time.Hour), Status: InboxDone},
		{Iss: "https://other.example", JTI: "j1", Subject: "s", Claims: json.RawMessage(`[1, 2]`)},
		{Iss: "https://accounts.google.com", JTI: "j1", Subject: "duplicate", Raw: "other"},
	}
	plain, prepared := openInternal(t, now), openInternal(t, now)
	for i, e := range entries {
		var want, got InboxEntry
		var wantNew, gotNew bool
		err := plain.updateTx(t.Context(), func(tx *Tx) (err error) {
			want, wantNew, err = tx.PutInbox(t.Context(), e)
			return err
		})
		if err != nil {
			t.Fatalf("entry %d: PutInbox: %v", i, err)
		}
		p, err := prepared.PrepareInbox(e)
		if err != nil {
			t.Fatalf("entry %d: PrepareInbox: %v", i, err)
		}
		if pe := p.Entry(); pe.ReceivedAt.IsZero() || pe.Status == "" || pe.ID != 0 {
			t.Errorf("entry %d: Entry() = %+v, want defaults filled in and no ID", i, pe)
		}
		err = prepared.updateTx(t.Context(), func(tx *Tx) (err error) {
			got, gotNew, err = tx.PutPreparedInbox(t.Context(), p)
			return err
		})
		if err != nil {
			t.Fatalf("entry %d: PutPreparedInbox: %v", i, err)
		}
		if gotNew != wantNew || !reflect.DeepEqual(got, want) {
			t.Errorf("entry %d: PutPreparedInbox = %+v, %v; PutInbox gives %+v, %v", i, got, gotNew, want, wantNew)
		}
		back, err := prepared.InboxEntry(t.Context(), got.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantBack, err := plain.InboxEntry(t.Context(), want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, wantBack) {
			t.Errorf("entry %d: read back %+v, want %+v", i, back, wantBack)
		}
	}
	// The same records, but for the nonces and keys of their sealed fields.
	unsealed := func(m map[string][]byte) map[string][]byte {
		for k, v := range m {
			var r record.Inbox
			if err := json.Unmarshal(v, &r); err != nil {
				t.Fatal(err)
			}
			r.SealedRaw, r.SealedClaims = []byte(fmt.Sprint(len(r.SealedRaw))), []byte(fmt.Sprint(len(r.SealedClaims)))
			m[k], _ = json.Marshal(&r)
		}
		return m
	}
	if got, want := unsealed(rawInbox(t, prepared)), unsealed(rawInbox(t, plain)); !reflect.DeepEqual(got, want) {
		t.Errorf("stored records differ:\n got %q\nwant %q", got, want)
	}
	for _, db := range []*DB{plain, prepared} {
		if err := db.Check(t.Context()); err != nil {
			t.Errorf("Check: %v", err)
		}
	}
}

func TestPreparedInboxErrors(t *testing.T) {
	db := openInternal(t, time.Now())
	for _, tt := range []struct {
		name string
		e    InboxEntry
	}{
		{"no iss", InboxEntry{JTI: "j"}},
		{"no jti", InboxEntry{Iss: "i"}},
		{"claims not JSON", InboxEntry{Iss: "i", JTI: "j", Claims: json.RawMessage(`{"a":`)}},
		{"claims with trailing data", InboxEntry{Iss: "i", JTI: "j", Claims: json.RawMessage(`{} {}`)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := db.PrepareInbox(tt.e); !errors.Is(err, ErrInvalid) {
				t.Errorf("PrepareInbox(%+v) error = %v, want ErrInvalid", tt.e, err)
			}
		})
	}
	t.Run("zero PreparedInbox", func(t *testing.T) {
		err := db.updateTx(t.Context(), func(tx *Tx) error {
			_, _, err := tx.PutPreparedInbox(t.Context(), PreparedInbox{})
			return err
		})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("PutPreparedInbox(zero) error = %v, want ErrInvalid", err)
		}
	})
	t.Run("closed transaction", func(t *testing.T) {
		p, err := db.PrepareInbox(InboxEntry{Iss: "i", JTI: "j"})
		if err != nil {
			t.Fatal(err)
		}
		var kept *Tx
		_ = db.updateTx(t.Context(), func(tx *Tx) error { kept = tx; return nil })
		if _, _, err := kept.PutPreparedInbox(t.Context(), p); !errors.Is(err, ErrClosed) {
			t.Errorf("PutPreparedInbox after the transaction: error = %v, want ErrClosed", err)
		}
	})
}
