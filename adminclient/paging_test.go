package adminclient_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/riscd/riscd/adminclient"
)

// pagedGrants serves n grants g1..gn newest first in pages of limit, the
// cursor being the index of the next grant; badCursor, when set, is
// answered as the next cursor of every page.
func pagedGrants(n int, badCursor string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		start, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
		if r.URL.Query().Get("cursor") == "boom" {
			answerJSON(w, 500, map[string]any{"error": "internal", "detail": "riscd failed"})
			return
		}
		page := adminclient.GrantPage{Grants: []adminclient.Grant{}}
		for i := start; i < n && i < start+limit; i++ {
			page.Grants = append(page.Grants, adminclient.Grant{ID: "g" + strconv.Itoa(i+1), Status: adminclient.GrantActive})
		}
		if start+limit < n {
			page.NextCursor = strconv.Itoa(start + limit)
		}
		if badCursor != "" {
			page.NextCursor = badCursor
		}
		answerJSON(w, 200, page)
	}
}

func collect(t *testing.T, c *adminclient.Client, f adminclient.GrantFilter, stopAfter int) ([]string, error) {
	t.Helper()
	var ids []string
	for g, err := range c.AllGrants(context.Background(), f) {
		if err != nil {
			return ids, err
		}
		ids = append(ids, g.ID)
		if len(ids) == stopAfter {
			break
		}
	}
	return ids, nil
}

func TestAllGrants(t *testing.T) {
	t.Run("follows cursors", func(t *testing.T) {
		f := newFake(t, pagedGrants(7, ""))
		ids, err := collect(t, mustClient(t, f.srv.URL), adminclient.GrantFilter{Limit: 3, Sub: "alice"}, -1)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"g1", "g2", "g3", "g4", "g5", "g6", "g7"}; !slices.Equal(ids, want) {
			t.Errorf("got %v, want %v", ids, want)
		}
		reqs := f.requests()
		var queries []string
		for _, r := range reqs {
			queries = append(queries, r.query)
		}
		want := []string{"limit=3&sub=alice", "cursor=3&limit=3&sub=alice", "cursor=6&limit=3&sub=alice"}
		if !slices.Equal(queries, want) {
			t.Errorf("queries %q, want %q", queries, want)
		}
	})
	t.Run("starts at the given cursor", func(t *testing.T) {
		f := newFake(t, pagedGrants(5, ""))
		ids, err := collect(t, mustClient(t, f.srv.URL), adminclient.GrantFilter{Limit: 2, Cursor: "3"}, -1)
		if err != nil || !slices.Equal(ids, []string{"g4", "g5"}) {
			t.Errorf("got %v, %v; want [g4 g5]", ids, err)
		}
	})
	t.Run("stops fetching when the caller stops", func(t *testing.T) {
		f := newFake(t, pagedGrants(10, ""))
		ids, err := collect(t, mustClient(t, f.srv.URL), adminclient.GrantFilter{Limit: 2}, 3)
		if err != nil || len(ids) != 3 {
			t.Fatalf("got %v, %v", ids, err)
		}
		if n := len(f.requests()); n != 2 {
			t.Errorf("%d pages fetched, want 2", n)
		}
	})
	t.Run("a repeated cursor ends paging", func(t *testing.T) {
		f := newFake(t, pagedGrants(10, "same"))
		ids, err := collect(t, mustClient(t, f.srv.URL), adminclient.GrantFilter{Limit: 2}, -1)
		if !errors.Is(err, adminclient.ErrUnexpectedAnswer) {
			t.Fatalf("got %v, want ErrUnexpectedAnswer", err)
		}
		if len(ids) != 4 || len(f.requests()) != 2 {
			t.Errorf("got %d grants in %d requests, want 4 in 2", len(ids), len(f.requests()))
		}
	})
	t.Run("an error ends paging", func(t *testing.T) {
		f := newFake(t, pagedGrants(10, "boom"))
		ids, err := collect(t, mustClient(t, f.srv.URL), adminclient.GrantFilter{Limit: 2}, -1)
		var ae *adminclient.APIError
		if !errors.As(err, &ae) || ae.Code != adminclient.CodeInternal {
			t.Fatalf("got %v, want the internal APIError", err)
		}
		if len(ids) != 2 {
			t.Errorf("got %v before the error, want the first page", ids)
		}
	})
}
