package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/riscd/riscd/adminclient"
)

// accountMarks lists what is set on an account ("held", "sign-in disabled", ...),
// or says "no marks".
func accountMarks(a adminclient.AccountState) string {
	var out []string
	for _, m := range []struct {
		set  bool
		name string
	}{
		{a.Held, "held"}, {a.SigninDisabled, "sign-in disabled"}, {a.Review, "review"},
		{a.ReconsentRequired, "re-consent required"}, {a.CredentialChangeRequired, "credential change required"},
		{a.Purged, "purged"},
	} {
		if m.set {
			out = append(out, m.name)
		}
	}
	if len(out) == 0 {
		return "no marks"
	}
	return strings.Join(out, ", ")
}

func accountsShow(fs *flag.FlagSet) func(context.Context, *adminSession, string) error {
	return func(ctx context.Context, s *adminSession, sub string) error {
		a, err := s.client.Account(ctx, sub)
		if err != nil {
			return err
		}
		if s.json {
			return writeAdminJSON(s.stdout, a)
		}
		f := newAdminFields(s.stdout)
		f.add("sub", a.Sub)
		f.add("email", orDash(a.Email))
		f.add("state", accountMarks(a.AccountState))
		f.add("sessions revoked", utcStampOr(a.SessionsRevokedAt, "never"))
		f.add("flags", orDash(strings.Join(a.Flags, ", ")))
		record := "yes"
		if !a.Known {
			record = "no (riscd holds only grants of this subject)"
		}
		f.add("account record", record)
		f.add("created", utcStampOr(a.CreatedAt, "-"))
		f.add("updated", utcStampOr(a.UpdatedAt, "-"))
		if err := f.flush(); err != nil {
			return err
		}
		fmt.Fprintln(s.stdout)
		if len(a.Grants) == 0 {
			fmt.Fprintln(s.stdout, "grants: none")
		} else {
			fmt.Fprintln(s.stdout, "grants (newest first):")
			t := newAdminTable(s.stdout, "ID", "STATUS", "REASON", "SCOPES/FEATURES", "UPDATED")
			for _, g := range a.Grants {
				t.row(g.ID, string(g.Status), orDash(g.Reason), scopesAndFeatures(g), utcStamp(g.UpdatedAt))
			}
			if err := t.flush(); err != nil {
				return err
			}
		}
		fmt.Fprintln(s.stdout)
		if len(a.Timeline) == 0 {
			fmt.Fprintln(s.stdout, "timeline: empty")
			return nil
		}
		fmt.Fprintln(s.stdout, "timeline (newest first):")
		t := newAdminTable(s.stdout, "AT", "KIND", "WHAT", "STATUS", "DETAIL")
		for _, it := range a.Timeline {
			switch {
			case it.Event != nil:
				e := it.Event
				status := string(e.Status)
				if e.Attempts > 0 {
					status += " after " + strconv.Itoa(e.Attempts) + " attempts"
				}
				t.row(utcStamp(it.At), "event", fmt.Sprintf("%d %s from %s", e.ID, strings.Join(e.TypeNames, ","), e.Transmitter),
					status, truncateCell(orDash(e.LastError)))
			case it.Action != nil:
				x := it.Action
				detail := "by " + orDash(x.Actor)
				if x.Detail != "" {
					detail += ": " + x.Detail
				}
				t.row(utcStamp(it.At), "action", auditAction(*x), orDash(x.Outcome), truncateCell(detail))
			default:
				t.row(utcStamp(it.At), it.Kind, "-", "-", "-")
			}
		}
		return t.flush()
	}
}

func accountsRelease(fs *flag.FlagSet) func(context.Context, *adminSession, string) error {
	return func(ctx context.Context, s *adminSession, sub string) error {
		a, err := s.client.ReleaseAccount(ctx, sub)
		if err != nil {
			return err
		}
		if s.json {
			return writeAdminJSON(s.stdout, a)
		}
		fmt.Fprintf(s.stdout, "released %s (now: %s)\n", a.Sub, accountMarks(a.AccountState))
		if len(a.Grants) == 0 {
			return nil
		}
		t := newAdminTable(s.stdout, "GRANT", "STATUS", "REASON")
		for _, g := range a.Grants {
			t.row(g.ID, string(g.Status), orDash(g.Reason))
		}
		return t.flush()
	}
}
