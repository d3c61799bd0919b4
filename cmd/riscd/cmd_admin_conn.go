package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/adminclient"
	"github.com/riscd/riscd/config"
)

// defaultAdminTimeout bounds one request to the admin API.
const defaultAdminTimeout = 30 * time.Second

// envAdminToken is the variable holding the admin API's bearer token.
const envAdminToken = config.EnvAdminToken

// adminConn is the connection flags every admin subcommand takes.
type adminConn struct {
	actor       string
	internalURL string
	tokenFile   string
	config      string
	json        bool
	timeout     time.Duration
}

func addConnFlags(fs *flag.FlagSet) *adminConn {
	c := &adminConn{}
	fs.StringVar(&c.internalURL, "internal-url", "", "the internal listener of the running riscd (default: http:// + internal.listen of --config, else "+defaultInternalURL()+")")
	fs.StringVar(&c.tokenFile, "admin-token-file", "", "file holding the admin token, read when "+envAdminToken+" is not set (default: internal.admin_token_file of --config)")
	fs.StringVar(&c.config, "config", "", "riscd's configuration file, for internal.listen and internal.admin_token_file")
	fs.BoolVar(&c.json, "json", false, "print the API's answer as JSON, for scripts")
	fs.DurationVar(&c.timeout, "timeout", defaultAdminTimeout, "how long to wait for each answer")
	fs.StringVar(&c.actor, "actor", "", "your name, recorded in the audit log as operator:NAME for the actions you take (default: operator)")
	return c
}

// defaultInternalURL is the internal listener of a riscd run with the
// default internal.listen.
func defaultInternalURL() string {
	listen := config.Default().Internal.Listen
	u, err := internalURLOf(listen)
	if err != nil {
		return "http://" + listen // not reached: a test checks the default
	}
	return u
}

// internalURLOf turns an internal.listen address into the URL a client on
// the same host calls: a wildcard host becomes loopback.
func internalURLOf(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("%q is not host:port", listen)
	}
	if port == "0" {
		return "", fmt.Errorf("%s listens on a random port", listen)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// adminSession is a connected admin subcommand: its client and where its
// URL and token came from, for messages.
type adminSession struct {
	client      *adminclient.Client
	url         string
	tokenSource string // where the token was read, never the token
	json        bool
	timeout     time.Duration
	stdout      io.Writer
	stderr      io.Writer
}

// connect resolves the URL and the token and builds the client. Every
// problem is a usageError (exit 2) or a config.Errors: nothing is sent.
func (c *adminConn) connect(env *cliEnv) (*adminSession, error) {
	if c.timeout <= 0 {
		return nil, usageError{errors.New("--timeout must be positive")}
	}
	var bad *admin.Error
	if err := admin.CheckOperatorName(c.actor); errors.As(err, &bad) {
		return nil, usageError{fmt.Errorf("--actor %q: %v", c.actor, bad.Detail)}
	}
	var cfg *config.Config
	if c.config != "" {
		var err error
		if cfg, err = config.Load(c.config, env.environ); err != nil {
			return nil, err
		}
	}
	base := c.internalURL
	switch {
	case base != "":
		if !config.IsHTTPURL(base) {
			return nil, usageError{fmt.Errorf("--internal-url %q: not an absolute http or https URL", base)}
		}
	case cfg != nil:
		u, err := internalURLOf(cfg.Internal.Listen)
		if err != nil {
			return nil, usageError{fmt.Errorf("%s: internal.listen: %v; pass --internal-url", c.config, err)}
		}
		base = u
	default:
		base = defaultInternalURL()
	}
	token, source, err := c.token(env, cfg)
	if err != nil {
		return nil, err
	}
	client, err := adminclient.New(adminclient.Config{
		BaseURL:    base,
		Token:      token,
		HTTPClient: &http.Client{Timeout: c.timeout},
		UserAgent:  "riscd-cli/" + buildVersion(),
		Actor:      c.actor,
	})
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), adminclient.ErrInvalidConfig.Error()+": ")
		if strings.HasPrefix(msg, "Token") {
			return nil, usageError{fmt.Errorf("the admin token from %s: %s", source, strings.TrimPrefix(msg, "Token "))}
		}
		return nil, usageError{fmt.Errorf("--internal-url: %s", strings.TrimPrefix(msg, "BaseURL "))}
	}
	return &adminSession{
		client: client, url: client.BaseURL(), tokenSource: source, json: c.json, timeout: c.timeout,
		stdout: env.stdout, stderr: env.stderr,
	}, nil
}

