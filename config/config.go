package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/flowweb"
	"github.com/riscd/riscd/lifecycle"
	"github.com/riscd/riscd/stream"
)

// Config is riscd's configuration file, decoded strictly: every key below is
// documented in config.example.yaml, and any other key is an error. Each value
// can be overridden by an environment variable named RISCD_ followed by the
// key's path upper-cased and joined with underscores (RISCD_STORE_PATH).
type Config struct {
	PublicURL string    `yaml:"public_url"`
	Listen    string    `yaml:"listen"`
	Public    Public    `yaml:"public"`
	Internal  Internal  `yaml:"internal"`
	Store     Store     `yaml:"store"`
	Google    Google    `yaml:"google"`
	RISC      RISC      `yaml:"risc"`
	Companion Companion `yaml:"companion"`
	Log       Log       `yaml:"log"`
}

// Companion is what riscd does for the app it runs beside: webhooks,
// and the token broker behind POST /v1/token.
type Companion struct {
	WebhookURL        string   `yaml:"webhook_url"`
	WebhookSecretFile string   `yaml:"webhook_secret_file"`
	RefreshLeadTime   Duration `yaml:"refresh_lead_time"`
	RecentUseWindow   Duration `yaml:"recent_use_window"`
	KeepaliveInterval Duration `yaml:"keepalive_interval"`
	// ReturnURLs are the URL prefixes a connect session's return_to may
	// start with (scheme and host compared exactly). Empty: POST
	// /v1/connect refuses every return_to.
	ReturnURLs []string `yaml:"return_urls"`
}

