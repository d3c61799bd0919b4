// Package e2e holds riscd's whole-process suites. They build the real riscd
// binary once, run it as a separate process against googlesim on loopback,
// and check that it keeps its promises across kill -9 (crash_test.go), under
// a fixed-rate mixed load (load_test.go), under upstream, webhook and disk
// faults (faults_test.go, diskfull_test.go) and under hostile HTTP
// (hostile_test.go). On PostgreSQL (postgres_test.go), three replicas share
// one database behind a round-robin proxy (replicas_test.go: consent
// flows, SETs, token refreshes and admin sessions crossing replicas; kill
// -9 of one replica at a time), the database is stopped and started under
// a stream of SETs (pgrestart_test.go, on a private server, as root), and
// riscd store copy takes a store to PostgreSQL and back (storecopy_test.go).
// Each makes a database of its own on RISCD_TEST_POSTGRES_URL's server
// and skips without one (fails with CI=true).
//
// "go test ./e2e/" runs the short versions, sized for CI. The long versions
// run with RISCD_E2E_LONG=1; RISCD_E2E_LOAD_SECONDS, RISCD_E2E_KILLS and
// RISCD_E2E_OUTAGE size single suites (see settings_test.go). The load suite
// prints its figures as "E2E-LOAD" lines, and also writes them to the file
// RISCD_E2E_LOAD_REPORT names, for scripts/bench.
//
// The package has no non-test code: everything lives in _test.go files.
package e2e
