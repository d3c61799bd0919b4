package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/config"
	"github.com/riscd/riscd/httplog"
	"github.com/riscd/riscd/limit"
	"github.com/riscd/riscd/store"
)

// shutdownTimeout bounds a graceful stop: in-flight requests get this long.
const shutdownTimeout = 10 * time.Second

// Main is the whole daemon. Tests and the demo build one with a Config and
// Secrets of their own (listen addresses on port 0, a temp-dir store); the
// serve command loads them from the config file.
type Main struct {
	Config  *config.Config
	Secrets *config.Secrets
	Logger  *slog.Logger
	Now     func() time.Time
	// ConfigPath names the configuration file in start-up errors; ""
	// when the Config was built in code.
	ConfigPath string

	db         riscd.DB
	parts      *parts
	publicLn   net.Listener
	internalLn net.Listener
	servers    []*http.Server
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	errc       chan error
	closeOnce  sync.Once
	closeErr   error
}

// StartupError is a failure to start: bad configuration, a port in use, a
// store that cannot be opened. The command exits with status 2 on it.
type StartupError struct{ Err error }

func (e *StartupError) Error() string { return e.Err.Error() }
func (e *StartupError) Unwrap() error { return e.Err }

// Run starts riscd and returns once it is serving. Listeners are bound first,
// so a busy port fails start-up before anything else is opened; then the
// store is opened and the servers start. Stop it with Close.
func (m *Main) Run(ctx context.Context) (err error) {
	if m.Config == nil || m.Secrets == nil {
		return &StartupError{errors.New("riscd: Main needs a Config and Secrets")}
	}
	if m.Logger == nil {
		m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if m.Now == nil {
		m.Now = time.Now
	}
	m.errc = make(chan error, 2)
	defer func() {
		if err != nil {
			m.Close()
		}
	}()

	// A caller (the demo) may hand over listeners it bound already.
	if m.publicLn == nil {
		if m.publicLn, err = listen("listen", m.Config.Listen); err != nil {
			return err
		}
	}
	if m.internalLn == nil {
		if m.internalLn, err = listen("internal.listen", m.Config.Internal.Listen); err != nil {
			return err
		}
	}

	m.db, err = store.Open(ctx, m.storeOptions())
	if err != nil {
		return storeOpenError(m.ConfigPath, m.Config.Store, redact(err, m.Config.Store, m.Secrets))
	}

	bg, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	if m.parts, err = m.build(bg); err != nil {
		return &StartupError{err}
	}
	m.startLoops(bg)

	m.checkFileLimit()
	metrics := m.parts.admin.Metrics()
	pub := m.Config.Public
	m.serve(limit.Listener(m.publicLn, limit.ListenerConfig{
		Total: pub.MaxConnections, PerClient: pub.MaxConnectionsPerClient, Exempt: m.Config.PublicProxies(),
		Refused: func() { metrics.ConnectionRefused("public") },
	}), m.publicHandler(), serverTimeouts{
		idle: time.Duration(pub.IdleTimeout), readHeader: time.Duration(pub.ReadHeaderTimeout),
	})
	m.serve(limit.Listener(m.internalLn, limit.ListenerConfig{Total: m.Config.Internal.MaxConnections}),
		m.internalHandler(), serverTimeouts{idle: internalIdleTimeout, readHeader: config.DefaultReadHeaderTimeout})
	m.Logger.Info("riscd started",
		"public", m.PublicAddr(), "internal", m.InternalAddr(), "store", m.Config.Store.Where())
	return nil
}

// fileReserve is the open files riscd keeps for the store, its upstream
// calls and its logs, besides the listeners' connections.
const fileReserve = 256

// checkFileLimit warns when the two listeners' connection bounds leave too
// few of the process's open files for the rest: a flood could then take the
// files the internal listener and the store need.
func (m *Main) checkFileLimit() {
	limit := openFileLimit()
	need := uint64(m.Config.Public.MaxConnections + m.Config.Internal.MaxConnections + fileReserve)
	if limit > 0 && limit < need {
		m.Logger.Warn("public.max_connections plus internal.max_connections leave too few open files for the store and upstream calls; lower them or raise the open-file limit",
			"open_file_limit", limit, "needed", need)
	}
}

// listen binds addr synchronously. A busy port is a StartupError that names
// the key and the address.
func listen(key, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, &StartupError{fmt.Errorf("%s: %s is already in use by another process", key, addr)}
		}
		return nil, &StartupError{fmt.Errorf("%s: cannot listen on %s: %w", key, addr, err)}
	}
	return ln, nil
}

// internalIdleTimeout is how long the internal listener keeps an idle
// keep-alive connection (the app's and the monitoring's).
const internalIdleTimeout = 120 * time.Second

// serverTimeouts are a listener's configurable timeouts.
type serverTimeouts struct {
	idle, readHeader time.Duration
}

func (m *Main) serve(ln net.Listener, h http.Handler, t serverTimeouts) {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.readHeader,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       t.idle,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	m.servers = append(m.servers, srv)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("server stopped", "addr", ln.Addr().String(), "err", err)
			m.errc <- err
		}
	}()
}

// Err delivers a server's failure after start; serve stops on it.
func (m *Main) Err() <-chan error { return m.errc }

// PublicAddr is the bound address of the public listener (consent pages, RISC receiver).
func (m *Main) PublicAddr() string { return addrOf(m.publicLn) }

// InternalAddr is the bound address of the internal listener (admin, companion API, metrics).
func (m *Main) InternalAddr() string { return addrOf(m.internalLn) }

// DB is the open store, for tests.
func (m *Main) DB() riscd.DB { return m.db }

func addrOf(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// Close stops riscd gracefully: listeners stop accepting, in-flight requests
// get up to 10 seconds, background loops stop, and the store is closed. It is
// safe to call more than once.
func (m *Main) Close() error {
	m.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		var errs []error
		for _, srv := range m.servers {
			if err := srv.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("shutdown: %w", err))
				srv.Close()
			}
		}
		if len(m.servers) == 0 {
			for _, ln := range []net.Listener{m.publicLn, m.internalLn} {
				if ln != nil {
					ln.Close()
				}
			}
		}
		if m.cancel != nil {
			m.cancel()
		}
		m.wg.Wait()
		if m.db != nil {
			if err := m.db.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close store: %w", err))
			}
		}
		m.closeErr = errors.Join(errs...)
	})
	return m.closeErr
}

// publicHandler is the public listener: the consent pages and the RISC
// receiver.
func (m *Main) publicHandler() http.Handler {
	e := newEcho()
	e.Use(httplog.Middleware(httplog.Config{Logger: m.Logger.With("component", "http")}))
	m.parts.flow.Register(e)
	m.parts.receiver.Register(e, m.Config.RISC.Path)
	return e
}

// internalHandler is the internal listener: admin and companion APIs,
// metrics and health.
func (m *Main) internalHandler() http.Handler {
	e := newEcho()
	e.Pre(checkHost(allowedHosts(m.Config)))
	m.parts.admin.Register(e)
	m.parts.page.Register(e)
	m.parts.companion.Register(e)
	return e
}

// newEcho is an Echo instance with riscd's error answers: JSON, no internals.
func newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		code := http.StatusInternalServerError
		msg := http.StatusText(code)
		var he *echo.HTTPError
		if errors.As(err, &he) {
			code = he.Code
			if s, ok := he.Message.(string); ok && code < 500 {
				msg = s
			} else {
				msg = http.StatusText(code)
			}
		}
		if c.Request().Method == http.MethodHead {
			c.NoContent(code)
			return
		}
		c.JSON(code, map[string]string{"error": msg})
	}
	return e
}
