package googlesim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Server is one simulated Google. All methods are safe for concurrent use.
// Its zero value is not usable: build it with New.
type Server struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	handler http.Handler
	done    chan struct{} // closed by Close: ends hanging faults

	closeOnce sync.Once
	mu        sync.Mutex
	baseURL   string
	srv       *http.Server
	redirects map[string]bool
	users     []User
	keys      keyring
	state     flowState
	faults    map[Endpoint]*faultState
	switches  switches
	stats     Stats
	stream    streamSim
}

// New builds a Server from cfg. It does not listen: call Start, or serve
// Handler yourself and call SetBaseURL. Errors wrap ErrInvalidConfig and list
// every problem of cfg at once; key generation failures are returned as is.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	kr, err := newKeyring(cfg.Keys)
	if err != nil {
		return nil, fmt.Errorf("googlesim: %w", err)
	}
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		now:       cfg.Now,
		done:      make(chan struct{}),
		redirects: map[string]bool{},
		users:     cfg.Users,
		keys:      kr,
		state:     newFlowState(),
		faults:    map[Endpoint]*faultState{},
		stats:     newStats(),
	}
	for _, u := range cfg.RedirectURIs {
		s.redirects[u] = true
	}
	s.handler = s.routes()
	return s, nil
}

// routes is the route table: every path the simulator serves.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+PathAuthorize, s.fault(EndpointAuthorize, s.handleAuthorize))
	mux.Handle("POST "+PathConsent, s.fault(EndpointAuthorize, s.handleConsent))
	mux.Handle("POST "+PathToken, s.fault(EndpointToken, s.handleToken))
	mux.Handle("POST "+PathRevoke, s.fault(EndpointRevoke, s.handleRevoke))
	mux.Handle("GET "+PathRevoke, s.fault(EndpointRevoke, s.handleRevoke))
	mux.Handle("GET "+PathJWKS, s.fault(EndpointJWKS, s.handleJWKS))
	mux.Handle("GET "+PathOpenIDConfiguration, s.fault(EndpointOpenIDConfiguration, s.handleOpenIDConfiguration))
	mux.Handle("GET "+PathRISCConfiguration, s.fault(EndpointRISCConfiguration, s.handleRISCConfiguration))
	mux.Handle("GET "+PathUserinfo, s.fault(EndpointUserinfo, s.handleUserinfo))
	mux.Handle("GET "+PathDriveFiles, s.fault(EndpointDrive, s.handleDriveFiles))
	s.streamRoutes(mux)
	if s.cfg.Demo {
		s.demoRoutes(mux)
	}
	return mux
}

// Paths the simulator serves, relative to URL().
const (
	PathAuthorize           = "/o/oauth2/v2/auth"
	PathConsent             = "/signin/oauth/consent"
	PathToken               = "/token"
	PathRevoke              = "/revoke"
	PathJWKS                = "/oauth2/v3/certs"
	PathOpenIDConfiguration = "/.well-known/openid-configuration"
	PathRISCConfiguration   = "/.well-known/risc-configuration"
	PathUserinfo            = "/v1/userinfo"
	PathDriveFiles          = "/drive/v3/files"
)

// Handler returns the simulator's HTTP handler, for httptest.NewServer or
// another listener of the caller's. Call SetBaseURL with that listener's URL
// before the first request.
func (s *Server) Handler() http.Handler { return s.handler }

// Start listens on addr, which must be a loopback address such as
// "127.0.0.1:0", "[::1]:0" or "localhost:8089", and serves in the
// background. It returns once the socket is bound, so a bind error is
// returned here. Errors: ErrNotLoopback, ErrStarted, or the listen error.
func (s *Server) Start(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("googlesim: start: %w", err)
	}
	if !isLoopbackHost(host) {
		return fmt.Errorf("googlesim: start %q: %w", addr, ErrNotLoopback)
	}
	if host == "localhost" { // never let the resolver pick a non-loopback address
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.baseURL != "" {
		return fmt.Errorf("googlesim: start: %w", ErrStarted)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("googlesim: start: %w", err)
	}
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.baseURL = "http://" + ln.Addr().String()
	srv := s.srv
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("googlesim: serve", "err", err)
		}
	}()
	s.log.Info("googlesim: listening", "url", s.baseURL)
	return nil
}

// isLoopbackHost accepts "localhost" and loopback IP literals.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SetBaseURL tells a server served through Handler its own URL
// ("http://127.0.0.1:port", no trailing slash). Errors: ErrStarted when the
// server already has one, ErrNotLoopback when the host is not loopback.
func (s *Server) SetBaseURL(base string) error {
	base = strings.TrimRight(base, "/")
	u, err := parseAbsolute(base)
	if err != nil {
		return fmt.Errorf("googlesim: set base URL: %w", err)
	}
	if !isLoopbackHost(u.Hostname()) {
		return fmt.Errorf("googlesim: set base URL %q: %w", base, ErrNotLoopback)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.baseURL != "" {
		return fmt.Errorf("googlesim: set base URL: %w", ErrStarted)
	}
	s.baseURL = base
	return nil
}

// URL returns the base URL ("http://127.0.0.1:port"), or "" before Start or
// SetBaseURL.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// Close stops the listener started by Start, ends hanging faults and waits
// up to five seconds for requests in flight. It is safe to call more than
// once; later calls return nil.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		defer s.waitStreamPushes()
		s.mu.Lock()
		srv := s.srv
		s.mu.Unlock()
		if srv == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if e := srv.Shutdown(ctx); e != nil {
			err = errors.Join(fmt.Errorf("googlesim: close: %w", e), srv.Close())
		}
	})
	return err
}

// AddRedirectURI registers one more redirect URI for the client. Errors
// wrap ErrInvalidConfig for a URI that is not absolute http(s) or has a
// fragment.
func (s *Server) AddRedirectURI(uri string) error {
	if err := checkRedirectURI(uri); err != nil {
		return fmt.Errorf("googlesim: %w: %w", ErrInvalidConfig, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.redirects[uri] = true
	return nil
}

// ClientID returns the OAuth client's ID.
func (s *Server) ClientID() string { return s.cfg.ClientID }

// ClientSecret returns the OAuth client's secret.
func (s *Server) ClientSecret() string { return s.cfg.ClientSecret }

// Users returns the accounts that can sign in.
func (s *Server) Users() []User { return append([]User(nil), s.users...) }

// issuer returns the ID-token issuer, or ErrNoIssuer.
func (s *Server) issuer() (string, error) {
	if s.cfg.Issuer != "" {
		return s.cfg.Issuer, nil
	}
	if b := s.URL(); b != "" {
		return b, nil
	}
	return "", fmt.Errorf("googlesim: %w: set Config.Issuer, Start or SetBaseURL first", ErrNoIssuer)
}

// RISCIssuer returns the iss of SETs and of the RISC discovery document, or
// ErrNoIssuer before the server knows its URL.
func (s *Server) RISCIssuer() (string, error) {
	if s.cfg.RISCIssuer != "" {
		return s.cfg.RISCIssuer, nil
	}
	return s.issuer()
}

// lookupUser finds a user by sub or by email (case-insensitive).
func (s *Server) lookupUser(id string) (User, bool) {
	for _, u := range s.users {
		if u.Sub == id || (id != "" && strings.EqualFold(u.Email, id)) {
			return u, true
		}
	}
	return User{}, false
}
