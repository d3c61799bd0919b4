package main

import (
	"bytes"
	"context"
	"strconv"
	"testing"

	"github.com/riscd/riscd"
)

// BenchmarkGrantsListAll measures "riscd grants list --all" over 2,000
// grants in pages of 1,000: two requests to a real admin server over
// loopback, decoding, and the table.
func BenchmarkGrantsListAll(b *testing.B) {
	e := newAdminEnv(b)
	for i := range 2000 {
		e.grant("sub-"+strconv.Itoa(i), []string{"openid", adminDriveScope}, riscd.GrantActive, "")
	}
	args := []string{"grants", "list", "--all", "--limit", "1000", "--internal-url", e.url}
	environ := []string{envAdminToken + "=" + adminTestToken}
	var out bytes.Buffer
	for b.Loop() {
		out.Reset()
		var errb bytes.Buffer
		if code := run(context.Background(), args, environ, &out, &errb); code != exitOK {
			b.Fatalf("exit %d: %s", code, errb.String())
		}
	}
	b.ReportMetric(float64(out.Len()), "bytes/table")
}
