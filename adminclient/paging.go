package adminclient

import (
	"context"
	"fmt"
	"iter"
)

// pages yields every item of the pages fetch returns, starting at cursor
// and following next cursors until one is empty. It stops after the first
// error, which it yields with a zero item.
func pages[T any](ctx context.Context, cursor string, fetch func(ctx context.Context, cursor string) ([]T, string, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		seen := map[string]bool{cursor: true}
		for {
			items, next, err := fetch(ctx, cursor)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			if seen[next] {
				var zero T
				yield(zero, fmt.Errorf("%w: the API answered cursor %q twice; paging would not end", ErrUnexpectedAnswer, next))
				return
			}
			seen[next], cursor = true, next
		}
	}
}

// setPage adds cursor and limit (when set) to q.
func setPage(q map[string][]string, cursor string, limit int) {
	if cursor != "" {
		q["cursor"] = []string{cursor}
	}
	if limit != 0 {
		q["limit"] = []string{fmt.Sprint(limit)}
	}
}
