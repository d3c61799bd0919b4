package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/riscd/riscd/adminclient"
	"github.com/riscd/riscd/config"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/stream"
)

// streamCommand is one stream subcommand.
type streamCommand struct{ name, summary string }

// streamCommands returns the stream subcommands, in usage order.
func streamCommands() []streamCommand {
	return []streamCommand{
		{"show", "print the stream's delivery URL, events and status"},
		{"update", "point the stream at public_url + risc.path and request risc.events"},
		{"enable", "let Google deliver events"},
		{"disable", "stop delivery (Google neither sends nor buffers events meanwhile)"},
		{"status", "print enabled or disabled"},
		{"verify", "have Google send a verification event and wait until the running riscd reports it"},
	}
}

// Defaults of riscd stream verify.
const (
	defaultVerifyTimeout = 60 * time.Second
	verifyPollInterval   = 100 * time.Millisecond
)

func streamUsage() string {
	var b strings.Builder
	b.WriteString("Usage: riscd stream <command> --config FILE [--json]\n\nManages Google's RISC event stream for the project of risc.service_account_file.\n\nCommands:\n")
	for _, s := range streamCommands() {
		fmt.Fprintf(&b, "  %-8s %s\n", s.name, s.summary)
	}
	b.WriteString("\nRun riscd stream <command> --help for its flags.")
	return b.String()
}

func cmdStream(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(env.stdout, streamUsage())
		if len(args) == 0 {
			return usageError{errors.New("name a command: show, update, enable, disable, status or verify")}
		}
		return flag.ErrHelp
	}
	name := args[0]
	if !slices.ContainsFunc(streamCommands(), func(s streamCommand) bool { return s.name == name }) {
		return usageError{fmt.Errorf("unknown command %q: want show, update, enable, disable, status or verify", name)}
	}
	synopsis := "stream " + name + " --config FILE [--json]"
	if name == "verify" {
		synopsis = "stream verify --config FILE [--internal-url URL] [--timeout 60s] [--json]\n\n" +
			"Asks Google for a verification event with a random state, then polls the running riscd's admin API\n" +
			"(GET /admin/events?type=verification; token from " + envAdminToken + " or internal.admin_token_file)\n" +
			"until the event arrives, and prints the round trip. Exit status 1 when it never comes."
	}
	fs := newFlagSet(env, "stream "+name, synopsis)
	path := fs.String("config", "riscd.yaml", "configuration file")
	asJSON := fs.Bool("json", false, "print JSON, for scripts")
	internalURL := new(string)
	timeout := new(time.Duration)
	if name == "verify" {
		fs.StringVar(internalURL, "internal-url", "", "the running riscd's internal listener (default: http:// + internal.listen)")
		fs.DurationVar(timeout, "timeout", defaultVerifyTimeout, "how long to wait for the event")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	l, client, err := streamClient(ctx, env, *path)
	if err != nil {
		return err
	}
	out := streamOutput{w: env.stdout, json: *asJSON}
	if err := runStream(ctx, env, name, l, client, out, *internalURL, *timeout); err != nil {
		return streamCLIError{err}
	}
	return nil
}

// streamCLIError drops the package prefix of the stream client's errors:
// the command line already names the command.
type streamCLIError struct{ err error }

func (e streamCLIError) Error() string { return strings.TrimPrefix(e.err.Error(), "stream: ") }
func (e streamCLIError) Unwrap() error { return e.err }

// runStream runs one stream command.
func runStream(ctx context.Context, env *cliEnv, name string, l *loaded, client *stream.Client, out streamOutput, internalURL string, timeout time.Duration) error {
	switch name {
	case "show":
		return streamShow(ctx, env, l, client, out)
	case "update":
		return streamUpdate(ctx, env, l, client, out)
	case "enable", "disable":
		if err := client.SetStatus(ctx, name == "enable"); err != nil {
			return err
		}
		return streamStatus(ctx, client, out)
	case "status":
		return streamStatus(ctx, client, out)
	}
	if timeout <= 0 {
		return usageError{errors.New("--timeout must be positive")}
	}
	return streamVerify(ctx, env, l, client, out, internalURL, timeout)
}

// streamClient loads the configuration and builds the management API
// client from risc.service_account_file.
func streamClient(ctx context.Context, env *cliEnv, path string) (*loaded, *stream.Client, error) {
	l, err := load(path, env.environ, secretsOptions{})
	if err != nil {
		return nil, nil, err
	}
	p := l.cfg.RISC.ServiceAccountFile
	if fi, err := os.Stat(p); p != "" && err == nil && fi.Mode().Perm()&0o044 != 0 {
		fmt.Fprintf(env.stderr, "warning: %s: risc.service_account_file: %s is readable by group or others (mode %04o); run chmod 600 %s\n", path, p, fi.Mode().Perm(), p)
	}
	client, err := newStreamAPIClient(ctx, path, l.cfg)
	if err != nil {
		return nil, nil, err
	}
	return l, client, nil
}

