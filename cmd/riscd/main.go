// Command riscd is the riscd daemon and its tools: serve, config check, demo,
// store rotate-key and version. Package config reads and checks the
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
}

// cliEnv is what a command gets from the process.
type cliEnv struct {
	environ []string
	stdout  io.Writer
	stderr  io.Writer
}

func commands() []command {
	return []command{
		{"serve", "run the daemon", cmdServe},
		{"config", "check a configuration file (config check)", cmdConfig},
		{"demo", "run riscd with a local Google stand-in, no Google account needed", cmdDemo},
		{"store", "store maintenance (store check, backup, rotate-key, salvage-journal, copy)", cmdStore},
		{"stream", "manage Google's RISC stream (show, update, enable, disable, status, verify)", cmdStream},
		{"grants", "list, show or revoke grants through the admin API", cmdGrants},
		{"events", "list, show or retry received events through the admin API", cmdEvents},
		{"outbox", "list pending or failed upstream revocations and webhooks, or retry a failed one, through the admin API", cmdOutbox},
		{"accounts", "show an account or release its hold through the admin API", cmdAccounts},
		{"version", "print the version", cmdVersion},
	}
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
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
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
