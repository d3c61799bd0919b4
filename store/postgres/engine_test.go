package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riscd/riscd"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/seal"
)

func TestConcurrentOpensMigrateOnce(t *testing.T) {
	dbURL := newDatabase(t)
	key := testKey(t)
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	dbs := make([]*DB, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbs[i], errs[i] = Open(context.Background(), Options{URL: dbURL, Key: key})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		t.Cleanup(func() { _ = dbs[i].Close() })
	}
	c := sqlConn(t, dbURL)
	for v := int64(1); v <= SchemaVersion; v++ {
		var applied int
		if err := c.QueryRow(context.Background(),
			`SELECT count(*) FROM `+versionTable+` WHERE version_id = $1 AND is_applied`, v).Scan(&applied); err != nil {
			t.Fatal(err)
		}
		if applied != 1 {
			t.Fatalf("migration %d recorded %d times, want 1", v, applied)
		}
	}
	// Every handle works on the one schema.
	if _, err := dbs[n-1].CreateGrant(context.Background(), riscd.Grant{Sub: "s"}); err != nil {
		t.Fatal(err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	dbURL := newDatabase(t)
	key := testKey(t)
	db := openTest(t, dbURL, key, nil)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	c := sqlConn(t, dbURL)
	ctx := context.Background()
	if _, err := c.Exec(ctx, `INSERT INTO `+versionTable+` (version_id, is_applied) VALUES (99, true)`); err != nil {
		t.Fatal(err)
	}
	var before int
	_ = c.QueryRow(ctx, `SELECT count(*) FROM `+versionTable).Scan(&before)
	_, err := Open(ctx, Options{URL: dbURL, Key: key})
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "schema 99") {
		t.Fatalf("Open = %v, want ErrNewerSchema naming schema 99", err)
	}
	var after int
	_ = c.QueryRow(ctx, `SELECT count(*) FROM `+versionTable).Scan(&after)
	if after != before {
		t.Fatalf("version rows %d -> %d: the refused Open changed the database", before, after)
	}
}

func TestWrongKeyRefused(t *testing.T) {
	dbURL := newDatabase(t)
	key := testKey(t)
	db := openTest(t, dbURL, key, nil)
	if _, err := db.CreateGrant(context.Background(), riscd.Grant{Sub: "s", RefreshToken: "1//refresh-token-xyz"}); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	_, err := Open(context.Background(), Options{URL: dbURL, Key: testKey(t)})
	if !errors.Is(err, riscd.ErrWrongKey) {
		t.Fatalf("Open with another key = %v, want ErrWrongKey", err)
	}
	// The old key as an old key, a new primary: accepted, and reads.
	db2, err := Open(context.Background(), Options{URL: dbURL, Key: testKey(t), OldKeys: []seal.Key{key}})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	gs, err := db2.GrantsBySub(context.Background(), "s")
	if err != nil || len(gs) != 1 || gs[0].RefreshToken != "1//refresh-token-xyz" {
		t.Fatalf("GrantsBySub = %v, %v", gs, err)
	}
}

func TestPasswordNotInErrors(t *testing.T) {
	testkit.PostgresServer(t)
	const pw = "s3cret-pa55word"
	// Nothing listens on port 1: the connection fails.
	_, err := Open(context.Background(), Options{URL: "postgres://u:" + pw + "@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", Key: testKey(t)})
	if err == nil || strings.Contains(err.Error(), pw) {
		t.Fatalf("Open = %v; want an error without the password", err)
	}
	_, err = Open(context.Background(), Options{URL: "postgres://u:" + pw + "@127.0.0.1:1/db?sslmode=bogus", Key: testKey(t)})
	if err == nil || strings.Contains(err.Error(), pw) {
		t.Fatalf("Open = %v; want an error without the password", err)
	}
}

func entry(jti string) riscd.InboxEntry {
	return riscd.InboxEntry{Transmitter: "google", Iss: "https://accounts.google.com", JTI: jti,
		Subject: "iss|sub", Types: []string{"https://schemas.openid.net/secevent/risc/event-type/sessions-revoked"},
		Raw: "eyJ.raw-set-" + jti + ".sig", Claims: []byte(`{ "jti" : "` + jti + `" }`)}
}

func TestGroupCommitSharesATransaction(t *testing.T) {
	dbURL := newDatabase(t)
	db := openTest(t, dbURL, testKey(t), nil)
	ctx := context.Background()
	// Hold the inbox lock from outside, so that the first group (one
	// entry) waits for it while the other callers queue behind it.
	blocker := sqlConn(t, dbURL)
	tx, err := blocker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(inboxLockKey)); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var groups [][]int64
	var queued int
	db.writer.onGroup = func(n int, txids []int64) {
		mu.Lock()
		groups = append(groups, txids)
		mu.Unlock()
	}
	db.writer.queued = func() {
		mu.Lock()
		queued++
		mu.Unlock()
	}
	const n = 12
	var wg sync.WaitGroup
	put := func(i int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, created, err := db.Inbox().PutInbox(ctx, entry(fmt.Sprint("jti-", i)))
			if err != nil || !created {
				t.Errorf("PutInbox %d = %v, %v", i, created, err)
			}
		}()
	}
	put(0)
	probe := sqlConn(t, dbURL)
	testkit.Eventually(t, "the first group waiting for the inbox lock", func() bool {
		var waiting bool
		err := probe.QueryRow(ctx, `SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`).Scan(&waiting)
		return err == nil && waiting
	})
	for i := 1; i < n; i++ {
		put(i)
	}
	testkit.Eventually(t, "every caller queued", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return queued == n
	})
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(groups) != 2 || len(groups[0]) != 1 || len(groups[1]) != n-1 {
		t.Fatalf("groups %v, want one of 1 entry then one of %d", groups, n-1)
	}
	for _, id := range groups[1] {
		if id != groups[1][0] {
			t.Fatalf("the second group's entries went into transactions %v, want one", groups[1])
		}
	}
	if groups[0][0] == groups[1][0] {
		t.Fatal("two groups in one transaction")
	}
	pending, err := db.PendingInbox(ctx, 100)
	if err != nil || len(pending) != n || pending[0].JTI != "jti-0" {
		t.Fatalf("PendingInbox = %d entries, %v; want %d, jti-0 first", len(pending), err, n)
	}
}