// token finds the admin token: the environment, else --admin-token-file,
// else the config's internal.admin_token_file. source says where, for
// messages.
func (c *adminConn) token(env *cliEnv, cfg *config.Config) (tok adminclient.Token, source string, err error) {
	if v := strings.TrimSpace(config.Getenv(env.environ, envAdminToken)); v != "" {
		return adminclient.Token(v), "the environment variable " + envAdminToken, nil
	}
	path, source := c.tokenFile, "--admin-token-file "+c.tokenFile
	if path == "" && cfg != nil && cfg.Internal.AdminTokenFile != "" {
		path = cfg.Internal.AdminTokenFile
		source = fmt.Sprintf("%s (internal.admin_token_file of %s)", path, c.config)
	}
	if path == "" {
		return "", "", usageError{fmt.Errorf("no admin token: set %s, pass --admin-token-file, or pass --config with internal.admin_token_file", envAdminToken)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", usageError{fmt.Errorf("the admin token from %s: %s", source, config.FileProblem(err))}
	}
	if v := strings.TrimSpace(string(data)); v != "" {
		return adminclient.Token(v), source, nil
	}
	return "", "", usageError{fmt.Errorf("the admin token from %s: empty file", source)}
}

// explain turns an adminclient error into one line an operator can act
// on. It never shows the token (no adminclient error carries it).
func (s *adminSession) explain(err error) error {
	var ae *adminclient.APIError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return errors.New("interrupted")
	case errors.Is(err, adminclient.ErrUnreachable):
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no answer from riscd's admin API at %s within %s (--timeout)", s.url, s.timeout)
		}
		_, cause, _ := strings.Cut(err.Error(), adminclient.ErrUnreachable.Error()+": ")
		return fmt.Errorf("cannot reach riscd's admin API at %s (%s); is riscd running, and is that its internal listener? Set --internal-url, or --config for internal.listen", s.url, cause)
	case errors.Is(err, adminclient.ErrUnauthorized):
		fix := "pass the running riscd's admin token (its internal.admin_token_file or " + envAdminToken + ") in " + envAdminToken + ", with --admin-token-file, or with --config"
		if strings.HasPrefix(s.tokenSource, "the environment") {
			fix = "set " + envAdminToken + " to the running riscd's admin token, or unset it to read --admin-token-file or --config's internal.admin_token_file"
		}
		return fmt.Errorf("riscd at %s refused the admin token from %s (%s): %s", s.url, s.tokenSource, apiDetail(err), fix)
	case errors.Is(err, adminclient.ErrAdminDisabled):
		return fmt.Errorf("the admin API of the riscd at %s is off: give that riscd an admin token (internal.admin_token_file or %s) and restart it", s.url, envAdminToken)
	case errors.As(err, &ae) && ae.Code == "":
		return fmt.Errorf("%s does not answer like riscd's admin API (HTTP %d: %s); is --internal-url the internal listener (internal.listen), not the public one?", s.url, ae.StatusCode, ae.Detail)
	case errors.As(err, &ae):
		ref := ""
		if ae.RequestID != "" && ae.Code == adminclient.CodeInternal {
			ref = ", request id " + ae.RequestID + " in riscd's log"
		}
		return fmt.Errorf("%s (HTTP %d %s%s)", ae.Detail, ae.StatusCode, ae.Code, ref)
	case errors.Is(err, adminclient.ErrUnexpectedAnswer):
		return fmt.Errorf("%s answered what riscd's admin API does not: %v; is --internal-url right?", s.url, err)
	}
	return err
}

// apiDetail is the detail of an *APIError in err.
func apiDetail(err error) string {
	var ae *adminclient.APIError
	if errors.As(err, &ae) && ae.Detail != "" {
		return ae.Detail
	}
	return "HTTP 401"
}
