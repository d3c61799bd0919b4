package admin_test

import (
	"crypto/sha512"
	"encoding/base64"
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

const googleIss = "https://accounts.google.com/"

// googleKey is the inbox subject key of a Google subject.
func googleKey(sub string) string {
	return events.SubjectKey(events.IssSub{Iss: googleIss, Sub: sub})
}

// disabledEvent is an account-disabled inbox entry about sub.
func disabledEvent(jti, sub, reason string) riscd.InboxEntry {
	claims := fmt.Sprintf(`{"iss":%q,"aud":"client-1","iat":1767268800,"jti":%q,"events":{%q:{"subject":{"subject_type":"iss-sub","iss":%q,"sub":%q},"reason":%q}}}`,
		googleIss, jti, events.TypeAccountDisabled, googleIss, sub, reason)
	return riscd.InboxEntry{JTI: jti, Subject: googleKey(sub), Types: []string{events.TypeAccountDisabled}, Claims: json.RawMessage(claims)}
}

// tokenRevokedEvent is a token-revoked inbox entry naming a refresh token
// by identifier.
func tokenRevokedEvent(jti, alg, identifier string) riscd.InboxEntry {
	claims := fmt.Sprintf(`{"iss":%q,"aud":"client-1","iat":1767268800,"jti":%q,"events":{%q:{"subject":{"subject_type":"oauth_token","token_type":"refresh_token","token_identifier_alg":%q,"token":%q}}}}`,
		googleIss, jti, events.TypeTokenRevoked, alg, identifier)
	sub := events.OAuthToken{TokenType: "refresh_token", Alg: alg, Token: identifier}
	return riscd.InboxEntry{JTI: jti, Subject: events.SubjectKey(sub), Types: []string{events.TypeTokenRevoked}, Claims: json.RawMessage(claims)}
}

// urlHashIdentifier is Google's hash identifier of token in the URL
// alphabet without padding, a spelling riscd must tolerate.
func urlHashIdentifier(token string) string {
	inner := sha512.Sum512([]byte(token))
	outer := sha512.Sum512(inner[:])
	return base64.RawURLEncoding.EncodeToString(outer[:])
}

func eventIDs(es []eventJSON) []uint64 {
	out := make([]uint64, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func TestListEventsFilters(t *testing.T) {
	e := newEnv(t, nil)
	a1 := e.mustInbox(disabledEvent("j1", "alice", "hijacking"))
	b1 := e.mustInbox(disabledEvent("j2", "bob", ""))
	tr := e.mustInbox(tokenRevokedEvent("j3", events.AlgPrefix, "1//0abcdefghijklmnop"))
	a2 := e.mustInbox(disabledEvent("j4", "alice", "bulk-account"))
	e.setStatus(a1.ID, riscd.InboxDone, 1, "", time.Time{})
	e.setStatus(b1.ID, riscd.InboxParked, 10, "handler: store unavailable", time.Time{})

	tests := []struct {
		query string
		want  []uint64
	}{
		{"", []uint64{a2.ID, tr.ID, b1.ID, a1.ID}},
		{"sub=alice", []uint64{a2.ID, a1.ID}},
		{"subject=" + url.QueryEscape(googleKey("bob")), []uint64{b1.ID}},
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
			e.get("/admin/events?"+tc.query, http.StatusOK).json(t, &page)
			if got := eventIDs(page.Events); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("bad parameters", func(t *testing.T) {
		for _, q := range []string{"status=stuck", "sub=a&subject=b", "limit=-1", "cursor=x"} {
			if r := e.get("/admin/events?"+q, http.StatusBadRequest); r.errorCode(t) != admin.CodeBadRequest {
				t.Errorf("%s: error %s, want bad_request", q, r.body)
			}
		}
	})
}

func TestListEventsPages(t *testing.T) {
	// Two issuers give two subject keys for one sub: pages merge both.
	e := newEnv(t, func(c *admin.Config) { c.Issuers = []string{"https://accounts.google.com", "https://idp.example"} })
	var want []uint64
	for i := range 5 {
		en := disabledEvent(fmt.Sprintf("j%d", i), "alice", "")
		if i%2 == 1 {
			en.Subject = events.SubjectKey(events.IssSub{Iss: "https://idp.example", Sub: "alice"})
		}
		want = append(want, e.mustInbox(en).ID)
		e.mustInbox(disabledEvent(fmt.Sprintf("other%d", i), "bob", ""))
	}
	slices.Reverse(want)
	for _, limit := range []int{1, 2, 3, 5, 100} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			var got []uint64
			cursor := ""
			for range 10 {
				var page eventListJSON
				e.get(fmt.Sprintf("/admin/events?sub=alice&limit=%d&cursor=%s", limit, cursor), http.StatusOK).json(t, &page)
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
	e := newEnv(t, nil)
	g := e.mustGrant(grantSpec{sub: "alice"})
	refresh := g.RefreshToken.Reveal()
	hashID := e.secret(urlHashIdentifier(refresh))
	prefixID := e.secret(refresh[:16])
	byHash := e.mustInbox(tokenRevokedEvent("jh", events.AlgHashSHA512SHA512, hashID))
	byPrefix := e.mustInbox(tokenRevokedEvent("jp", events.AlgPrefix, prefixID))

	tests := []struct {
		name string
		id   uint64
		want string
	}{
		{"hash identifier", byHash.ID, hashFingerprint(refresh)},
		{"prefix identifier", byPrefix.ID, prefixFingerprint(refresh)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got eventJSON
			e.get(fmt.Sprintf("/admin/events/%d", tc.id), http.StatusOK).json(t, &got)
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
		e.get("/admin/events/999", http.StatusNotFound)
	})
	t.Run("bad id", func(t *testing.T) {
		for _, id := range []string{"0", "x", "-1", "1.5"} {
			e.get("/admin/events/"+id, http.StatusBadRequest)
		}
	})
}

func TestShowEventRedactsTokensAnywhere(t *testing.T) {
	e := newEnv(t, nil)
	secret := e.secret("ya29.leaked-access-token-in-claims")
	claims := fmt.Sprintf(`{"iss":"https://idp.example","jti":"x1","iat":1,"events":{"https://example.com/custom":{"access_token":%q,"nested":[{"refresh_token":%q}]}}}`, secret, secret)
	en := e.mustInbox(riscd.InboxEntry{Iss: "https://idp.example", JTI: "x1", Types: []string{"https://example.com/custom"}, Claims: json.RawMessage(claims)})
	r := e.get(fmt.Sprintf("/admin/events/%d", en.ID), http.StatusOK)
	if !strings.Contains(string(r.body), `"[redacted]"`) {
		t.Errorf("answer %s does not show the redaction", r.body)
	}
	var got eventJSON
	r.json(t, &got)
	if want := []string{"unknown"}; !slices.Equal(got.TypeNames, want) {
		t.Errorf("type_names = %v, want %v", got.TypeNames, want)
	}
}

func TestRetryEvent(t *testing.T) {
	e := newEnv(t, nil)
	parked := e.mustInbox(disabledEvent("j1", "alice", "hijacking"))
	done := e.mustInbox(disabledEvent("j2", "alice", ""))
	pending := e.mustInbox(disabledEvent("j3", "alice", ""))
	e.setStatus(parked.ID, riscd.InboxParked, 10, "lifecycle: store unavailable", t0.Add(time.Hour))
	e.setStatus(done.ID, riscd.InboxDone, 1, "", time.Time{})

	r := e.do(http.MethodPost, fmt.Sprintf("/admin/events/%d/retry", parked.ID), adminToken, nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.status, r.body)
	}
	var got eventJSON
	r.json(t, &got)
	if got.Status != "pending" || got.Attempts != 0 || got.NextAttemptAt != nil {
		t.Errorf("answer %+v, want pending, 0 attempts, due now", got)
	}
	stored, err := e.db.InboxEntry(t.Context(), parked.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != riscd.InboxPending || stored.Attempts != 0 || !stored.NextAttemptAt.IsZero() {
		t.Errorf("stored %+v, want pending, 0 attempts, due now", stored)
	}
	if n := e.rescans.get(); n != 1 {
		t.Errorf("Rescan called %d times, want 1", n)
	}
	audit, _, err := e.db.ListAudit(t.Context(), riscd.AuditQuery{Sub: "alice"})
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
			r := e.do(http.MethodPost, fmt.Sprintf("/admin/events/%d/retry", tc.id), adminToken, nil)
			if r.status != tc.status || r.errorCode(t) != tc.code {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
		})
	}
	if n := e.rescans.get(); n != 1 {
		t.Errorf("Rescan called %d times after refusals, want still 1", n)
	}
}
