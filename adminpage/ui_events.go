package adminpage

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/httplog"
)

// uiEventsView is the event list page.
type uiEventsView struct {
	Status, Type, Sub string // the filters as given
	Statuses          []string
	List              admin.EventList
	NextURL           string // "" on the last page
}

// uiEvents is GET /admin/ui/events?status=&type=&sub=&cursor=: received
// events, newest first, filtered as GET /admin/events filters them, with a
// retry button on each parked one.
func (s *Page) uiEvents(c echo.Context) error {
	q, keys, err := s.svc.EventQuery(c)
	if err != nil {
		return err
	}
	list, err := s.svc.EventPage(c.Request().Context(), q, keys)
	if err != nil {
		return err
	}
	v := uiEventsView{Status: string(q.Status), Type: c.QueryParam("type"), Sub: c.QueryParam("sub"), List: list}
	for _, st := range admin.InboxStatuses() {
		v.Statuses = append(v.Statuses, string(st))
	}
	if list.NextCursor != "" {
		v.NextURL = pageURL(uiBase+"/events", url.Values{
			"status": {v.Status}, "type": {v.Type}, "sub": {v.Sub}, "subject": {c.QueryParam("subject")}, "limit": {c.QueryParam("limit")}, "cursor": {list.NextCursor},
		})
	}
	page := "events"
	if q.Status == "parked" {
		page = "parked"
	}
	return s.render(c, http.StatusOK, "events", uiLayout{Title: "Events", Page: page, Body: v})
}

// uiEventView is the event page.
type uiEventView struct {
	admin.EventView
	Sub    string // the plain subject, when the event names one of a configured issuer
	Claims string // the redacted claims, indented
}

// uiEvent is GET /admin/ui/events/{id}: one event with its decoded,
// redacted claims and, when parked, the retry button.
func (s *Page) uiEvent(c echo.Context) error {
	id, err := admin.IDParam(c, "id")
	if err != nil {
		return err
	}
	ev, err := s.svc.EventOf(c.Request().Context(), id)
	if err != nil {
		return err
	}
	v := uiEventView{EventView: ev, Sub: s.svc.SubOfKey(ev.Subject)}
	var buf bytes.Buffer
	if json.Indent(&buf, ev.Claims, "", "  ") == nil {
		v.Claims = buf.String()
	}
	return s.render(c, http.StatusOK, "event", uiLayout{Title: "Event " + strconv.FormatUint(id, 10), Page: "event", Body: v})
}

// uiRetry is POST /admin/ui/events/{id}/retry: a parked event goes back to
// pending, audited, as POST /admin/events/{id}/retry.
func (s *Page) uiRetry(c echo.Context) error {
	id, err := admin.IDParam(c, "id")
	if err != nil {
		return err
	}
	if _, err := s.svc.Retry(c.Request().Context(), id, "admin page, request "+httplog.RequestID(c)); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, uiBase+"/events/"+strconv.FormatUint(id, 10)+"?notice=retried")
}
