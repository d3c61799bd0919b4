package admin

import (
	"sync"
	"time"
)

// Limits of failed sign-ins to the admin page.
const (
	// signinFailuresAllowed is how many failed sign-ins one client address
	// may make in a signinWindow; then every attempt is refused until the
	// window ends.
	signinFailuresAllowed = 5
	// signinWindow starts at a client's first failure.
	signinWindow = time.Minute
	// maxLimitedClients bounds the addresses tracked; beyond it, failures
	// of new addresses share one overflow entry (so a flood of addresses
	// limits itself, not the table's memory).
	maxLimitedClients = 4096
)

// signinOverflow is the shared entry of addresses past maxLimitedClients.
const signinOverflow = "*"

// signinLimiter counts failed sign-ins per client address in fixed
// windows. It is safe for concurrent use.
type signinLimiter struct {
	mu sync.Mutex
	m  map[string]signinFailures
}

type signinFailures struct {
	n   int
	end time.Time // of the window
}

func newSigninLimiter() *signinLimiter {
	return &signinLimiter{m: map[string]signinFailures{}}
}

// key is the entry client's failures count in.
func (l *signinLimiter) key(client string) string {
	if _, ok := l.m[client]; ok || len(l.m) < maxLimitedClients {
		return client
	}
	return signinOverflow
}

// wait returns how long client must wait before it may try again; 0 when
// it may try now.
func (l *signinLimiter) wait(client string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.key(client)
	f, ok := l.m[k]
	if !ok {
		return 0
	}
	if !now.Before(f.end) {
		delete(l.m, k)
		return 0
	}
	if f.n < signinFailuresAllowed {
		return 0
	}
	return f.end.Sub(now)
}

// failed counts one failed sign-in of client.
func (l *signinLimiter) failed(client string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.m) >= maxLimitedClients {
		for k, f := range l.m {
			if !now.Before(f.end) {
				delete(l.m, k)
			}
		}
	}
	k := l.key(client)
	f, ok := l.m[k]
	if !ok || !now.Before(f.end) {
		f = signinFailures{end: now.Add(signinWindow)}
	}
	f.n++
	l.m[k] = f
}

// succeeded forgets client's failures.
func (l *signinLimiter) succeeded(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, client)
}
