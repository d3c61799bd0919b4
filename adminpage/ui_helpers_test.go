package adminpage_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/admin/admintest"
	"github.com/riscd/riscd/adminpage"
	"github.com/riscd/riscd/store/boltdb"
)

// storeOperator carries out operator actions on the store as the lifecycle
// package does: each action changes state and writes its audit entry
// (Actor = actor) in one transaction.
type storeOperator struct {
	db *boltdb.DB
	mu sync.Mutex
	n  int // calls
}

func (o *storeOperator) calls() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n
}

func (o *storeOperator) count() {
	o.mu.Lock()
	o.n++
	o.mu.Unlock()
}

func (o *storeOperator) DiscardGrant(ctx context.Context, id, actor string) error {
	o.count()
	return o.db.Update(ctx, func(tx riscd.Tx) error {
		g, err := tx.Grant(ctx, id)
		if err != nil {
			return err
		}
		if _, err := tx.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxRevoke, Key: g.Sub, Token: g.RefreshToken, GrantID: g.ID}); err != nil {
			return err
		}
		g.Status, g.Reason, g.ChangedBy = riscd.GrantRevoked, "operator", actor
		g.RefreshToken, g.AccessToken = "", ""
		if err := tx.PutGrant(ctx, g); err != nil {
			return err
		}
		_, err = tx.AppendAudit(ctx, riscd.AuditEntry{Sub: g.Sub, GrantIDs: []string{g.ID}, Action: "revoke_grants", Outcome: "revoked", Actor: actor})
		return err
	})
}

func (o *storeOperator) ReleaseAccount(ctx context.Context, sub, actor string) error {
	o.count()
	return o.db.Update(ctx, func(tx riscd.Tx) error {
		a, err := tx.Account(ctx, sub)
		if err != nil {
			return err
		}
		a.Held, a.SigninDisabled = false, false
		if err := tx.PutAccount(ctx, a); err != nil {
			return err
		}
		grants, err := tx.GrantsBySub(ctx, sub)
		if err != nil {
			return err
		}
		var released []string
		for _, g := range grants {
			if g.Status == riscd.GrantHeld {
				g.Status, g.Reason, g.ChangedBy = riscd.GrantActive, "released", actor
				if err := tx.PutGrant(ctx, g); err != nil {
					return err
				}
				released = append(released, g.ID)
			}
		}
		_, err = tx.AppendAudit(ctx, riscd.AuditEntry{Sub: sub, GrantIDs: released, Action: "release_holds", Outcome: "released", Actor: actor})
		return err
	})
}

func (o *storeOperator) RetryOutboxJob(ctx context.Context, id uint64, actor, reason string) (riscd.OutboxJob, error) {
	o.count()
	return admintest.RetryJob(ctx, o.db, id, actor, reason)
}

