package adminpage

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd/httplog"
)

// uiStreamTimeout bounds one call of Config.Stream.
const uiStreamTimeout = 10 * time.Second

// StreamView is the state of the Google RISC stream as the admin page shows
// it; Config.Stream provides it.
type StreamView struct {
	// Status is the stream's status as Google last reported it ("enabled",
	// "disabled"); "" when unknown.
	Status string
	// DeliveryURL is where Google pushes events.
	DeliveryURL string
	// EventsRequested are the event-type URIs the stream asks for.
	EventsRequested []string
	// LastVerification is when the last verification event requested by
	// riscd came back; zero when none has.
	LastVerification time.Time
	// LastCheckAt is when the health loop last checked the stream; zero
	// when it has not.
	LastCheckAt time.Time
	// LastCheckError is why the last health check failed; "" when it
	// passed or none ran. It is shown as is: keep it free of secrets.
	LastCheckError string
}

// uiStreamPage is the stream page.
type uiStreamPage struct {
	Configured bool // Config.Stream is set
	Stream     StreamView
	Error      string // Config.Stream's failure
	// The values Metrics.StreamStatus and Metrics.StreamCheck last
	// recorded in this process.
	MetricStatus  string // "" when none was recorded
	MetricHealthy bool
}

// uiStream is GET /admin/ui/stream: what Config.Stream reports and what
// the stream metrics last recorded.
func (s *Page) uiStream(c echo.Context) error {
	v := uiStreamPage{Configured: s.cfg.Stream != nil}
	v.MetricStatus, v.MetricHealthy = s.svc.Metrics().StreamRecorded()
	if v.Configured {
		ctx, cancel := context.WithTimeout(c.Request().Context(), uiStreamTimeout)
		defer cancel()
		sv, err := s.cfg.Stream(ctx)
		if err != nil {
			s.log.WarnContext(ctx, "admin: stream state unavailable", "request_id", httplog.RequestID(c), "err", err)
			v.Error = err.Error()
		}
		v.Stream = sv
	}
	return s.render(c, http.StatusOK, "stream", uiLayout{Title: "Stream", Body: v})
}
