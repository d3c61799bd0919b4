package events

import (
	"context"
	"log/slog"
)

// LogHandler returns a Handler that records each delivered SET on logger at
// Info level: entry ID, transmitter, iss, jti, the short names of its event
// types and its subject's short String (no token, no raw claims). It never
// fails. It stands in for the audit record until riscd's lifecycle handlers
// are wired.
func LogHandler(logger *slog.Logger) Handler {
	return HandlerFunc(func(ctx context.Context, d Delivery) error {
		names := make([]string, 0, len(d.SET.Events))
		for _, e := range d.SET.Events {
			names = append(names, ShortName(e.Type()))
		}
		subject := "none"
		if s := d.SET.Subject(); s != nil {
			subject = s.String()
		}
		logger.InfoContext(ctx, "security event",
			"entry", d.Entry.ID, "transmitter", d.Entry.Transmitter,
			"iss", d.SET.Iss, "jti", d.SET.JTI, "types", names,
			"subject", subject, "attempt", d.Attempt)
		return nil
	})
}
