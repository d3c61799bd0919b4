package boltdb

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/riscd/riscd/seal"
	"github.com/riscd/riscd/store/internal/record"
	bolt "go.etcd.io/bbolt"
)

func TestCiphertextsAreBoundToTheirPlace(t *testing.T) {
	key, _, _ := GenerateKey()
	path := filepath.Join(t.TempDir(), "riscd.db")
	db, err := Open(t.Context(), Options{Path: path, Key: key, LockTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, err := db.CreateGrant(t.Context(), Grant{Sub: "a", RefreshToken: "1//0aaaaaaaaaaaaaaaaaaaa", AccessToken: "ya29.a"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.CreateGrant(t.Context(), Grant{Sub: "b", AccessToken: "ya29.b"})
	if err != nil {
		t.Fatal(err)
	}
	rec := func(tx *bolt.Tx, id string) (*bolt.Bucket, []byte, record.Grant) {
		k, _ := hex.DecodeString(id)
		bk := tx.Bucket([]byte(bucketGrants))
		var r record.Grant
		if err := json.Unmarshal(bk.Get(k), &r); err != nil {
			t.Fatal(err)
		}
		return bk, k, r
	}
	put := func(tx *bolt.Tx, bk *bolt.Bucket, k []byte, r record.Grant) error {
		v, _ := json.Marshal(r)
		return bk.Put(k, v)
	}

	var ra record.Grant
	_ = db.bolt.View(func(tx *bolt.Tx) error { _, _, ra = rec(tx, a.ID); return nil })
	if ct := ra.AccessToken; len(ct) != seal.Overhead+len("ya29.a") || ct[0] != seal.Version || hex.EncodeToString(ct[1:1+seal.IDSize]) != key.ID() {
		t.Fatalf("ciphertext layout: %d bytes, version %d, key id %x", len(ct), ct[0], ct[1:1+seal.IDSize])
	}

	tests := []struct {
		name   string
		tamper func(a, b *record.Grant)
		read   string
	}{
		{"moved to another record", func(a, b *record.Grant) { b.AccessToken = a.AccessToken }, b.ID},
		{"moved to another field", func(a, b *record.Grant) { a.AccessToken = a.RefreshToken }, a.ID},
		{"flipped bit", func(a, b *record.Grant) { a.AccessToken[len(a.AccessToken)-1] ^= 1 }, a.ID},
		{"unknown key id", func(a, b *record.Grant) { a.AccessToken[1] ^= 1 }, a.ID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Tamper inside a transaction that is then rolled back.
			errStop := errors.New("roll back")
			err := db.bolt.Update(func(tx *bolt.Tx) error {
				bkA, kA, ra := rec(tx, a.ID)
				bkB, kB, rb := rec(tx, b.ID)
				tc.tamper(&ra, &rb)
				if err := put(tx, bkA, kA, ra); err != nil {
					return err
				}
				if err := put(tx, bkB, kB, rb); err != nil {
					return err
				}
				tt := db.newTx(tx)
				_, err := tt.Grant(t.Context(), tc.read)
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrWrongKey) {
					t.Errorf("Grant after tampering: got %v, want ErrCorrupt or ErrWrongKey", err)
				}
				return errStop
			})
			if !errors.Is(err, errStop) {
				t.Fatal(err)
			}
		})
	}
	if _, err := db.Grant(t.Context(), b.ID); err != nil {
		t.Fatalf("Grant after the rolled-back tampering: %v", err)
	}
}
