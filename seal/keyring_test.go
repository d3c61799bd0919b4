package seal_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/seal"
)

func newKeyring(t *testing.T, primary seal.Key, old ...seal.Key) *seal.Keyring {
	t.Helper()
	r, err := seal.NewKeyring(primary, old)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func genKey(t *testing.T) seal.Key {
	t.Helper()
	k, _, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A ciphertext sealed by riscd before package seal existed (the key's
// bytes are 7*i for i in 0..31; the table "grants", the record key
// 01 02 03, the field "rt") still opens: the format is unchanged.
func TestOpenKnownCiphertext(t *testing.T) {
	k, err := seal.ParseKey([]byte("AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tk="))
	if err != nil {
		t.Fatal(err)
	}
	if k.ID() != "d142c6d298083510" {
		t.Fatalf("key id %s, want d142c6d298083510", k.ID())
	}
	ct, _ := hex.DecodeString("01d142c6d29808351076b22419d6beaf08413caf8b06e864688b9fa9af501e2bfc73578336de1e813880c9f17a8657d2e9d2733af045d277bc04fdcddf")
	r := newKeyring(t, k)
	plain, err := r.Open(ct, "grants", []byte{1, 2, 3}, "rt")
	if err != nil || plain != "1//0golden-refresh-token" {
		t.Fatalf("Open: %q, %v", plain, err)
	}
	if id, ok := seal.SealedWith(ct); !ok || id.String() != k.ID() || !seal.SealedBy(ct, k) {
		t.Fatalf("SealedWith: %s, %v; want %s", id, ok, k.ID())
	}
}

func TestSealLayoutAndRoundTrip(t *testing.T) {
	k := genKey(t)
	r := newKeyring(t, k)
	const plain = "ya29.access"
	ct := r.Seal(plain, "grants", []byte("rec"), "at")
	if len(ct) != seal.Overhead+len(plain) || ct[0] != seal.Version || hex.EncodeToString(ct[1:1+seal.IDSize]) != k.ID() {
		t.Fatalf("layout: %d bytes, version %d, key id %x", len(ct), ct[0], ct[1:1+seal.IDSize])
	}
	if bytes.Contains(ct, []byte(plain)) {
		t.Fatal("ciphertext holds the plaintext")
	}
	if other := r.Seal(plain, "grants", []byte("rec"), "at"); bytes.Equal(other, ct) {
		t.Fatal("two seals of the same plaintext are equal: the nonce is not fresh")
	}
	got, err := r.Open(ct, "grants", []byte("rec"), "at")
	if err != nil || got != plain {
		t.Fatalf("Open: %q, %v", got, err)
	}
	if ct := r.Seal("", "grants", []byte("rec"), "at"); ct != nil {
		t.Fatalf("empty plaintext sealed to %d bytes, want nil", len(ct))
	}
	if got, err := r.Open(nil, "grants", []byte("rec"), "at"); got != "" || err != nil {
		t.Fatalf("Open(nil): %q, %v", got, err)
	}
}

func TestOpenRefusesAnotherPlace(t *testing.T) {
	r := newKeyring(t, genKey(t))
	const plain = "1//0secret-refresh-token"
	ct := r.Seal(plain, "grants", []byte("rec"), "rt")
	flipped := bytes.Clone(ct)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name         string
		ct           []byte
		table, field string
		record       []byte
		want         error
	}{
		{"another table", ct, "sessions", "rt", []byte("rec"), riscd.ErrCorrupt},
		{"another record", ct, "grants", "rt", []byte("rec2"), riscd.ErrCorrupt},
		{"another field", ct, "grants", "at", []byte("rec"), riscd.ErrCorrupt},
		{"another split of table and record", ct, "grantsr", "rt", []byte("ec"), riscd.ErrCorrupt},
		{"flipped bit", flipped, "grants", "rt", []byte("rec"), riscd.ErrCorrupt},
		{"truncated", ct[:seal.Overhead-1], "grants", "rt", []byte("rec"), riscd.ErrCorrupt},
		{"another version", append([]byte{2}, ct[1:]...), "grants", "rt", []byte("rec"), riscd.ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Open(tc.ct, tc.table, tc.record, tc.field)
			if !errors.Is(err, tc.want) || got != "" {
				t.Fatalf("Open: %q, %v; want %v", got, err, tc.want)
			}
			if strings.Contains(err.Error(), plain) {
				t.Fatalf("error %q holds the plaintext", err)
			}
		})
	}
}

func TestKeyringRotation(t *testing.T) {
	oldKey, newKey := genKey(t), genKey(t)
	old := newKeyring(t, oldKey)
	ct := old.Seal("tok", "outbox", []byte{9}, "tok")

	other := newKeyring(t, newKey)
	if _, err := other.Open(ct, "outbox", []byte{9}, "tok"); !errors.Is(err, riscd.ErrWrongKey) || !strings.Contains(err.Error(), oldKey.ID()) {
		t.Fatalf("Open under a keyring without the sealing key: %v, want ErrWrongKey naming %s", err, oldKey.ID())
	}

	both := old.WithPrimary(newKey)
	if !both.Primary().Equal(newKey) || !old.Primary().Equal(oldKey) {
		t.Fatal("WithPrimary changed the keyring it was called on, or did not make the new key primary")
	}
	if got, err := both.Open(ct, "outbox", []byte{9}, "tok"); err != nil || got != "tok" {
		t.Fatalf("Open of an old ciphertext after WithPrimary: %q, %v", got, err)
	}
	resealed := both.Seal("tok", "outbox", []byte{9}, "tok")
	if !seal.SealedBy(resealed, newKey) || seal.SealedBy(resealed, oldKey) || !seal.SealedBy(nil, oldKey) {
		t.Fatal("SealedBy does not tell the sealing key")
	}
	ids := both.KeyIDs()
	want := []string{oldKey.ID(), newKey.ID()}
	if want[0] > want[1] {
		want[0], want[1] = want[1], want[0]
	}
	if len(ids) != 2 || ids[0] != want[0] || ids[1] != want[1] {
		t.Fatalf("KeyIDs %v, want %v", ids, want)
	}
	withOld := newKeyring(t, newKey, oldKey)
	if got, err := withOld.Open(ct, "outbox", []byte{9}, "tok"); err != nil || got != "tok" {
		t.Fatalf("Open with the sealing key among the old keys: %q, %v", got, err)
	}
	if _, err := seal.NewKeyring(seal.Key{}, nil); err == nil {
		t.Fatal("NewKeyring with the zero primary key: no error")
	}
	if _, err := seal.NewKeyring(newKey, []seal.Key{{}}); err == nil {
		t.Fatal("NewKeyring with a zero old key: no error")
	}
}
