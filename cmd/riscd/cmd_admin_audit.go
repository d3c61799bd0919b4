package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/riscd/riscd/adminclient"
)

func cmdAudit(ctx context.Context, env *cliEnv, args []string) error {
	return runAdmin(ctx, env, "audit", args, auditSubs())
}

// auditSubs are the subcommands of riscd audit.
func auditSubs() []adminSub {
	return []adminSub{
		{"list", "", "[--sub SUB] [--limit N] [--cursor C | --all]",
			"List what riscd and its operators did (actions on grants and accounts, retries, releases), newest first.", auditList},
	}
}

func auditList(fs *flag.FlagSet) func(context.Context, *adminSession, string) error {
	var f adminclient.AuditFilter
	fs.StringVar(&f.Sub, "sub", "", "only entries about this subject (Google's sub, or a verified email of one of its grants)")
	p := addAdminPageFlags(fs, "entries")
	return func(ctx context.Context, s *adminSession, _ string) error {
		f.Limit, f.Cursor = p.limit, p.cursor
		if err := p.check(); err != nil {
			return err
		}
		var page adminclient.AuditPage
		var err error
		if p.all {
			page.Entries, err = collectAll(s.client.AllAudit(ctx, f))
		} else {
			page, err = s.client.ListAudit(ctx, f)
		}
		if err != nil {
			return err
		}
		if s.json {
			return writeAdminJSON(s.stdout, page)
		}
		if len(page.Entries) == 0 {
			fmt.Fprintln(s.stdout, "no audit entries found")
			return nil
		}
		t := newAdminTable(s.stdout, "ID", "AT", "ACTOR", "ACTION", "OUTCOME", "SUBJECT", "GRANTS", "EVENT", "DETAIL")
		for _, e := range page.Entries {
			action := e.Action
			if e.DryRun {
				action += " (dry run)"
			}
			t.row(strconv.FormatUint(e.ID, 10), utcStamp(e.At), orDash(e.Actor), action, orDash(e.Outcome), orDash(e.Sub),
				orDash(strings.Join(e.GrantIDs, ",")), orDash(e.EventType), truncateCell(orDash(e.Detail)))
		}
		if err := t.flush(); err != nil {
			return err
		}
		s.moreHint("audit list", page.NextCursor)
		return nil
	}
}
