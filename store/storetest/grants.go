package storetest

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/riscd/riscd"
)

// newGrant is a grant with every field set, tokens derived from seed.
func newGrant(sub string, seed uint64) riscd.Grant {
	return riscd.Grant{
		Sub:           sub,
		Email:         sub + "@example.com",
		EmailVerified: true,
		Scopes:        []string{"openid", "email", "https://www.googleapis.com/auth/gmail.readonly"},
		RefreshToken:  riscd.Secret(RefreshToken(seed)),
		AccessToken:   riscd.Secret(AccessToken(seed)),
		TokenType:     "Bearer",
		Expiry:        time.Date(2026, 3, 1, 13, 0, 0, 987654321, time.UTC),
		IDTokenExp:    time.Date(2026, 3, 1, 13, 0, 1, 0, time.FixedZone("CET", 3600)),
		Status:        riscd.GrantActive,
		Reason:        "consent",
		ChangedBy:     "user",
		LastUsedAt:    time.Date(2026, 2, 28, 10, 0, 0, 1, time.UTC),
		RefreshedAt:   time.Date(2026, 2, 28, 11, 0, 0, 2, time.UTC),
	}
}

func grantIDs(gs []riscd.Grant) []string {
	ids := make([]string, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	return ids
}

func sameIDs(e *env, what string, got []riscd.Grant, want ...string) {
	e.t.Helper()
	if g := grantIDs(got); fmt.Sprint(g) != fmt.Sprint(want) {
		e.t.Fatalf("%s: got grants %v, want %v", what, g, want)
	}
}

var grantIDPattern = regexp.MustCompile(`^[0-9a-f]{24}$`)

func grantCases() []tcase {
	return []tcase{
		{"create and read back", func(e *env) func(*env) {
			in := newGrant("sub-1", 1)
			in.Status = ""
			g := must(e.db.CreateGrant(e.ctx, in))(e.t)
			if !grantIDPattern.MatchString(g.ID) {
				e.t.Fatalf("ID %q: want 24 hex characters", g.ID)
			}
			want := newGrant("sub-1", 1)
			want.ID, want.CreatedAt, want.UpdatedAt = g.ID, start(), start()
			same(e.t, "CreateGrant result", g, want)
			return func(e *env) {
				same(e.t, "Grant", must(e.db.Grant(e.ctx, g.ID))(e.t), want)
			}
		}},
		{"create refuses a grant without sub", func(e *env) func(*env) {
			_, err := e.db.CreateGrant(e.ctx, newGrant("", 1))
			wantErr(e.t, "CreateGrant", err, riscd.ErrInvalid)
			return func(e *env) {
				if s := must(e.db.Count(e.ctx))(e.t); s.Grants != 0 {
					e.t.Fatalf("Count.Grants = %d, want 0", s.Grants)
				}
			}
		}},
		{"ids sort by creation time even when the clock stands still", func(e *env) func(*env) {
			var ids []string
			for i := range 5 {
				if i%2 == 0 {
					e.clock.Advance(time.Nanosecond)
				}
				ids = append(ids, must(e.db.CreateGrant(e.ctx, newGrant("s", uint64(i))))(e.t).ID)
			}
			for i := 1; i < len(ids); i++ {
				if ids[i] <= ids[i-1] {
					e.t.Fatalf("ids not increasing: %v", ids)
				}
			}
			return func(e *env) {
				sameIDs(e, "GrantsBySub", must(e.db.GrantsBySub(e.ctx, "s"))(e.t), ids...)
			}
		}},
		{"by verified email, ignoring case", func(e *env) func(*env) {
			a := must(e.db.CreateGrant(e.ctx, newGrant("sub-a", 1)))(e.t)
			unverified := newGrant("sub-b", 2)
			unverified.Email, unverified.EmailVerified = "Sub-A@Example.com", false
			must(e.db.CreateGrant(e.ctx, unverified))(e.t)
			other := newGrant("sub-c", 3)
			other.Email = "sub-a@example.com.evil"
			must(e.db.CreateGrant(e.ctx, other))(e.t)
			a2 := newGrant("sub-d", 4)
			a2.Email = "SUB-A@example.COM"
			d := must(e.db.CreateGrant(e.ctx, a2))(e.t)
			return func(e *env) {
				sameIDs(e, "GrantsByVerifiedEmail", must(e.db.GrantsByVerifiedEmail(e.ctx, "Sub-A@example.com"))(e.t), a.ID, d.ID)
				sameIDs(e, "GrantsByVerifiedEmail(nobody)", must(e.db.GrantsByVerifiedEmail(e.ctx, "nobody@example.com"))(e.t))
				sameIDs(e, "GrantsByVerifiedEmail(empty)", must(e.db.GrantsByVerifiedEmail(e.ctx, ""))(e.t))
			}
		}},
		{"missing grants", func(e *env) func(*env) {
			return func(e *env) {
				for _, id := range []string{"", "nope", "0123456789abcdef01234567"} {
					_, err := e.db.Grant(e.ctx, id)
					wantErr(e.t, "Grant("+id+")", err, riscd.ErrNotFound)
					wantErr(e.t, "DeleteGrant("+id+")", e.db.DeleteGrant(e.ctx, id), riscd.ErrNotFound)
					g := newGrant("s", 1)
					g.ID = id
					wantErr(e.t, "PutGrant("+id+")", e.db.PutGrant(e.ctx, g), riscd.ErrNotFound)
				}
			}
		}},
		{"put replaces fields and moves the indexes", func(e *env) func(*env) {
			g := must(e.db.CreateGrant(e.ctx, newGrant("old-sub", 1)))(e.t)
			e.clock.Advance(time.Hour)
			g2 := newGrant("new-sub", 2)
			g2.ID, g2.Status, g2.Reason, g2.CreatedAt = g.ID, riscd.GrantHeld, "hijacking", time.Unix(1, 0)
			noStatus := g2
			noStatus.Status = ""
			wantErr(e.t, "PutGrant without status", e.db.PutGrant(e.ctx, noStatus), riscd.ErrInvalid)
			noErr(e.t, e.db.PutGrant(e.ctx, g2))
			want := g2
			want.CreatedAt, want.UpdatedAt = start(), start().Add(time.Hour)
			return func(e *env) {
				same(e.t, "Grant", must(e.db.Grant(e.ctx, g.ID))(e.t), want)
				sameIDs(e, "GrantsBySub(old)", must(e.db.GrantsBySub(e.ctx, "old-sub"))(e.t))
				sameIDs(e, "GrantsBySub(new)", must(e.db.GrantsBySub(e.ctx, "new-sub"))(e.t), g.ID)
				_, err := e.db.GrantByRefreshDigest(e.ctx, riscd.RefreshTokenDigest(RefreshToken(1)))
				wantErr(e.t, "GrantByRefreshDigest(old)", err, riscd.ErrNotFound)
				same(e.t, "GrantByRefreshDigest(new)", must(e.db.GrantByRefreshDigest(e.ctx, riscd.RefreshTokenDigest(RefreshToken(2))))(e.t), want)
				sameIDs(e, "GrantsByRefreshPrefix(old)", must(e.db.GrantsByRefreshPrefix(e.ctx, RefreshToken(1)[:16]))(e.t))
				sameIDs(e, "GrantsByRefreshPrefix(new)", must(e.db.GrantsByRefreshPrefix(e.ctx, RefreshToken(2)[:16]))(e.t), g.ID)
			}
		}},
		{"a refresh token belongs to one grant", func(e *env) func(*env) {
			a := must(e.db.CreateGrant(e.ctx, newGrant("a", 1)))(e.t)
			_, err := e.db.CreateGrant(e.ctx, newGrant("b", 1))
			wantErr(e.t, "CreateGrant with a taken refresh token", err, riscd.ErrExists)
			b := must(e.db.CreateGrant(e.ctx, newGrant("b", 2)))(e.t)
			b.RefreshToken = a.RefreshToken
			wantErr(e.t, "PutGrant with a taken refresh token", e.db.PutGrant(e.ctx, b), riscd.ErrExists)
			return func(e *env) {
				same(e.t, "digest lookup of a", must(e.db.GrantByRefreshDigest(e.ctx, riscd.RefreshTokenDigest(RefreshToken(1))))(e.t).ID, a.ID)
				same(e.t, "digest lookup of b", must(e.db.GrantByRefreshDigest(e.ctx, riscd.RefreshTokenDigest(RefreshToken(2))))(e.t).ID, b.ID)
				sameIDs(e, "GrantsBySub(b)", must(e.db.GrantsBySub(e.ctx, "b"))(e.t), b.ID)
			}
		}},
		{"delete removes the grant and its index entries", func(e *env) func(*env) {
			a := must(e.db.CreateGrant(e.ctx, newGrant("s", 1)))(e.t)
			b := must(e.db.CreateGrant(e.ctx, newGrant("s", 2)))(e.t)
			noErr(e.t, e.db.DeleteGrant(e.ctx, a.ID))
			wantErr(e.t, "second DeleteGrant", e.db.DeleteGrant(e.ctx, a.ID), riscd.ErrNotFound)
			return func(e *env) {
				_, err := e.db.Grant(e.ctx, a.ID)
				wantErr(e.t, "Grant", err, riscd.ErrNotFound)
				sameIDs(e, "GrantsBySub", must(e.db.GrantsBySub(e.ctx, "s"))(e.t), b.ID)
				_, err = e.db.GrantByRefreshDigest(e.ctx, riscd.RefreshTokenDigest(RefreshToken(1)))
				wantErr(e.t, "GrantByRefreshDigest", err, riscd.ErrNotFound)
				sameIDs(e, "GrantsByRefreshPrefix", must(e.db.GrantsByRefreshPrefix(e.ctx, RefreshToken(1)[:16]))(e.t))
			}
		}},
		{"grants by sub keep subjects apart", func(e *env) func(*env) {
			var ab, a []string
			for i, sub := range []string{"ab", "a", "ab", "a", "b"} {
				g := must(e.db.CreateGrant(e.ctx, newGrant(sub, uint64(i))))(e.t)
				switch sub {
				case "ab":
					ab = append(ab, g.ID)
				case "a":
					a = append(a, g.ID)
				}
			}
			return func(e *env) {
				sameIDs(e, "GrantsBySub(a)", must(e.db.GrantsBySub(e.ctx, "a"))(e.t), a...)
				sameIDs(e, "GrantsBySub(ab)", must(e.db.GrantsBySub(e.ctx, "ab"))(e.t), ab...)
				sameIDs(e, "GrantsBySub(c)", must(e.db.GrantsBySub(e.ctx, "c"))(e.t))
			}
		}},
		{"lookup by refresh digest", func(e *env) func(*env) {
			g := must(e.db.CreateGrant(e.ctx, newGrant("s", 7)))(e.t)
			return func(e *env) {
				same(e.t, "match", must(e.db.GrantByRefreshDigest(e.ctx, riscd.RefreshTokenDigest(RefreshToken(7))))(e.t), g)
				_, err := e.db.GrantByRefreshDigest(e.ctx, riscd.RefreshTokenDigest(RefreshToken(8)))
				wantErr(e.t, "unknown digest", err, riscd.ErrNotFound)
				_, err = e.db.GrantByRefreshDigest(e.ctx, make([]byte, 32))
				wantErr(e.t, "32-byte digest", err, riscd.ErrInvalid)
			}
		}},
		{"lookup by refresh prefix finds every candidate", func(e *env) func(*env) {
			shared := RefreshToken(1)[:16]
			a := newGrant("a", 1)
			b := newGrant("b", 2)
			b.RefreshToken = riscd.Secret(shared + RefreshToken(2)[16:])
			short := newGrant("c", 3)
			short.RefreshToken = "1//0short"
			ga := must(e.db.CreateGrant(e.ctx, a))(e.t)
			gb := must(e.db.CreateGrant(e.ctx, b))(e.t)
			must(e.db.CreateGrant(e.ctx, newGrant("d", 4)))(e.t)
			gs := must(e.db.CreateGrant(e.ctx, short))(e.t)
			return func(e *env) {
				sameIDs(e, "shared prefix", must(e.db.GrantsByRefreshPrefix(e.ctx, shared))(e.t), ga.ID, gb.ID)
				sameIDs(e, "unknown prefix", must(e.db.GrantsByRefreshPrefix(e.ctx, "1//0xxxxxxxxxxxx"))(e.t))
				_, err := e.db.GrantsByRefreshPrefix(e.ctx, "1//0short")
				wantErr(e.t, "short prefix", err, riscd.ErrInvalid)
				same(e.t, "short token by digest", must(e.db.GrantByRefreshDigest(e.ctx, riscd.RefreshTokenDigest("1//0short")))(e.t).ID, gs.ID)
			}
		}},
		{"list pages newest first with filters", func(e *env) func(*env) {
			var all []string // newest first
			for i := range 7 {
				g := newGrant([]string{"x", "y"}[i%2], uint64(i))
				if i%3 == 0 {
					g.Status = riscd.GrantRevoked
				}
				if i == 4 {
					g.Scopes = []string{"openid"}
				}
				e.clock.Advance(time.Second)
				all = append([]string{must(e.db.CreateGrant(e.ctx, g))(e.t).ID}, all...)
			}
			return func(e *env) {
				var got []string
				cursor := ""
				for page := 0; ; page++ {
					gs, next, err := e.db.ListGrants(e.ctx, riscd.GrantQuery{Cursor: cursor, Limit: 3})
					noErr(e.t, err)
					if len(gs) > 3 {
						e.t.Fatalf("page %d has %d grants, limit 3", page, len(gs))
					}
					got = append(got, grantIDs(gs)...)
					if next == "" {
						break
					}
					cursor = next
				}
				if fmt.Sprint(got) != fmt.Sprint(all) {
					e.t.Fatalf("paged list %v, want %v", got, all)
				}
				for _, tc := range []struct {
					name string
					q    riscd.GrantQuery
					want []string // indexes into creation order
				}{
					{"sub", riscd.GrantQuery{Sub: "y"}, []string{all[1], all[3], all[5]}},
					{"status", riscd.GrantQuery{Status: riscd.GrantRevoked}, []string{all[0], all[3], all[6]}},
					{"sub and status", riscd.GrantQuery{Sub: "x", Status: riscd.GrantRevoked}, []string{all[0], all[6]}},
					{"scope", riscd.GrantQuery{Scope: "email"}, []string{all[0], all[1], all[3], all[4], all[5], all[6]}},
					{"nothing", riscd.GrantQuery{Sub: "z"}, nil},
				} {
					gs, next, err := e.db.ListGrants(e.ctx, tc.q)
					noErr(e.t, err)
					sameIDs(e, "ListGrants "+tc.name, gs, tc.want...)
					if next != "" {
						e.t.Fatalf("ListGrants %s: next cursor %q on the last page", tc.name, next)
					}
				}
				gs, next, err := e.db.ListGrants(e.ctx, riscd.GrantQuery{Sub: "y", Limit: 2})
				noErr(e.t, err)
				sameIDs(e, "ListGrants sub page 1", gs, all[1], all[3])
				gs, _, err = e.db.ListGrants(e.ctx, riscd.GrantQuery{Sub: "y", Limit: 2, Cursor: next})
				noErr(e.t, err)
				sameIDs(e, "ListGrants sub page 2", gs, all[5])
				_, _, err = e.db.ListGrants(e.ctx, riscd.GrantQuery{Cursor: "zz"})
				wantErr(e.t, "bad cursor", err, riscd.ErrInvalid)
			}
		}},
		{"status filter follows updates and deletes", func(e *env) func(*env) {
			var ids []string // creation order
			for i := range 5 {
				e.clock.Advance(time.Second)
				ids = append(ids, must(e.db.CreateGrant(e.ctx, newGrant("s", uint64(i))))(e.t).ID)
			}
			for _, i := range []int{0, 2, 3} {
				must(e.db.UpdateGrant(e.ctx, ids[i], func(g riscd.Grant) (riscd.Grant, error) {
					g.Status = riscd.GrantHeld
					return g, nil
				}))(e.t)
			}
			must(e.db.UpdateGrant(e.ctx, ids[2], func(g riscd.Grant) (riscd.Grant, error) {
				g.Status = riscd.GrantRevoked
				return g, nil
			}))(e.t)
			noErr(e.t, e.db.DeleteGrant(e.ctx, ids[3]))
			return func(e *env) {
				for _, tc := range []struct {
					status riscd.GrantStatus
					want   []string
				}{
					{riscd.GrantHeld, []string{ids[0]}},
					{riscd.GrantRevoked, []string{ids[2]}},
					{riscd.GrantActive, []string{ids[4], ids[1]}},
				} {
					var got []riscd.Grant
					cursor := ""
					for {
						gs, next, err := e.db.ListGrants(e.ctx, riscd.GrantQuery{Status: tc.status, Limit: 1, Cursor: cursor})
						noErr(e.t, err)
						got = append(got, gs...)
						if next == "" {
							break
						}
						cursor = next
					}
					sameIDs(e, "ListGrants status "+string(tc.status), got, tc.want...)
				}
				counts := must(e.db.CountGrants(e.ctx))(e.t)
				if want := map[riscd.GrantStatus]int{riscd.GrantHeld: 1, riscd.GrantRevoked: 1, riscd.GrantActive: 2}; fmt.Sprint(counts) != fmt.Sprint(want) {
					e.t.Errorf("CountGrants = %v, want %v", counts, want)
				}
			}
		}},
		{"update applies a function atomically", func(e *env) func(*env) {
			g := must(e.db.CreateGrant(e.ctx, newGrant("s", 1)))(e.t)
			e.clock.Advance(time.Minute)
			got := must(e.db.UpdateGrant(e.ctx, g.ID, func(old riscd.Grant) (riscd.Grant, error) {
				old.AccessToken = riscd.Secret(AccessToken(99))
				old.Status = riscd.GrantReauthRequired
				old.ID = "ignored"
				return old, nil
			}))(e.t)
			boom := errors.New("boom")
			_, err := e.db.UpdateGrant(e.ctx, g.ID, func(old riscd.Grant) (riscd.Grant, error) {
				old.Status = riscd.GrantRevoked
				return old, boom
			})
			wantErr(e.t, "UpdateGrant with failing fn", err, boom)
			_, err = e.db.UpdateGrant(e.ctx, "0123456789abcdef01234567", func(g riscd.Grant) (riscd.Grant, error) { return g, nil })
			wantErr(e.t, "UpdateGrant of a missing grant", err, riscd.ErrNotFound)
			want := g
			want.AccessToken, want.Status, want.UpdatedAt = riscd.Secret(AccessToken(99)), riscd.GrantReauthRequired, start().Add(time.Minute)
			same(e.t, "UpdateGrant result", got, want)
			return func(e *env) { same(e.t, "Grant", must(e.db.Grant(e.ctx, g.ID))(e.t), want) }
		}},
		{"a grant without refresh token gains one", func(e *env) func(*env) {
			in := newGrant("s", 1)
			in.RefreshToken = ""
			g := must(e.db.CreateGrant(e.ctx, in))(e.t)
			if got := must(e.db.Grant(e.ctx, g.ID))(e.t); !got.RefreshToken.IsZero() {
				e.t.Fatal("empty refresh token came back non-empty")
			}
			g.RefreshToken = riscd.Secret(RefreshToken(1))
			noErr(e.t, e.db.PutGrant(e.ctx, g))
			return func(e *env) {
				same(e.t, "by digest", must(e.db.GrantByRefreshDigest(e.ctx, riscd.RefreshTokenDigest(RefreshToken(1))))(e.t).ID, g.ID)
			}
		}},
	}
}
