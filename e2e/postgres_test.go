package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store"
)

// openDB opens the rig's store (either engine) from the test process,
// closed at the end of the test. A bbolt store needs riscd stopped; a
// PostgreSQL one does not.
func (r *rig) openDB(ctx context.Context) riscd.DB {
	r.t.Helper()
	opts := store.Options{Path: r.storePath, Key: r.storeKey}
	if r.storeURL != "" {
		opts = store.Options{Engine: store.EnginePostgres, URL: r.storeURL, Key: r.storeKey}
	}
	db, err := store.Open(ctx, opts)
	if err != nil {
		r.t.Fatalf("open the store: %v", err)
	}
	r.t.Cleanup(func() { db.Close() })
	return db
}

// runCLI runs a riscd subcommand to its end and returns its combined
// output.
func runCLI(t testing.TB, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, riscdBinary, args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// rrProxy is a round-robin reverse proxy in front of replicas: each
// request goes to the replica after the previous request's, on the public
// and, with a count of its own, the internal listener. A replica that is
// down answers 502 through it (the client retries, as behind any load
// balancer without health checks).
type rrProxy struct {
	public, internal *rrListener
}

// rrListener is one of the proxy's listeners.
type rrListener struct {
	srv      *http.Server
	backends []*url.URL
	next     atomic.Uint64

	mu     sync.Mutex
	served map[string][]int // path -> the replica of each request, in order
	per    []int            // requests per replica
}

func startRRListener(t testing.TB, addr string, backends []string) *rrListener {
	t.Helper()
	l := &rrListener{served: map[string][]int{}, per: make([]int, len(backends))}
	for _, b := range backends {
		u, err := url.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		l.backends = append(l.backends, u)
	}
	tr := &http.Transport{
		MaxIdleConns: 256, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	t.Cleanup(tr.CloseIdleConnections)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			i := int((l.next.Add(1) - 1) % uint64(len(l.backends)))
			l.mu.Lock()
			l.served[pr.In.URL.Path] = append(l.served[pr.In.URL.Path], i)
			l.per[i]++
			l.mu.Unlock()
			pr.SetURL(l.backends[i])
			pr.Out.Host = pr.In.Host // riscd sees the public host, as behind a real proxy
		},
		Transport: tr,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	// The address was free a moment ago (freeAddr); it is taken again here.
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	l.srv = &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = l.srv.Serve(ln) }()
	t.Cleanup(func() { l.srv.Close() })
	return l
}

// replicasOf returns the replicas that served each request to path, in
// order.
func (l *rrListener) replicasOf(path string) []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.served[path]...)
}

// perReplica returns how many requests each replica was sent.
func (l *rrListener) perReplica() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.per...)
}

// replicaSet is n riscd processes on one PostgreSQL database behind a
// round-robin proxy. front is a rig whose public and internal URLs are
// the proxy's (every rig helper works through it); reps are the
// replicas, each a rig with its own listeners, config and log, started,
// killed and restarted on its own.
type replicaSet struct {
	front *rig
	reps  []*rig
	proxy rrProxy
}

// newReplicaSet writes the configs of n replicas sharing o's installation
// (o.storeURL must name the database) and starts the proxy; the replicas
// are not started.
func newReplicaSet(t *testing.T, o rigOptions, n int) *replicaSet {
	t.Helper()
	if o.storeURL == "" {
		t.Fatal("newReplicaSet: no database")
	}
	front := newRig(t, o)
	base, err := os.ReadFile(front.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	rs := &replicaSet{front: front}
	var pubs, ints []string
	for i := range n {
		rep := *front
		rep.ps = &procState{}
		rep.public, rep.internal = "http://"+freeAddr(t), "http://"+freeAddr(t)
		rep.cfgPath = filepath.Join(front.dir, fmt.Sprintf("riscd-%d.yaml", i))
		rep.logPath = filepath.Join(front.dir, fmt.Sprintf("riscd-%d.log", i))
		// Only the listeners differ: public_url stays the proxy's.
		cfg := strings.Replace(string(base), "\nlisten: "+strings.TrimPrefix(front.public, "http://")+"\n",
			"\nlisten: "+strings.TrimPrefix(rep.public, "http://")+"\n", 1)
		cfg = strings.Replace(cfg, "  listen: "+strings.TrimPrefix(front.internal, "http://")+"\n",
			"  listen: "+strings.TrimPrefix(rep.internal, "http://")+"\n", 1)
		if err := os.WriteFile(rep.cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		rs.reps = append(rs.reps, &rep)
		pubs, ints = append(pubs, rep.public), append(ints, rep.internal)
		t.Cleanup(func() {
			rep.ps.mu.Lock()
			p := rep.ps.proc
			rep.ps.mu.Unlock()
			if p != nil {
				p.kill()
			}
			if t.Failed() {
				t.Logf("replica %d log (last lines of %s):\n%s", i, rep.logPath, tail(rep.logPath, 25))
			}
		})
	}
	rs.proxy.public = startRRListener(t, strings.TrimPrefix(front.public, "http://"), pubs)
	rs.proxy.internal = startRRListener(t, strings.TrimPrefix(front.internal, "http://"), ints)
	return rs
}

// startAll starts every replica, one after the other (the first applies
// the database's migrations).
func (rs *replicaSet) startAll() {
	for _, r := range rs.reps {
		r.start()
	}
}

// stopAll stops every running replica with SIGTERM.
func (rs *replicaSet) stopAll() {
	for _, r := range rs.reps {
		if r.pid() != 0 {
			r.stop()
		}
	}
}
