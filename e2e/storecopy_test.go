package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/store/boltdb"
)

// TestStoreCopyRoundTrip fills a bbolt store through the real daemon
// (consent flows, one left unfinished, SETs of every type, webhooks), then
// copies it with riscd store copy to PostgreSQL and from there to a
// second bbolt file: every record of the second is equal to the first's.
func TestStoreCopyRoundTrip(t *testing.T) {
	ctx := context.Background()
	dbURL := testkit.PostgresDatabase(t, "")
	users := simUsers("copy", 8)
	r := newRig(t, rigOptions{users: users, webhooks: true})
	r.start()
	jtis := &jtiSource{prefix: "COPY"}
	var scripts []script
	grantIDs := map[string]string{}
	for i, u := range users {
		grantIDs[u.Sub] = r.mustConsent(ctx, u).ID
		info, _ := r.sim.Grant(u.Sub)
		scripts = append(scripts, scriptFor(jtis, i, u, info.RefreshTokens[0]))
	}
	// A flow started and never finished: a consent flow record.
	if code, _, err := r.do(ctx, "GET", r.public+"/authorize", "", nil); err != nil || code != 302 {
		t.Fatalf("GET /authorize = %d %v, want 302", code, err)
	}
	snd := startScriptSenders(ctx, r, 2, uint64(time.Now().UnixNano()), 0, jtis, scripts)
	acked, _, err := snd.finish()
	if err != nil {
		t.Fatalf("sender: %v", err)
	}
	r.waitDrained(ctx, time.Minute)
	r.stop()

	// The same installation on PostgreSQL, and on a second bbolt file.
	base, err := os.ReadFile(r.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	storeLine := "  path: " + r.storePath + "\n"
	if !strings.Contains(string(base), storeLine) {
		t.Fatalf("the config has no %q", storeLine)
	}
	pgCfg := filepath.Join(r.dir, "riscd-pg.yaml")
	backPath := filepath.Join(r.dir, "riscd-back.db")
	backCfg := filepath.Join(r.dir, "riscd-back.yaml")
	for path, store := range map[string]string{
		pgCfg:   "  engine: postgres\n  url: " + dbURL + "\n",
		backCfg: "  path: " + backPath + "\n",
	} {
		if err := os.WriteFile(path, []byte(strings.Replace(string(base), storeLine, store, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range [][2]string{{r.cfgPath, pgCfg}, {pgCfg, backCfg}} {
		out, err := runCLI(t, "store", "copy", "--from", step[0], "--to", step[1])
		if err != nil {
			t.Fatalf("riscd store copy --from %s --to %s: %v\n%s", filepath.Base(step[0]), filepath.Base(step[1]), err, out)
		}
		t.Logf("riscd store copy --from %s --to %s:\n%s", filepath.Base(step[0]), filepath.Base(step[1]), out)
	}

	first := exportAll(t, ctx, r.checkStore(ctx))
	backDB, err := boltdb.Open(ctx, boltdb.Options{Path: backPath, Key: r.storeKey})
	if err != nil {
		t.Fatal(err)
	}
	defer backDB.Close()
	if err := backDB.Check(ctx); err != nil {
		t.Errorf("check of the store copied back: %v", err)
	}
	back := exportAll(t, ctx, backDB)
	kinds := map[string]int{}
	for _, rec := range first {
		kinds[recordName(rec)[:strings.Index(recordName(rec), " ")]]++
	}
	t.Logf("%d records (%v) after %d SETs", len(first), kinds, len(acked))
	for _, k := range []string{"grant", "account", "flow", "inbox", "outbox", "audit"} {
		if kinds[k] == 0 {
			t.Errorf("the daemon left no %s record: the round trip does not cover it", k)
		}
	}
	compareRecords(t, first, back)
	verifyAcked(t, ctx, backDB, nil, acked)
	checkScripts(t, ctx, backDB, scripts, grantIDs)
}

// exportAll returns every record of db, in Export's order.
func exportAll(t *testing.T, ctx context.Context, db riscd.DB) []riscd.Record {
	t.Helper()
	var all []riscd.Record
	if err := db.Export(ctx, func(r riscd.Record) error {
		all = append(all, r)
		return nil
	}); err != nil {
		t.Fatalf("export: %v", err)
	}
	return all
}

// recordName names a record by kind and key, nothing secret.
func recordName(r riscd.Record) string {
	switch {
	case r.Grant != nil:
		return "grant " + r.Grant.ID
	case r.Account != nil:
		return "account " + r.Account.Sub
	case r.Session != nil:
		return fmt.Sprintf("session %x", r.IDDigest[:6])
	case r.Flow != nil:
		return fmt.Sprintf("flow %x", r.IDDigest[:6])
	case r.Inbox != nil:
		return fmt.Sprintf("inbox %d", r.Inbox.ID)
	case r.Outbox != nil:
		return fmt.Sprintf("outbox %d", r.Outbox.ID)
	case r.Audit != nil:
		return fmt.Sprintf("audit %d", r.Audit.ID)
	case r.Mark != nil:
		return "mark " + r.Mark.Key
	}
	return "empty record"
}

// compareRecords checks that want and got hold the same records, naming
// the fields that differ (never their values: they may be secrets).
func compareRecords(t *testing.T, want, got []riscd.Record) {
	t.Helper()
	byName := map[string]riscd.Record{}
	for _, r := range got {
		byName[recordName(r)] = r
	}
	if len(got) != len(want) {
		t.Errorf("%d records copied back, want %d", len(got), len(want))
	}
	errs := 0
	for _, w := range want {
		name := recordName(w)
		g, ok := byName[name]
		if !ok {
			t.Errorf("%s is missing after the round trip", name)
			continue
		}
		if fields := differentFields(reflect.ValueOf(w), reflect.ValueOf(g), ""); len(fields) > 0 {
			if errs++; errs <= 20 {
				t.Errorf("%s differs after the round trip in %s", name, strings.Join(fields, ", "))
			}
		}
	}
	if errs > 20 {
		t.Errorf("... and %d more records differ", errs-20)
	}
}

// differentFields lists the paths of the fields in which a and b differ.
func differentFields(a, b reflect.Value, path string) []string {
	if a.Kind() == reflect.Pointer {
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return []string{path}
			}
			return nil
		}
		return differentFields(a.Elem(), b.Elem(), path)
	}
	if a.Kind() == reflect.Struct && a.Type() != reflect.TypeOf(time.Time{}) {
		var out []string
		for i := range a.NumField() {
			p := a.Type().Field(i).Name
			if path != "" {
				p = path + "." + p
			}
			out = append(out, differentFields(a.Field(i), b.Field(i), p)...)
		}
		return out
	}
	if a.Type() == reflect.TypeOf(time.Time{}) {
		if !a.Interface().(time.Time).Equal(b.Interface().(time.Time)) {
			return []string{path}
		}
		return nil
	}
	if !a.CanInterface() || !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return []string{path}
	}
	return nil
}
