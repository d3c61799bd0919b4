package admin_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin/admintest"
)

// auditJSON is an audit entry as the admin API answers it.
type auditJSON struct {
	ID          uint64    `json:"id"`
	At          time.Time `json:"at"`
	Transmitter string    `json:"transmitter"`
	EventJTI    string    `json:"event_jti"`
	EventType   string    `json:"event_type"`
	Sub         string    `json:"sub"`
	GrantIDs    []string  `json:"grant_ids"`
	Action      string    `json:"action"`
	Outcome     string    `json:"outcome"`
	Detail      string    `json:"detail"`
	Actor       string    `json:"actor"`
	DryRun      bool      `json:"dry_run"`
}

type auditListJSON struct {
	Entries    []auditJSON `json:"entries"`
	NextCursor string      `json:"next_cursor"`
}

func TestListAudit(t *testing.T) {
	e := admintest.New(t, nil)
	var alice, all []uint64
	for i, sub := range []string{"alice", "bob", "alice", "alice", "bob"} {
		a := e.MustAudit(riscd.AuditEntry{Sub: sub, Action: "record", Outcome: "recorded", Actor: "event", EventJTI: "jti", DryRun: i == 0})
		all = append(all, a.ID)
		if sub == "alice" {
			alice = append(alice, a.ID)
		}
	}
	slices.Reverse(all)
	slices.Reverse(alice)

	walk := func(t *testing.T, query string) []uint64 {
		t.Helper()
		var got []uint64
		cursor := ""
		for range 10 {
			var page auditListJSON
			e.Get("/admin/audit?limit=2&"+query+"&cursor="+url.QueryEscape(cursor), http.StatusOK).JSON(t, &page)
			for _, en := range page.Entries {
				got = append(got, en.ID)
			}
			if page.NextCursor == "" {
				return got
			}
			cursor = page.NextCursor
		}
		t.Fatalf("paging does not end")
		return nil
	}
	t.Run("all", func(t *testing.T) {
		if got := walk(t, ""); !slices.Equal(got, all) {
			t.Errorf("got %v, want %v", got, all)
		}
	})
	t.Run("by sub", func(t *testing.T) {
		if got := walk(t, "sub=alice"); !slices.Equal(got, alice) {
			t.Errorf("got %v, want %v", got, alice)
		}
	})
	t.Run("fields", func(t *testing.T) {
		var page auditListJSON
		e.Get("/admin/audit?sub=alice&limit=1", http.StatusOK).JSON(t, &page)
		if len(page.Entries) != 1 {
			t.Fatalf("got %d entries, want 1", len(page.Entries))
		}
		en := page.Entries[0]
		if en.Sub != "alice" || en.Action != "record" || en.Actor != "event" || en.GrantIDs == nil || !en.At.Equal(admintest.T0) {
			t.Errorf("entry %+v, want alice's record by event at %v with grant_ids []", en, admintest.T0)
		}
	})
}
