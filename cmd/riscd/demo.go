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

	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/store"
)

// demoDriveScope is the scope of the demo's one optional feature.
const demoDriveScope = "https://www.googleapis.com/auth/drive.metadata.readonly"

func cmdDemo(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "demo", "demo [--listen ADDR] [--internal-listen ADDR] [--google-listen ADDR] [--dir DIR]\n\n"+
		"Starts a local stand-in for Google and riscd wired to it, on loopback, with a temporary store and\n"+
		"generated keys, and prints what to open. Stop it with Ctrl-C.")
	listenAddr := fs.String("listen", "127.0.0.1:8080", "riscd's public listener (port 0 picks a free port)")
	internalAddr := fs.String("internal-listen", "127.0.0.1:0", "riscd's internal listener")
	googleAddr := fs.String("google-listen", "127.0.0.1:0", "the Google stand-in's listener (loopback only)")
	dir := fs.String("dir", "", "keep the demo's config, keys and store here instead of a temporary folder")
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	sim, err := googlesim.New(googlesim.Config{})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := sim.Start(*googleAddr); err != nil {
		return usageError{fmt.Errorf("--google-listen: %w", err)}
	}
	defer sim.Close()

	public, err := freeAddr(*listenAddr)
	if err != nil && !flagSet(fs, "listen") {
		public, err = freeAddr("127.0.0.1:0") // the default port is taken: any free one will do
	}
	if err != nil {
		return usageError{fmt.Errorf("--listen: %w (try --listen 127.0.0.1:0)", err)}
	}
	workDir := *dir
	if workDir == "" {
		if workDir, err = os.MkdirTemp("", "riscd-demo-"); err != nil {
			return err
		}
		defer os.RemoveAll(workDir)
	} else if err := os.MkdirAll(workDir, 0o700); err != nil {
		return err
	}
	configPath, err := writeDemoFiles(workDir, sim, "http://"+public, *internalAddr)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	l, err := load(configPath, nil, secretsOptions{needKey: true})
	if err != nil {
		return err
	}
	logger := newLogger(env.stderr, "text", "info")
	m := &Main{Config: l.cfg, Secrets: l.secrets, Logger: logger, ConfigPath: l.path}
	if err := m.Run(ctx); err != nil {
		return err
	}
	defer m.Close()

	users := sim.Users()
	fmt.Fprintf(env.stdout, `riscd demo is running.

  riscd (public)      http://%[1]s
  riscd (internal)    http://%[2]s   admin token: %[3]s
                                         app token:   %[8]s
  Google stand-in     %[4]s   (users: %[5]s, %[6]s)
  config and store    %[7]s

Try it:
  1. Open http://%[1]s/ and press Connect. The stand-in's consent page asks
     which account and which scopes to grant; untick "drive" to see a declined
     feature, then ask for it again from riscd's page.
  2. Back on riscd, call the Drive feature, revoke the grant, or sign out.
  3. Google's security events reach riscd at http://%[1]s/risc.
  4. The app's side: fresh access tokens and the account's state,
       curl -H 'Authorization: Bearer %[8]s' -H 'Content-Type: application/json' \
            -d '{"sub": "%[9]s", "scopes": ["openid"]}' http://%[2]s/v1/token
       curl -H 'Authorization: Bearer %[8]s' http://%[2]s/v1/subjects/%[9]s
     and the operator's: curl -H 'Authorization: Bearer %[3]s' http://%[2]s/admin/grants

riscd is wired to the stand-in exactly as it would be to Google: the config
file in the folder above is an ordinary riscd config. Press Ctrl-C to stop.
`, m.PublicAddr(), m.InternalAddr(), l.secrets.AdminToken.Reveal(), sim.URL(),
		users[0].Email, users[1].Email, workDir, l.secrets.AppToken.Reveal(), users[0].Sub)

	select {
	case <-ctx.Done():
	case err := <-m.Err():
		return err
	}
	fmt.Fprintln(env.stdout, "stopping")
	return m.Close()
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
	redirect := publicURL + callbackPath
	if err := sim.AddRedirectURI(redirect); err != nil {
		return "", err
	}
	secrets, err := sim.ClientSecretsJSON()
	if err != nil {
		return "", err
	}
	_, keyText, err := store.GenerateKey()
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
