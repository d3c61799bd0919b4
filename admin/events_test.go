package admin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/admin/admintest"
	"github.com/riscd/riscd/events"
)

// eventJSON is an event as the admin API answers it.
type eventJSON struct {
	ID            uint64         `json:"id"`
	Transmitter   string         `json:"transmitter"`
	Iss           string         `json:"iss"`
	JTI           string         `json:"jti"`
	Subject       string         `json:"subject"`
	Types         []string       `json:"types"`
	TypeNames     []string       `json:"type_names"`
	Status        string         `json:"status"`
	Attempts      int            `json:"attempts"`
	LastError     string         `json:"last_error"`
	NextAttemptAt *time.Time     `json:"next_attempt_at"`
	ReceivedAt    time.Time      `json:"received_at"`
	Claims        map[string]any `json:"claims"`
}

type eventListJSON struct {
	Events     []eventJSON `json:"events"`
	NextCursor string      `json:"next_cursor"`
}

func eventIDs(es []eventJSON) []uint64 {
	out := make([]uint64, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func TestListEventsFilters(t *testing.T) {
	e := admintest.New(t, nil)
	a1 := e.MustInbox(admintest.DisabledEvent("j1", "alice", "hijacking"))
	b1 := e.MustInbox(admintest.DisabledEvent("j2", "bob", ""))
	tr := e.MustInbox(admintest.TokenRevokedEvent("j3", events.AlgPrefix, "1//0abcdefghijklmnop"))
	a2 := e.MustInbox(admintest.DisabledEvent("j4", "alice", "bulk-account"))
	e.SetStatus(a1.ID, riscd.InboxDone, 1, "", time.Time{})
	e.SetStatus(b1.ID, riscd.InboxParked, 10, "handler: store unavailable", time.Time{})

	tests := []struct {
		query string
		want  []uint64
	}{
		{"", []uint64{a2.ID, tr.ID, b1.ID, a1.ID}},
		{"sub=alice", []uint64{a2.ID, a1.ID}},
		{"subject=" + url.QueryEscape(admintest.GoogleKey("bob")), []uint64{b1.ID}},
		{"status=parked", []uint64{b1.ID}},
		{"status=pending", []uint64{a2.ID, tr.ID}},
		{"status=done&sub=alice", []uint64{a1.ID}},
		{"type=token-revoked", []uint64{tr.ID}},
		{"type=" + url.QueryEscape(events.TypeAccountDisabled) + "&sub=bob", []uint64{b1.ID}},
		{"sub=carol", []uint64{}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			var page eventListJSON
			e.Get("/admin/events?"+tc.query, http.StatusOK).JSON(t, &page)
			if got := eventIDs(page.Events); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("bad parameters", func(t *testing.T) {
		for _, q := range []string{"status=stuck", "sub=a&subject=b", "limit=-1", "cursor=x"} {
			if r := e.Get("/admin/events?"+q, http.StatusBadRequest); r.ErrorCode(t) != admin.CodeBadRequest {
				t.Errorf("%s: error %s, want bad_request", q, r.Body)
			}
		}
	})
}

func TestListEventsPages(t *testing.T) {
	// Two issuers give two subject keys for one sub: pages merge both.
	e := admintest.New(t, func(c *admin.Config) { c.Issuers = []string{"https://accounts.google.com", "https://idp.example"} })
	var want []uint64
	for i := range 5 {
		en := admintest.DisabledEvent(fmt.Sprintf("j%d", i), "alice", "")
		if i%2 == 1 {
			en.Subject = events.SubjectKey(events.IssSub{Iss: "https://idp.example", Sub: "alice"})
		}
		want = append(want, e.MustInbox(en).ID)
		e.MustInbox(admintest.DisabledEvent(fmt.Sprintf("other%d", i), "bob", ""))
	}
	slices.Reverse(want)
	for _, limit := range []int{1, 2, 3, 5, 100} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			var got []uint64
			cursor := ""
			for range 10 {
				var page eventListJSON
				e.Get(fmt.Sprintf("/admin/events?sub=alice&limit=%d&cursor=%s", limit, cursor), http.StatusOK).JSON(t, &page)
				if len(page.Events) > limit {
					t.Fatalf("page of %d, want at most %d", len(page.Events), limit)
				}
				got = append(got, eventIDs(page.Events)...)
				if page.NextCursor == "" {
					break
				}
				cursor = page.NextCursor
			}
			if !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestShowEventRedactsTokenIdentifiers(t *testing.T) {
	e := admintest.New(t, nil)
	g := e.MustGrant(admintest.GrantSpec{Sub: "alice"})
	refresh := g.RefreshToken.Reveal()
	hashID := e.Secret(admintest.URLHashIdentifier(refresh))
	prefixID := e.Secret(refresh[:16])
	byHash := e.MustInbox(admintest.TokenRevokedEvent("jh", events.AlgHashSHA512SHA512, hashID))
	byPrefix := e.MustInbox(admintest.TokenRevokedEvent("jp", events.AlgPrefix, prefixID))

	tests := []struct {
		name string
		id   uint64
		want string
	}{
		{"hash identifier", byHash.ID, admintest.HashFingerprint(refresh)},
		{"prefix identifier", byPrefix.ID, admintest.PrefixFingerprint(refresh)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got eventJSON
			e.Get(fmt.Sprintf("/admin/events/%d", tc.id), http.StatusOK).JSON(t, &got)
			if !slices.Equal(got.TypeNames, []string{"token-revoked"}) || got.Status != "pending" || got.Transmitter != "google" {
				t.Errorf("event %+v, want a pending token-revoked from google", got)
			}
			evs, _ := got.Claims["events"].(map[string]any)
			ev, _ := evs[events.TypeTokenRevoked].(map[string]any)
			subject, _ := ev["subject"].(map[string]any)
			if _, ok := subject["token"]; ok {
				t.Errorf("the subject still has its token member: %v", subject)
			}
			if fp := subject["token_fingerprint"]; fp != tc.want {
				t.Errorf("token_fingerprint = %v, want %q (the grant's fingerprint)", fp, tc.want)
			}
			if subject["token_identifier_alg"] == nil || got.Claims["jti"] == nil {
				t.Errorf("claims lost members other than the identifier: %v", got.Claims)
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		e.Get("/admin/events/999", http.StatusNotFound)
	})
	t.Run("bad id", func(t *testing.T) {
		for _, id := range []string{"0", "x", "-1", "1.5"} {
			e.Get("/admin/events/"+id, http.StatusBadRequest)
		}
	})
}

func TestShowEventRedactsTokensAnywhere(t *testing.T) {
	e := admintest.New(t, nil)
	secret := e.Secret("ya29.leaked-access-token-in-claims")
	claims := fmt.Sprintf(`{"iss":"https://idp.example","jti":"x1","iat":1,"events":{"https://example.com/custom":{"access_token":%q,"nested":[{"refresh_token":%q}]}}}`, secret, secret)
	en := e.MustInbox(riscd.InboxEntry{Iss: "https://idp.example", JTI: "x1", Types: []string{"https://example.com/custom"}, Claims: json.RawMessage(claims)})
	r := e.Get(fmt.Sprintf("/admin/events/%d", en.ID), http.StatusOK)
	if !strings.Contains(string(r.Body), `"[redacted]"`) {
		t.Errorf("answer %s does not show the redaction", r.Body)
	}
	var got eventJSON
	r.JSON(t, &got)
	if want := []string{"unknown"}; !slices.Equal(got.TypeNames, want) {
		t.Errorf("type_names = %v, want %v", got.TypeNames, want)
	}
}

func TestRetryEvent(t *testing.T) {
	e := admintest.New(t, nil)
	parked := e.MustInbox(admintest.DisabledEvent("j1", "alice", "hijacking"))
	done := e.MustInbox(admintest.DisabledEvent("j2", "alice", ""))
	pending := e.MustInbox(admintest.DisabledEvent("j3", "alice", ""))
	e.SetStatus(parked.ID, riscd.InboxParked, 10, "lifecycle: store unavailable", admintest.T0.Add(time.Hour))
	e.SetStatus(done.ID, riscd.InboxDone, 1, "", time.Time{})

	r := e.Do(http.MethodPost, fmt.Sprintf("/admin/events/%d/retry", parked.ID), admintest.AdminToken, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
	}
	var got eventJSON
	r.JSON(t, &got)
	if got.Status != "pending" || got.Attempts != 0 || got.NextAttemptAt != nil {
		t.Errorf("answer %+v, want pending, 0 attempts, due now", got)
	}
	stored, err := e.DB.InboxEntry(t.Context(), parked.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != riscd.InboxPending || stored.Attempts != 0 || !stored.NextAttemptAt.IsZero() {
		t.Errorf("stored %+v, want pending, 0 attempts, due now", stored)
	}
	if n := e.Rescans.Get(); n != 1 {
		t.Errorf("Rescan called %d times, want 1", n)
	}
	audit, _, err := e.DB.ListAudit(t.Context(), riscd.AuditQuery{Sub: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 1 || audit[0].Action != "retry_event" || audit[0].Actor != admin.ActorOperator || audit[0].EventJTI != "j1" {
		t.Errorf("audit %+v, want one retry_event by the operator for j1", audit)
	}

	tests := []struct {
		name   string
		id     uint64
		status int
		code   string
	}{
		{"again", parked.ID, http.StatusConflict, admin.CodeNotParked},
		{"done", done.ID, http.StatusConflict, admin.CodeNotParked},
		{"pending", pending.ID, http.StatusConflict, admin.CodeNotParked},
		{"unknown", 999, http.StatusNotFound, admin.CodeNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Do(http.MethodPost, fmt.Sprintf("/admin/events/%d/retry", tc.id), admintest.AdminToken, nil)
			if r.Status != tc.status || r.ErrorCode(t) != tc.code {
				t.Errorf("got %d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
		})
	}
	if n := e.Rescans.Get(); n != 1 {
		t.Errorf("Rescan called %d times after refusals, want still 1", n)
	}
}
