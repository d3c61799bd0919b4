package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/boltdb"
)

// A bit flipped in the middle of the inbox journal: store check reports it
// and fails, and changes neither journal file (it used to replay up to the
// damage, report the store sound and start the journal over); store
// salvage-journal then keeps the whole records.
func TestStoreCheckReportsJournalDamage(t *testing.T) {
	sim := startSim(t)
	cfg := simConfig(t, sim)
	m := MustRunMain(t, cfg)
	db := m.DB().(*boltdb.DB)
	var ps []boltdb.PreparedInbox
	for i := range 6 {
		p, err := db.PrepareInbox(riscd.InboxEntry{Iss: "https://accounts.google.com", JTI: fmt.Sprint("jti-", i),
			Raw: "h.p.s", Claims: []byte(`{"events":{}}`)})
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	for _, p := range ps {
		if _, err := db.AppendInbox(context.Background(), []boltdb.PreparedInbox{p}); err != nil {
			t.Fatal(err)
		}
	}
	m.Close()

	l, err := load(cfg, nil, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	paths := boltdb.JournalPaths(l.cfg.Store.Path)
	var damaged string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// Header (64 bytes), then records: generation (8), length (4),
		// checksum (4), payload.
		var offs []int
		for off := 64; off+16 <= len(b) && binary.BigEndian.Uint64(b[off:]) == binary.BigEndian.Uint64(b[8:]); {
			offs = append(offs, off)
			off += 16 + int(binary.BigEndian.Uint32(b[off+8:]))
		}
		if len(offs) == 6 {
			b[offs[2]+20] ^= 1
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			damaged = p
		}
	}
	if damaged == "" {
		t.Fatal("no journal file holds the 6 records")
	}
	var before [2][]byte
	for i, p := range paths {
		before[i], _ = os.ReadFile(p)
	}
	code, out, errOut := runCLI(t, nil, "store", "check", "--config", cfg)
	if code != exitDamaged || strings.Contains(out, "ok:") || !strings.Contains(errOut, damaged) || !strings.Contains(errOut, "3 whole records") {
		t.Errorf("check of a damaged journal: exit %d, stdout %q, stderr %q; want exit 3 naming %s and the 3 records after the damage", code, out, errOut, damaged)
	}
	for i, p := range paths {
		if after, _ := os.ReadFile(p); !bytes.Equal(after, before[i]) {
			t.Errorf("store check changed %s", p)
		}
	}

	// Salvaged: the whole records stay, and the store checks again.
	code, out, errOut = runCLI(t, nil, "store", "salvage-journal", "--config", cfg)
	if code != exitOK || !strings.Contains(out, "kept 5 whole records") || !strings.Contains(out, damaged+".damaged-") {
		t.Fatalf("salvage-journal: exit %d, stdout %q, stderr %q; want the 5 whole records kept and the damaged file named", code, out, errOut)
	}
	code, out, errOut = runCLI(t, nil, "store", "check", "--config", cfg)
	if code != exitOK || !strings.Contains(out, "inbox 6") {
		t.Errorf("check after the salvage: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
