package adminclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/adminclient"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/lifecycle"
	"github.com/riscd/riscd/store/boltdb"
)

// driveScope is the scope of the contract server's one feature.
const driveScope = "https://www.googleapis.com/auth/drive.readonly"

// recorder is an http.RoundTripper that keeps the body of every answer.
type recorder struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.bodies = append(r.bodies, body)
	r.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

func (r *recorder) last() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bodies[len(r.bodies)-1]
}

// operator carries out the admin API's actions through a real lifecycle.
type operator struct{ l *lifecycle.Lifecycle }

func (o operator) DiscardGrant(ctx context.Context, id, actor string) error {
	return o.l.DiscardGrant(ctx, id, actor)
}

func (o operator) ReleaseAccount(ctx context.Context, sub, actor string) error {
	return o.l.ReleaseHolds(ctx, sub, lifecycle.Op{Actor: actor})
}

func (o operator) RetryOutboxJob(ctx context.Context, id uint64, actor, reason string) (riscd.OutboxJob, error) {
	return o.l.RetryOutboxJob(ctx, id, lifecycle.Op{Actor: actor, Reason: reason})
}

// contract is a real admin server over a real store, and a Client of it
// whose answers are recorded.
type contract struct {
	db     *boltdb.DB
	client *adminclient.Client
	rec    *recorder
}