func TestRedeliveryAcrossReplicas(t *testing.T) {
	dbURL := newDatabase(t)
	key := testKey(t)
	a, b := openTest(t, dbURL, key, nil), openTest(t, dbURL, key, nil)
	ctx := context.Background()
	first, created, err := a.Inbox().PutInbox(ctx, entry("dup"))
	if err != nil || !created {
		t.Fatalf("PutInbox on A = %v, %v", created, err)
	}
	again, created, err := b.Inbox().PutInbox(ctx, entry("dup"))
	if err != nil || created {
		t.Fatalf("PutInbox on B = %v, %v; want the existing entry", created, err)
	}
	if again.ID != first.ID || again.Raw != first.Raw || string(again.Claims) != string(first.Claims) {
		t.Fatalf("B returned %+v, want %+v", again, first)
	}
	// Through Update too.
	viaTx, created, err := b.PutInbox(ctx, entry("dup"))
	if err != nil || created || viaTx.ID != first.ID {
		t.Fatalf("Tx.PutInbox on B = %d, %v, %v", viaTx.ID, created, err)
	}
}

func TestLocksAcrossReplicas(t *testing.T) {
	dbURL := newDatabase(t)
	key := testKey(t)
	a, b := openTest(t, dbURL, key, nil), openTest(t, dbURL, key, nil)
	ctx := context.Background()
	release, ok, err := a.TryLock(ctx, "refresher")
	if err != nil || !ok {
		t.Fatalf("TryLock on A = %v, %v", ok, err)
	}
	if _, ok, err := b.TryLock(ctx, "refresher"); err != nil || ok {
		t.Fatalf("TryLock on B while A holds it = %v, %v; want false", ok, err)
	}
	if _, ok, err := a.TryLock(ctx, "refresher"); err != nil || ok {
		t.Fatalf("TryLock on A again = %v, %v; want false (not reentrant)", ok, err)
	}
	other, ok, err := b.TryLock(ctx, "another")
	if err != nil || !ok {
		t.Fatalf("TryLock of another name = %v, %v", ok, err)
	}
	other()
	got := make(chan func(), 1)
	go func() {
		r, err := b.Lock(ctx, "refresher")
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	release()
	release() // safe twice
	rb := <-got
	if _, ok, _ := a.TryLock(ctx, "refresher"); ok {
		t.Fatal("A took the lock B holds")
	}
	rb()
	// Lock gives up with its context.
	r, _, _ := a.TryLock(ctx, "refresher")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.Lock(cctx, "refresher"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock with a cancelled context = %v", err)
	}
	r()
}

func TestLockReleasedWhenHolderDies(t *testing.T) {
	dbURL := newDatabase(t)
	key := testKey(t)
	a, b := openTest(t, dbURL, key, nil), openTest(t, dbURL, key, nil)
	ctx := context.Background()
	if _, ok, err := a.TryLock(ctx, "dispatcher"); err != nil || !ok {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	c := sqlConn(t, dbURL)
	var killed bool
	if err := c.QueryRow(ctx, `SELECT bool_and(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objid = ($1::bigint & x'ffffffff'::bigint)::oid
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
		lockKey("dispatcher")).Scan(&killed); err != nil || !killed {
		t.Fatalf("terminate the holder: %v, %v", killed, err)
	}
	r, err := b.Lock(ctx, "dispatcher")
	if err != nil {
		t.Fatal(err)
	}
	r()
}

func TestOnInboxAppliedAcrossReplicas(t *testing.T) {
	dbURL := newDatabase(t)
	key := testKey(t)
	a, b := openTest(t, dbURL, key, nil), openTest(t, dbURL, key, nil)
	<-b.listening
	heard := make(chan struct{}, 100)
	// Drain the signal the listener gives when it connects.
	b.OnInboxApplied(func() { heard <- struct{}{} })
	ctx := context.Background()
	seen := 0
	drain := func() {
		for {
			select {
			case <-heard:
				seen++
			default:
				return
			}
		}
	}
	if _, _, err := a.Inbox().PutInbox(ctx, entry("n1")); err != nil {
		t.Fatal(err)
	}
	// B hears of A's commit: its entry is visible to B when fn runs.
	testkit.Eventually(t, "B told of A's commit", func() bool {
		drain()
		if seen == 0 {
			return false
		}
		_, err := b.InboxByJTI(ctx, "https://accounts.google.com", "n1")
		return err == nil
	})
	// And A of its own.
	ownHeard := make(chan struct{}, 10)
	a.OnInboxApplied(func() {
		select {
		case ownHeard <- struct{}{}:
		default:
		}
	})
	if _, _, err := a.Inbox().PutInbox(ctx, entry("n2")); err != nil {
		t.Fatal(err)
	}
	<-ownHeard
}

func TestDumpHoldsNoSecret(t *testing.T) {
	dbURL := newDatabase(t)
	db := openTest(t, dbURL, testKey(t), nil)
	ctx := context.Background()
	secrets := []string{"1//refresh-SECRET-token-0123456789", "ya29.access-SECRET-token", "session-SECRET-id",
		"csrf-SECRET", "flow-SECRET-id", "state-SECRET", "pkce-SECRET", "nonce-SECRET", "raw-SECRET-set",
		"claims-SECRET", "revoke-SECRET-token", "admin-SECRET-session", "admin-csrf-SECRET"}
	if _, err := db.CreateGrant(ctx, riscd.Grant{Sub: "s", RefreshToken: riscd.Secret(secrets[0]), AccessToken: riscd.Secret(secrets[1])}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSession(ctx, riscd.Session{ID: riscd.Secret(secrets[2]), Sub: "s", CSRF: riscd.Secret(secrets[3])}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateFlow(ctx, riscd.Flow{ID: riscd.Secret(secrets[4]), State: riscd.Secret(secrets[5]),
		PKCEVerifier: riscd.Secret(secrets[6]), Nonce: riscd.Secret(secrets[7])}); err != nil {
		t.Fatal(err)
	}
	e := entry("dump")
	e.Raw, e.Claims = secrets[8], []byte(`{"token":"`+secrets[9]+`"}`)
	if _, _, err := db.Inbox().PutInbox(ctx, e); err != nil {
		t.Fatal(err)
	}
	if _, err := db.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxRevoke, Token: riscd.Secret(secrets[10])}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateAdminSession(ctx, riscd.AdminSession{ID: riscd.Secret(secrets[11]), CSRF: riscd.Secret(secrets[12])}, 5); err != nil {
		t.Fatal(err)
	}
	c := sqlConn(t, dbURL)
	rows, err := c.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		_ = rows.Scan(&name)
		tables = append(tables, name)
	}
	rows.Close()
	if len(tables) < 10 {
		t.Fatalf("tables %v", tables)
	}
	var dump strings.Builder
	for _, table := range tables {
		var text string
		// Every row as text, bytea columns decoded as if they held text.
		err := c.QueryRow(ctx, `SELECT coalesce(string_agg(t::text, E'\n'), '') FROM `+table+` t`).Scan(&text)
		if err != nil {
			t.Fatal(err)
		}
		dump.WriteString(text)
		err = c.QueryRow(ctx, `SELECT coalesce(string_agg(convert_from(doc, 'SQL_ASCII'), E'\n'), '') FROM `+table+` t`).Scan(&text)
		if err == nil {
			dump.WriteString(text)
		}
	}
	for _, s := range secrets {
		if strings.Contains(dump.String(), s) {
			t.Errorf("the dump holds %q in the clear", s)
		}
	}
	if !strings.Contains(dump.String(), `"sub":"s"`) {
		t.Fatal("the dump does not read documents: the test would pass for nothing")
	}
}

func TestClosed(t *testing.T) {
	db := openTest(t, newDatabase(t), testKey(t), nil)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := db.Count(ctx); !errors.Is(err, riscd.ErrClosed) {
		t.Fatalf("Count after Close = %v", err)
	}
	if _, _, err := db.Inbox().PutInbox(ctx, entry("x")); !errors.Is(err, riscd.ErrClosed) {
		t.Fatalf("PutInbox after Close = %v", err)
	}
	if err := db.Health(ctx); !errors.Is(err, riscd.ErrClosed) {
		t.Fatalf("Health after Close = %v", err)
	}
	if _, _, err := db.TryLock(ctx, "x"); !errors.Is(err, riscd.ErrClosed) {
		t.Fatalf("TryLock after Close = %v", err)
	}
}

func TestUpdateRetriesSerializationFailures(t *testing.T) {
	dbURL := newDatabase(t)
	key := testKey(t)
	a, b := openTest(t, dbURL, key, nil), openTest(t, dbURL, key, nil)
	ctx := context.Background()
	g, err := a.CreateGrant(ctx, riscd.Grant{Sub: "s"})
	if err != nil {
		t.Fatal(err)
	}
	// Concurrent read-modify-writes of one grant from two replicas: none
	// is lost.
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		db := a
		if i%2 == 1 {
			db = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := db.UpdateGrant(ctx, g.ID, func(g riscd.Grant) (riscd.Grant, error) {
				g.Scopes = append(g.Scopes, fmt.Sprint(i))
				return g, nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := a.Grant(ctx, g.ID)
	if err != nil || len(got.Scopes) != n {
		t.Fatalf("grant has %d scopes (%v), want %d", len(got.Scopes), err, n)
	}
	if err := a.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentCreateGrantsAcrossReplicas(t *testing.T) {
	dbURL := newDatabase(t)
	key := testKey(t)
	a, b := openTest(t, dbURL, key, nil), openTest(t, dbURL, key, nil)
	ctx := context.Background()
	const n = 24
	var wg sync.WaitGroup
	for i := range n {
		db := a
		if i%2 == 1 {
			db = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := db.CreateGrant(ctx, riscd.Grant{Sub: "s", RefreshToken: riscd.Secret(fmt.Sprintf("1//token-%04d-xxxxxxxxxx", i))}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	gs, err := a.GrantsBySub(ctx, "s")
	if err != nil || len(gs) != n {
		t.Fatalf("GrantsBySub = %d grants, %v; want %d", len(gs), err, n)
	}
}

func TestCheckFindsTampering(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, sql string
	}{
		{"status column", `UPDATE riscd_grants SET status = 'held'`},
		{"digest column", `UPDATE riscd_grants SET refresh_digest = sha512('x')`},
		{"ciphertext", `UPDATE riscd_grants SET doc = convert_to(replace(convert_from(doc, 'UTF8'), '"rt":"A', '"rt":"B'), 'UTF8')`},
		{"undecodable", `UPDATE riscd_grants SET doc = 'not json'`},
		{"inbox status", `UPDATE riscd_inbox SET status = 'done'`},
		{"mark key", `UPDATE riscd_marks SET key_hash = sha256('other')`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dbURL := newDatabase(t)
			db := openTest(t, dbURL, testKey(t), nil)
			if _, err := db.CreateGrant(ctx, riscd.Grant{Sub: "s", RefreshToken: "1//refresh-token-abcdefgh"}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := db.Inbox().PutInbox(ctx, entry("j")); err != nil {
				t.Fatal(err)
			}
			if _, _, err := db.PutMark(ctx, riscd.Mark{Key: "k"}); err != nil {
				t.Fatal(err)
			}
			if err := db.Check(ctx); err != nil {
				t.Fatalf("Check before = %v", err)
			}
			tag, err := sqlConn(t, dbURL).Exec(ctx, tc.sql)
			if err != nil || tag.RowsAffected() != 1 {
				t.Fatalf("tamper: %v, %v", tag, err)
			}
			if err := db.Check(ctx); !errors.Is(err, riscd.ErrCorrupt) {
				t.Fatalf("Check = %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestMixedWritesAcrossReplicas runs concurrent transactions of every kind
// from two replicas: each commits (retried as needed), none is lost.
func TestMixedWritesAcrossReplicas(t *testing.T) {
	dbURL := newDatabase(t)
	key := testKey(t)
	a, b := openTest(t, dbURL, key, nil), openTest(t, dbURL, key, nil)
	ctx := context.Background()
	const workers, rounds = 16, 5
	var wg sync.WaitGroup
	for w := range workers {
		db := a
		if w%2 == 1 {
			db = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				sub := fmt.Sprintf("sub-%d-%d", w, r)
				err := db.Update(ctx, func(tx riscd.Tx) error {
					if err := tx.PutAccount(ctx, riscd.Account{Sub: sub, Held: r%2 == 0}); err != nil {
						return err
					}
					if _, err := tx.AppendAudit(ctx, riscd.AuditEntry{Sub: sub, Action: "test"}); err != nil {
						return err
					}
					if err := tx.CreateSession(ctx, riscd.Session{ID: riscd.Secret(sub), Sub: sub}); err != nil {
						return err
					}
					if _, err := tx.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: sub}); err != nil {
						return err
					}
					_, err := tx.CreateGrant(ctx, riscd.Grant{Sub: sub, RefreshToken: riscd.Secret("1//rt-" + sub + "-xxxxxxxxxxxxxxxx")})
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				if _, _, err := db.Inbox().PutInbox(ctx, entry(sub)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	c, err := a.Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n = workers * rounds
	if c.Accounts != n || c.Audit != n || c.Sessions != n || c.Outbox != n || c.Grants != n || c.Inbox != n {
		t.Fatalf("counts %+v, want %d of each", c, n)
	}
	// Outbox and inbox IDs, in order, are every ID handed out.
	jobs, err := a.PendingOutbox(ctx, 1000)
	if err != nil || len(jobs) != n {
		t.Fatalf("PendingOutbox = %d, %v", len(jobs), err)
	}
	if err := a.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestReaderNeverSkipsAnID scans PendingInboxAfter and PendingOutboxAfter
// with a moving cursor while two replicas insert: since IDs commit in
// order, the scans see every entry and job.
func TestReaderNeverSkipsAnID(t *testing.T) {
	dbURL := newDatabase(t)
	key := testKey(t)
	a, b := openTest(t, dbURL, key, nil), openTest(t, dbURL, key, nil)
	ctx := context.Background()
	const writers, each = 8, 25
	var wg sync.WaitGroup
	for w := range writers {
		db := a
		if w%2 == 1 {
			db = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				jti := fmt.Sprintf("w%d-%d", w, i)
				var err error
				if i%2 == 0 {
					_, _, err = db.Inbox().PutInbox(ctx, entry(jti))
				} else {
					_, _, err = db.PutInbox(ctx, entry(jti))
				}
				if err == nil {
					_, err = db.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: jti})
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	seenIn, seenOut := map[uint64]bool{}, map[uint64]bool{}
	var afterIn, afterOut uint64
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		es, err := a.PendingInboxAfter(ctx, afterIn, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			seenIn[e.ID] = true
			afterIn = e.ID
		}
		js, err := b.PendingOutboxAfter(ctx, afterOut, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range js {
			seenOut[j.ID] = true
			afterOut = j.ID
		}
		if finished && len(es) == 0 && len(js) == 0 {
			break
		}
	}
	if len(seenIn) != writers*each || len(seenOut) != writers*each {
		t.Fatalf("the scans saw %d entries and %d jobs, want %d of each", len(seenIn), len(seenOut), writers*each)
	}
}

func TestListenerReconnects(t *testing.T) {
	dbURL := newDatabase(t)
	key := testKey(t)
	a, b := openTest(t, dbURL, key, nil), openTest(t, dbURL, key, nil)
	<-b.listening
	ctx := context.Background()
	c := sqlConn(t, dbURL)
	// Kill every listener's connection (A's and B's).
	var killed int
	if err := c.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query = 'LISTEN `+notifyChannel+`'`).Scan(&killed); err != nil || killed != 2 {
		t.Fatalf("terminated %d listeners (%v), want 2", killed, err)
	}
	testkit.Eventually(t, "B listening again", func() bool { return b.listens.Load() >= 2 })
	heard := b.heard.Load()
	if _, _, err := a.Inbox().PutInbox(ctx, entry("after-reconnect")); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "B hearing A's commit on its new connection", func() bool { return b.heard.Load() > heard })
}

// TestMigratesAnOlderSchema opens a database at schema 1, as an earlier
// riscd left it: Open applies the later migrations and keeps the data.
func TestMigratesAnOlderSchema(t *testing.T) {
	dbURL := newDatabase(t)
	ctx := context.Background()
	sqlDB := stdlib.OpenDB(*mustParse(t, dbURL))
	defer sqlDB.Close()
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, fsys, goose.WithTableName(versionTable), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlDB.ExecContext(ctx, `INSERT INTO riscd_accounts (sub, attention, doc) VALUES ('old', false, '{"v":1}')`); err != nil {
		t.Fatal(err)
	}
	db := openTest(t, dbURL, testKey(t), nil)
	if v, err := db.schemaVersion(ctx); err != nil || v != SchemaVersion {
		t.Fatalf("schema %d, %v; want %d", v, err, SchemaVersion)
	}
	if _, err := db.Account(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateAdminSession(ctx, riscd.AdminSession{ID: "a", CSRF: "c"}, 1); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateConnectSession(ctx, riscd.ConnectSession{ID: "c", AppUser: "u", Status: riscd.ConnectPending,
		ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.LinkAppUser(ctx, riscd.AppUserLink{AppUser: "u", Sub: "old"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

func mustParse(t *testing.T, u string) *pgx.ConnConfig {
	t.Helper()
	cc, err := pgx.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

// Locks held cost the pool nothing: with more locks held than the pool
// has connections, every holder still runs its transactions (with each
// lock on a pooled connection, the holders waited for ever for one more).
func TestLocksDoNotStarveThePool(t *testing.T) {
	dbURL := newDatabase(t)
	db := openTest(t, dbURL+"&pool_max_conns=2", testKey(t), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const holders = 6
	var wg sync.WaitGroup
	took := make(chan struct{}, holders)
	all := make(chan struct{})
	errs := make(chan error, holders)
	for i := range holders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := db.Lock(ctx, fmt.Sprintf("subject-%d", i))
			if err != nil {
				errs <- err
				return
			}
			defer release()
			took <- struct{}{}
			<-all // every lock is held before any holder's transaction
			_, err = db.CreateGrant(ctx, riscd.Grant{Sub: fmt.Sprintf("s%d", i), Status: riscd.GrantActive})
			if err != nil {
				errs <- err
			}
		}()
	}
	for range holders {
		select {
		case <-took:
		case err := <-errs:
			t.Fatalf("taking a lock: %v", err)
		case <-ctx.Done():
			t.Fatal("the locks were not all taken: they wait for pool connections")
		}
	}
	close(all)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a lock holder's transaction: %v", err)
	}
	if c, err := db.Count(context.Background()); err != nil || c.Grants != holders {
		t.Errorf("grants = %d, %v; want %d", c.Grants, err, holders)
	}
}

// Within one process a lock stays exclusive though every lock is held on
// one session (where advisory locks stack): a second caller is refused
// or waits, and a release leaves a lock taken meanwhile held.
func TestLocksExclusiveWithinAProcess(t *testing.T) {
	dbURL := newDatabase(t)
	key := testKey(t)
	a, b := openTest(t, dbURL, key, nil), openTest(t, dbURL, key, nil)
	ctx := context.Background()
	r1, ok, err := a.TryLock(ctx, "x")
	if err != nil || !ok {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	if _, ok, _ := a.TryLock(ctx, "x"); ok {
		t.Fatal("TryLock took a lock the same process holds")
	}
	var released atomic.Bool
	got := make(chan func(), 1)
	go func() {
		r, err := a.Lock(ctx, "x")
		if err != nil {
			t.Error(err)
		} else if !released.Load() {
			t.Error("Lock returned while the same process held the lock")
		}
		got <- r
	}()
	released.Store(true)
	r1()
	r2 := <-got
	if _, ok, _ := b.TryLock(ctx, "x"); ok {
		t.Fatal("another process took the lock the second caller holds")
	}
	r1() // stale: must not release r2's lock
	if _, ok, _ := b.TryLock(ctx, "x"); ok {
		t.Fatal("a stale release freed the lock")
	}
	r2()
	rb, ok, err := b.TryLock(ctx, "x")
	if err != nil || !ok {
		t.Fatalf("TryLock on B after every release = %v, %v", ok, err)
	}
	rb()
}

// Concurrent Batch calls share one transaction; a function that fails
// takes its caller out (it gets its error, the others commit), and one
// that panics panics in its caller's goroutine.
func TestBatchSharesATransaction(t *testing.T) {
	db := openTest(t, newDatabase(t), testKey(t), nil)
	ctx := context.Background()
	txid := func(tx riscd.Tx) int64 {
		var id int64
		if err := tx.(*Tx).tx.QueryRow(ctx, `SELECT txid_current()`).Scan(&id); err != nil {
			t.Error(err)
		}
		return id
	}
	var first int64
	release := holdBatcher(t, db, func(tx riscd.Tx) { first = txid(tx) })
	const n = 8
	errBoom := errors.New("boom")
	lastTx := make([]int64, n) // the transaction of each caller's last run
	errs := make([]error, n)
	panicked := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panicked[i] = recover() }()
			errs[i] = db.Batch(ctx, func(tx riscd.Tx) error {
				id := txid(tx)
				if _, err := tx.CreateGrant(ctx, riscd.Grant{Sub: fmt.Sprint("batch-", i)}); err != nil {
					return err
				}
				switch i {
				case 3:
					return errBoom
				case 5:
					panic("batch test")
				}
				lastTx[i] = id
				return nil
			})
		}()
	}
	release(n)
	wg.Wait()
	for i := range n {
		switch {
		case i == 3 && !errors.Is(errs[i], errBoom):
			t.Errorf("caller %d: %v, want its own error", i, errs[i])
		case i == 5 && panicked[i] != "batch test":
			t.Errorf("caller %d: recovered %v, want its panic", i, panicked[i])
		case i != 3 && i != 5 && (errs[i] != nil || panicked[i] != nil):
			t.Errorf("caller %d: %v %v", i, errs[i], panicked[i])
		}
	}
	// The callers whose functions succeeded committed together, in a
	// transaction of their own.
	for i := range n {
		if i != 3 && i != 5 && (lastTx[i] != lastTx[0] || lastTx[i] == first) {
			t.Fatalf("callers' last transactions %v, first batch's %d: want the successful ones in one", lastTx, first)
		}
	}
	grants, _, err := db.ListGrants(ctx, riscd.GrantQuery{Limit: 100})
	if err != nil || len(grants) != n-2 {
		t.Fatalf("%d grants (%v), want %d: the failed callers' rolled back", len(grants), err, n-2)
	}
}

// Read-modify-writes of one grant through Batch from two replicas: none is
// lost, and the retries are counted.
func TestBatchRetriesSerializationFailures(t *testing.T) {
	dbURL := newDatabase(t)
	key := testKey(t)
	a, b := openTest(t, dbURL, key, nil), openTest(t, dbURL, key, nil)
	ctx := context.Background()
	g, err := a.CreateGrant(ctx, riscd.Grant{Sub: "s"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		db := a
		if i%2 == 1 {
			db = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.Batch(ctx, func(tx riscd.Tx) error {
				g, err := tx.Grant(ctx, g.ID)
				if err != nil {
					return err
				}
				g.Scopes = append(g.Scopes, fmt.Sprint(i))
				return tx.PutGrant(ctx, g)
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := a.Grant(ctx, g.ID)
	if err != nil || len(got.Scopes) != n {
		t.Fatalf("grant has %d scopes (%v), want %d", len(got.Scopes), err, n)
	}
}

// Update's and Batch's transactions are SERIALIZABLE with sequential scans
// disabled (their relation-wide predicate locks), for that transaction
// only.
func TestSerializableWithoutSeqScans(t *testing.T) {
	db := openTest(t, newDatabase(t), testKey(t), nil)
	ctx := context.Background()
	show := func(q querier) (iso, seq string) {
		if err := q.QueryRow(ctx, `SELECT current_setting('transaction_isolation'), current_setting('enable_seqscan')`).Scan(&iso, &seq); err != nil {
			t.Fatal(err)
		}
		return iso, seq
	}
	for name, run := range map[string]func(context.Context, func(riscd.Tx) error) error{"Update": db.Update, "Batch": db.Batch} {
		err := run(ctx, func(tx riscd.Tx) error {
			if iso, seq := show(tx.(*Tx).tx); iso != "serializable" || seq != "off" {
				t.Errorf("%s: isolation %s, enable_seqscan %s", name, iso, seq)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Every connection of the pool has it back on afterwards.
	conns := make([]*pgxpool.Conn, 0, defaultMaxConns)
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	for range defaultMaxConns {
		c, err := db.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if _, seq := show(c); seq != "on" {
			t.Fatalf("a pooled connection has enable_seqscan %s after the transaction", seq)
		}
	}
}

// holdBatcher starts a Batch whose function (after calling fn, if not nil)
// waits inside its transaction, so that the calls made meanwhile queue for
// one batch. release(n) waits until n calls are queued, then lets the
// first batch commit.
func holdBatcher(t *testing.T, db *DB, fn func(riscd.Tx)) (release func(n int)) {
	t.Helper()
	held, free := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.Batch(context.Background(), func(tx riscd.Tx) error {
			if fn != nil {
				fn(tx)
			}
			close(held)
			<-free
			return nil
		})
	}()
	<-held
	return func(n int) {
		t.Helper()
		testkit.Eventually(t, fmt.Sprintf("%d callers queued", n), func() bool {
			db.batch.mu.Lock()
			defer db.batch.mu.Unlock()
			return len(db.batch.queue) == n
		})
		close(free)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