// Internal is the internal listener: admin and companion APIs, metrics.
type Internal struct {
	Listen         string `yaml:"listen"`
	AdminTokenFile string `yaml:"admin_token_file"`
	AppTokenFile   string `yaml:"app_token_file"`
	// MaxConnections bounds the internal listener's open connections, apart
	// from the public listener's, so a flood there leaves room here.
	MaxConnections int `yaml:"max_connections"`
	// AllowedHosts are the host names the internal listener answers to
	// besides the one of Listen, localhost and IP literals (a DNS-rebinding
	// page reaches it under a name of the attacker's).
	AllowedHosts []string `yaml:"allowed_hosts"`
	// TrustedProxies (addresses or CIDR prefixes) may name the client in
	// X-Forwarded-For, for the admin page's sign-in limit.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// Public bounds the public listener: connections, timeouts, and the
// rate of the consent routes.
type Public struct {
	MaxConnections          int      `yaml:"max_connections"`
	MaxConnectionsPerClient int      `yaml:"max_connections_per_client"`
	IdleTimeout             Duration `yaml:"idle_timeout"`
	ReadHeaderTimeout       Duration `yaml:"read_header_timeout"`
	// TrustedProxies (addresses or CIDR prefixes) may name the client in
	// X-Forwarded-For; their connections count only in MaxConnections.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// ConsentPerMinute bounds GET /authorize and /oauth2callback per client
	// address; ConsentPerMinuteTotal bounds them for all clients together.
	ConsentPerMinute      int `yaml:"consent_per_minute"`
	ConsentPerMinuteTotal int `yaml:"consent_per_minute_total"`
	// MaxPendingFlows bounds the consent flows started within the flow
	// lifetime (10 minutes) that the store keeps.
	MaxPendingFlows int `yaml:"max_pending_flows"`
}

// Store engines (store.engine).
const (
	EngineBolt     = "bbolt"    // one file on local disk (store.path); one riscd process
	EnginePostgres = "postgres" // a PostgreSQL database (store.url), shared by any number of replicas
)

// Store names the store's engine, where its data lives (the bbolt file or
// the PostgreSQL database), and the keys that encrypt its secrets.
type Store struct {
	// Engine is EngineBolt (the default) or EnginePostgres.
	Engine string `yaml:"engine"`
	// URL is the PostgreSQL connection URL (postgres://user@host:port/db?
	// sslmode=...), required with EnginePostgres. It may carry the
	// password; it is never logged or shown.
	URL string `yaml:"url"`
	// PasswordFile holds the database password (trimmed), when the URL
	// does not; PGPASSWORD is the last resort.
	PasswordFile     string   `yaml:"password_file"`
	Path             string   `yaml:"path"`
	KeyFile          string   `yaml:"key_file"`
	PreviousKeyFiles []string `yaml:"previous_key_files"`
	// Retention is how long processed events and finished outbox jobs are
	// kept; 0 keeps them for ever.
	Retention Duration `yaml:"retention"`
}

// Google is the OAuth client and its authorization server: Google's
// endpoints, or (Provider "oidc") a standard OpenID provider found through
// Issuer's discovery document.
type Google struct {
	Provider          string             `yaml:"provider"`
	ClientSecretsFile string             `yaml:"client_secrets_file"`
	Scopes            []string           `yaml:"scopes"`
	Features          map[string]Feature `yaml:"features"`
	RevokeURL         string             `yaml:"revoke_url"`
	Issuer            string             `yaml:"issuer"`
	JWKSURL           string             `yaml:"jwks_url"`
}

// Feature is an optional capability that needs one more scope, with an API
// call that shows it works.
type Feature struct {
	Scope   string `yaml:"scope"`
	TestURL string `yaml:"test_url"`
}

// RISC is the security event receiver. The top-level keys describe
// Google; Transmitters adds others (SSF 1.0 transmitters such as Okta).
type RISC struct {
	Path string `yaml:"path"`
	// Google trusts Google's RISC transmitter (the keys below). False: an
	// SSF-only deployment, ready without Google's discovery document.
	Google           bool                `yaml:"google"`
	ConfigurationURL string              `yaml:"configuration_url"`
	Issuer           string              `yaml:"issuer"`
	JWKSURL          string              `yaml:"jwks_url"`
	Audiences        []string            `yaml:"audiences"`
	Algorithms       []string            `yaml:"algorithms"`
	Transmitters     []Transmitter       `yaml:"transmitters"`
	MaxAttempts      int                 `yaml:"max_attempts"`
	Actions          map[string][]string `yaml:"actions"`
	DryRun           bool                `yaml:"dry_run"`

	// The Google stream (riscd stream, and the health loop).
	ServiceAccountFile  string   `yaml:"service_account_file"`
	ManagementURL       string   `yaml:"management_url"`
	Events              []string `yaml:"events"`
	StreamCheckInterval Duration `yaml:"stream_check_interval"`
}

// Transmitter is one more trusted transmitter of security event
// tokens: where its keys are, which of its subjects name riscd's accounts
// (lifecycle.SubjectMappings) and what its events do (by default, notify
// only).
type Transmitter struct {
	Name             string              `yaml:"name"`
	ConfigurationURL string              `yaml:"configuration_url"`
	Issuer           string              `yaml:"issuer"`
	JWKSURL          string              `yaml:"jwks_url"`
	Audiences        []string            `yaml:"audiences"`
	Format           string              `yaml:"format"`
	Algorithms       []string            `yaml:"algorithms"`
	Subjects         []string            `yaml:"subjects"`
	Actions          map[string][]string `yaml:"actions"`
}

// TransmitterAlgorithms returns t's JWS algorithms: its own, else
// risc.algorithms.
func (c *Config) TransmitterAlgorithms(t Transmitter) []string {
	if len(t.Algorithms) > 0 {
		return t.Algorithms
	}
	return c.RISC.Algorithms
}

// acceptedAlgorithms are the asymmetric JWS algorithms risc.algorithms may
// name. "none" and the HMAC family are never accepted for a SET.
var acceptedAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// Log chooses the log format and level.
type Log struct {
	Format string `yaml:"format"`
	Level  string `yaml:"level"`
}

// GoogleIssuer is the issuer of Google's ID tokens, google.issuer's default.
const GoogleIssuer = "https://accounts.google.com"

// CallbackPath is the consent flow's redirect path below public_url.
const CallbackPath = "/oauth2callback"

// DefaultReadHeaderTimeout is public.read_header_timeout's default.
const DefaultReadHeaderTimeout = 10 * time.Second

// Google's published endpoints, the defaults for the google and risc sections.
const (
	defaultRevokeURL        = "https://oauth2.googleapis.com/revoke"
	defaultIDTokenJWKSURL   = "https://www.googleapis.com/oauth2/v3/certs"
	defaultRISCConfigURL    = "https://accounts.google.com/.well-known/risc-configuration"
	envPrefix               = "RISCD_"
	minInternalTokenLength  = 16
	defaultPublicListenAddr = "127.0.0.1:8080"
	// defaultRetention keeps processed events and finished outbox jobs 90
	// days; minRetention is the shortest store.retention riscd accepts.
	defaultRetention = 90 * 24 * time.Hour
	minRetention     = 7 * 24 * time.Hour
)

// Defaults of the listeners' bounds (public.* and internal.*).
const (
	defaultPublicMaxConns       = 1024
	defaultPublicMaxConnsClient = 64
	defaultPublicIdleTimeout    = 15 * time.Second
	defaultConsentPerMinute     = 30
	defaultConsentPerMinuteAll  = 1200
	defaultMaxPendingFlows      = 10000
	defaultInternalMaxConns     = 1024
)

// Default returns the configuration used for every key the file leaves out.
// It is not valid by itself: public_url and google.client_secrets_file have
// no default.
func Default() Config {
	return Config{
		Listen: defaultPublicListenAddr,
		Public: Public{
			MaxConnections: defaultPublicMaxConns, MaxConnectionsPerClient: defaultPublicMaxConnsClient,
			IdleTimeout: Duration(defaultPublicIdleTimeout), ReadHeaderTimeout: Duration(DefaultReadHeaderTimeout),
			ConsentPerMinute: defaultConsentPerMinute, ConsentPerMinuteTotal: defaultConsentPerMinuteAll,
			MaxPendingFlows: defaultMaxPendingFlows,
		},
		Internal: Internal{Listen: "127.0.0.1:9090", MaxConnections: defaultInternalMaxConns},
		Store:    Store{Engine: EngineBolt, Path: "riscd.db", Retention: Duration(defaultRetention)},
		Google: Google{
			Provider:  flowweb.ProviderGoogle,
			RevokeURL: defaultRevokeURL,
			Issuer:    GoogleIssuer,
			JWKSURL:   defaultIDTokenJWKSURL,
		},
		RISC: RISC{
			Path: "/risc", Google: true, ConfigurationURL: defaultRISCConfigURL, Algorithms: []string{"RS256"}, MaxAttempts: 10,
			ManagementURL: stream.DefaultBaseURL, Events: defaultStreamEvents(),
		},
		Companion: Companion{
			RefreshLeadTime: Duration(5 * time.Minute),
			RecentUseWindow: Duration(time.Hour),
		},
		Log: Log{Format: "text", Level: "info"},
	}
}

// Error is one problem found in a configuration, located by file (the
// config file, or the RISCD_* variable whose value is wrong), line (0 when
// unknown) and key path ("" when the problem is the file's as a whole).
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

// Error formats the problem as "file:line: key: message", leaving out the
// line and key when they are unknown.
func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found at once, never empty when returned as an
// error. Error gives one line per problem.
type Errors []Error

// Error joins the problems' texts, one line each.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Load reads the YAML file at path strictly, fills defaults and applies
// RISCD_* overrides from environ (os.Environ's form). It does not validate
// values: call Validate (or use Resolve).
//
// Errors: an unreadable file, a YAML syntax error, unknown keys (with their
// line and the valid keys beside them), type errors and bad overrides, all
// at once, as Errors; the Config is nil then.
func Load(path string, environ []string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: FileProblem(err)}}
	}
	cfg := Default()
	var errs Errors
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Errors{{File: path, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	if len(root.Content) > 0 {
		doc := root.Content[0]
		if doc.Kind != yaml.MappingNode {
			return nil, Errors{{File: path, Line: doc.Line, Msg: "the top level must be a mapping of keys"}}
		}
		errs = append(errs, unknownKeys(path, doc, reflect.TypeOf(cfg), "")...)
		if len(errs) == 0 {
			if err := doc.Decode(&cfg); err != nil {
				errs = append(errs, yamlTypeErrors(path, err, keyLines(doc, "", nil))...)
			}
		}
	}
	if len(errs) == 0 {
		// Relative paths in the file are relative to its folder; those
		// of the environment, to the working directory.
		if abs, err := filepath.Abs(path); err == nil {
			cfg.resolvePaths(filepath.Dir(abs))
		}
		errs = append(errs, applyEnv(&cfg, environ)...)
		cfg.resolvePaths("")
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &cfg, nil
}

// unknownKeys walks a mapping node against the struct type t and reports every
// key that t has no field for, with its line.
func unknownKeys(file string, node *yaml.Node, t reflect.Type, prefix string) Errors {
	if errs, ok := textValueErrors(file, node, t, prefix); ok {
		return errs
	}
	var errs Errors
	switch t.Kind() {
	case reflect.Struct:
		if node.Kind != yaml.MappingNode {
			return nil // a type error; Decode reports it
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			f, ok := fields[k.Value]
			if !ok {
				errs = append(errs, Error{File: file, Line: k.Line, Key: join(prefix, k.Value),
					Msg: "unknown key" + suggest(k.Value, fields)})
				continue
			}
			errs = append(errs, unknownKeys(file, v, f.Type, join(prefix, k.Value))...)
		}
	case reflect.Map:
		if node.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			errs = append(errs, unknownKeys(file, v, t.Elem(), join(prefix, k.Value))...)
		}
	case reflect.Slice:
		if node.Kind != yaml.SequenceNode {
			return nil
		}
		for _, v := range node.Content {
			errs = append(errs, unknownKeys(file, v, t.Elem(), prefix)...)
		}
	}
	return errs
}

// yamlFields maps a struct's yaml key names to its fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	m := make(map[string]reflect.StructField, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		m[name] = f
	}
	return m
}

