package e2e

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// settings size the suites. The zero environment gives the short versions
// CI runs; RISCD_E2E_LONG=1 gives the long ones; single variables override.
type settings struct {
	long        bool
	loadSeconds int           // RISCD_E2E_LOAD_SECONDS: length of the load run
	loadScale   float64       // RISCD_E2E_LOAD_SCALE: multiplies every load rate
	kills       int           // RISCD_E2E_KILLS: kill -9 rounds of the crash suite
	outage      time.Duration // RISCD_E2E_OUTAGE: how long a fault or the webhook receiver's outage lasts
	reportPath  string        // RISCD_E2E_LOAD_REPORT: file the load figures are written to
}

// suiteSettings reads the environment.
func suiteSettings(tb testing.TB) settings {
	tb.Helper()
	s := settings{long: os.Getenv("RISCD_E2E_LONG") == "1", loadSeconds: 10, loadScale: 1, kills: 20, outage: 3 * time.Second}
	if s.long {
		s.loadSeconds, s.kills, s.outage = 60, 60, 3*time.Minute
	}
	if v := os.Getenv("RISCD_E2E_LOAD_SECONDS"); v != "" {
		s.loadSeconds = mustAtoi(tb, "RISCD_E2E_LOAD_SECONDS", v)
	}
	if v := os.Getenv("RISCD_E2E_KILLS"); v != "" {
		s.kills = mustAtoi(tb, "RISCD_E2E_KILLS", v)
	}
	if v := os.Getenv("RISCD_E2E_LOAD_SCALE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			tb.Fatalf("RISCD_E2E_LOAD_SCALE=%q: want a positive number", v)
		}
		s.loadScale = f
	}
	if v := os.Getenv("RISCD_E2E_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			tb.Fatalf("RISCD_E2E_OUTAGE=%q: want a positive duration such as 3m", v)
		}
		s.outage = d
	}
	s.reportPath = os.Getenv("RISCD_E2E_LOAD_REPORT")
	return s
}

func mustAtoi(tb testing.TB, name, v string) int {
	tb.Helper()
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive whole number", name, v)
	}
	return n
}
