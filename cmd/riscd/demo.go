package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
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
		"       [--webhook-url URL [--webhook-secret-file FILE]] [--return-url URL]\n"+
		"       riscd demo send EVENT [--sub SUB|EMAIL] [--reason REASON] [--google-url URL]\n\n"+
		"Starts a local stand-in for Google and riscd wired to it, on loopback, with a temporary store and\n"+
		"generated keys, registers riscd's stream with the stand-in, and prints what to open. Stop it with\n"+
		"Ctrl-C. `riscd demo send` (in another terminal) makes the stand-in push a security event.\n"+
		"With --return-url (and --webhook-url), it prints how to run the Flask example against it.")
	listenAddr := fs.String("listen", demoPublicAddr, "riscd's public listener (port 0 picks a free port)")
	internalAddr := fs.String("internal-listen", demoInternalAddr, "riscd's internal listener")
	googleAddr := fs.String("google-listen", demoGoogleAddr, "the Google stand-in's listener (loopback only)")
	dir := fs.String("dir", "", "keep the demo's config, keys and store here instead of a temporary folder")
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
	// Each listener is bound here and held until riscd serves on it: a
	// port only probed would be free to whoever binds it first in between.
	// A busy default port gives way to a free one; a port given on the
	// command line does not.
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
	sim, err := googlesim.New(googlesim.Config{Demo: true, AllowHTTPDelivery: true})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	err = sim.Start(*googleAddr)
	if err != nil && !errors.Is(err, googlesim.ErrNotLoopback) && !flagSet(fs, "google-listen") {
		err = sim.Start("127.0.0.1:0") // the default port is taken: any free one will do
	}
	if err != nil {
		return usageError{fmt.Errorf("--google-listen: %w (try --google-listen 127.0.0.1:0)", err)}
	}
	defer sim.Close()

	publicLn, err := bind("listen", *listenAddr)
	if err != nil {
		return err
	}
	defer publicLn.Close() // riscd closes it first once it serves on it
	internalLn, err := bind("internal-listen", *internalAddr)
	if err != nil {
		return err
	}
	defer internalLn.Close()
	public, internal := publicLn.Addr().String(), internalLn.Addr().String()
	workDir := *dir
	if workDir == "" {
		if workDir, err = os.MkdirTemp("", "riscd-demo-"); err != nil {
			return err
		}
		defer os.RemoveAll(workDir)
	} else if err := os.MkdirAll(workDir, 0o700); err != nil {
		return err
	}
	configPath, err := writeDemoFiles(workDir, sim, "http://"+public, internal)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := writeDemoStreamFiles(workDir, sim, configPath); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	webhookSecretFile, err := app.writeConfig(workDir, configPath)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	l, err := load(configPath, nil, secretsOptions{needKey: true})
	if err != nil {
		return err
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

	users := sim.Users()
	var flask strings.Builder
	app.printFlask(&flask, m.InternalAddr(), filepath.Join(workDir, "app.token"), webhookSecretFile, sim.URL())
	fmt.Fprintf(env.stdout, `riscd demo is running.

  riscd (public)      http://%[1]s   consent pages; Google's events arrive at /risc
  riscd (internal)    http://%[2]s   admin page, admin and companion APIs, /metrics
  Google stand-in     %[4]s   users: %[5]s, %[6]s
  config and store    %[7]s

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
       riscd demo send account-disabled --reason hijacking --sub %[5]s
     Reload the admin page: the grant and the account are held.
       riscd demo send tokens-revoked --sub %[5]s
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
--config %[10]s reads the stand-in's stream. Press Ctrl-C to stop.
`, m.PublicAddr(), m.InternalAddr(), l.secrets.AdminToken.Reveal(), sim.URL(),
		users[0].Email, users[1].Email, workDir, l.secrets.AppToken.Reveal(), users[0].Sub, configPath, flask.String())

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