// suggest names the valid keys at this level, so a typo is quick to fix.
func suggest(_ string, fields map[string]reflect.StructField) string {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	return " (valid keys here: " + strings.Join(names, ", ") + ")"
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// yamlTypeErrors turns yaml.v3's "line N: cannot unmarshal ..." errors into
// Errors.
func yamlTypeErrors(file string, err error, keys map[int]string) Errors {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return Errors{{File: file, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	var errs Errors
	for _, msg := range te.Errors {
		var line int
		if n, _ := fmt.Sscanf(msg, "line %d:", &line); n == 1 {
			_, msg, _ = strings.Cut(msg, ": ")
		}
		errs = append(errs, Error{File: file, Line: line, Key: keys[line], Msg: msg})
	}
	return errs
}

// FileProblem describes why a file cannot be read ("no such file",
// "permission denied"), without Go's op prefix or the path.
func FileProblem(err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "no such file"
	case errors.Is(err, os.ErrPermission):
		return "permission denied"
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// RedirectURI is where Google sends the browser back: public_url + /oauth2callback.
func (c *Config) RedirectURI() string {
	return strings.TrimSuffix(c.PublicURL, "/") + CallbackPath
}

// Validate checks every value that can be checked without reading other
// files. file names the config file in the messages.
//
// Errors: every problem at once as Errors, sorted by key; nil when c is
// valid.
func (c *Config) Validate(file string) error {
	var errs Errors
	bad := func(key, format string, args ...any) {
		errs = append(errs, Error{File: file, Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if c.PublicURL == "" {
		bad("public_url", "required: the external base URL riscd is reached at, e.g. https://riscd.example.com")
	} else if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("public_url", "must be an absolute http or https URL")
	} else if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		bad("public_url", "must not carry a query, fragment or user info")
	}
	checkListen := func(key, addr string) {
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
			bad(key, "must be host:port, e.g. 127.0.0.1:8080")
		}
	}
	checkListen("listen", c.Listen)
	checkListen("internal.listen", c.Internal.Listen)
	if c.Listen == c.Internal.Listen && !strings.HasSuffix(c.Listen, ":0") {
		bad("internal.listen", "must differ from listen: the internal APIs must not share the public listener")
	}
	errs = append(errs, c.validateLimits(file)...)
	switch c.Store.Engine {
	case EngineBolt, "":
		if c.Store.Path == "" {
			bad("store.path", "required with store.engine bbolt")
		}
	case EnginePostgres:
		// The URL is never repeated: it may hold the password.
		if c.Store.URL == "" {
			bad("store.url", "required with store.engine postgres: a postgres:// URL, e.g. postgres://riscd@db.example.com:5432/riscd?sslmode=verify-full")
		} else if msg := checkStoreURL(c.Store.URL); msg != "" {
			bad("store.url", "%s", msg)
		} else if c.Store.PasswordFile != "" && urlHasPassword(c.Store.URL) {
			bad("store.password_file", "the password is given twice: store.url carries one too; keep one of them")
		}
	default:
		bad("store.engine", "must be bbolt (one process, a local file) or postgres (replicas sharing a PostgreSQL database)")
	}
	if r := time.Duration(c.Store.Retention); r != 0 && r < minRetention {
		bad("store.retention", "must be 0 (keep everything) or at least 168h (a week): Google redelivers events for days, and the inbox recognises a redelivery only while it keeps the event")
	}
	switch c.Google.Provider {
	case flowweb.ProviderGoogle:
	case flowweb.ProviderOIDC:
		if u, err := url.Parse(c.Google.Issuer); c.Google.Issuer != "" && (err != nil || !IsHTTPURL(c.Google.Issuer) || u.RawQuery != "" || u.Fragment != "") {
			bad("google.issuer", "must be an absolute http or https URL without query or fragment: with provider oidc riscd reads its /.well-known/openid-configuration")
		}
	default:
		bad("google.provider", "must be google or oidc (a standard OpenID provider found through google.issuer's discovery document)")
	}
	if c.Google.ClientSecretsFile == "" {
		bad("google.client_secrets_file", "required: the client_secret.json downloaded from the Google Cloud console")
	}
	for i, s := range c.Google.Scopes {
		if strings.TrimSpace(s) == "" || strings.ContainsAny(s, " \t\n") {
			bad(fmt.Sprintf("google.scopes[%d]", i), "must be one scope without spaces")
		}
	}
	names := make([]string, 0, len(c.Google.Features))
	for n := range c.Google.Features {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := c.Google.Features[n]
		key := "google.features." + n
		if !validFeatureName(n) {
			bad(key, "feature names use only a-z, 0-9, '-' and '_'")
		}
		if f.Scope == "" || strings.ContainsAny(f.Scope, " \t\n") {
			bad(key+".scope", "required: one OAuth scope")
		}
		if f.TestURL != "" && !IsHTTPURL(f.TestURL) {
			bad(key+".test_url", "must be an absolute http or https URL")
		}
	}
	for key, v := range map[string]string{
		"google.revoke_url":      c.Google.RevokeURL,
		"google.jwks_url":        c.Google.JWKSURL,
		"risc.configuration_url": c.RISC.ConfigurationURL,
	} {
		if !IsHTTPURL(v) {
			bad(key, "must be an absolute http or https URL")
		}
	}
	if c.Google.Issuer == "" {
		bad("google.issuer", "required")
	}
	if c.RISC.JWKSURL != "" && !IsHTTPURL(c.RISC.JWKSURL) {
		bad("risc.jwks_url", "must be an absolute http or https URL")
	}
	if (c.RISC.Issuer == "") != (c.RISC.JWKSURL == "") {
		bad("risc.issuer", "risc.issuer and risc.jwks_url override discovery together: set both or neither")
	}
	if !strings.HasPrefix(c.RISC.Path, "/") || strings.ContainsAny(c.RISC.Path, "?#* ") {
		bad("risc.path", "must be an absolute path such as /risc")
	} else if reservedPublicPath(c.RISC.Path) {
		bad("risc.path", "%q is used by the consent pages; choose another path", c.RISC.Path)
	}
	for i, a := range c.RISC.Audiences {
		if strings.TrimSpace(a) == "" {
			bad(fmt.Sprintf("risc.audiences[%d]", i), "must not be empty")
		}
	}
	for i, a := range c.RISC.Algorithms {
		if !slices.Contains(acceptedAlgorithms, a) {
			bad(fmt.Sprintf("risc.algorithms[%d]", i), "%q is not accepted; use asymmetric algorithms only: %s", a, strings.Join(acceptedAlgorithms, ", "))
		}
	}
	if len(c.RISC.Algorithms) == 0 {
		bad("risc.algorithms", "must name at least one algorithm (Google signs with RS256)")
	}
	if c.RISC.MaxAttempts < 1 {
		bad("risc.max_attempts", "must be at least 1")
	}
	seen := map[string]bool{"google": true}
	for i, t := range c.RISC.Transmitters {
		key := fmt.Sprintf("risc.transmitters[%d]", i)
		switch {
		case t.Name == "":
			bad(key+".name", "required")
		case seen[t.Name]:
			bad(key+".name", "%q is used twice (\"google\" is the built-in transmitter)", t.Name)
		}
		seen[t.Name] = true
		switch {
		case t.ConfigurationURL != "" && (t.Issuer != "" || t.JWKSURL != ""):
			bad(key, "set configuration_url, or issuer and jwks_url, not both")
		case t.ConfigurationURL != "":
			if !IsHTTPURL(t.ConfigurationURL) {
				bad(key+".configuration_url", "must be an absolute http or https URL")
			}
		case t.Issuer == "" || t.JWKSURL == "":
			bad(key, "needs configuration_url, or issuer and jwks_url")
		case !IsHTTPURL(t.JWKSURL):
			bad(key+".jwks_url", "must be an absolute http or https URL")
		}
		if len(t.Audiences) == 0 {
			bad(key+".audiences", "required: the aud values this transmitter puts in its tokens for riscd")
		}
		switch t.Format {
		case "google", "ssf":
		default:
			bad(key+".format", "must be google or ssf")
		}
		for j, a := range t.Algorithms {
			if !slices.Contains(acceptedAlgorithms, a) {
				bad(fmt.Sprintf("%s.algorithms[%d]", key, j), "%q is not accepted; use asymmetric algorithms only: %s", a, strings.Join(acceptedAlgorithms, ", "))
			}
		}
		for j, m := range t.Subjects {
			if !slices.Contains(lifecycle.SubjectMappings(), m) {
				bad(fmt.Sprintf("%s.subjects[%d]", key, j), "unknown subject mapping %q; mappings are %s", m, strings.Join(lifecycle.SubjectMappings(), ", "))
			}
		}
		errs = append(errs, actionErrors(file, key+".actions", t.Actions)...)
	}
	if !c.RISC.Google && len(c.RISC.Transmitters) == 0 {
		bad("risc.google", "false needs at least one entry in risc.transmitters: riscd would trust no transmitter")
	}
	errs = append(errs, actionErrors(file, "risc.actions", c.RISC.Actions)...)
	errs = append(errs, c.validateStream(file)...)
	if d := time.Duration(c.Companion.RefreshLeadTime); d < time.Minute || d > 30*time.Minute {
		bad("companion.refresh_lead_time", "must be between 1m and 30m")
	}
	if d := time.Duration(c.Companion.RecentUseWindow); d < time.Minute {
		bad("companion.recent_use_window", "must be at least 1m")
	}
	if d := time.Duration(c.Companion.KeepaliveInterval); d != 0 && (d < 24*time.Hour || d > 2160*time.Hour) {
		bad("companion.keepalive_interval", "must be 0 (off) or between 24h and 2160h (Google expires refresh tokens unused for 6 months)")
	}
	for _, u := range c.Companion.ReturnURLs {
		if !isReturnURL(u) {
			bad("companion.return_urls", "%q must be an absolute http or https URL without user info, query or fragment", u)
		}
	}
	if c.Companion.WebhookURL != "" && !IsHTTPURL(c.Companion.WebhookURL) {
		bad("companion.webhook_url", "must be an absolute http or https URL")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "must be text or json")
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error")
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Key < errs[j].Key })
		return errs
	}
	return nil
}

// defaultStreamEvents are the event types riscd asks Google's stream for by
// default: those Google sends (https://developers.google.com/identity/protocols/risc,
// "Supported event types") and account-purged, as
// events.ShortName spells them.
func defaultStreamEvents() []string {
	return []string{
		"sessions-revoked", "tokens-revoked", "token-revoked", "account-disabled", "account-enabled",
		"account-credential-change-required", "account-purged", "verification",
	}
}

// misplacedTokenEvent returns the short name to write for a token-event URI
// in the risc namespace, a mistake production receivers made (Google's
// token events live in the oauth namespace), and "" for any other entry.
func misplacedTokenEvent(e string) string {
	switch e {
	case "https://schemas.openid.net/secevent/risc/event-type/tokens-revoked":
		return "tokens-revoked"
	case "https://schemas.openid.net/secevent/risc/event-type/token-revoked":
		return "token-revoked"
	}
	return ""
}

// validateStream checks the stream keys of the risc section.
func (c *Config) validateStream(file string) Errors {
	var errs Errors
	bad := func(key, format string, args ...any) {
		errs = append(errs, Error{File: file, Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if !IsHTTPURL(c.RISC.ManagementURL) {
		bad("risc.management_url", "must be an absolute http or https URL (Google's is %s)", stream.DefaultBaseURL)
	}
	if len(c.RISC.Events) == 0 {
		bad("risc.events", "must name at least one event type (short names such as account-disabled, or URIs)")
	}
	seen := map[string]bool{}
	for i, e := range c.RISC.Events {
		key := fmt.Sprintf("risc.events[%d]", i)
		uri, ok := streamEventURI(e)
		switch {
		case misplacedTokenEvent(e) != "":
			bad(key, "%s is not an event type: Google's token events live in the oauth namespace; write %s", e, misplacedTokenEvent(e))
		case !ok:
			bad(key, "%q is neither an event short name (such as account-disabled or verification) nor an absolute URI", e)
		case seen[uri]:
			bad(key, "%s is listed twice", e)
		}
		seen[uri] = true
	}
	if d := time.Duration(c.RISC.StreamCheckInterval); d != 0 {
		if d < time.Minute {
			bad("risc.stream_check_interval", "must be 0 (off) or at least 1m: every check makes Google send a verification event")
		}
		if c.RISC.ServiceAccountFile == "" {
			bad("risc.stream_check_interval", "needs risc.service_account_file: the check reads the stream's status from Google")
		}
		if !c.RISC.Google {
			bad("risc.stream_check_interval", "needs risc.google: the check is of Google's stream, whose events riscd would refuse")
		}
		if !seen[events.TypeRISCVerification] && len(c.RISC.Events) > 0 {
			bad("risc.stream_check_interval", "needs verification among risc.events: Google sends verification events only to a stream that requests them")
		}
	}
	return errs
}

// streamEventURI resolves an entry of risc.events: an event short name
// (events.TypeForName) or an absolute URI taken as it is.
func streamEventURI(e string) (string, bool) {
	if uri, ok := events.TypeForName(e); ok {
		return uri, true
	}
	u, err := url.Parse(e)
	if err != nil || u.Scheme == "" || strings.ContainsAny(e, " \t\n") || (u.Opaque == "" && u.Host == "") {
		return "", false
	}
	return e, true
}

// StreamEvents returns the event-type URIs risc.events asks Google's stream
// for, in the file's order. Call it on a validated Config.
func (c *Config) StreamEvents() []string {
	out := make([]string, 0, len(c.RISC.Events))
	for _, e := range c.RISC.Events {
		if uri, ok := streamEventURI(e); ok {
			out = append(out, uri)
		}
	}
	return out
}

// DeliveryURL is where Google's stream pushes events: public_url + risc.path.
func (c *Config) DeliveryURL() string {
	return strings.TrimSuffix(c.PublicURL, "/") + c.RISC.Path
}

// actionErrors checks an action table (risc.actions, or a transmitter's
// actions) found at key.
func actionErrors(file, key string, actions map[string][]string) Errors {
	var errs Errors
	bad := func(key, format string, args ...any) {
		errs = append(errs, Error{File: file, Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	keys := make([]string, 0, len(actions))
	for k := range actions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !knownActionKey(k) {
			bad(key+"."+k, "unknown event name; use an event short name such as sessions-revoked, caep:session-revoked, account-disabled/hijacking, or unknown")
		}
		for i, a := range actions[k] {
			if !slices.Contains(lifecycle.Actions(), a) {
				bad(fmt.Sprintf("%s.%s[%d]", key, k, i), "unknown action %q; actions are %s", a, strings.Join(lifecycle.Actions(), ", "))
			}
		}
	}
	return errs
}

// knownActionKey reports whether k names an event in risc.actions.
func knownActionKey(k string) bool {
	if k == "unknown" {
		return true
	}
	if reason, ok := strings.CutPrefix(k, "account-disabled/"); ok {
		return slices.Contains([]string{"hijacking", "bulk-account", "none", "other"}, reason)
	}
	_, ok := events.TypeForName(k)
	return ok
}

func validFeatureName(n string) bool {
	if n == "" {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// IsHTTPURL reports whether s is an absolute http or https URL with a host,
// as every URL-valued key must be.
func IsHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// reservedPublicPath reports whether p collides with the consent flow's routes.
func reservedPublicPath(p string) bool {
	switch p {
	case "/", "/authorize", CallbackPath, "/revoke", "/clear", "/healthz":
		return true
	}
	return strings.HasPrefix(p, "/features/") || p == "/features" || strings.HasPrefix(p, "/static/")
}

// isReturnURL reports whether raw may be a companion.return_urls prefix:
// an absolute http or https URL with a host and no user info, query or
// fragment.
func isReturnURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil &&
		u.RawQuery == "" && u.Fragment == "" && u.Opaque == "" && !u.ForceQuery
}
