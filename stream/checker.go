package stream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// CheckerConfig configures a Checker. Zero values get the defaults
// documented on each field.
type CheckerConfig struct {
	// Interval between checks. Required, above zero.
	Interval time.Duration
	// Deadline is how long a verification event may take to arrive.
	// Default one minute.
	Deadline time.Duration
	// PollInterval is how often Received is asked while waiting. Default
	// one second.
	PollInterval time.Duration
	// Received reports whether the daemon has received a verification event
	// carrying state. An error counts as "not yet"; the last one is named
	// if the deadline passes. Required.
	Received func(ctx context.Context, state string) (bool, error)
	// Report is told the outcome of every check: the stream status read
	// ("enabled", "disabled", or "unknown" when it could not be read) and
	// whether the stream is healthy. Required.
	Report func(status string, healthy bool)
	// Logger receives a line per check: info when healthy, error when not.
	// Default: discard.
	Logger *slog.Logger
	// Now is the clock the round trip is measured with. Default: the
	// client's clock (Options.Now).
	Now func() time.Time
}

// Checker checks on an interval that the stream is enabled and that a
// verification event comes back. Build it with NewChecker.
type Checker struct {
	client *Client
	cfg    CheckerConfig
}

// NewChecker returns a Checker calling Google through c. Errors wrap
// ErrInvalidConfig and name every missing or bad field.
func NewChecker(c *Client, cfg CheckerConfig) (*Checker, error) {
	var problems []error
	if c == nil {
		problems = append(problems, errors.New("client is nil"))
	}
	if cfg.Interval <= 0 {
		problems = append(problems, fmt.Errorf("interval %v must be above zero", cfg.Interval))
	}
	if cfg.Deadline < 0 || cfg.PollInterval < 0 {
		problems = append(problems, errors.New("deadline and poll interval must not be negative"))
	}
	if cfg.Received == nil {
		problems = append(problems, errors.New("received is nil"))
	}
	if cfg.Report == nil {
		problems = append(problems, errors.New("report is nil"))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("stream: checker: %w: %w", ErrInvalidConfig, errors.Join(problems...))
	}
	if cfg.Deadline == 0 {
		cfg.Deadline = time.Minute
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = c.now
	}
	return &Checker{client: c, cfg: cfg}, nil
}

// Result is the outcome of one check.
type Result struct {
	// Status is the stream status read: "enabled", "disabled", or "unknown"
	// when it could not be read.
	Status string
	// Healthy is true when the stream is enabled and the verification came
	// back in time.
	Healthy bool
	// Problem says why the stream is not healthy; "" when it is.
	Problem string
	// State is the verification's state ("" when none was sent).
	State string
	// RoundTrip is the time from asking for the verification to seeing it
	// received (healthy checks only).
	RoundTrip time.Duration
}

// Run checks at once and then every Interval until ctx ends, and returns
// nil then.
func (k *Checker) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		k.Check(ctx)
		t.Reset(k.cfg.Interval)
	}
}

// Check runs one check, tells Report and the log, and returns its result.
// A check cut short by ctx ending is neither reported nor logged.
func (k *Checker) Check(ctx context.Context) Result {
	r := k.check(ctx)
	if ctx.Err() != nil {
		return r
	}
	k.cfg.Report(r.Status, r.Healthy)
	if r.Healthy {
		k.cfg.Logger.InfoContext(ctx, "stream check: healthy", "status", r.Status, "round_trip", r.RoundTrip)
	} else {
		k.cfg.Logger.ErrorContext(ctx, "stream check: unhealthy", "status", r.Status, "problem", r.Problem)
	}
	return r
}

func (k *Checker) check(ctx context.Context) Result {
	st, err := k.client.Status(ctx)
	if err != nil {
		return Result{Status: "unknown", Problem: err.Error()}
	}
	if st != StatusEnabled {
		return Result{Status: string(st), Problem: fmt.Sprintf("the stream is %s, not enabled: run riscd stream enable", st)}
	}
	r := Result{Status: string(st), State: "riscd-check-" + randomHex(12)}
	start := k.cfg.Now()
	if err := k.client.Verify(ctx, r.State); err != nil {
		r.Problem = err.Error()
		return r
	}
	wait, cancel := context.WithTimeout(ctx, k.cfg.Deadline)
	defer cancel()
	tick := time.NewTicker(k.cfg.PollInterval)
	defer tick.Stop()
	var last error
	for {
		ok, err := k.cfg.Received(wait, r.State)
		if ok {
			r.Healthy, r.RoundTrip = true, k.cfg.Now().Sub(start)
			return r
		}
		if err != nil {
			last = err
		}
		select {
		case <-wait.Done():
			r.Problem = fmt.Sprintf("the verification event did not arrive within %v", k.cfg.Deadline)
			if last != nil {
				r.Problem += fmt.Sprintf(" (last lookup error: %v)", last)
			}
			return r
		case <-tick.C:
		}
	}
}

// randomHex returns n random bytes as hex text.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
