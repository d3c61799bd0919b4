// Command riscd is the riscd daemon and its tools (riscd --help lists every
// command and subcommand). Package config reads and checks the
// configuration; this command holds the subcommands and the wiring that
// builds each package's Config from it. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/riscd/riscd/config"
	"github.com/riscd/riscd/store/boltdb"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // a runtime failure
	exitUsage   = 2 // bad arguments, bad configuration, or start-up failure
	exitDamaged = 3 // the store file is damaged (truncated, or pages bbolt cannot read)
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a problem with the command line or configuration: exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *cliEnv, args []string) error
	subs    func() []string // the subcommands' names, or nil
}

// cliEnv is what a command gets from the process.
type cliEnv struct {
	environ []string
	stdout  io.Writer
	stderr  io.Writer
}

func commands() []command {
	return []command{
		{"serve", "run the daemon", cmdServe, nil},
		{"config", "check a configuration file", cmdConfig, func() []string { return []string{"check"} }},
		{"demo", "run riscd with a local Google stand-in, no Google account needed", cmdDemo, func() []string { return []string{"send"} }},
		{"store", "store maintenance", cmdStore, func() []string { return names(storeSubs(), func(s storeSub) string { return s.name }) }},
		{"stream", "manage Google's RISC stream", cmdStream, func() []string { return names(streamCommands(), func(s streamCommand) string { return s.name }) }},
		{"grants", "grants, through the admin API", cmdGrants, adminSubNames(grantsSubs)},
		{"events", "received events, through the admin API", cmdEvents, adminSubNames(eventsSubs)},
		{"outbox", "upstream revocations and webhooks, through the admin API", cmdOutbox, adminSubNames(outboxSubs)},
		{"accounts", "accounts and their holds, through the admin API", cmdAccounts, adminSubNames(accountsSubs)},
		{"audit", "the audit log of actions, through the admin API", cmdAudit, adminSubNames(auditSubs)},
		{"webhook-secret", "print (or write to a new file) a new webhook secret", cmdWebhookSecret, nil},
		{"version", "print the version", cmdVersion, nil},
	}
}

// names maps each element of a list to its name.
func names[T any](list []T, name func(T) string) []string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = name(v)
	}
	return out
}

// adminSubNames lists the names of an admin command's subcommands.
func adminSubNames(subs func() []adminSub) func() []string {
	return func() []string { return names(subs(), func(s adminSub) string { return s.name }) }
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	env := &cliEnv{environ: environ, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp):
			return exitOK
		default:
			fmt.Fprintf(stderr, "riscd %s: %v\n", c.name, err)
			var ue usageError
			var se *StartupError
			var ce config.Errors
			if errors.Is(err, boltdb.ErrDamaged) {
				return exitDamaged
			}
			if errors.As(err, &ue) || errors.As(err, &se) || errors.As(err, &ce) {
				return exitUsage
			}
			return exitFailure
		}
	}
	fmt.Fprintf(stderr, "riscd: unknown command %q (run riscd --help)\n", args[0])
	return exitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "riscd: Google Cross-Account Protection receiver and OAuth grant keeper")
	fmt.Fprintln(w, "\nUsage: riscd <command> [flags]\n\nCommands:")
	width := 0
	for _, c := range commands() {
		width = max(width, len(c.name))
	}
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-*s %s\n", width, c.name, c.summary)
		if c.subs != nil {
			subs := c.subs()
			for i, s := range subs {
				subs[i] = c.name + " " + s
			}
			fmt.Fprintf(w, "  %-*s   %s\n", width, "", strings.Join(subs, ", "))
		}
	}
	fmt.Fprintln(w, "\nRun riscd <command> --help for a command's flags.")
}

// newFlagSet makes a FlagSet that prints its usage to stdout on --help and
// returns errors (never exits).
func newFlagSet(env *cliEnv, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stdout, "Usage: riscd %s\n\n", synopsis)
		fs.SetOutput(env.stdout)
		fs.PrintDefaults()
		fs.SetOutput(env.stderr)
	}
	return fs
}

// parseFlags parses args; a flag error is a usageError, --help is flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}
