package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/store/boltdb"
)

// rigOptions shape one riscd installation.
type rigOptions struct {
	// users are googlesim's accounts; default googlesim.DefaultUsers().
	users []googlesim.User
	// storeDir holds the store file; default a directory of the test's own.
	storeDir string
	// extra are YAML lines appended under the top level of the config.
	risc []string // lines under "risc:", indented by the caller's two spaces
	// webhooks turns the webhook sink on.
	webhooks bool
	// keys is how many RSA keys googlesim gets (the first signs; the rest
	// serve rotations). Default 2.
	keys int
	// accessTTL is googlesim's access-token lifetime; default its own.
	accessTTL time.Duration
	// logLevel is riscd's; default info.
	logLevel string
	// storeURL, when set, puts the store in that PostgreSQL database
	// (store.engine postgres) instead of a bbolt file.
	storeURL string
}

// rig is googlesim, an optional webhook sink and one riscd installation
// (config, secrets, store) whose process the test starts, kills and
// restarts. The public and internal ports stay the same across restarts.
type rig struct {
	t          testing.TB
	sim        *googlesim.Server
	tr         *googlesim.Transmitter
	hooks      *webhookSink
	dir        string
	cfgPath    string
	logPath    string
	storePath  string
	storeURL   string // the PostgreSQL database, when the engine is postgres
	storeKey   boltdb.Key
	public     string // http://127.0.0.1:port
	internal   string // http://127.0.0.1:port
	adminToken string
	appToken   string
	client     *http.Client
	ps         *procState // shared by the copies as makes
}

// procState is the riscd process of a rig, shared by its copies.
type procState struct {
	mu     sync.Mutex
	proc   *proc
	starts int
	// serverErrors counts the 5xx answers deliver got (and retried).
	serverErrors atomic.Int64
}

// as returns a copy of r that reports failures to t: a subtest must not
// fail its parent's t.
func (r *rig) as(t testing.TB) *rig {
	c := *r
	c.t = t
	return &c
}

