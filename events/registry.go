package events

import (
	"errors"
	"fmt"
	"sort"
)

// Format is the wire shape of a SET payload, a property of the transmitter.
// The zero value is not a format.
type Format int

// Formats.
const (
	// FormatGoogle is Google's legacy RISC shape: each event carries its own
	// "subject" (with "subject_type" or "format"); a top-level sub_id is
	// optional and used by events without a subject.
	FormatGoogle Format = iota + 1
	// FormatSSF is the Shared Signals Framework 1.0 shape: a top-level
	// sub_id with a known format is required and a top-level sub is
	// rejected.
	FormatSSF
)

// ErrUnknownFormat is returned (wrapped) by ParseFormat for a name that is
// not a format, and by Registry.Parse for a Format value that is not one of
// the constants: a programming or configuration error, not bad input.
var ErrUnknownFormat = errors.New("events: unknown format")

// String returns "google" or "ssf".
func (f Format) String() string {
	switch f {
	case FormatGoogle:
		return "google"
	case FormatSSF:
		return "ssf"
	default:
		return fmt.Sprintf("Format(%d)", int(f))
	}
}

// ParseFormat returns the Format named "google" or "ssf", as configuration
// spells it; other names give an error matching ErrUnknownFormat.
func ParseFormat(name string) (Format, error) {
	switch name {
	case "google":
		return FormatGoogle, nil
	case "ssf":
		return FormatSSF, nil
	default:
		return 0, fmt.Errorf("%w: %s", ErrUnknownFormat, quote(name))
	}
}

// Registry maps event-type URIs to their decoders. It is built once by
// NewRegistry, handed to whoever parses, and never changes afterwards, so it
// is safe for concurrent use.
type Registry struct {
	types map[string]eventType
}

// NewRegistry returns a registry that knows every event type of this package
// (the Type* constants). Each call returns a fresh registry.
func NewRegistry() *Registry {
	r := &Registry{types: make(map[string]eventType)}
	for _, t := range knownTypes() {
		r.types[t.uri] = t
	}
	return r
}

// Known reports whether uri is an event type the registry decodes; any
// other type parses as Unknown.
func (r *Registry) Known(uri string) bool {
	_, ok := r.types[uri]
	return ok
}

// Types returns the event-type URIs the registry decodes, sorted.
func (r *Registry) Types() []string {
	out := make([]string, 0, len(r.types))
	for uri := range r.types {
		out = append(out, uri)
	}
	sort.Strings(out)
	return out
}
