package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/httplog"
)

// EventView is a received SET as the admin API shows it: its processing
// state and its decoded claims with token identifiers replaced by
// fingerprints. The compact token as received is never shown.
type EventView struct {
	ID            uint64          `json:"id"`
	Transmitter   string          `json:"transmitter"`
	Iss           string          `json:"iss"`
	JTI           string          `json:"jti"`
	Subject       string          `json:"subject"`
	Types         []string        `json:"types"`
	TypeNames     []string        `json:"type_names"`
	Status        string          `json:"status"`
	Attempts      int             `json:"attempts"`
	LastError     string          `json:"last_error,omitempty"`
	NextAttemptAt *time.Time      `json:"next_attempt_at,omitempty"`
	ReceivedAt    time.Time       `json:"received_at"`
	DoneAt        *time.Time      `json:"done_at,omitempty"`
	Claims        json.RawMessage `json:"claims"`
}

type EventList struct {
	Events     []EventView `json:"events"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

// inboxStatuses are the values of the status filter.
var inboxStatuses = []riscd.InboxStatus{riscd.InboxPending, riscd.InboxDone, riscd.InboxParked}

func viewEvent(e riscd.InboxEntry) EventView {
	v := EventView{
		ID: e.ID, Transmitter: e.Transmitter, Iss: e.Iss, JTI: e.JTI, Subject: e.Subject,
		Types: nonNil(e.Types), TypeNames: make([]string, len(e.Types)),
		Status: string(e.Status), Attempts: e.Attempts, LastError: e.LastError,
		NextAttemptAt: optTime(e.NextAttemptAt), ReceivedAt: e.ReceivedAt, DoneAt: optTime(e.DoneAt),
		Claims: safeClaims(e.Claims),
	}
	for i, t := range e.Types {
		v.TypeNames[i] = events.ShortName(t)
	}
	return v
}

// safeClaims decodes claims, redacts them (redactClaims) and encodes them
// again. Claims that do not decode are shown as null.
func safeClaims(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return json.RawMessage("null")
	}
	out, err := json.Marshal(redactClaims(v))
	if err != nil {
		return json.RawMessage("null")
	}
	return out
}

// subjectKeys returns the inbox subject keys of a plain subject: one per
// configured issuer, without repeats.
func (s *Service) subjectKeys(sub string) []string {
	var keys []string
	for _, iss := range s.cfg.Issuers {
		k := events.SubjectKey(events.IssSub{Iss: iss, Sub: sub})
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// SubOfKey returns the plain subject of an inbox subject key made from one
// of the configured issuers, or "" for any other key.
func (s *Service) SubOfKey(key string) string {
	for _, iss := range s.cfg.Issuers {
		prefix := strings.TrimSuffix(events.SubjectKey(events.IssSub{Iss: iss, Sub: "x"}), "x")
		if sub, ok := strings.CutPrefix(key, prefix); ok && sub != "" {
			return sub
		}
	}
	return ""
}

// EventQuery reads the filters of an event list from the query string,
// as GET /admin/events and the admin page's event list take them: sub is a
// plain subject (matched under every configured issuer); subject an inbox
// subject key as event views show it; type an event-type URI or its short
// name; status, cursor and limit. It returns the query and the subject keys
// to run it for ([""]: any subject).
func (s *Service) EventQuery(c echo.Context) (riscd.InboxQuery, []string, error) {
	p, err := pageParams(c)
	if err != nil {
		return riscd.InboxQuery{}, nil, err
	}
	q := riscd.InboxQuery{Limit: p.limit, Cursor: p.cursor}
	if st := c.QueryParam("status"); st != "" {
		if !slices.Contains(inboxStatuses, riscd.InboxStatus(st)) {
			return riscd.InboxQuery{}, nil, BadRequest("status must be one of %s", joinStatuses(inboxStatuses))
		}
		q.Status = riscd.InboxStatus(st)
	}
	typ, err := QueryParam(c, "type")
	if err != nil {
		return riscd.InboxQuery{}, nil, err
	}
	if uri, ok := events.TypeForName(typ); ok {
		typ = uri
	}
	q.Type = typ
	sub, err := QueryParam(c, "sub")
	if err != nil {
		return riscd.InboxQuery{}, nil, err
	}
	if sub, err = s.ResolveSub(c.Request().Context(), sub); err != nil {
		return riscd.InboxQuery{}, nil, err
	}
	subject, err := QueryParam(c, "subject")
	if err != nil {
		return riscd.InboxQuery{}, nil, err
	}
	if sub != "" && subject != "" {
		return riscd.InboxQuery{}, nil, BadRequest("give sub or subject, not both")
	}
	keys := []string{subject}
	if sub != "" {
		keys = s.subjectKeys(sub)
	}
	return q, keys, nil
}

// EventPage is one page of events, as views.
func (s *Service) EventPage(ctx context.Context, q riscd.InboxQuery, keys []string) (EventList, error) {
	entries, next, err := s.listInbox(ctx, q, keys)
	if err != nil {
		return EventList{}, err
	}
	out := EventList{Events: make([]EventView, len(entries)), NextCursor: next}
	for i, e := range entries {
		out.Events[i] = viewEvent(e)
	}
	return out, nil
}

// listEvents is GET /admin/events?sub=&subject=&type=&status=&cursor=&limit=.
func (s *Server) listEvents(c echo.Context) error {
	q, keys, err := s.EventQuery(c)
	if err != nil {
		return err
	}
	out, err := s.EventPage(c.Request().Context(), q, keys)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// listInbox runs q once per subject key and merges the pages, newest first.
// Inbox cursors are entry IDs (a page holds entries older than its cursor),
// so the merged page's cursor is the ID of its last entry.
func (s *Service) listInbox(ctx context.Context, q riscd.InboxQuery, keys []string) ([]riscd.InboxEntry, string, error) {
	if len(keys) == 1 {
		q.Subject = keys[0]
		return s.store.ListInbox(ctx, q)
	}
	var all []riscd.InboxEntry
	more := false
	for _, k := range keys {
		q.Subject = k
		page, next, err := s.store.ListInbox(ctx, q)
		if err != nil {
			return nil, "", err
		}
		all = append(all, page...)
		more = more || next != ""
	}
	slices.SortFunc(all, func(a, b riscd.InboxEntry) int { return -cmpU64(a.ID, b.ID) })
	limit := q.Limit
	if len(all) > limit {
		all, more = all[:limit], true
	}
	next := ""
	if more && len(all) > 0 {
		next = strconv.FormatUint(all[len(all)-1].ID, 10)
	}
	return all, next, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// EventOf reads one event as a view; a missing one is a 404 Error.
func (s *Service) EventOf(ctx context.Context, id uint64) (EventView, error) {
	e, err := s.store.InboxEntry(ctx, id)
	if err != nil {
		return EventView{}, OrNotFound(err, "event")
	}
	return viewEvent(e), nil
}

// showEvent is GET /admin/events/{id}.
func (s *Server) showEvent(c echo.Context) error {
	id, err := IDParam(c, "id")
	if err != nil {
		return err
	}
	out, err := s.EventOf(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// errNotParked is the refusal to retry an event that is pending or done.
type errNotParked struct{ status riscd.InboxStatus }

func (e errNotParked) Error() string { return fmt.Sprintf("event is %s, not parked", e.status) }

// Retry returns parked event id to pending with a fresh budget of
// attempts, due now, and audits it (Actor ActorOf(ctx), Detail detail) in
// the same transaction; then it wakes the dispatcher. Errors: a 409
// Error (CodeNotParked) when the event is not parked, a 404 Error
// when there is none, else a store failure.
func (s *Service) Retry(ctx context.Context, id uint64, detail string) (riscd.InboxEntry, error) {
	var stored riscd.InboxEntry
	err := s.store.Update(ctx, func(tx riscd.Tx) error {
		e, err := tx.InboxEntry(ctx, id)
		if err != nil {
			return err
		}
		if e.Status != riscd.InboxParked {
			return errNotParked{e.Status}
		}
		e.Status, e.Attempts, e.NextAttemptAt = riscd.InboxPending, 0, time.Time{}
		if err := tx.PutInboxEntry(ctx, e); err != nil {
			return err
		}
		stored = e
		_, err = tx.AppendAudit(ctx, riscd.AuditEntry{
			At: s.now(), Transmitter: e.Transmitter, EventJTI: e.JTI, EventType: firstOf(e.Types),
			Sub: s.SubOfKey(e.Subject), Action: "retry_event", Outcome: "pending",
			Detail: detail, Actor: ActorOf(ctx),
		})
		return err
	})
	var np errNotParked
	switch {
	case errors.As(err, &np):
		return riscd.InboxEntry{}, &Error{Status: http.StatusConflict, Code: CodeNotParked, Detail: fmt.Sprintf("event %d is %s; only a parked event can be retried", id, np.status)}
	case err != nil:
		return riscd.InboxEntry{}, OrNotFound(err, "event")
	}
	if s.cfg.Rescan != nil {
		s.cfg.Rescan()
	}
	return stored, nil
}

// retryEvent is POST /admin/events/{id}/retry: a parked entry goes back to
// pending (see retry).
func (s *Server) retryEvent(c echo.Context) error {
	id, err := IDParam(c, "id")
	if err != nil {
		return err
	}
	stored, err := s.Retry(c.Request().Context(), id, "request "+httplog.RequestID(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewEvent(stored))
}

func firstOf(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}
