package stream

import (
	"context"
	"fmt"
)

// Status is a stream's status as Google reports it.
type Status string

// The statuses Google's streams have. A disabled stream neither sends nor
// buffers events.
const (
	StatusEnabled  Status = "enabled"
	StatusDisabled Status = "disabled"
)

type wireStatus struct {
	Status Status `json:"status"`
}

// Status returns the stream's status. Errors: an *Error for Google's
// answers (ErrNoStream before the first Update), or the transport's error.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var w wireStatus
	if err := c.call(ctx, "GET", "/stream/status", nil, &w); err != nil {
		return "", fmt.Errorf("stream: status: %w", err)
	}
	return w.Status, nil
}

// SetStatus enables or disables the stream. Errors: an *Error for Google's
// answers (ErrNoStream before the first Update), or the transport's error.
func (c *Client) SetStatus(ctx context.Context, enabled bool) error {
	w := wireStatus{Status: StatusDisabled}
	if enabled {
		w.Status = StatusEnabled
	}
	if err := c.call(ctx, "POST", "/stream/status:update", w, nil); err != nil {
		return fmt.Errorf("stream: set status %s: %w", w.Status, err)
	}
	return nil
}

// Verify asks Google to push a verification event carrying state to the
// stream's delivery URL. Google answers at once and pushes afterwards, and
// only when the stream is enabled and requests verification events; a nil
// error does not mean the event arrived. Errors: an *Error for Google's
// answers (ErrNoStream before the first Update), or the transport's error.
func (c *Client) Verify(ctx context.Context, state string) error {
	if err := c.call(ctx, "POST", "/stream:verify", map[string]string{"state": state}, nil); err != nil {
		return fmt.Errorf("stream: verify: %w", err)
	}
	return nil
}
