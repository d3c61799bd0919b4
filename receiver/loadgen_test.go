package receiver_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riscd/riscd/receiver"
)

// BenchmarkReceiver's load comes from a separate process, as Google's
// requests come from another machine: a load generator inside the measured
// process would compete with the server for the Go scheduler's Ps, and
// while the server's fdatasync holds one of them the generator's own
// goroutines would wait and count as the server's latency. The generator is
// this test binary started again with loadGenEnv set; TestMain runs it in
// place of the tests. It reads the tokens from the file named by the
// variable, one per line, then loadCommands from stdin, answering each with
// a loadReply on stdout, until stdin closes.
const loadGenEnv = "RISCD_BENCH_LOADGEN"

func TestMain(m *testing.M) {
	if path := os.Getenv(loadGenEnv); path != "" {
		if err := runLoadGen(path, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "load generator:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// loadCommand asks the generator to send toks[From:To] to URL: closed loop
// (benchWorkers in flight, each sending its next token once answered) when
// Rate is 0, else open loop at Rate SETs per second. Close drops idle
// connections instead.
type loadCommand struct {
	URL   string  `json:"url,omitempty"`
	From  int     `json:"from,omitempty"`
	To    int     `json:"to,omitempty"`
	Rate  float64 `json:"rate,omitempty"`
	Close bool    `json:"close,omitempty"`
}

// loadReply is a phase's outcome: each SET's latency in nanoseconds, the
// time the phase took, and how many SETs were not answered 202.
type loadReply struct {
	Lat     []int64 `json:"lat"`
	Elapsed int64   `json:"elapsed"`
	Bad     int     `json:"bad"`
	Err     string  `json:"err,omitempty"`
}

func runLoadGen(path string, in io.Reader, out io.Writer) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	toks := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	c := newLoadClient()
	dec, enc := json.NewDecoder(bufio.NewReader(in)), json.NewEncoder(out)
	for {
		var cmd loadCommand
		if err := dec.Decode(&cmd); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		var r loadReply
		switch {
		case cmd.Close:
			c.CloseIdleConnections()
		case cmd.From < 0 || cmd.To > len(toks) || cmd.From > cmd.To:
			r.Err = fmt.Sprintf("tokens [%d:%d] out of range (%d tokens)", cmd.From, cmd.To, len(toks))
		case cmd.Rate > 0:
			r = openLoop(c, cmd.URL, toks[cmd.From:cmd.To], cmd.Rate)
		default:
			r = closedLoop(c, cmd.URL, toks[cmd.From:cmd.To])
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
}

// newLoadClient is a keep-alive client for up to 4*benchWorkers
// connections to one server.
func newLoadClient() *http.Client {
	const conns = 4 * benchWorkers
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, IdleConnTimeout: time.Minute,
	}}
}

// send POSTs one SET and reports whether it was answered 202.
func send(c *http.Client, url, tok string) bool {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(tok))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", receiver.ContentTypeSET)
	res, err := c.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode == http.StatusAccepted
}

// closedLoop sends every token once from benchWorkers workers, each sending
// its next token as soon as the previous is answered.
func closedLoop(c *http.Client, url string, toks []string) loadReply {
	lat := make([]int64, len(toks))
	var next, bad atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range min(benchWorkers, len(toks)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(toks) {
					return
				}
				t := time.Now()
				if !send(c, url, toks[i]) {
					bad.Add(1)
				}
				lat[i] = int64(time.Since(t))
			}
		})
	}
	wg.Wait()
	return loadReply{Lat: lat, Elapsed: int64(time.Since(start)), Bad: int(bad.Load())}
}

// openLoop sends the tokens at a fixed rate whatever the answers, and
// measures each latency from the moment the request was due, so a stall
// shows in full (no coordinated omission).
func openLoop(c *http.Client, url string, toks []string, rate float64) loadReply {
	interval := time.Duration(float64(time.Second) / rate)
	lat := make([]int64, len(toks))
	var bad atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i, tok := range toks {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		wg.Go(func() {
			if !send(c, url, tok) {
				bad.Add(1)
			}
			lat[i] = int64(time.Since(due))
		})
	}
	wg.Wait()
	return loadReply{Lat: lat, Elapsed: int64(time.Since(start)), Bad: int(bad.Load())}
}

// loadGen is a load generator process with its own client (keep-alive
// connections) for one server.
type loadGen struct {
	b   *testing.B
	url string
	in  io.WriteCloser
	dec *json.Decoder
}

// writeTokens writes toks to a file for startLoadGen, one per line.
func writeTokens(b *testing.B, toks ...[]string) string {
	b.Helper()
	var buf bytes.Buffer
	for _, ts := range toks {
		for _, t := range ts {
			buf.WriteString(t)
			buf.WriteByte('\n')
		}
	}
	path := filepath.Join(b.TempDir(), "tokens")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// startLoadGen starts a generator for url with the tokens in the file at
// path; it ends with the benchmark.
func startLoadGen(b *testing.B, path, url string) *loadGen {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), loadGenEnv+"="+path)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = in.Close()
		_ = cmd.Wait()
	})
	return &loadGen{b: b, url: url, in: in, dec: json.NewDecoder(out)}
}

func (g *loadGen) do(cmd loadCommand) loadReply {
	g.b.Helper()
	if err := json.NewEncoder(g.in).Encode(cmd); err != nil {
		g.b.Fatalf("load generator: %v", err)
	}
	var r loadReply
	if err := g.dec.Decode(&r); err != nil {
		g.b.Fatalf("load generator: %v", err)
	}
	if r.Err != "" {
		g.b.Fatalf("load generator: %s", r.Err)
	}
	if r.Bad > 0 {
		g.b.Fatalf("%d of %d SETs not answered 202", r.Bad, len(r.Lat))
	}
	return r
}

// closed sends tokens [from, to) closed-loop; open sends them at rate.
func (g *loadGen) closed(from, to int) loadRun {
	return g.do(loadCommand{URL: g.url, From: from, To: to}).run()
}

func (g *loadGen) open(from, to int, rate float64) loadRun {
	return g.do(loadCommand{URL: g.url, From: from, To: to, Rate: rate}).run()
}

// closeIdle drops the generator's idle connections: idle keep-alive
// connections cost the measured process goroutines its collector scans.
func (g *loadGen) closeIdle() { g.do(loadCommand{Close: true}) }

func (r loadReply) run() loadRun {
	lat := make([]time.Duration, len(r.Lat))
	for i, ns := range r.Lat {
		lat[i] = time.Duration(ns)
	}
	return loadRun{lat: lat, elapsed: time.Duration(r.Elapsed)}
}
