package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"

	"github.com/riscd/riscd/adminclient"
)

func outboxList(fs *flag.FlagSet) func(context.Context, *adminSession, string) error {
	var f adminclient.OutboxFilter
	fs.StringVar(&f.Status, "status", adminclient.OutboxPending, "pending (oldest first) or failed (newest first)")
	fs.StringVar(&f.Kind, "kind", "", "only jobs of this kind: revoke or webhook")
	fs.IntVar(&f.Limit, "limit", 0, fmt.Sprintf("at most this many jobs, 1 to %d (default %d)", adminclient.MaxLimit, adminclient.MaxLimit))
	return func(ctx context.Context, s *adminSession, _ string) error {
		if err := errors.Join(
			checkStatusFlag(f.Status, []string{adminclient.OutboxPending, adminclient.OutboxFailed}),
			checkKindFlag(f.Kind),
			checkLimitFlag(f.Limit),
		); err != nil {
			return err
		}
		list, err := s.client.Outbox(ctx, f)
		if err != nil {
			return err
		}
		if s.json {
			return writeAdminJSON(s.stdout, list)
		}
		if len(list.Jobs) == 0 {
			fmt.Fprintf(s.stdout, "no %s jobs\n", f.Status)
			return nil
		}
		when, stamp := "NEXT_ATTEMPT", func(j adminclient.OutboxJob) string { return utcStampOr(j.NextAttemptAt, "-") }
		if f.Status == adminclient.OutboxFailed {
			when, stamp = "FAILED", func(j adminclient.OutboxJob) string { return utcStampOr(j.FailedAt, "-") }
		}
		t := newAdminTable(s.stdout, "ID", "KIND", "EVENT", "SUBJECT", "EMAIL", "GRANT", "CREATED", "ATTEMPTS", when, "LAST_ERROR")
		for _, j := range list.Jobs {
			t.row(strconv.FormatUint(j.ID, 10), j.Kind, orDash(j.EventType), orDash(j.Sub), orDash(j.Email), orDash(j.GrantID), utcStamp(j.CreatedAt),
				strconv.Itoa(j.Attempts), stamp(j), truncateCell(orDash(j.LastError)))
		}
		if err := t.flush(); err != nil {
			return err
		}
		if list.Truncated {
			fmt.Fprintf(s.stderr, "more %s jobs than shown\n", f.Status)
		}
		return nil
	}
}

// checkKindFlag refuses an outbox --kind riscd does not know.
func checkKindFlag(kind string) error {
	switch kind {
	case "", "revoke", "webhook":
		return nil
	}
	return usageError{fmt.Errorf("--kind %q: must be revoke or webhook", kind)}
}

func outboxRetry(fs *flag.FlagSet) func(context.Context, *adminSession, string) error {
	return func(ctx context.Context, s *adminSession, arg string) error {
		id, err := strconv.ParseUint(arg, 10, 64)
		if err != nil || id == 0 {
			return usageError{fmt.Errorf("job id %q: must be a positive whole number (the ID column of riscd outbox list)", arg)}
		}
		j, err := s.client.RetryOutboxJob(ctx, id)
		if err != nil {
			return err
		}
		if s.json {
			return writeAdminJSON(s.stdout, j)
		}
		if j.Attempts > 0 {
			fmt.Fprintf(s.stdout, "outbox job %d (%s): %s, due now after %d attempts; riscd tries it now\n", j.ID, j.Kind, j.Status, j.Attempts)
		} else {
			fmt.Fprintf(s.stdout, "outbox job %d (%s): %s again, with a fresh budget of attempts; riscd tries it now\n", j.ID, j.Kind, j.Status)
		}
		return nil
	}
}

func outboxRetryFailed(fs *flag.FlagSet) func(context.Context, *adminSession, string) error {
	kind := fs.String("kind", "", "only jobs of this kind: revoke or webhook")
	return func(ctx context.Context, s *adminSession, _ string) error {
		if err := checkKindFlag(*kind); err != nil {
			return err
		}
		// Each retry takes a job off the failed list, so the list is read
		// again until it holds only jobs tried here already: one that fails
		// again at once is not retried twice.
		tried := map[uint64]bool{}
		retried := []adminclient.OutboxJob{}
		for {
			list, err := s.client.Outbox(ctx, adminclient.OutboxFilter{Status: adminclient.OutboxFailed, Kind: *kind})
			if err != nil {
				return err
			}
			n := 0
			for _, j := range slices.Backward(list.Jobs) { // oldest first
				if tried[j.ID] {
					continue
				}
				tried[j.ID] = true
				n++
				job, err := s.client.RetryOutboxJob(ctx, j.ID)
				if errors.Is(err, adminclient.ErrNotFailed) {
					continue // retried meanwhile by someone else
				}
				if err != nil {
					return fmt.Errorf("after %d jobs retried: %w", len(retried), err)
				}
				retried = append(retried, job)
			}
			if !list.Truncated {
				break
			}
			if n == 0 {
				// The newest failed jobs are all ones retried here that
				// failed again; older ones lie beyond the listing.
				fmt.Fprintln(s.stderr, "more failed jobs remain than one listing shows; run riscd outbox retry-failed again")
				break
			}
		}
		if s.json {
			return writeAdminJSON(s.stdout, adminclient.OutboxList{Jobs: retried})
		}
		fmt.Fprintf(s.stdout, "failed jobs now pending again: %d; riscd tries them now\n", len(retried))
		return nil
	}
}
