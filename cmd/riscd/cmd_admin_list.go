package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/riscd/riscd/adminclient"
)

// adminPageFlags are the paging flags of the list subcommands.
type adminPageFlags struct {
	limit  int
	cursor string
	all    bool
}

func addAdminPageFlags(fs *flag.FlagSet, what string) *adminPageFlags {
	p := &adminPageFlags{}
	fs.IntVar(&p.limit, "limit", 0, fmt.Sprintf("%s per page, 1 to %d (default: the API's, 100)", what, adminclient.MaxLimit))
	fs.StringVar(&p.cursor, "cursor", "", "start at this cursor (printed after a page that has more)")
	fs.BoolVar(&p.all, "all", false, "follow the cursors to the last page")
	return p
}

func (p *adminPageFlags) check() error { return checkLimitFlag(p.limit) }

// checkLimitFlag refuses a --limit the admin API would refuse (0: the
// API's default).
func checkLimitFlag(n int) error {
	if n < 0 || n > adminclient.MaxLimit {
		return usageError{fmt.Errorf("--limit must be from 1 to %d", adminclient.MaxLimit)}
	}
	return nil
}

// checkStatusFlag refuses a --status the API does not know, before sending.
func checkStatusFlag[T ~string](v T, valid []T) error {
	if v == "" || slices.Contains(valid, v) {
		return nil
	}
	names := make([]string, len(valid))
	for i, s := range valid {
		names[i] = string(s)
	}
	return usageError{fmt.Errorf("--status %q: must be one of %s", v, strings.Join(names, ", "))}
}

// collectAll reads every item of seq, stopping at the first error.
func collectAll[T any](seq func(func(T, error) bool)) ([]T, error) {
	out := []T{}
	for v, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// moreHint tells on stderr how to read the next page.
func (s *adminSession) moreHint(command, next string) {
	if next != "" {
		fmt.Fprintf(s.stderr, "more: riscd %s --cursor %s (same filters), or --all\n", command, next)
	}
}