// newStreamAPIClient reads risc.service_account_file and returns a client
// of the management API at risc.management_url, for the stream commands and
// the daemon's health check. Problems with the key file are config.Errors
// naming file (the config file) and the key; the key itself is never
// printed.
func newStreamAPIClient(ctx context.Context, file string, c *config.Config) (*stream.Client, error) {
	bad := func(msg string) config.Errors {
		return config.Errors{{File: file, Key: "risc.service_account_file", Msg: msg}}
	}
	p := c.RISC.ServiceAccountFile
	if p == "" {
		return nil, bad("required for stream management: the JSON key of a service account with the RISC Configuration Admin role (roles/riscconfigs.admin)")
	}
	key, err := os.ReadFile(p)
	if err != nil {
		return nil, bad(p + ": " + config.FileProblem(err))
	}
	client, err := stream.New(ctx, key, stream.Options{BaseURL: c.RISC.ManagementURL})
	if err != nil {
		return nil, bad(p + ": " + strings.TrimPrefix(err.Error(), "stream: "))
	}
	return client, nil
}

// streamOutput prints a command's result as text or JSON.
type streamOutput struct {
	w    io.Writer
	json bool
}

func (o streamOutput) print(v any, text string) error {
	if !o.json {
		_, err := fmt.Fprintln(o.w, text)
		return err
	}
	enc := json.NewEncoder(o.w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// eventNames returns the short names of event-type URIs (a URI riscd does
// not know stays as it is).
func eventNames(uris []string) []string {
	out := make([]string, len(uris))
	for i, u := range uris {
		if n := events.ShortName(u); n != "unknown" {
			out[i] = n
		} else {
			out[i] = u
		}
	}
	return out
}

type streamView struct {
	DeliveryURL    string   `json:"delivery_url"`
	DeliveryMethod string   `json:"delivery_method"`
	Events         []string `json:"events"`
	EventNames     []string `json:"event_names"`
	Status         string   `json:"status"`
	Dropped        []string `json:"dropped,omitempty"`
}

func (v streamView) text() string {
	return fmt.Sprintf("delivery URL  %s\nstatus        %s\nevents        %s", v.DeliveryURL, v.Status, strings.Join(v.EventNames, ", "))
}

func streamShow(ctx context.Context, env *cliEnv, l *loaded, client *stream.Client, out streamOutput) error {
	cfg, err := client.Get(ctx)
	if err != nil {
		return err
	}
	st, err := client.Status(ctx)
	if err != nil {
		return err
	}
	if cfg.DeliveryURL != l.cfg.DeliveryURL() {
		fmt.Fprintf(env.stderr, "warning: the stream delivers to %s, but riscd receives at %s (public_url + risc.path): run riscd stream update\n", cfg.DeliveryURL, l.cfg.DeliveryURL())
	}
	kept := cfg.Kept()
	v := streamView{DeliveryURL: cfg.DeliveryURL, DeliveryMethod: cfg.DeliveryMethod, Events: kept, EventNames: eventNames(kept), Status: string(st)}
	return out.print(v, v.text())
}

func streamUpdate(ctx context.Context, env *cliEnv, l *loaded, client *stream.Client, out streamOutput) error {
	cfg, dropped, err := client.Update(ctx, l.cfg.DeliveryURL(), l.cfg.StreamEvents())
	if err != nil {
		return err
	}
	for _, d := range dropped {
		fmt.Fprintf(env.stderr, "warning: Google dropped %s (%s) from the stream: riscd will not receive it\n", eventNames([]string{d})[0], d)
	}
	st, err := client.Status(ctx)
	if err != nil {
		return err
	}
	kept := cfg.Kept()
	v := streamView{DeliveryURL: cfg.DeliveryURL, DeliveryMethod: cfg.DeliveryMethod, Events: kept, EventNames: eventNames(kept), Status: string(st), Dropped: dropped}
	text := "stream updated\n" + v.text()
	if st != stream.StatusEnabled {
		text += "\nthe stream is " + string(st) + ": run riscd stream enable to receive events"
	}
	return out.print(v, text)
}

func streamStatus(ctx context.Context, client *stream.Client, out streamOutput) error {
	st, err := client.Status(ctx)
	if err != nil {
		return err
	}
	return out.print(map[string]string{"status": string(st)}, string(st))
}

type verifyView struct {
	State       string    `json:"state"`
	EventID     uint64    `json:"event_id"`
	ReceivedAt  time.Time `json:"received_at"`
	RoundTripMS int64     `json:"round_trip_ms"`
}

// streamVerify checks the stream can deliver verification events, asks
// for one and waits until the running riscd reports it.
func streamVerify(ctx context.Context, env *cliEnv, l *loaded, client *stream.Client, out streamOutput, internalURL string, timeout time.Duration) error {
	base, err := streamAdminURL(l, internalURL)
	if err != nil {
		return err
	}
	token := l.secrets.AdminToken.Reveal()
	if token == "" {
		return usageError{fmt.Errorf("verify asks the running riscd's admin API: set %s or internal.admin_token_file", envAdminToken)}
	}
	cfg, err := client.Get(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(cfg.Kept(), events.TypeRISCVerification) {
		return errors.New("the stream does not request verification events: add verification to risc.events and run riscd stream update")
	}
	if st, err := client.Status(ctx); err != nil {
		return err
	} else if st != stream.StatusEnabled {
		return fmt.Errorf("the stream is %s, so Google sends nothing: run riscd stream enable first", st)
	}
	if cfg.DeliveryURL != l.cfg.DeliveryURL() {
		fmt.Fprintf(env.stderr, "warning: the stream delivers to %s, not to %s (public_url + risc.path)\n", cfg.DeliveryURL, l.cfg.DeliveryURL())
	}
	state := "riscd-verify-" + randomStreamHex(12)
	start := time.Now()
	if err := client.Verify(ctx, state); err != nil {
		return err
	}
	if !out.json {
		fmt.Fprintf(env.stderr, "asked Google for a verification event with state %s; waiting up to %s for riscd at %s to receive it\n", state, timeout, base)
	}
	wait, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(verifyPollInterval)
	defer tick.Stop()
	admin, err := adminclient.New(adminclient.Config{BaseURL: base, Token: adminclient.Token(token)})
	if err != nil {
		return usageError{err}
	}
	var last error
	for {
		e, err := findVerification(wait, admin, state)
		switch {
		case errors.Is(err, adminclient.ErrUnauthorized):
			return errAdminRefused
		case errors.Is(err, adminclient.ErrAdminDisabled):
			return err
		case err != nil:
			last = err
		case e != nil:
			rt := time.Since(start)
			v := verifyView{State: state, EventID: e.ID, ReceivedAt: e.ReceivedAt, RoundTripMS: rt.Milliseconds()}
			return out.print(v, fmt.Sprintf("verification event received (event %d, state %s): round trip %s", e.ID, state, rt.Round(time.Millisecond)))
		}
		select {
		case <-ctx.Done():
			return errors.New("interrupted")
		case <-wait.Done():
			msg := fmt.Sprintf("no verification event with state %s reached riscd within %s: check the delivery URL (riscd stream show), the proxy in front of riscd, and riscd's log for rejected tokens", state, timeout)
			if last != nil {
				msg += fmt.Sprintf(" (last admin API error: %v)", last)
			}
			return errors.New(msg)
		case <-tick.C:
		}
	}
}

// streamAdminURL is --internal-url, or the URL the admin commands use for
// internal.listen (a wildcard host made loopback).
func streamAdminURL(l *loaded, flagURL string) (string, error) {
	if flagURL != "" {
		if !config.IsHTTPURL(flagURL) {
			return "", usageError{fmt.Errorf("--internal-url %q: not an absolute http or https URL", flagURL)}
		}
		return strings.TrimRight(flagURL, "/"), nil
	}
	u, err := internalURLOf(l.cfg.Internal.Listen)
	if err != nil {
		return "", usageError{fmt.Errorf("%s: internal.listen %q gives no fixed address: pass --internal-url", l.path, l.cfg.Internal.Listen)}
	}
	return u, nil
}

// errAdminRefused: the admin API refused the token; waiting will not help.
var errAdminRefused = errors.New("riscd's admin API refused the admin token: use the running riscd's internal.admin_token_file or " + envAdminToken)

// findVerification looks for a received verification event carrying
// state among the newest ones; nil means not yet.
func findVerification(ctx context.Context, admin *adminclient.Client, state string) (*adminclient.Event, error) {
	page, err := admin.ListEvents(ctx, adminclient.EventFilter{Type: "verification", Limit: 50})
	if err != nil {
		return nil, err
	}
	for _, e := range page.Events {
		var claims struct {
			Events map[string]struct {
				State string `json:"state"`
			} `json:"events"`
		}
		if json.Unmarshal(e.Claims, &claims) != nil {
			continue
		}
		for _, ev := range claims.Events {
			if ev.State == state {
				return &e, nil
			}
		}
	}
	return nil, nil
}

// randomStreamHex returns n random bytes as hex text.
func randomStreamHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
