package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/riscd/riscd/googlesim"
)

// demoStart is a demo's Google stand-in, started, its config, loaded with
// the environment's overrides, and riscd's two listeners, bound.
type demoStart struct {
	sim                  *googlesim.Server
	l                    *loaded
	publicLn, internalLn net.Listener
	webhookSecretFile    string
}

// close releases what start acquired, on a failure before riscd runs.
func (d *demoStart) close() {
	for _, c := range []interface{ Close() error }{d.publicLn, d.internalLn} {
		if c != nil {
			c.Close()
		}
	}
	if d.sim != nil {
		d.sim.Close()
	}
}

// startNewDemo starts the stand-in, binds the listeners (a busy default
// port gives way to a free one; a port given on the command line does
// not) and writes a new demo config in dir.
func startNewDemo(env *cliEnv, fs *flag.FlagSet, app demoApp, dir, configPath, listenAddr, internalAddr, googleAddr string) (_ *demoStart, err error) {
	d := &demoStart{}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	// Each listener is bound here and held until riscd serves on it: a
	// port only probed would be free to whoever binds it first in between.
	bind := func(name, addr string) (net.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil && !flagSet(fs, name) {
			ln, err = net.Listen("tcp", "127.0.0.1:0") // the default port is taken: any free one will do
		}
		if err != nil {
			return nil, usageError{fmt.Errorf("--%s: %w (try --%s 127.0.0.1:0)", name, err, name)}
		}
		return ln, nil
	}
	if d.sim, err = googlesim.New(googlesim.Config{Demo: true, AllowHTTPDelivery: true}); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	err = d.sim.Start(googleAddr)
	if err != nil && !errors.Is(err, googlesim.ErrNotLoopback) && !flagSet(fs, "google-listen") {
		err = d.sim.Start("127.0.0.1:0") // the default port is taken: any free one will do
	}
	if err != nil {
		return nil, usageError{fmt.Errorf("--google-listen: %w (try --google-listen 127.0.0.1:0)", err)}
	}
	if d.publicLn, err = bind("listen", listenAddr); err != nil {
		return nil, err
	}
	if d.internalLn, err = bind("internal-listen", internalAddr); err != nil {
		return nil, err
	}
	if _, err := writeDemoFiles(dir, d.sim, "http://"+d.publicLn.Addr().String(), d.internalLn.Addr().String()); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if err := writeDemoStreamFiles(dir, d.sim, configPath); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if d.webhookSecretFile, err = app.writeConfig(dir, configPath); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if d.l, err = load(configPath, env.environ, secretsOptions{needKey: true}); err != nil {
		return nil, err
	}
	return d, nil
}

// startKeptDemo starts a demo from the config a previous one wrote: the
// stand-in where its google.issuer points, with its OAuth client, and the
// listeners at its addresses, all after the environment's overrides.
// Flags that would change the config are refused.
func startKeptDemo(env *cliEnv, fs *flag.FlagSet, app demoApp, configPath string) (_ *demoStart, err error) {
	for _, name := range []string{"listen", "internal-listen", "google-listen", "webhook-url", "webhook-secret-file", "return-url"} {
		if flagSet(fs, name) {
			return nil, usageError{fmt.Errorf("--%s: the demo config %s exists and is kept as it is: edit it, set RISCD_* variables, or give another --dir", name, configPath)}
		}
	}
	d := &demoStart{}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	if d.l, err = load(configPath, env.environ, secretsOptions{needKey: true}); err != nil {
		return nil, err
	}
	cfg := d.l.cfg
	g, err := url.Parse(cfg.Google.Issuer)
	if err != nil || g.Host == "" {
		return nil, fmt.Errorf("demo: %s: google.issuer %q is not the demo's stand-in", configPath, cfg.Google.Issuer)
	}
	d.sim, err = googlesim.New(googlesim.Config{Demo: true, AllowHTTPDelivery: true,
		ClientID: d.l.secrets.ClientID, ClientSecret: d.l.secrets.ClientSecret.Reveal()})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if err := d.sim.Start(g.Host); err != nil {
		return nil, fmt.Errorf("demo: the stand-in at %s (google.issuer of %s): %w", g.Host, configPath, err)
	}
	if p := cfg.RISC.ServiceAccountFile; p != "" {
		// The stand-in's service account key is new on every start.
		if err := os.WriteFile(p, d.sim.ServiceAccountJSON(), 0o600); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	if d.publicLn, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("demo: listen (%s): %w", configPath, err)
	}
	if d.internalLn, err = net.Listen("tcp", cfg.Internal.Listen); err != nil {
		return nil, fmt.Errorf("demo: internal.listen (%s): %w", configPath, err)
	}
	if cfg.Companion.WebhookURL != "" {
		d.webhookSecretFile = cfg.Companion.WebhookSecretFile
	}
	return d, nil
}

// envOr is the value of the variable name in environ, or def.
func envOr(environ []string, name, def string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name && v != "" {
			return v
		}
	}
	return def
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// demoState is where a running demo listens: riscd demo send reads it
// from the demo's folder (--dir), or from the user's cache folder where
// the demo last started.
type demoState struct {
	GoogleURL   string `json:"google_url"`
	PublicURL   string `json:"public_url"`
	InternalURL string `json:"internal_url"`
	Dir         string `json:"dir"`
}

// demoStateName is the state file's name in a demo's folder.
const demoStateName = "demo.json"

// runningDemoFile is the user's pointer to the demo that started last:
// $XDG_CACHE_HOME/riscd/demo.json, else $HOME/.cache/riscd/demo.json; ""
// when environ names neither.
func runningDemoFile(environ []string) string {
	if d := envOr(environ, "XDG_CACHE_HOME", ""); filepath.IsAbs(d) {
		return filepath.Join(d, "riscd", demoStateName)
	}
	if h := envOr(environ, "HOME", ""); filepath.IsAbs(h) {
		return filepath.Join(h, ".cache", "riscd", demoStateName)
	}
	return ""
}

// write records the state in the demo's folder and in the user's
// pointer; remove deletes both (the pointer only while it still names
// this demo).
func (s demoState) write(environ []string) (remove func(), err error) {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	data = append(data, '\n')
	own := filepath.Join(s.Dir, demoStateName)
	if err := os.WriteFile(own, data, 0o600); err != nil {
		return nil, err
	}
	pointer := runningDemoFile(environ)
	if pointer != "" {
		if err := os.MkdirAll(filepath.Dir(pointer), 0o700); err != nil {
			pointer = "" // the pointer is a convenience: --dir and --google-url still work
		} else if err := os.WriteFile(pointer, data, 0o600); err != nil {
			pointer = ""
		}
	}
	return func() {
		os.Remove(own)
		if pointer != "" {
			if cur, err := os.ReadFile(pointer); err == nil && string(cur) == string(data) {
				os.Remove(pointer)
			}
		}
	}, nil
}

// readDemoState reads a demo's state file.
func readDemoState(path string) (demoState, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return demoState{}, err
	}
	var s demoState
	if err := json.Unmarshal(data, &s); err != nil || s.GoogleURL == "" {
		return demoState{}, fmt.Errorf("%s: not a demo state file", path)
	}
	return s, nil
}