// newRig starts googlesim (and the webhook sink) and writes riscd's config
// and secret files. It does not start riscd: call start.
func newRig(t testing.TB, o rigOptions) *rig {
	t.Helper()
	if o.keys == 0 {
		o.keys = 2
	}
	keys := make([]*rsa.PrivateKey, o.keys)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k
	}
	sim, err := googlesim.New(googlesim.Config{Users: o.users, Keys: keys, AccessTokenTTL: o.accessTTL})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })

	r := &rig{
		t: t, sim: sim, tr: sim.Transmitter(), dir: t.TempDir(), ps: &procState{},
		client: &http.Client{
			Timeout: 60 * time.Second,
			Transport: &http.Transport{
				MaxIdleConns: 256, MaxIdleConnsPerHost: 128, IdleConnTimeout: 30 * time.Second,
				DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	t.Cleanup(r.client.CloseIdleConnections)
	r.tr = r.tr.WithHTTPClient(r.client)
	r.public = "http://" + freeAddr(t)
	r.internal = "http://" + freeAddr(t)
	r.logPath = filepath.Join(r.dir, "riscd.log")
	storeDir := o.storeDir
	if storeDir == "" {
		storeDir = r.dir
	}
	r.storePath = filepath.Join(storeDir, "riscd.db")
	r.storeURL = o.storeURL

	if err := sim.AddRedirectURI(r.public + "/oauth2callback"); err != nil {
		t.Fatal(err)
	}
	secrets, err := sim.ClientSecretsJSON()
	if err != nil {
		t.Fatal(err)
	}
	key, keyText, err := boltdb.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	r.storeKey = key
	r.adminToken, r.appToken = randomToken(t, "e2e-admin-"), randomToken(t, "e2e-app-")
	files := map[string]string{
		"client_secret.json": string(secrets),
		"store.key":          string(keyText) + "\n",
		"admin.token":        r.adminToken + "\n",
		"app.token":          r.appToken + "\n",
	}
	g := sim.URL()
	level := o.logLevel
	if level == "" {
		level = "info"
	}
	lines := []string{
		"public_url: " + r.public,
		"listen: " + strings.TrimPrefix(r.public, "http://"),
		"internal:",
		"  listen: " + strings.TrimPrefix(r.internal, "http://"),
		"  admin_token_file: " + filepath.Join(r.dir, "admin.token"),
		"  app_token_file: " + filepath.Join(r.dir, "app.token"),
		"google:",
		"  client_secrets_file: " + filepath.Join(r.dir, "client_secret.json"),
		"  features:",
		"    drive:",
		"      scope: " + driveScope,
		"      test_url: " + g + googlesim.PathDriveFiles,
		"  revoke_url: " + g + googlesim.PathRevoke,
		"  issuer: " + g,
		"  jwks_url: " + g + googlesim.PathJWKS,
		// Every client of the rig (users, Google, the attacks) comes from
		// one loopback address: its per-client bounds are those of many.
		"public:",
		"  max_connections: 4096",
		"  max_connections_per_client: 4096",
		"  idle_timeout: 60s",
		"  consent_per_minute: 100000",
		"  consent_per_minute_total: 100000",
		"risc:",
		"  configuration_url: " + g + googlesim.PathRISCConfiguration,
	}
	lines = append(lines, o.risc...)
	lines = append(lines, "store:", "  key_file: "+filepath.Join(r.dir, "store.key"))
	if r.storeURL != "" {
		lines = append(lines, "  engine: postgres", "  url: "+r.storeURL)
	} else {
		lines = append(lines, "  path: "+r.storePath)
	}
	if o.webhooks {
		secret := make([]byte, 24)
		if _, err := rand.Read(secret); err != nil {
			t.Fatal(err)
		}
		r.hooks = startWebhookSink(t, secret)
		files["webhook.secret"] = "whsec_" + base64.StdEncoding.EncodeToString(secret) + "\n"
		lines = append(lines, "companion:",
			"  webhook_url: "+r.hooks.url()+"/hooks",
			"  webhook_secret_file: "+filepath.Join(r.dir, "webhook.secret"))
	}
	lines = append(lines, "log:", "  format: json", "  level: "+level, "")
	files["riscd.yaml"] = strings.Join(lines, "\n")
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(r.dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r.cfgPath = filepath.Join(r.dir, "riscd.yaml")
	t.Cleanup(func() {
		r.ps.mu.Lock()
		p := r.ps.proc
		r.ps.mu.Unlock()
		if p != nil {
			p.kill()
		}
		if t.Failed() {
			t.Logf("riscd log (last lines of %s):\n%s", r.logPath, tail(r.logPath, 25))
		}
	})
	return r
}

// driveScope is the scope of the config's one optional feature.
const driveScope = "https://www.googleapis.com/auth/drive.metadata.readonly"

// freeAddr returns a loopback address with a port free now. riscd binds it
// at each start; nothing else on a test machine takes such ports between.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func randomToken(tb testing.TB, prefix string) string {
	tb.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// tail returns the last n lines of a file, for failure messages.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// riscURL is the RFC 8935 push endpoint.
func (r *rig) riscURL() string { return r.public + "/risc" }

// start runs riscd serve and waits until /readyz answers 200. A port
// another process took while riscd was down (an outgoing connection's
// ephemeral port) is waited out: riscd is started again, up to 20 times.
func (r *rig) start() {
	r.t.Helper()
	for attempt := 1; ; attempt++ {
		r.ps.mu.Lock()
		if r.ps.proc != nil {
			r.ps.mu.Unlock()
			r.t.Fatal("start: riscd is already running")
		}
		r.ps.starts++
		p, err := startProc(r.logPath, r.ps.starts, riscdBinary, "serve", "--config", r.cfgPath)
		r.ps.proc = p
		r.ps.mu.Unlock()
		if err != nil {
			r.t.Fatalf("start riscd: %v", err)
		}
		err = r.waitReady(p)
		if err == nil {
			return
		}
		r.ps.mu.Lock()
		r.ps.proc = nil
		r.ps.mu.Unlock()
		if !strings.Contains(tail(r.logPath, 3), "already in use") || attempt == 20 {
			r.t.Fatalf("%v; log:\n%s", err, tail(r.logPath, 30))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// waitReady polls /readyz until 200. The process exiting first, or 60 s
// passing, is an error.
func (r *rig) waitReady(p *proc) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-p.done:
			return fmt.Errorf("riscd exited during start-up (%v)", p.err)
		default:
		}
		resp, err := r.client.Get(r.internal + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			p.kill()
			return fmt.Errorf("riscd not ready after 60 s (last: %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to go.
func (r *rig) kill() {
	r.t.Helper()
	r.ps.mu.Lock()
	p := r.ps.proc
	r.ps.proc = nil
	r.ps.mu.Unlock()
	if p == nil {
		r.t.Fatal("kill: riscd is not running")
	}
	p.kill()
	r.client.CloseIdleConnections()
}

// stop sends SIGTERM and waits for a clean exit (status 0).
func (r *rig) stop() {
	r.t.Helper()
	r.ps.mu.Lock()
	p := r.ps.proc
	r.ps.proc = nil
	r.ps.mu.Unlock()
	if p == nil {
		r.t.Fatal("stop: riscd is not running")
	}
	if err := p.stop(45 * time.Second); err != nil {
		r.t.Fatalf("stop riscd: %v; log:\n%s", err, tail(r.logPath, 30))
	}
	r.client.CloseIdleConnections()
}

// pid is the running riscd's process id.
func (r *rig) pid() int {
	r.ps.mu.Lock()
	defer r.ps.mu.Unlock()
	if r.ps.proc == nil {
		return 0
	}
	return r.ps.proc.cmd.Process.Pid
}

// openStore opens the store file of a stopped riscd and closes it at the
// end of the test.
func (r *rig) openStore(ctx context.Context) *boltdb.DB {
	r.t.Helper()
	db, err := boltdb.Open(ctx, boltdb.Options{Path: r.storePath, Key: r.storeKey})
	if err != nil {
		r.t.Fatalf("open the store after riscd stopped: %v", err)
	}
	r.t.Cleanup(func() { db.Close() })
	return db
}

// checkStore opens the stopped riscd's store, runs its consistency check
// and returns it open.
func (r *rig) checkStore(ctx context.Context) *boltdb.DB {
	r.t.Helper()
	db := r.openStore(ctx)
	if err := db.Check(ctx); err != nil {
		r.t.Fatalf("store check after the final stop: %v", err)
	}
	return db
}

// String names the rig in failure messages.
func (r *rig) String() string { return fmt.Sprintf("riscd at %s (internal %s)", r.public, r.internal) }
