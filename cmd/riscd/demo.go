package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/riscd/riscd/config"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/seal"
)

// demoDriveScope is the scope of the demo's one optional feature.
const demoDriveScope = "https://www.googleapis.com/auth/drive.metadata.readonly"

// Demo listener defaults: the internal one is riscd's usual internal.listen,
// so the operator commands find it without flags; a busy default port gives
// way to a free one.
var (
	demoPublicAddr   = "127.0.0.1:8080"
	demoInternalAddr = "127.0.0.1:9090"
	demoGoogleAddr   = "127.0.0.1:8090"
)

func cmdDemo(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) > 0 && args[0] == "send" {
		return cmdDemoSend(ctx, env, args[1:])
	}
	fs := newFlagSet(env, "demo", "demo [--listen ADDR] [--internal-listen ADDR] [--google-listen ADDR] [--dir DIR]\n"+
		"       [--webhook-url URL [--webhook-secret-file FILE]] [--return-url URL] [--redirect-uri URI]...\n"+
		"       riscd demo send EVENT [--sub SUB|EMAIL] [--reason REASON] [--dir DIR | --google-url URL]\n\n"+
		"Starts a local stand-in for Google and riscd wired to it, on loopback, with a temporary store and\n"+
		"generated keys, registers riscd's stream with the stand-in, and prints what to open. Stop it with\n"+
		"Ctrl-C. `riscd demo send` (in another terminal) makes the stand-in push a security event.\n"+
		"With --dir, a demo config already in DIR is kept (its addresses, keys, store and companion\n"+
		"section); RISCD_* variables override its keys as they do for serve.\n"+
		"With --return-url (and --webhook-url), it prints how to run the Flask example against it.")
	listenAddr := fs.String("listen", envOr(env.environ, "RISCD_LISTEN", demoPublicAddr), "riscd's public listener (port 0 picks a free port; default RISCD_LISTEN if set)")
	internalAddr := fs.String("internal-listen", envOr(env.environ, "RISCD_INTERNAL_LISTEN", demoInternalAddr), "riscd's internal listener (default RISCD_INTERNAL_LISTEN if set)")
	googleAddr := fs.String("google-listen", demoGoogleAddr, "the Google stand-in's listener (loopback only)")
	dir := fs.String("dir", "", "keep the demo's config, keys and store here instead of a temporary folder; a demo config already there is used as it is")
	var redirectURIs stringList
	fs.Var(&redirectURIs, "redirect-uri", "one more redirect URI the stand-in accepts, for a hand-written riscd config's public_url + "+config.CallbackPath+" (repeatable)")
	var app demoApp
	fs.StringVar(&app.webhookURL, "webhook-url", "", "the app's webhook endpoint (companion.webhook_url), e.g. http://127.0.0.1:5000/riscd/webhook")
	fs.StringVar(&app.webhookSecretFile, "webhook-secret-file", "", "the webhook secret's file (default: a new secret in the demo's folder)")
	fs.StringVar(&app.returnURL, "return-url", "", "where connect sessions may send the browser back to (companion.return_urls), e.g. http://127.0.0.1:5000/")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := app.check(); err != nil {
		return err
	}
	workDir := *dir
	if workDir == "" {
		var err error
		if workDir, err = os.MkdirTemp("", "riscd-demo-"); err != nil {
			return err
		}
		defer os.RemoveAll(workDir)
	} else {
		abs, err := filepath.Abs(workDir)
		if err != nil {
			return err
		}
		workDir = abs
		if err := os.MkdirAll(workDir, 0o700); err != nil {
			return err
		}
	}
	configPath := filepath.Join(workDir, "riscd.yaml")
	_, statErr := os.Stat(configPath)
	kept := statErr == nil
	var st *demoStart
	var err error
	if kept {
		st, err = startKeptDemo(env, fs, app, configPath)
	} else {
		st, err = startNewDemo(env, fs, app, workDir, configPath, *listenAddr, *internalAddr, *googleAddr)
	}
	if err != nil {
		return err
	}
	defer st.sim.Close()
	defer st.publicLn.Close() // riscd closes it first once it serves on it
	defer st.internalLn.Close()
	sim, l, publicLn, internalLn, webhookSecretFile := st.sim, st.l, st.publicLn, st.internalLn, st.webhookSecretFile
	// The redirect URI of the config as the environment left it, and any
	// hand-written config's.
	for _, u := range append([]string{l.cfg.RedirectURI()}, redirectURIs...) {
		if err := sim.AddRedirectURI(u); err != nil {
			return usageError{fmt.Errorf("--redirect-uri %s: %w", u, err)}
		}
	}
	logger := newLogger(env.stderr, "text", "info")
	m := &Main{Config: l.cfg, Secrets: l.secrets, Logger: logger, ConfigPath: l.path,
		publicLn: publicLn, internalLn: internalLn}
	if err := m.Run(ctx); err != nil {
		return err
	}
	defer m.Close()
	// Register riscd's stream with the stand-in the way riscd stream update
	// and enable do with Google.
	if err := registerDemoStream(ctx, l); err != nil {
		return fmt.Errorf("demo: registering the stream: %w", err)
	}

	state := demoState{GoogleURL: sim.URL(), PublicURL: "http://" + m.PublicAddr(), InternalURL: "http://" + m.InternalAddr(), Dir: workDir}
	removeState, err := state.write(env.environ)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer removeState()

	users := sim.Users()
	origin := "wrote a new demo config"
	if kept {
		origin = "kept the demo config already there (delete it to start afresh)"
	}
	send := "" // riscd demo send's flag naming the stand-in, when not at the default address
	if sim.URL() != "http://"+demoGoogleAddr {
		send = " --google-url " + sim.URL()
	}
	var flask strings.Builder
	app.printFlask(&flask, m.InternalAddr(), filepath.Join(workDir, "app.token"), webhookSecretFile, sim.URL())
	fmt.Fprintf(env.stdout, `riscd demo is running.

  riscd (public)      http://%[1]s   consent pages; Google's events arrive at /risc
  riscd (internal)    http://%[2]s   admin page, admin and companion APIs, /metrics
  Google stand-in     %[4]s   users: %[5]s, %[6]s
  config and store    %[7]s
                      %[12]s: %[10]s

  admin token         %[3]s
  app token           %[8]s

Watch a grant go from active to held to revoked:
  1. Open http://%[1]s/ and press Connect. On the stand-in's consent page pick
     %[5]s and grant access.
  2. Open the admin page, http://%[2]s/admin/ui, and sign in with the admin
     token above: the grant is active.
  3. Send Google's security events: the stand-in's page %[4]s/demo has a
     button per event type, or from another terminal (riscd here is
     go run ./cmd/riscd until you go install ./cmd/riscd):
       riscd demo send account-disabled --reason hijacking --sub %[5]s%[13]s
     Reload the admin page: the grant and the account are held.
       riscd demo send tokens-revoked --sub %[5]s%[13]s
     Now the grant is revoked and its tokens are gone.
  4. The operator's commands, through the admin API:
       export RISCD_INTERNAL_ADMIN_TOKEN=%[3]s
       riscd grants list --internal-url http://%[2]s
       riscd events list --internal-url http://%[2]s
       riscd accounts show %[9]s --internal-url http://%[2]s
  5. The app's side: fresh access tokens and the account's state,
       curl -H 'Authorization: Bearer %[8]s' -H 'Content-Type: application/json' \
            -d '{"sub": "%[9]s", "scopes": ["openid"]}' http://%[2]s/v1/token
       curl -H 'Authorization: Bearer %[8]s' http://%[2]s/v1/subjects/%[9]s
%[11]s
riscd is wired to the stand-in exactly as it would be to Google: the config
file in the folder above is an ordinary riscd config, and riscd stream show
--config %[10]s reads the stand-in's stream. A riscd config of your own
can use the stand-in too (its client_secret.json is in the folder above): start
the demo with --redirect-uri YOUR_PUBLIC_URL%[14]s. Press Ctrl-C to stop.
`, m.PublicAddr(), m.InternalAddr(), l.secrets.AdminToken.Reveal(), sim.URL(),
		users[0].Email, users[1].Email, workDir, l.secrets.AppToken.Reveal(), users[0].Sub, configPath, flask.String(), origin, send, config.CallbackPath)

	select {
	case <-ctx.Done():
	case err := <-m.Err():
		return err
	}
	fmt.Fprintln(env.stdout, "stopping")
	return m.Close()
}

