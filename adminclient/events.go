package adminclient

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// EventStatus is the processing state of a received event.
type EventStatus string

// Event processing states.
const (
	EventPending EventStatus = "pending"
	EventDone    EventStatus = "done"
	EventParked  EventStatus = "parked" // gave up after its attempts; RetryEvent sends it back
)

// EventStatuses returns every event state, in the API's order (a new slice).
func EventStatuses() []EventStatus {
	return []EventStatus{EventPending, EventDone, EventParked}
}

// Event is a received security event token as the admin API shows it: its
// processing state and decoded claims, with every token identifier
// replaced by a token_fingerprint. The token as received is never shown.
type Event struct {
	ID          uint64 `json:"id"`
	Transmitter string `json:"transmitter"`
	Iss         string `json:"iss"`
	JTI         string `json:"jti"`
	// Subject is the subject key events are ordered by (EventFilter.Subject).
	Subject       string      `json:"subject"`
	Types         []string    `json:"types"`      // event-type URIs
	TypeNames     []string    `json:"type_names"` // their short names (account-disabled, ...)
	Status        EventStatus `json:"status"`
	Attempts      int         `json:"attempts"`
	LastError     string      `json:"last_error,omitempty"`
	NextAttemptAt *time.Time  `json:"next_attempt_at,omitempty"`
	ReceivedAt    time.Time   `json:"received_at"`
	DoneAt        *time.Time  `json:"done_at,omitempty"`
	// Claims is the verified payload, decoded and redacted; JSON null when
	// riscd could not decode it.
	Claims json.RawMessage `json:"claims"`
}

// EventFilter selects events; zero fields select all. Sub is a plain
// subject (Google's sub), Subject an Event's subject key: give one at most.
// Type is an event-type URI or its short name.
type EventFilter struct {
	Sub     string
	Subject string
	Type    string
	Status  EventStatus
	Cursor  string
	Limit   int
}

// EventPage is one page of events, newest first. NextCursor is "" after
// the last page.
type EventPage struct {
	Events     []Event `json:"events"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

// ListEvents returns one page of the events f selects (GET /admin/events).
// A bad filter is an *APIError matching ErrBadRequest.
func (c *Client) ListEvents(ctx context.Context, f EventFilter) (EventPage, error) {
	q := url.Values{}
	for k, v := range map[string]string{"sub": f.Sub, "subject": f.Subject, "type": f.Type, "status": string(f.Status)} {
		if v != "" {
			q.Set(k, v)
		}
	}
	setPage(q, f.Cursor, f.Limit)
	var out EventPage
	if err := c.do(ctx, http.MethodGet, "/admin/events", q, &out); err != nil {
		return EventPage{}, err
	}
	return out, nil
}

// AllEvents yields every event f selects, from f.Cursor on, fetching pages
// of f.Limit as it goes. It stops after the first error, which it yields.
func (c *Client) AllEvents(ctx context.Context, f EventFilter) iter.Seq2[Event, error] {
	return pages(ctx, f.Cursor, func(ctx context.Context, cursor string) ([]Event, string, error) {
		f.Cursor = cursor
		p, err := c.ListEvents(ctx, f)
		return p.Events, p.NextCursor, err
	})
}

// Event returns event id (GET /admin/events/{id}). An unknown id is an
// *APIError matching ErrNotFound.
func (c *Client) Event(ctx context.Context, id uint64) (Event, error) {
	if id == 0 {
		return Event{}, fmt.Errorf("event: %w: event ids start at 1", ErrInvalidArgument)
	}
	var out Event
	if err := c.do(ctx, http.MethodGet, "/admin/events/"+strconv.FormatUint(id, 10), nil, &out); err != nil {
		return Event{}, err
	}
	return out, nil
}

// RetryEvent sends parked event id back to the dispatcher with a fresh
// budget of attempts (POST /admin/events/{id}/retry) and returns it as
// stored afterwards (pending). Errors: ErrNotParked when the event is
// pending or done, ErrNotFound for an unknown id (both *APIError).
func (c *Client) RetryEvent(ctx context.Context, id uint64) (Event, error) {
	if id == 0 {
		return Event{}, fmt.Errorf("retry event: %w: event ids start at 1", ErrInvalidArgument)
	}
	var out Event
	if err := c.do(ctx, http.MethodPost, "/admin/events/"+strconv.FormatUint(id, 10)+"/retry", nil, &out); err != nil {
		return Event{}, err
	}
	return out, nil
}
