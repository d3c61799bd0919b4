package admin_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/admin/admintest"
)

// grantJSON is a grant as the admin API answers it.
type grantJSON struct {
	ID                       string      `json:"id"`
	Sub                      string      `json:"sub"`
	Email                    string      `json:"email"`
	Scopes                   []string    `json:"scopes"`
	Features                 []string    `json:"features"`
	Status                   string      `json:"status"`
	Reason                   string      `json:"reason"`
	ChangedBy                string      `json:"changed_by"`
	RefreshTokenFingerprint  string      `json:"refresh_token_fingerprint"`
	RefreshPrefixFingerprint string      `json:"refresh_prefix_fingerprint"`
	HasAccessToken           bool        `json:"has_access_token"`
	AccessTokenExpiry        *time.Time  `json:"access_token_expiry"`
	CreatedAt                time.Time   `json:"created_at"`
	History                  []auditJSON `json:"history"`
}

type grantListJSON struct {
	Grants     []grantJSON `json:"grants"`
	NextCursor string      `json:"next_cursor"`
}

func ids(gs []grantJSON) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.ID
	}
	return out
}

func TestListGrantsPagesNewestFirst(t *testing.T) {
	e := admintest.New(t, nil)
	var want []string
	for _, sub := range []string{"a", "b", "c", "d", "e"} {
		want = append(want, e.MustGrant(admintest.GrantSpec{Sub: sub}).ID)
		e.Clock.Advance(time.Second)
	}
	slices.Reverse(want)

	var got []string
	cursor, pages := "", 0
	for {
		var page grantListJSON
		e.Get("/admin/grants?limit=2&cursor="+url.QueryEscape(cursor), http.StatusOK).JSON(t, &page)
		pages++
		if len(page.Grants) > 2 {
			t.Fatalf("page of %d grants, want at most 2", len(page.Grants))
		}
		got = append(got, ids(page.Grants)...)
		if page.NextCursor == "" {
			break
		}
		if pages > 5 {
			t.Fatalf("paging does not end")
		}
		cursor = page.NextCursor
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v (newest first, each once)", got, want)
	}
}

func TestListGrantsFilters(t *testing.T) {
	e := admintest.New(t, nil)
	drive := e.MustGrant(admintest.GrantSpec{Sub: "alice", Scopes: []string{"openid", admintest.Features["drive"]}})
	held := e.MustGrant(admintest.GrantSpec{Sub: "alice", Status: riscd.GrantHeld, Reason: "hijacking"})
	cal := e.MustGrant(admintest.GrantSpec{Sub: "bob", Scopes: []string{"openid", admintest.Features["calendar"]}})
	revoked := e.MustGrant(admintest.GrantSpec{Sub: "bob", Status: riscd.GrantRevoked, Reason: "token-revoked"})

	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{revoked.ID, cal.ID, held.ID, drive.ID}},
		{"sub=alice", []string{held.ID, drive.ID}},
		{"status=held", []string{held.ID}},
		{"status=revoked", []string{revoked.ID}},
		{"feature=drive", []string{drive.ID}},
		{"feature=calendar", []string{cal.ID}},
		{"scope=" + url.QueryEscape(admintest.Features["calendar"]), []string{cal.ID}},
		{"sub=bob&status=active", []string{cal.ID}},
		{"sub=carol", []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			var page grantListJSON
			e.Get("/admin/grants?"+tc.query, http.StatusOK).JSON(t, &page)
			if got := ids(page.Grants); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if page.Grants == nil {
				t.Errorf("grants is null, want an array")
			}
		})
	}
}

func TestListGrantsRefusesBadParameters(t *testing.T) {
	e := admintest.New(t, nil)
	e.MustGrant(admintest.GrantSpec{Sub: "alice"})
	tests := []struct {
		name, query, detail string
	}{
		{"unknown status", "status=frozen", "status must be one of"},
		{"unknown feature", "feature=photos", "calendar, drive"},
		{"feature and other scope", "feature=drive&scope=email", "contradicts"},
		{"limit zero", "limit=0", "limit"},
		{"limit too big", "limit=1001", "limit"},
		{"limit not a number", "limit=ten", "limit"},
		{"malformed cursor", "cursor=zz", ""},
		{"control character", "sub=%01", "control character"},
		{"too long", "sub=" + strings.Repeat("x", 600), "longer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Get("/admin/grants?"+tc.query, http.StatusBadRequest)
			if code := r.ErrorCode(t); code != admin.CodeBadRequest {
				t.Errorf("error = %q, want bad_request", code)
			}
			if !strings.Contains(string(r.Body), tc.detail) {
				t.Errorf("answer %s does not mention %q", r.Body, tc.detail)
			}
		})
	}
}

