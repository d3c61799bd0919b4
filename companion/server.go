package companion

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
)

// ErrInvalidConfig is wrapped by New's error when the Config cannot be used.
var ErrInvalidConfig = errors.New("invalid companion config")

// DefaultTokenTimeout bounds one POST /v1/token, upstream refresh included.
const DefaultTokenTimeout = 20 * time.Second

// Config is everything the companion API needs.
type Config struct {
	// Store is riscd's store, read by GET /v1/subjects/{sub}. Required.
	Store admin.AccountReader
	// Broker serves POST /v1/token. Nil: that route answers 501.
	Broker TokenBroker
	// AppToken guards /v1 beside the admin token. Empty: only the admin
	// token works there. It must differ from AdminToken.
	AppToken riscd.Secret
	// AdminToken is the admin API's token, which /v1 takes too. Empty:
	// only the app token works there; with neither, the companion API
	// answers 503 (companion_disabled).
	AdminToken riscd.Secret
	// TokenTimeout bounds one POST /v1/token. Default DefaultTokenTimeout.
	TokenTimeout time.Duration
	// Serve wraps every route: the internal listener's request log, JSON
	// error answers, request counter and common headers
	// (admin.Server.API). Required.
	Serve echo.MiddlewareFunc
	// Now is the clock. Default time.Now.
	Now func() time.Time

	// Connect keeps connect sessions and reads app users' links (riscd's
	// store). Nil: the connect routes and POST /v1/token's app_user answer
	// 501.
	Connect ConnectStore
	// Unlinker serves DELETE /v1/users/{app_user}/links/{sub}. Required
	// with Connect.
	Unlinker Unlinker
	// ConnectURL is riscd's public URL (flowweb's PublicURL): a connect
	// session's URL is ConnectURL + "/connect/{id}?token=...". Required
	// with Connect.
	ConnectURL string
	// ReturnURLs are the allowed prefixes of a connect session's
	// return_to (companion.return_urls); each is checked by
	// ParseReturnURL. Empty: POST /v1/connect refuses every return_to.
	ReturnURLs []string
	// Features are the features a connect session may ask for: name ->
	// the scope it needs (google.features).
	Features map[string]string
	// CheckLoginHint accepts a connect session's login_hint or returns an
	// error (flowweb.ValidateLoginHint). Required with Connect.
	CheckLoginHint func(string) error
}

// Server serves the companion API. Build it with New and mount it with
// Register. It is safe for concurrent use.
type Server struct {
	cfg        Config
	returnURLs []*url.URL
	adminToken admin.TokenDigest
	appToken   admin.TokenDigest
}

// New checks cfg, fills its defaults and builds a Server. Errors wrap
// ErrInvalidConfig and list every problem of cfg at once.
func New(cfg Config) (*Server, error) {
	if cfg.TokenTimeout == 0 {
		cfg.TokenTimeout = DefaultTokenTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("companion: %w", err)
	}
	s := &Server{cfg: cfg, adminToken: admin.DigestOf(cfg.AdminToken), appToken: admin.DigestOf(cfg.AppToken)}
	for _, raw := range cfg.ReturnURLs {
		u, _ := ParseReturnURL(raw) // validated above
		s.returnURLs = append(s.returnURLs, u)
	}
	return s, nil
}

// validate reports every problem of cfg at once.
func (cfg Config) validate() error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if cfg.Store == nil {
		bad("Store is required")
	}
	if cfg.Serve == nil {
		bad("Serve is required")
	}
	if !cfg.AppToken.IsZero() && cfg.AppToken == cfg.AdminToken {
		bad("AppToken must differ from AdminToken")
	}
	for _, tok := range []struct {
		name string
		s    riscd.Secret
	}{{"AdminToken", cfg.AdminToken}, {"AppToken", cfg.AppToken}} {
		if strings.ContainsAny(tok.s.Reveal(), " \t\r\n") {
			bad("%s must not contain white space", tok.name)
		}
	}
	if cfg.TokenTimeout < 0 {
		bad("TokenTimeout must not be negative")
	}
	if cfg.Connect != nil {
		if cfg.Unlinker == nil {
			bad("Unlinker is required with Connect")
		}
		if cfg.CheckLoginHint == nil {
			bad("CheckLoginHint is required with Connect")
		}
		if u, err := url.Parse(cfg.ConnectURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("ConnectURL must be an absolute http or https URL")
		}
	}
	for _, raw := range cfg.ReturnURLs {
		if _, err := ParseReturnURL(raw); err != nil {
			bad("ReturnURLs: %q: %v", raw, err)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalidConfig, strings.Join(problems, "; "))
}

// Register mounts the companion API's routes on e, each wrapped by
// Config.Serve and the token check. It installs no global middleware and
// no catch-all route.
func (s *Server) Register(e *echo.Echo) {
	app := []echo.MiddlewareFunc{s.cfg.Serve, s.requireApp}
	e.POST("/v1/token", s.token, app...)
	e.GET("/v1/subjects/:sub", s.subject, app...)
	e.POST("/v1/connect", s.createConnect, app...)
	e.GET("/v1/connect/:id", s.getConnect, app...)
	e.GET("/v1/users/:app_user", s.appUser, app...)
	e.DELETE("/v1/users/:app_user/links/:sub", s.unlink, app...)
}
