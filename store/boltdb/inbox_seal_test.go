package boltdb

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/riscd/riscd/store/internal/record"
	bolt "go.etcd.io/bbolt"
)

const sealTestSecret = "7a4d3c8b-the-prefix"

func sealTestEntry(jti string) InboxEntry {
	return InboxEntry{Iss: "https://accounts.google.com", JTI: jti, Subject: "iss-sub:x",
		Raw: "h." + sealTestSecret + "-" + jti + ".s", Claims: []byte(`{"token":"` + sealTestSecret + `","jti":"` + jti + `"}`)}
}

// putLegacyInbox stores e as an earlier riscd did: Raw and Claims in
// plaintext.
func putLegacyInbox(t *testing.T, db *DB, e InboxEntry) uint64 {
	t.Helper()
	var id uint64
	err := db.updateTx(t.Context(), func(tx *Tx) error {
		stored, _, err := tx.PutInbox(t.Context(), e)
		if err != nil {
			return err
		}
		id = stored.ID
		r := record.InboxOf(stored)
		data, err := json.Marshal(&r)
		if err != nil {
			return err
		}
		b, err := tx.bucket(bucketInbox)
		if err != nil {
			return err
		}
		return b.Put(u64Key(id), data)
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// inboxFileHolds reports whether the bbolt file of the closed store at
// path holds s in a live inbox record.
func inboxFileHolds(t *testing.T, path, s string) bool {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	found := false
	_ = bdb.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucketInbox)).ForEach(func(_, v []byte) error {
			found = found || bytes.Contains(v, []byte(s))
			return nil
		})
	})
	return found
}