// registerDemoStream points the stand-in's stream at riscd and enables it,
// through the stream management API as riscd stream update and enable do.
func registerDemoStream(ctx context.Context, l *loaded) error {
	client, err := newStreamAPIClient(ctx, l.path, l.cfg)
	if err != nil {
		return err
	}
	if _, _, err := client.Update(ctx, l.cfg.DeliveryURL(), l.cfg.StreamEvents()); err != nil {
		return err
	}
	return client.SetStatus(ctx, true)
}

// writeDemoStreamFiles writes the stand-in's service account key and adds
// the stream management keys to the demo's config.
func writeDemoStreamFiles(dir string, sim *googlesim.Server, configPath string) error {
	keyFile := filepath.Join(dir, "service_account.json")
	if err := os.WriteFile(keyFile, sim.ServiceAccountJSON(), 0o600); err != nil {
		return err
	}
	f, err := os.OpenFile(configPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "  service_account_file: %s\n  management_url: %s\n", keyFile, sim.ManagementURL())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// flagSet reports whether the flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// freeAddr resolves a ":0" port to a free one now, so the redirect URI can be
// registered before riscd starts. A busy fixed port is an error.
func freeAddr(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// writeDemoFiles writes a complete riscd configuration pointing at the
// stand-in: client secrets, a new store key, an admin token, and the config.
func writeDemoFiles(dir string, sim *googlesim.Server, publicURL, internalAddr string) (string, error) {
	redirect := publicURL + config.CallbackPath
	if err := sim.AddRedirectURI(redirect); err != nil {
		return "", err
	}
	secrets, err := sim.ClientSecretsJSON()
	if err != nil {
		return "", err
	}
	_, keyText, err := seal.GenerateKey()
	if err != nil {
		return "", err
	}
	token := func(prefix string) []byte {
		b := make([]byte, 24)
		rand.Read(b)
		return []byte(prefix + base64.RawURLEncoding.EncodeToString(b) + "\n")
	}
	files := map[string][]byte{
		"client_secret.json": secrets,
		"store.key":          append(keyText, '\n'),
		"admin.token":        token("demo-admin-"),
		"app.token":          token("demo-app-"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return "", err
		}
	}
	g := sim.URL()
	cfg := strings.Join([]string{
		"# Written by riscd demo: riscd wired to a local Google stand-in.",
		"public_url: " + publicURL,
		"listen: " + strings.TrimPrefix(publicURL, "http://"),
		"internal:",
		"  listen: " + internalAddr,
		"  admin_token_file: " + filepath.Join(dir, "admin.token"),
		"  app_token_file: " + filepath.Join(dir, "app.token"),
		"store:",
		"  path: " + filepath.Join(dir, "riscd.db"),
		"  key_file: " + filepath.Join(dir, "store.key"),
		"google:",
		"  client_secrets_file: " + filepath.Join(dir, "client_secret.json"),
		"  features:",
		"    drive:",
		"      scope: " + demoDriveScope,
		"      test_url: " + g + googlesim.PathDriveFiles,
		"  revoke_url: " + g + googlesim.PathRevoke,
		"  issuer: " + g,
		"  jwks_url: " + g + googlesim.PathJWKS,
		"risc:",
		"  configuration_url: " + g + googlesim.PathRISCConfiguration,
		"",
	}, "\n")
	path := filepath.Join(dir, "riscd.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return "", err
	}
	return path, nil
}