func newContract(t *testing.T) *contract {
	t.Helper()
	now := func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }
	key, _, err := boltdb.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	db, err := boltdb.Open(context.Background(), boltdb.Options{Path: filepath.Join(t.TempDir(), "riscd.db"), Key: key, LockTimeout: time.Second})
	if err != nil {
		t.Fatalf("boltdb.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	l, err := lifecycle.New(lifecycle.Config{Store: db, RevokeURL: "http://127.0.0.1:1/revoke", Now: now})
	if err != nil {
		t.Fatalf("lifecycle.New: %v", err)
	}
	srv, err := admin.New(admin.Config{
		Store: db, Operator: operator{l}, AdminToken: testToken,
		Features: map[string]string{"drive": driveScope}, Now: now,
	})
	if err != nil {
		t.Fatalf("admin.New: %v", err)
	}
	e := echo.New()
	srv.Register(e)
	hs := httptest.NewServer(e)
	t.Cleanup(hs.Close)
	rec := &recorder{}
	c, err := adminclient.New(adminclient.Config{BaseURL: hs.URL, Token: testToken, HTTPClient: &http.Client{Transport: rec}})
	if err != nil {
		t.Fatal(err)
	}
	return &contract{db: db, client: c, rec: rec}
}

// matchesAnswer fails the test unless v, encoded again, is the JSON the
// server last answered: the client's types lose and invent nothing.
func (c *contract) matchesAnswer(t *testing.T, what string, v any) {
	t.Helper()
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: marshal: %v", what, err)
	}
	var got, want any
	if err := json.Unmarshal(again, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(c.rec.last(), &want); err != nil {
		t.Fatalf("%s: the answer is not JSON: %v", what, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: decoded and encoded again:\n got %s\nwant %s", what, again, c.rec.last())
	}
}

// must is the result of a call that must succeed: must[T](t)(call()).
func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestAgainstTheAdminServer(t *testing.T) {
	c := newContract(t)
	ctx := context.Background()
	iss := "https://accounts.google.com/"
	held := must[riscd.Grant](t)(c.db.CreateGrant(ctx, riscd.Grant{
		Sub: "alice", Email: "alice@example.com", Scopes: []string{"openid", driveScope},
		RefreshToken: "1//0refresh-alice-secretpart-xxxxxxxx", AccessToken: "ya29.access-alice", Expiry: time.Now().Add(time.Hour),
	}))
	held = must[riscd.Grant](t)(c.db.UpdateGrant(ctx, held.ID, func(g riscd.Grant) (riscd.Grant, error) {
		g.Status, g.Reason, g.ChangedBy = riscd.GrantHeld, "hijacking", "jti-1"
		return g, nil
	}))
	bob := must[riscd.Grant](t)(c.db.CreateGrant(ctx, riscd.Grant{Sub: "bob", Scopes: []string{"openid"}, RefreshToken: "1//0refresh-bob-secretpart-xxxxxxxxxx"}))
	if err := c.db.PutAccount(ctx, riscd.Account{Sub: "alice", Email: "alice@example.com", Held: true, SigninDisabled: true,
		SessionsRevokedAt: time.Now().Add(-time.Hour), Flags: []string{"credential-change"}}); err != nil {
		t.Fatal(err)
	}
	claims := fmt.Sprintf(`{"iss":%q,"jti":"jti-1","iat":1767268800,"events":{%q:{"subject":{"subject_type":"iss-sub","iss":%q,"sub":"alice"},"reason":"hijacking"}}}`,
		iss, events.TypeAccountDisabled, iss)
	ev, created, err := c.db.PutInbox(ctx, riscd.InboxEntry{
		Transmitter: "google", Iss: iss, JTI: "jti-1", Types: []string{events.TypeAccountDisabled},
		Subject: events.SubjectKey(events.IssSub{Iss: iss, Sub: "alice"}), Raw: "eyJ.raw.sig", Claims: json.RawMessage(claims),
	})
	if err != nil || !created {
		t.Fatalf("PutInbox: created %v, %v", created, err)
	}
	must[riscd.InboxEntry](t)(c.db.UpdateInbox(ctx, ev.ID, func(e riscd.InboxEntry) (riscd.InboxEntry, error) {
		e.Status, e.Attempts, e.LastError = riscd.InboxParked, 10, "lifecycle: revoke: upstream 500"
		return e, nil
	}))
	must[riscd.AuditEntry](t)(c.db.AppendAudit(ctx, riscd.AuditEntry{At: time.Now(), Transmitter: "google", EventJTI: "jti-1", EventType: events.TypeAccountDisabled,
		Sub: "alice", GrantIDs: []string{held.ID}, Action: "hold_grants", Outcome: "held", Actor: "event"}))

	page := must[adminclient.GrantPage](t)(c.client.ListGrants(ctx, adminclient.GrantFilter{}))
	c.matchesAnswer(t, "ListGrants", page)
	if len(page.Grants) != 2 || page.Grants[0].ID != bob.ID || page.Grants[1].Features[0] != "drive" {
		t.Errorf("ListGrants: got %+v", page.Grants)
	}
	detail := must[adminclient.GrantDetail](t)(c.client.Grant(ctx, held.ID))
	c.matchesAnswer(t, "Grant", detail)
	if detail.Status != adminclient.GrantHeld || detail.Reason != "hijacking" || len(detail.History) != 1 || detail.RefreshTokenFingerprint == "" {
		t.Errorf("Grant: got %+v", detail)
	}
	acct := must[adminclient.Account](t)(c.client.Account(ctx, "alice"))
	c.matchesAnswer(t, "Account", acct)
	if !acct.Held || len(acct.Grants) != 1 || len(acct.Timeline) != 2 || acct.SessionsRevokedAt == nil {
		t.Errorf("Account: got %+v", acct)
	}
	evs := must[adminclient.EventPage](t)(c.client.ListEvents(ctx, adminclient.EventFilter{Sub: "alice", Status: adminclient.EventParked}))
	c.matchesAnswer(t, "ListEvents", evs)
	if len(evs.Events) != 1 || evs.Events[0].TypeNames[0] != "account-disabled" {
		t.Errorf("ListEvents: got %+v", evs.Events)
	}
	one := must[adminclient.Event](t)(c.client.Event(ctx, ev.ID))
	c.matchesAnswer(t, "Event", one)
	retried := must[adminclient.Event](t)(c.client.RetryEvent(ctx, ev.ID))
	c.matchesAnswer(t, "RetryEvent", retried)
	if retried.Status != adminclient.EventPending || retried.Attempts != 0 {
		t.Errorf("RetryEvent: got status %s attempts %d, want pending 0", retried.Status, retried.Attempts)
	}
	rev := must[adminclient.Revocation](t)(c.client.RevokeGrant(ctx, bob.ID))
	c.matchesAnswer(t, "RevokeGrant", rev)
	if rev != (adminclient.Revocation{ID: bob.ID, Status: "revoked", UpstreamRevocation: "queued"}) {
		t.Errorf("RevokeGrant: got %+v", rev)
	}
	out := must[adminclient.OutboxList](t)(c.client.Outbox(ctx, adminclient.OutboxFilter{}))
	c.matchesAnswer(t, "Outbox", out)
	if !slices.ContainsFunc(out.Jobs, func(j adminclient.OutboxJob) bool { return j.Kind == "revoke" && j.GrantID == bob.ID }) {
		t.Errorf("Outbox: no revoke job for %s: %+v", bob.ID, out.Jobs)
	}
	// Bob's revocation fails for good; the operator retries it.
	must[riscd.OutboxJob](t)(c.db.UpdateOutbox(ctx, out.Jobs[0].ID, func(j riscd.OutboxJob) (riscd.OutboxJob, error) {
		j.Status, j.Attempts, j.LastError, j.DoneAt = riscd.OutboxFailed, 12, "revoke: HTTP 503", time.Now()
		return j, nil
	}))
	failed := must[adminclient.OutboxList](t)(c.client.Outbox(ctx, adminclient.OutboxFilter{Status: adminclient.OutboxFailed}))
	c.matchesAnswer(t, "Outbox failed", failed)
	if len(failed.Jobs) != 1 || failed.Jobs[0].Status != adminclient.OutboxFailed || failed.Jobs[0].FailedAt == nil || failed.Jobs[0].Sub != "bob" {
		t.Errorf("Outbox failed: got %+v", failed.Jobs)
	}
	job := must[adminclient.OutboxJob](t)(c.client.RetryOutboxJob(ctx, failed.Jobs[0].ID))
	c.matchesAnswer(t, "RetryOutboxJob", job)
	if job.Status != adminclient.OutboxPending || job.Attempts != 0 || job.FailedAt != nil {
		t.Errorf("RetryOutboxJob: got %+v", job)
	}
	if now := must[adminclient.OutboxJob](t)(c.client.RetryOutboxJob(ctx, job.ID)); now.Status != adminclient.OutboxPending || now.NextAttemptAt == nil {
		t.Errorf("RetryOutboxJob of a pending job (retry now): got %+v", now)
	}
	must[riscd.OutboxJob](t)(c.db.UpdateOutbox(ctx, job.ID, func(j riscd.OutboxJob) (riscd.OutboxJob, error) {
		j.Status = riscd.OutboxDone
		return j, nil
	}))
	if _, err := c.client.RetryOutboxJob(ctx, job.ID); !errors.Is(err, adminclient.ErrNotFailed) {
		t.Errorf("RetryOutboxJob of a done job: %v, want ErrNotFailed", err)
	}
	audit := must[adminclient.AuditPage](t)(c.client.ListAudit(ctx, adminclient.AuditFilter{}))
	c.matchesAnswer(t, "ListAudit", audit)
	rel := must[adminclient.Subject](t)(c.client.ReleaseAccount(ctx, "alice"))
	c.matchesAnswer(t, "ReleaseAccount", rel)
	if rel.Held || len(rel.Grants) != 1 || rel.Grants[0].Status != adminclient.GrantActive {
		t.Errorf("ReleaseAccount: got %+v", rel)
	}
}

// TestTypesMatchOpenAPI checks every type against its schema in the admin
// API's OpenAPI document: the same members, and no member the document
// requires left out when empty.
func TestTypesMatchOpenAPI(t *testing.T) {
	data, err := os.ReadFile("../admin/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	types := map[string]any{
		"Grant": adminclient.Grant{}, "GrantDetail": adminclient.GrantDetail{}, "GrantList": adminclient.GrantPage{},
		"RevokeAnswer": adminclient.Revocation{}, "AuditEntry": adminclient.AuditEntry{}, "AuditList": adminclient.AuditPage{},
		"AccountState": adminclient.AccountState{}, "EventSummary": adminclient.EventSummary{}, "TimelineItem": adminclient.TimelineItem{},
		"Account": adminclient.Account{}, "Event": adminclient.Event{}, "EventList": adminclient.EventPage{},
		"OutboxJob": adminclient.OutboxJob{}, "OutboxList": adminclient.OutboxList{}, "GrantSummary": adminclient.GrantSummary{},
		"Subject": adminclient.Subject{},
	}
	for name, v := range types {
		t.Run(name, func(t *testing.T) {
			s, ok := doc.Components.Schemas[name]
			if !ok {
				t.Fatalf("no schema %s in the document", name)
			}
			props, required := s.flatten(doc.Components.Schemas)
			fields := jsonFields(reflect.TypeOf(v))
			if got, want := slices.Sorted(maps.Keys(fields)), slices.Sorted(maps.Keys(props)); !slices.Equal(got, want) {
				t.Errorf("members:\n got %v\nwant %v", got, want)
			}
			for _, r := range required {
				if fields[r] {
					t.Errorf("%s is required by the document but omitted when empty", r)
				}
			}
		})
	}
}

// schema is the part of an OpenAPI schema object the test reads.
type schema struct {
	Ref        string         `json:"$ref"`
	AllOf      []schema       `json:"allOf"`
	Properties map[string]any `json:"properties"`
	Required   []string       `json:"required"`
}

// flatten merges allOf and $ref into one set of properties and required
// names.
func (s schema) flatten(all map[string]schema) (map[string]bool, []string) {
	props, required := map[string]bool{}, slices.Clone(s.Required)
	if s.Ref != "" {
		return all[strings.TrimPrefix(s.Ref, "#/components/schemas/")].flatten(all)
	}
	for _, sub := range s.AllOf {
		p, r := sub.flatten(all)
		for k := range p {
			props[k] = true
		}
		required = append(required, r...)
	}
	for k := range s.Properties {
		props[k] = true
	}
	return props, required
}

// jsonFields maps the JSON member names of struct type t (embedded structs
// flattened) to whether they are omitted when empty.
func jsonFields(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for f := range t.Fields() {
		if f.Anonymous {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		out[name] = strings.Contains(opts, "omitempty")
	}
	return out
}