// An earlier riscd's plaintext records still read, in the inbox and in a
// journal it left; RotateKey seals them, and the store then opens with the
// new key alone.
func TestInboxReadsPlaintextRecordsAndRotateSealsThem(t *testing.T) {
	k1, _, _ := GenerateKey()
	k2, _, _ := GenerateKey()
	path := filepath.Join(t.TempDir(), "riscd.db")
	db := openJournalTestDB(t, path, k1)
	legacy := putLegacyInbox(t, db, sealTestEntry("legacy"))
	sealed, _, err := db.PutInbox(t.Context(), sealTestEntry("sealed-k1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if !inboxFileHolds(t, path, sealTestSecret) {
		t.Fatal("the legacy record is not in plaintext: the test proves nothing")
	}
	// A journal record as an earlier riscd wrote it, left by a crash.
	jf, _, err := openJournalFile(JournalPath(path), true)
	if err != nil {
		t.Fatal(err)
	}
	r := record.InboxOf(inboxDefaults(sealTestEntry("legacy-journal"), time.Now))
	payload, _ := json.Marshal(&r)
	if err := jf.reset(jf.gen + 10); err != nil {
		t.Fatal(err)
	}
	if err := jf.write(appendJournalRecord(nil, jf.gen, payload)); err != nil {
		t.Fatal(err)
	}
	jf.close()

	db = openJournalTestDB(t, path, k1)
	for _, jti := range []string{"legacy", "sealed-k1", "legacy-journal"} {
		e, err := db.InboxByJTI(t.Context(), "https://accounts.google.com", jti)
		want := sealTestEntry(jti)
		if err != nil || e.Raw != want.Raw || string(e.Claims) != string(want.Claims) {
			t.Fatalf("%s: raw %q, claims %s, %v; want %q, %s", jti, e.Raw, e.Claims, err, want.Raw, want.Claims)
		}
	}
	if err := db.Check(t.Context()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	// The replayed plaintext record is stored sealed.
	err = db.viewTx(t.Context(), func(tx *Tx) error {
		b, err := tx.buckets(bucketInboxByJTI, bucketInbox)
		if err != nil {
			return err
		}
		if v := b[1].Get(b[0].Get(record.JTIKey("https://accounts.google.com", "legacy-journal"))); bytes.Contains(v, []byte(sealTestSecret)) {
			t.Errorf("the legacy journal record was applied in plaintext: %s", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := db.RotateKey(t.Context(), k2)
	if err != nil {
		t.Fatal(err)
	}
	if n < 3 {
		t.Errorf("RotateKey rewrote %d records, want the 3 inbox entries among them", n)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if inboxFileHolds(t, path, sealTestSecret) {
		t.Error("an inbox record still holds plaintext after RotateKey")
	}
	db = openJournalTestDB(t, path, k2)
	defer db.Close()
	for _, id := range []uint64{legacy, sealed.ID} {
		if e, err := db.InboxEntry(t.Context(), id); err != nil || e.Raw == "" || len(e.Claims) == 0 {
			t.Errorf("entry %d with the new key alone: %+v, %v", id, e, err)
		}
	}
	if err := db.Check(t.Context()); err != nil {
		t.Fatalf("Check with the new key alone: %v", err)
	}
}

// An entry prepared before a rotation and applied after it is sealed under
// the new key: the rotation's pass may be past its ID already.
func TestPreparedInboxSealedAgainAfterARotation(t *testing.T) {
	k1, _, _ := GenerateKey()
	k2, _, _ := GenerateKey()
	path := filepath.Join(t.TempDir(), "riscd.db")
	db := openJournalTestDB(t, path, k1)
	p, err := db.PrepareInbox(sealTestEntry("late"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.RotateKey(t.Context(), k2); err != nil {
		t.Fatal(err)
	}
	mustAppendPrepared(t, db, p)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openJournalTestDB(t, path, k2)
	defer db.Close()
	e, err := db.InboxByJTI(t.Context(), "https://accounts.google.com", "late")
	if err != nil || e.Raw != sealTestEntry("late").Raw {
		t.Fatalf("entry with the new key alone: %+v, %v", e, err)
	}
}

func mustAppendPrepared(t *testing.T, db *DB, ps ...PreparedInbox) {
	t.Helper()
	if _, err := db.AppendInbox(t.Context(), ps); err != nil {
		t.Fatal(err)
	}
	if err := db.FlushInbox(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// A sealed field moved to another entry's record does not open: the
// additional data names the entry's (iss, jti) and the field.
func TestInboxSealBindsTheRecord(t *testing.T) {
	db := openInternal(t, time.Now())
	a, _, err := db.PutInbox(t.Context(), sealTestEntry("a"))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := db.PutInbox(t.Context(), sealTestEntry("b"))
	if err != nil {
		t.Fatal(err)
	}
	raw := rawInbox(t, db)
	var ra, rb record.Inbox
	if err := errors.Join(json.Unmarshal(raw[string(u64Key(a.ID))], &ra), json.Unmarshal(raw[string(u64Key(b.ID))], &rb)); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]record.Inbox{
		"raw from another entry":    {V: 1, Iss: rb.Iss, JTI: rb.JTI, SealedRaw: ra.SealedRaw, Status: "pending"},
		"claims in the raw's place": {V: 1, Iss: ra.Iss, JTI: ra.JTI, SealedRaw: ra.SealedClaims, Status: "pending"},
	} {
		data, _ := json.Marshal(&r)
		if _, err := decodeInbox(db.keyring(), u64Key(9), data); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: decodeInbox error = %v, want ErrCorrupt", name, err)
		}
	}
}

// Claims with invalid UTF-8, which an earlier riscd stored (json.Compact,
// which checked them, lets it through), stay writable: in a plaintext
// record, sealed, or in a journal left by a crash, the entry replays, takes
// a new status and is sealed again by RotateKey, its claims kept byte for
// byte. Claims a caller hands in with invalid UTF-8 are refused.
func TestInboxKeepsClaimsAnEarlierRiscdAccepted(t *testing.T) {
	k1, _, _ := GenerateKey()
	k2, _, _ := GenerateKey()
	path := filepath.Join(t.TempDir(), "riscd.db")
	db := openJournalTestDB(t, path, k1)
	bad := json.RawMessage("{\"token\":\"" + sealTestSecret + "\xff\",\"s\":\"\\ud800\"}")
	legacyRecord := func(jti string) record.Inbox {
		r := record.InboxOf(inboxDefaults(sealTestEntry(jti), time.Now))
		r.Claims = bad
		return r
	}
	ids := map[string]uint64{}
	for _, jti := range []string{"plaintext", "sealed"} {
		ids[jti] = putLegacyInbox(t, db, sealTestEntry(jti))
		r := legacyRecord(jti)
		if jti == "sealed" {
			jk := record.InboxSealKey(r.Iss, r.JTI)
			r.SealedRaw = db.keyring().Seal(r.Raw, bucketInbox, jk, "raw")
			r.SealedClaims = db.keyring().Seal(string(bad), bucketInbox, jk, "claims")
			r.Raw, r.Claims = "", nil
		}
		data, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		err = db.updateTx(t.Context(), func(tx *Tx) error {
			b, err := tx.bucket(bucketInbox)
			if err != nil {
				return err
			}
			return b.Put(u64Key(ids[jti]), data)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	jf, _, err := openJournalFile(JournalPath(path), true)
	if err != nil {
		t.Fatal(err)
	}
	r := legacyRecord("journal")
	payload, _ := json.Marshal(&r)
	if err := jf.reset(jf.gen + 10); err != nil {
		t.Fatal(err)
	}
	if err := jf.write(appendJournalRecord(nil, jf.gen, payload)); err != nil {
		t.Fatal(err)
	}
	jf.close()

	db = openJournalTestDB(t, path, k1)
	jtis := []string{"plaintext", "sealed", "journal"}
	for _, jti := range jtis {
		err := db.updateTx(t.Context(), func(tx *Tx) error {
			e, err := tx.InboxByJTI(t.Context(), "https://accounts.google.com", jti)
			if err != nil {
				return err
			}
			e.Status, e.DoneAt = InboxDone, time.Now()
			return tx.PutInboxEntry(t.Context(), e)
		})
		if err != nil {
			t.Fatalf("%s: a new status: %v", jti, err)
		}
	}
	err = db.updateTx(t.Context(), func(tx *Tx) error {
		e, err := tx.InboxEntry(t.Context(), ids["sealed"])
		if err != nil {
			return err
		}
		e.Claims = json.RawMessage("{\"token\":\"\xfe\"}")
		return tx.PutInboxEntry(t.Context(), e)
	})
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("new claims with invalid UTF-8: error %v, want ErrInvalid", err)
	}
	if _, err := db.RotateKey(t.Context(), k2); err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if inboxFileHolds(t, path, sealTestSecret) {
		t.Error("an inbox record still holds plaintext after RotateKey")
	}
	db = openJournalTestDB(t, path, k2)
	defer db.Close()
	for _, jti := range jtis {
		e, err := db.InboxByJTI(t.Context(), "https://accounts.google.com", jti)
		if err != nil || !bytes.Equal(e.Claims, bad) || e.Status != InboxDone {
			t.Errorf("%s with the new key alone: claims %q, status %s, %v; want %q, done", jti, e.Claims, e.Status, err, bad)
		}
	}
}