// newUIEnv is admintest.New with a storeOperator and the admin page
// mounted beside the APIs, as cmd/riscd mounts it. editAdmin may change
// the admin API's Config, editPage the page's (whose AdminToken is the
// admin API's unless editPage changes it).
func newUIEnv(t testing.TB, editAdmin func(*admin.Config), editPage func(*adminpage.Config)) (*admintest.Env, *storeOperator) {
	t.Helper()
	var op *storeOperator
	var token riscd.Secret
	e := admintest.New(t, func(cfg *admin.Config) {
		op = &storeOperator{db: cfg.Store.(*boltdb.DB)}
		cfg.Operator = op
		if editAdmin != nil {
			editAdmin(cfg)
		}
		token = cfg.AdminToken
	})
	cfg := adminpage.Config{
		Service: e.Srv.Service, Store: e.DB, AdminToken: token, Now: e.Clock.Now, Logger: e.Logger,
	}
	if editPage != nil {
		editPage(&cfg)
	}
	p, err := adminpage.New(cfg)
	if err != nil {
		t.Fatalf("adminpage.New: %v", err)
	}
	p.Register(e.Echo)
	return e, op
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, sending what a browser sends on the admin page's forms.
type browser struct {
	e      *admintest.Env
	client *http.Client
}

func newBrowser(tb testing.TB, e *admintest.Env) *browser {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &browser{e: e, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is one answer of the admin page.
type page struct {
	status int
	header http.Header
	body   string
}

// location is the redirect target's path and query.
func (p page) location() string { return p.header.Get("Location") }

func (b *browser) send(req *http.Request) page {
	b.e.T.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.e.T.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.e.T.Fatalf("read answer: %v", err)
	}
	b.e.Record(string(data))
	return page{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

// get fetches path.
func (b *browser) get(path string) page {
	b.e.T.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, b.e.URL+path, nil)
	if err != nil {
		b.e.T.Fatal(err)
	}
	return b.send(req)
}

// mustGet fetches path and fails unless the answer is 200.
func (b *browser) mustGet(path string) page {
	b.e.T.Helper()
	p := b.get(path)
	if p.status != http.StatusOK {
		b.e.T.Fatalf("GET %s: status %d, want 200 (Location %q): %s", path, p.status, p.location(), p.body)
	}
	return p
}

// post submits a form to path as a same-origin browser form does; edit may
// change the request first.
func (b *browser) post(path string, form url.Values, edit func(*http.Request)) page {
	b.e.T.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, b.e.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.e.T.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.e.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if edit != nil {
		edit(req)
	}
	return b.send(req)
}

// signIn signs in with the admin token and fails unless it works.
func (b *browser) signIn() {
	b.e.T.Helper()
	p := b.post("/admin/ui/login", url.Values{"token": {admintest.AdminToken}}, nil)
	if p.status != http.StatusSeeOther || p.location() != "/admin/ui/grants" {
		b.e.T.Fatalf("sign in: status %d Location %q, want 303 to /admin/ui/grants: %s", p.status, p.location(), p.body)
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of the session, read from a page's form.
func (b *browser) csrf() string {
	b.e.T.Helper()
	p := b.mustGet("/admin/ui/grants")
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		b.e.T.Fatalf("no csrf field on the grant list: %s", p.body)
	}
	return m[1]
}

// attrs returns the values of attribute attr on the elements of class
// class, in document order.
func attrs(body, class, attr string) []string {
	re := regexp.MustCompile(`class="` + regexp.QuoteMeta(class) + `"[^>]*? ` + regexp.QuoteMeta(attr) + `="([^"]*)"`)
	var out []string
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// mustContain fails unless body holds every one of wants.
func mustContain(tb testing.TB, body string, wants ...string) {
	tb.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			tb.Errorf("page lacks %q", w)
		}
	}
}

// auditActions lists the store's audit entries as "action/actor", oldest
// first.
func auditActions(tb testing.TB, db *boltdb.DB) []string {
	tb.Helper()
	entries, _, err := db.ListAudit(context.Background(), riscd.AuditQuery{Limit: riscd.MaxLimit})
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Action+"/"+e.Actor)
	}
	slices.Reverse(out)
	return out
}

// mustEntry reads an inbox entry.
func mustEntry(tb testing.TB, db *boltdb.DB, id uint64) riscd.InboxEntry {
	tb.Helper()
	got, err := db.InboxEntry(context.Background(), id)
	if err != nil {
		tb.Fatalf("InboxEntry %d: %v", id, err)
	}
	return got
}

// mustGrantOf reads a grant.
func mustGrantOf(tb testing.TB, db *boltdb.DB, id string) riscd.Grant {
	tb.Helper()
	got, err := db.Grant(context.Background(), id)
	if err != nil {
		tb.Fatalf("Grant %s: %v", id, err)
	}
	return got
}

// mustAccountOf reads an account.
func mustAccountOf(tb testing.TB, db *boltdb.DB, sub string) riscd.Account {
	tb.Helper()
	got, err := db.Account(context.Background(), sub)
	if err != nil {
		tb.Fatalf("Account %s: %v", sub, err)
	}
	return got
}

// errStream is a stream read failure.
var errStream = errors.New("stream: GET https://risc.googleapis.com/v1beta/stream: 403 caller lacks roles/riscconfigs.admin")

// idPath is /admin/ui/events/{id}.
func idPath(format string, id uint64) string { return fmt.Sprintf(format, id) }
