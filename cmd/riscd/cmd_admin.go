package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// The grants, events, outbox and accounts commands are clients of the admin API of
// a running riscd (adminclient). Each has subcommands; each subcommand has
// the connection flags of adminConn and its own.

// adminSub is one subcommand of an admin command.
type adminSub struct {
	name     string
	args     string // the positional argument's name ("ID", "SUB"), or "" for none
	synopsis string // the flags, after "riscd <command> <name> [args]"
	summary  string
	// setup registers the subcommand's own flags and returns what runs it
	// with the positional argument ("" when args is "").
	setup func(fs *flag.FlagSet) func(ctx context.Context, s *adminSession, arg string) error
}

func cmdGrants(ctx context.Context, env *cliEnv, args []string) error {
	return runAdmin(ctx, env, "grants", args, grantsSubs())
}

// grantsSubs are the subcommands of riscd grants.
func grantsSubs() []adminSub {
	return []adminSub{
		{"list", "", "[--sub SUB] [--status STATUS] [--feature NAME] [--scope SCOPE] [--limit N] [--cursor C | --all]",
			"List grants, newest first.", grantsList},
		{"show", "ID", "", "Show one grant: every field, and the audit entries that name it.", grantsShow},
		{"revoke", "ID", "--yes",
			"Discard riscd's tokens of the grant and queue their revocation at Google. It cannot be undone, so --yes is required.", grantsRevoke},
	}
}

func cmdEvents(ctx context.Context, env *cliEnv, args []string) error {
	return runAdmin(ctx, env, "events", args, eventsSubs())
}

// eventsSubs are the subcommands of riscd events.
func eventsSubs() []adminSub {
	return []adminSub{
		{"list", "", "[--sub SUB] [--type TYPE] [--status pending|done|parked] [--limit N] [--cursor C | --all]",
			"List received security events with their processing state, newest first.", eventsList},
		{"show", "ID", "", "Show one event and its decoded claims (token identifiers appear as fingerprints).", eventsShow},
		{"retry", "ID", "", "Send a parked event back to the dispatcher with a fresh budget of attempts.", eventsRetry},
	}
}

func cmdOutbox(ctx context.Context, env *cliEnv, args []string) error {
	return runAdmin(ctx, env, "outbox", args, outboxSubs())
}

// outboxSubs are the subcommands of riscd outbox.
func outboxSubs() []adminSub {
	return []adminSub{
		{"list", "", "[--status pending|failed] [--kind revoke|webhook] [--limit N]",
			"List upstream revocations and webhooks: pending ones oldest first, or failed ones (given up on) newest first.", outboxList},
		{"retry", "ID", "", "Start a failed job over with a fresh budget of attempts and time, or have riscd try a pending one now (after fixing the app), without waiting for its next attempt.", outboxRetry},
		{"retry-failed", "", "[--kind revoke|webhook]",
			"Start every failed job (of one kind) over, oldest first: after an outage of Google's revoke endpoint or the app's webhook receiver.", outboxRetryFailed},
	}
}

func cmdAccounts(ctx context.Context, env *cliEnv, args []string) error {
	return runAdmin(ctx, env, "accounts", args, accountsSubs())
}

// accountsSubs are the subcommands of riscd accounts.
func accountsSubs() []adminSub {
	return []adminSub{
		{"show", "SUB|EMAIL", "", "Show a subject's account state, grants and timeline of events and actions; an email finds the subject whose grant carries it verified.", accountsShow},
		{"release", "SUB|EMAIL", "[--actor NAME]", "Lift a hold on the subject: its held grants become active again. Recorded in the audit log as operator:NAME.", accountsRelease},
	}
}

// runAdmin finds the subcommand, parses its flags, connects and runs it.
func runAdmin(ctx context.Context, env *cliEnv, group string, args []string, subs []adminSub) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printAdminUsage(env.stdout, group, subs)
		if len(args) == 0 {
			return usageError{fmt.Errorf("a subcommand is required: %s", subNames(subs))}
		}
		return flag.ErrHelp
	}
	var sub *adminSub
	for i := range subs {
		if subs[i].name == args[0] {
			sub = &subs[i]
		}
	}
	if sub == nil && strings.HasPrefix(args[0], "-") {
		return usageError{fmt.Errorf("the subcommand comes first: riscd %s <%s> [flags]", group, strings.ReplaceAll(subNames(subs), ", ", "|"))}
	}
	if sub == nil {
		return usageError{fmt.Errorf("unknown subcommand %q (%s; run riscd %s --help)", args[0], subNames(subs), group)}
	}
	usage := sub.usage(group)
	fs := newFlagSet(env, group+" "+sub.name, usage+"\n\n"+sub.summary+"\n\nFlags:")
	conn := addConnFlags(fs)
	run := sub.setup(fs)
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	want := 0
	if sub.args != "" {
		want = 1
	}
	if len(pos) != want || want == 1 && pos[0] == "" {
		return usageError{fmt.Errorf("usage: riscd %s", usage)}
	}
	arg := ""
	if want == 1 {
		arg = pos[0]
	}
	s, err := conn.connect(env)
	if err != nil {
		return err
	}
	return s.explain(run(ctx, s, arg))
}

// usage is the subcommand's synopsis line, after "riscd ".
func (s adminSub) usage(group string) string {
	parts := []string{group, s.name}
	if s.args != "" {
		parts = append(parts, s.args)
	}
	if s.synopsis != "" {
		parts = append(parts, s.synopsis)
	}
	return strings.Join(append(parts, "[--json] [connection flags]"), " ")
}

func subNames(subs []adminSub) string {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.name
	}
	return strings.Join(names, ", ")
}

func printAdminUsage(w io.Writer, group string, subs []adminSub) {
	fmt.Fprintf(w, "Usage: riscd %s <subcommand> [flags]\n\nThrough the admin API of a running riscd:\n\n", group)
	for _, s := range subs {
		fmt.Fprintf(w, "  riscd %s\n      %s\n", s.usage(group), s.summary)
	}
	fmt.Fprintf(w, "\nConnection: --internal-url (default http:// + internal.listen of --config, else %s);\n", defaultInternalURL())
	fmt.Fprintf(w, "the admin token from %s, else --admin-token-file, else internal.admin_token_file of --config.\n", envAdminToken)
	fmt.Fprintf(w, "\nExit status: 0 done, 1 the API or the network failed, 2 bad arguments or configuration.\n")
	fmt.Fprintf(w, "Run riscd %s <subcommand> --help for its flags.\n", group)
}

// parseInterspersed parses flags that may come before or after positional
// arguments ("grants revoke ID --yes") and returns the positional ones. A
// flag error is a usageError, --help is flag.ErrHelp. After "--" every
// argument is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
