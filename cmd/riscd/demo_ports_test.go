package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
)

// Busy default ports give way to free ones, for the stand-in as for riscd,
// and the demo serves on the ports it prints.
func TestDemoBusyDefaultPortsGiveWay(t *testing.T) {
	var held []string
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		held = append(held, ln.Addr().String())
	}
	defer func(p, i, g string) { demoPublicAddr, demoInternalAddr, demoGoogleAddr = p, i, g }(demoPublicAddr, demoInternalAddr, demoGoogleAddr)
	demoPublicAddr, demoInternalAddr, demoGoogleAddr = held[0], held[1], held[2]

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut testkit.SyncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"demo", "--dir", t.TempDir()}, nil, &out, &errOut) }()
	waitDemoStarted(t, done, &out, &errOut, "Press Ctrl-C to stop")
	printed := map[string]string{}
	for line := range strings.SplitSeq(out.String(), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "riscd" && f[1] == "(public)":
			printed["public"] = f[2]
		case len(f) >= 3 && f[0] == "riscd" && f[1] == "(internal)":
			printed["internal"] = f[2]
		case len(f) >= 3 && f[0] == "Google" && f[1] == "stand-in":
			printed["google"] = f[2]
		}
	}
	for i, k := range []string{"public", "internal", "google"} {
		if printed[k] == "" || printed[k] == "http://"+held[i] {
			t.Fatalf("%s: printed %q, the busy port was %s:\n%s", k, printed[k], held[i], out.String())
		}
	}
	for _, u := range []string{printed["public"] + "/", printed["internal"] + "/healthz", printed["google"] + googlesim.PathOpenIDConfiguration} {
		if code := getStatus(t, u); code != http.StatusOK {
			t.Errorf("GET %s = %d", u, code)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("demo exited %d: %s", code, errOut.String())
	}
}

// A busy port given on the command line is an error, not replaced.
func TestDemoBusyExplicitPortIsAnError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, flag := range []string{"--google-listen", "--listen", "--internal-listen"} {
		args := []string{"demo", "--dir", t.TempDir(), "--google-listen", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--internal-listen", "127.0.0.1:0"}
		args = append(args, flag, ln.Addr().String())
		var out, errOut testkit.SyncBuffer
		if code := run(context.Background(), args, nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), flag+":") {
			t.Errorf("%s busy: exit %d, stderr %q; want 2 naming the flag", flag, code, errOut.String())
		}
	}
}

// Two demos started at once with the same free default ports both start:
// a port one of them chose is held from then on, so the other sees it busy
// and takes another, instead of choosing it too and failing to bind it.
func TestTwoDemosAtOnce(t *testing.T) {
	var free []string
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		free = append(free, ln.Addr().String())
		ln.Close()
	}
	defer func(p, i, g string) { demoPublicAddr, demoInternalAddr, demoGoogleAddr = p, i, g }(demoPublicAddr, demoInternalAddr, demoGoogleAddr)
	demoPublicAddr, demoInternalAddr, demoGoogleAddr = free[0], free[1], free[2]

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type demo struct {
		out, errOut testkit.SyncBuffer
		done        chan int
	}
	demos := []*demo{{done: make(chan int, 1)}, {done: make(chan int, 1)}}
	start := make(chan struct{})
	for _, d := range demos {
		go func() {
			<-start
			d.done <- run(ctx, []string{"demo", "--dir", t.TempDir()}, nil, &d.out, &d.errOut)
		}()
	}
	close(start)
	for _, d := range demos {
		waitDemoStarted(t, d.done, &d.out, &d.errOut, "Press Ctrl-C to stop")
	}
	cancel()
	for i, d := range demos {
		if code := <-d.done; code != 0 {
			t.Errorf("demo %d exited %d: %s", i, code, d.errOut.String())
		}
	}
}
