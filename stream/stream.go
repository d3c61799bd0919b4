package stream

import (
	"context"
	"fmt"
	"slices"
)

// DeliveryMethodPush is the delivery method of Google's stream: Google
// POSTs each event to the delivery URL (RFC 8935).
const DeliveryMethodPush = "https://schemas.openid.net/secevent/risc/delivery-method/push"

// Config is a stream's configuration as Google returns it.
type Config struct {
	// DeliveryMethod is DeliveryMethodPush for Google's streams.
	DeliveryMethod string
	// DeliveryURL is where Google pushes the events.
	DeliveryURL string
	// EventsRequested are the event-type URIs the stream carries, as Google
	// kept them.
	EventsRequested []string
	// EventsDelivered are the types Google says it delivers, when its answer
	// lists them (empty otherwise).
	EventsDelivered []string
}

// Kept returns the event types the stream carries: EventsDelivered when
// Google lists them, EventsRequested otherwise.
func (c Config) Kept() []string {
	if len(c.EventsDelivered) > 0 {
		return slices.Clone(c.EventsDelivered)
	}
	return slices.Clone(c.EventsRequested)
}

// wireConfig is the JSON of stream:update and GET /stream.
type wireConfig struct {
	Delivery        *wireDelivery `json:"delivery,omitempty"`
	EventsRequested []string      `json:"events_requested,omitempty"`
	EventsDelivered []string      `json:"events_delivered,omitempty"`
}

type wireDelivery struct {
	DeliveryMethod string `json:"delivery_method"`
	URL            string `json:"url"`
}

func (w wireConfig) config() Config {
	c := Config{EventsRequested: w.EventsRequested, EventsDelivered: w.EventsDelivered}
	if w.Delivery != nil {
		c.DeliveryMethod, c.DeliveryURL = w.Delivery.DeliveryMethod, w.Delivery.URL
	}
	return c
}

// Get returns the stream's configuration. Errors: an *Error for Google's
// answers (ErrNoStream before the first Update), or the transport's error.
func (c *Client) Get(ctx context.Context) (Config, error) {
	var w wireConfig
	if err := c.call(ctx, "GET", "/stream", nil, &w); err != nil {
		return Config{}, fmt.Errorf("stream: get: %w", err)
	}
	return w.config(), nil
}

// Update replaces the stream's configuration: push delivery to deliveryURL
// of the event types eventURIs. Google may drop requested types it does not
// support without saying so, so Update reads the stream back and returns it
// with the requested types it lacks (in request order, once each). Errors:
// an *Error for Google's answers (ErrNotHTTPS, ErrDomainNotAuthorized,
// ErrMissingRole, ...), or the transport's error; the update may have
// succeeded when only the read-back fails.
func (c *Client) Update(ctx context.Context, deliveryURL string, eventURIs []string) (Config, []string, error) {
	body := wireConfig{
		Delivery:        &wireDelivery{DeliveryMethod: DeliveryMethodPush, URL: deliveryURL},
		EventsRequested: eventURIs,
	}
	if err := c.call(ctx, "POST", "/stream:update", body, nil); err != nil {
		return Config{}, nil, fmt.Errorf("stream: update: %w", err)
	}
	got, err := c.Get(ctx)
	if err != nil {
		return Config{}, nil, fmt.Errorf("stream: update: read back: %w", err)
	}
	kept := got.Kept()
	var dropped []string
	for _, uri := range eventURIs {
		if !slices.Contains(kept, uri) && !slices.Contains(dropped, uri) {
			dropped = append(dropped, uri)
		}
	}
	return got, dropped, nil
}
