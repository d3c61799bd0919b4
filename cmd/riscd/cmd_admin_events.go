package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/riscd/riscd/adminclient"
)

func eventsList(fs *flag.FlagSet) func(context.Context, *adminSession, string) error {
	var f adminclient.EventFilter
	fs.StringVar(&f.Sub, "sub", "", "only events about this subject (Google's sub, or a verified email of one of its grants)")
	fs.StringVar(&f.Type, "type", "", "only events of this type: a short name (account-disabled) or the URI")
	status := fs.String("status", "", "only events in this state: pending, done or parked")
	p := addAdminPageFlags(fs, "events")
	return func(ctx context.Context, s *adminSession, _ string) error {
		f.Status, f.Limit, f.Cursor = adminclient.EventStatus(*status), p.limit, p.cursor
		if err := errors.Join(p.check(), checkStatusFlag(f.Status, adminclient.EventStatuses())); err != nil {
			return err
		}
		var page adminclient.EventPage
		var err error
		if p.all {
			page.Events, err = collectAll(s.client.AllEvents(ctx, f))
		} else {
			page, err = s.client.ListEvents(ctx, f)
		}
		if err != nil {
			return err
		}
		if s.json {
			return writeAdminJSON(s.stdout, page)
		}
		if len(page.Events) == 0 {
			fmt.Fprintln(s.stdout, "no events found")
			return nil
		}
		t := newAdminTable(s.stdout, "ID", "RECEIVED", "TRANSMITTER", "TYPE", "STATUS", "ATTEMPTS", "SUBJECT", "LAST_ERROR")
		for _, e := range page.Events {
			t.row(strconv.FormatUint(e.ID, 10), utcStamp(e.ReceivedAt), e.Transmitter, strings.Join(e.TypeNames, ","),
				string(e.Status), strconv.Itoa(e.Attempts), e.Subject, truncateCell(orDash(e.LastError)))
		}
		if err := t.flush(); err != nil {
			return err
		}
		s.moreHint("events list", page.NextCursor)
		return nil
	}
}

// parseEventID reads an event id argument.
func parseEventID(arg string) (uint64, error) {
	id, err := strconv.ParseUint(arg, 10, 64)
	if err != nil || id == 0 {
		return 0, usageError{fmt.Errorf("event id %q: must be a positive whole number (the ID column of riscd events list)", arg)}
	}
	return id, nil
}

func eventsShow(fs *flag.FlagSet) func(context.Context, *adminSession, string) error {
	return func(ctx context.Context, s *adminSession, arg string) error {
		id, err := parseEventID(arg)
		if err != nil {
			return err
		}
		e, err := s.client.Event(ctx, id)
		if err != nil {
			return err
		}
		if s.json {
			return writeAdminJSON(s.stdout, e)
		}
		f := newAdminFields(s.stdout)
		f.add("id", strconv.FormatUint(e.ID, 10))
		f.add("transmitter", e.Transmitter)
		f.add("iss", e.Iss)
		f.add("jti", e.JTI)
		f.add("subject", e.Subject)
		types := make([]string, len(e.Types))
		for i, uri := range e.Types {
			types[i] = uri
			if i < len(e.TypeNames) && e.TypeNames[i] != uri {
				types[i] = e.TypeNames[i] + "  " + uri
			}
		}
		f.add("types", types...)
		f.add("status", string(e.Status))
		f.add("attempts", strconv.Itoa(e.Attempts))
		f.add("last error", orDash(e.LastError))
		f.add("next attempt", utcStampOr(e.NextAttemptAt, "-"))
		f.add("received", utcStamp(e.ReceivedAt))
		f.add("done", utcStampOr(e.DoneAt, "-"))
		if err := f.flush(); err != nil {
			return err
		}
		fmt.Fprintln(s.stdout, "\nclaims:")
		var claims bytes.Buffer
		if err := json.Indent(&claims, e.Claims, "  ", "  "); err != nil || len(e.Claims) == 0 {
			fmt.Fprintln(s.stdout, "  (none)")
			return nil
		}
		fmt.Fprintf(s.stdout, "  %s\n", claims.Bytes())
		return nil
	}
}

func eventsRetry(fs *flag.FlagSet) func(context.Context, *adminSession, string) error {
	return func(ctx context.Context, s *adminSession, arg string) error {
		id, err := parseEventID(arg)
		if err != nil {
			return err
		}
		e, err := s.client.RetryEvent(ctx, id)
		if err != nil {
			return err
		}
		if s.json {
			return writeAdminJSON(s.stdout, e)
		}
		fmt.Fprintf(s.stdout, "event %d (%s): %s again, with a fresh budget of attempts; riscd handles it now\n",
			e.ID, strings.Join(e.TypeNames, ","), e.Status)
		return nil
	}
}