func TestShowGrant(t *testing.T) {
	e := admintest.New(t, nil)
	g := e.MustGrant(admintest.GrantSpec{Sub: "alice", Scopes: []string{"openid", admintest.Features["drive"]}})
	other := e.MustGrant(admintest.GrantSpec{Sub: "alice"})
	e.MustAudit(riscd.AuditEntry{Sub: "alice", GrantIDs: []string{g.ID}, Action: "hold_grants", Outcome: "held", EventJTI: "jti-1", Actor: "event"})
	e.MustAudit(riscd.AuditEntry{Sub: "alice", GrantIDs: []string{other.ID}, Action: "revoke_grants", Actor: "event"})
	e.MustAudit(riscd.AuditEntry{Sub: "alice", GrantIDs: []string{other.ID, g.ID}, Action: "release_holds", Actor: "operator"})

	var got grantJSON
	e.Get("/admin/grants/"+g.ID, http.StatusOK).JSON(t, &got)
	if got.ID != g.ID || got.Sub != "alice" || got.Status != "active" || !got.HasAccessToken {
		t.Errorf("got %+v, want the active grant %s of alice with an access token", got, g.ID)
	}
	if want := []string{"drive"}; !slices.Equal(got.Features, want) {
		t.Errorf("features = %v, want %v", got.Features, want)
	}
	if want := admintest.HashFingerprint(g.RefreshToken.Reveal()); got.RefreshTokenFingerprint != want {
		t.Errorf("refresh_token_fingerprint = %q, want %q", got.RefreshTokenFingerprint, want)
	}
	if want := admintest.PrefixFingerprint(g.RefreshToken.Reveal()); got.RefreshPrefixFingerprint != want {
		t.Errorf("refresh_prefix_fingerprint = %q, want %q", got.RefreshPrefixFingerprint, want)
	}
	if got.AccessTokenExpiry == nil || !got.AccessTokenExpiry.Equal(g.Expiry) {
		t.Errorf("access_token_expiry = %v, want %v", got.AccessTokenExpiry, g.Expiry)
	}
	var actions []string
	for _, h := range got.History {
		actions = append(actions, h.Action)
	}
	if want := []string{"release_holds", "hold_grants"}; !slices.Equal(actions, want) {
		t.Errorf("history = %v, want %v (entries naming the grant, newest first)", actions, want)
	}

	t.Run("unknown", func(t *testing.T) {
		r := e.Get("/admin/grants/000000000000000000000000", http.StatusNotFound)
		if code := r.ErrorCode(t); code != admin.CodeNotFound {
			t.Errorf("error = %q, want not_found", code)
		}
	})
}

func TestRevokeGrant(t *testing.T) {
	e := admintest.New(t, nil)
	g := e.MustGrant(admintest.GrantSpec{Sub: "alice"})

	r := e.Do(http.MethodDelete, "/admin/grants/"+g.ID, admintest.AdminToken, nil)
	if r.Status != http.StatusAccepted {
		t.Fatalf("status %d, want 202: %s", r.Status, r.Body)
	}
	var body map[string]string
	r.JSON(t, &body)
	if body["id"] != g.ID || body["upstream_revocation"] != "queued" {
		t.Errorf("answer %v, want the id and upstream_revocation queued", body)
	}
	if want := []admintest.OpCall{{Method: "DiscardGrant", Arg: g.ID, Actor: admin.ActorOperator}}; !slices.Equal(e.Op.Calls(), want) {
		t.Errorf("operator calls %v, want %v", e.Op.Calls(), want)
	}

	t.Run("again", func(t *testing.T) {
		r := e.Do(http.MethodDelete, "/admin/grants/"+g.ID, admintest.AdminToken, nil)
		if r.Status != http.StatusNotFound || r.ErrorCode(t) != admin.CodeNotFound {
			t.Errorf("got %d %s, want 404 not_found", r.Status, r.Body)
		}
	})
}

func TestOperatorFailures(t *testing.T) {
	tests := []struct {
		name     string
		config   func(*admin.Config)
		setup    func(*admintest.Env)
		status   int
		code     string
		logError bool
	}{
		{"not wired", func(c *admin.Config) { c.Operator = nil }, func(*admintest.Env) {}, http.StatusNotImplemented, admin.CodeNotImplemented, false},
		{"unexpected failure", nil, func(e *admintest.Env) { e.Op.Err = admintest.ErrBoom }, http.StatusInternalServerError, admin.CodeInternal, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := admintest.New(t, tc.config)
			tc.setup(e)
			g := e.MustGrant(admintest.GrantSpec{Sub: "alice"})
			e.MustAccount(admintest.AccountOf("alice"))
			for _, req := range []struct{ method, path string }{
				{http.MethodDelete, "/admin/grants/" + g.ID},
				{http.MethodPost, "/admin/accounts/alice/release"},
			} {
				r := e.Do(req.method, req.path, admintest.AdminToken, nil)
				if r.Status != tc.status || r.ErrorCode(t) != tc.code {
					t.Errorf("%s %s: got %d %s, want %d %s", req.method, req.path, r.Status, r.Body, tc.status, tc.code)
				}
				if strings.Contains(string(r.Body), "input/output") {
					t.Errorf("answer shows the internal error: %s", r.Body)
				}
			}
			if got := strings.Contains(e.Logs.String(), `"level":"ERROR"`); got != tc.logError {
				t.Errorf("logged at error level = %v, want %v", got, tc.logError)
			}
		})
	}
}
