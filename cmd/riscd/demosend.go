package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/riscd/riscd/googlesim"
)

func cmdDemoSend(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "demo send", "demo send EVENT [--sub SUB|EMAIL] [--reason REASON] [--state STATE] [--alg hash|prefix] [--dir DIR | --google-url URL]\n\n"+
		"Makes the running demo's Google stand-in push one security event to riscd, as Google would.\n"+
		"It finds the stand-in with --google-url, else in the state file of the demo's --dir, else in\n"+
		"the one the last demo started wrote ($XDG_CACHE_HOME/riscd/demo.json or ~/.cache/riscd/demo.json),\n"+
		"else at http://"+demoGoogleAddr+".\n"+
		"EVENT is one of: "+strings.Join(googlesim.DemoEventNames(), ", ")+".")
	sub := fs.String("sub", "", "the user, by sub or email (every event but verification)")
	reason := fs.String("reason", "", "account-disabled's reason: hijacking, bulk-account or none")
	state := fs.String("state", "", "verification's state (default: a random one)")
	alg := fs.String("alg", "", "token-revoked's identifier: hash (default) or prefix")
	googleURL := fs.String("google-url", "", "the stand-in's URL, as riscd demo printed it")
	dir := fs.String("dir", "", "the running demo's --dir: its state file names the stand-in's URL")
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		return usageError{errors.New("name the event to send, e.g. riscd demo send account-disabled --reason hijacking --sub alice@example.com")}
	}
	event := args[0]
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	base, err := demoGoogleURL(env.environ, *googleURL, *dir)
	if err != nil {
		return err
	}
	body, err := json.Marshal(googlesim.DemoRequest{Event: event, Sub: *sub, Reason: *reason, State: *state, Alg: *alg})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+googlesim.PathDemoSend, bytes.NewReader(body))
	if err != nil {
		return usageError{fmt.Errorf("--google-url: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the demo's Google stand-in at %s (is riscd demo running? pass its --dir, or its \"Google stand-in\" URL with --google-url): %w", base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading the stand-in's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var apiErr struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(raw, &apiErr) == nil && apiErr.Error.Message != "" {
			return fmt.Errorf("the stand-in refused: %s", apiErr.Error.Message)
		}
		return fmt.Errorf("the stand-in answered HTTP %d: is %s the demo's Google stand-in?", resp.StatusCode, base)
	}
	var res googlesim.PushResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("the stand-in's answer is not a push result: %w", err)
	}
	about := ""
	if res.Sub != "" {
		about = " about " + res.Sub
	}
	switch {
	case !res.Sent || res.Status == 0:
		return fmt.Errorf("%s%s was not delivered to %s: %s", res.Name, about, res.Target, res.Error)
	case res.Status != http.StatusAccepted:
		fmt.Fprintf(env.stdout, "pushed %s%s (jti %s) to %s: riscd answered %d %s\n", res.Name, about, res.JTI, res.Target, res.Status, res.Answer)
		return fmt.Errorf("riscd did not accept the event")
	}
	fmt.Fprintf(env.stdout, "pushed %s%s (jti %s) to %s: riscd answered 202 Accepted\n", res.Name, about, res.JTI, res.Target)
	return nil
}

// demoGoogleURL is the stand-in's URL, without a trailing slash: flag if
// given, else the state file of the demo in dir, else the state file of
// the demo that started last, else the default address.
func demoGoogleURL(environ []string, flag, dir string) (string, error) {
	switch {
	case flag != "":
		return strings.TrimSuffix(flag, "/"), nil
	case dir != "":
		s, err := readDemoState(filepath.Join(dir, demoStateName))
		if err != nil {
			return "", usageError{fmt.Errorf("--dir: no running demo's state (%w)", err)}
		}
		return strings.TrimSuffix(s.GoogleURL, "/"), nil
	}
	if p := runningDemoFile(environ); p != "" {
		if s, err := readDemoState(p); err == nil {
			return strings.TrimSuffix(s.GoogleURL, "/"), nil
		}
	}
	return "http://" + demoGoogleAddr, nil
}
