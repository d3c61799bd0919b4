package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/riscd/riscd/adminclient"
)

func grantsList(fs *flag.FlagSet) func(context.Context, *adminSession, string) error {
	var f adminclient.GrantFilter
	fs.StringVar(&f.Sub, "sub", "", "only this subject's grants (Google's sub, or a verified email of one of its grants)")
	status := fs.String("status", "", "only grants in this state: active, held, revoked or reauth_required")
	fs.StringVar(&f.Feature, "feature", "", "only grants holding this configured feature's scope")
	fs.StringVar(&f.Scope, "scope", "", "only grants holding this scope")
	p := addAdminPageFlags(fs, "grants")
	return func(ctx context.Context, s *adminSession, _ string) error {
		f.Status, f.Limit, f.Cursor = adminclient.GrantStatus(*status), p.limit, p.cursor
		if err := errors.Join(p.check(), checkStatusFlag(f.Status, adminclient.GrantStatuses())); err != nil {
			return err
		}
		var page adminclient.GrantPage
		var err error
		if p.all {
			page.Grants, err = collectAll(s.client.AllGrants(ctx, f))
		} else {
			page, err = s.client.ListGrants(ctx, f)
		}
		if err != nil {
			return err
		}
		if s.json {
			return writeAdminJSON(s.stdout, page)
		}
		if len(page.Grants) == 0 {
			fmt.Fprintln(s.stdout, "no grants found")
			return nil
		}
		t := newAdminTable(s.stdout, "ID", "SUB", "STATUS", "SCOPES/FEATURES", "CREATED", "UPDATED")
		for _, g := range page.Grants {
			t.row(g.ID, g.Sub, string(g.Status), scopesAndFeatures(g), utcStamp(g.CreatedAt), utcStamp(g.UpdatedAt))
		}
		if err := t.flush(); err != nil {
			return err
		}
		s.moreHint("grants list", page.NextCursor)
		return nil
	}
}

// scopesAndFeatures is a grant's features and how many scopes it holds:
// "drive,calendar (4 scopes)".
func scopesAndFeatures(g adminclient.Grant) string {
	n := fmt.Sprintf("%d scopes", len(g.Scopes))
	if len(g.Scopes) == 1 {
		n = "1 scope"
	}
	if len(g.Features) == 0 {
		return "(" + n + ")"
	}
	return strings.Join(g.Features, ",") + " (" + n + ")"
}

func grantsShow(fs *flag.FlagSet) func(context.Context, *adminSession, string) error {
	return func(ctx context.Context, s *adminSession, id string) error {
		g, err := s.client.Grant(ctx, id)
		if err != nil {
			return err
		}
		if s.json {
			return writeAdminJSON(s.stdout, g)
		}
		f := newAdminFields(s.stdout)
		f.add("id", g.ID)
		f.add("sub", g.Sub)
		f.add("email", orDash(g.Email))
		f.add("status", string(g.Status))
		f.add("reason", orDash(g.Reason))
		f.add("changed by", orDash(g.ChangedBy))
		f.add("features", orDash(strings.Join(g.Features, ", ")))
		f.add("scopes", append([]string{fmt.Sprint(len(g.Scopes))}, g.Scopes...)...)
		f.add("refresh token", "fingerprint "+orDash(g.RefreshTokenFingerprint)+", prefix fingerprint "+orDash(g.RefreshPrefixFingerprint))
		access := "none"
		if g.HasAccessToken {
			access = "held, expires " + utcStampOr(g.AccessTokenExpiry, "(unknown)")
		}
		f.add("access token", access)
		f.add("created", utcStamp(g.CreatedAt))
		f.add("updated", utcStamp(g.UpdatedAt))
		f.add("last used", utcStampOr(g.LastUsedAt, "never"))
		f.add("refreshed", utcStampOr(g.RefreshedAt, "never"))
		if err := f.flush(); err != nil {
			return err
		}
		fmt.Fprintln(s.stdout)
		if len(g.History) == 0 {
			fmt.Fprintln(s.stdout, "history: none")
			return nil
		}
		fmt.Fprintln(s.stdout, "history (newest first):")
		t := newAdminTable(s.stdout, "AT", "ACTOR", "ACTION", "OUTCOME", "EVENT", "DETAIL")
		for _, a := range g.History {
			t.row(utcStamp(a.At), orDash(a.Actor), auditAction(a), orDash(a.Outcome), orDash(a.EventJTI), truncateCell(orDash(a.Detail)))
		}
		return t.flush()
	}
}

// auditAction is an audit entry's action, marked when it was a dry run.
func auditAction(a adminclient.AuditEntry) string {
	if a.DryRun {
		return a.Action + " (dry run)"
	}
	return a.Action
}

func grantsRevoke(fs *flag.FlagSet) func(context.Context, *adminSession, string) error {
	yes := fs.Bool("yes", false, "confirm: the revocation at Google cannot be undone")
	return func(ctx context.Context, s *adminSession, id string) error {
		if !*yes {
			return usageError{fmt.Errorf("not revoking grant %s without --yes: riscd would discard its tokens and revoke them at Google, which cannot be undone (the user must consent again)", id)}
		}
		r, err := s.client.RevokeGrant(ctx, id)
		if err != nil {
			return err
		}
		if s.json {
			return writeAdminJSON(s.stdout, r)
		}
		fmt.Fprintf(s.stdout, "grant %s: %s; its revocation at Google is %s in the outbox\n", r.ID, r.Status, r.UpstreamRevocation)
		return nil
	}
}
