package events

import (
	"encoding/json"
	"sort"
	"time"
)

// Event is one decoded security event. The concrete types in this package are
// its only implementations: a type switch over them is exhaustive, with
// Unknown standing for every event type riscd does not know.
type Event interface {
	// Type returns the event-type URI as received.
	Type() string
	// Subject returns the principal the event is about: the event's own
	// "subject" member when it has one (Google's legacy format, RISC and
	// CAEP compatibility), else the SET's top-level sub_id. It is nil only
	// for events that need no subject (verification, stream-updated,
	// Unknown) and carry none.
	Subject() Subject
	// Metadata returns the optional members CAEP defines for every event
	// (event_timestamp, initiating_entity, reason_admin, reason_user),
	// zero where absent. riscd reads them on every event type.
	Metadata() Meta

	isEvent()
}

// Meta holds the optional members CAEP 1.0 defines for every event.
type Meta struct {
	// EventTimestamp is when the event happened (event_timestamp), in UTC;
	// zero when absent. Scope actions by it when set, not by the time of
	// arrival.
	EventTimestamp time.Time
	// InitiatingEntity is "admin", "user", "policy", "system", another
	// transmitter-defined value, or "" when absent.
	InitiatingEntity string
	// ReasonAdmin is the message meant for administrators and logs.
	ReasonAdmin Reason
	// ReasonUser is the message meant for the end user.
	ReasonUser Reason
}

// Reason is a localized message: BCP 47 language tag to text. A transmitter
// that sends a plain string instead of an object gets it stored under the
// empty tag. Nil when absent.
type Reason map[string]string

// Text returns the message in the language tag lang if present, else in
// "en", else the untagged one, else the one with the smallest tag; "" when r
// is empty.
func (r Reason) Text(lang string) string {
	for _, tag := range []string{lang, "en", ""} {
		if s, ok := r[tag]; ok {
			return s
		}
	}
	if len(r) == 0 {
		return ""
	}
	tags := make([]string, 0, len(r))
	for t := range r {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	return r[tags[0]]
}

// base carries what every event has. Events embed it; the fields are set only
// by the decoders, so an event always says what the payload said.
type base struct {
	uri     string
	subject Subject
	meta    Meta
}

// Type implements Event.
func (b base) Type() string { return b.uri }

// Subject implements Event.
func (b base) Subject() Subject { return b.subject }

// Metadata implements Event.
func (b base) Metadata() Meta { return b.meta }

func (base) isEvent() {}

// requireSubject fails when the event has no subject at all.
func (b base) requireSubject(where string) error {
	if b.subject == nil {
		return malformed("%s: subject is missing", where)
	}
	return nil
}

// parseMeta reads the CAEP optional members of an event object.
func parseMeta(o object, where string) (Meta, error) {
	var m Meta
	var err error
	if m.EventTimestamp, _, err = o.date(where, "event_timestamp"); err != nil {
		return Meta{}, err
	}
	if m.InitiatingEntity, err = o.optionalStr(where, "initiating_entity"); err != nil {
		return Meta{}, err
	}
	if m.ReasonAdmin, err = parseReason(o, where, "reason_admin"); err != nil {
		return Meta{}, err
	}
	if m.ReasonUser, err = parseReason(o, where, "reason_user"); err != nil {
		return Meta{}, err
	}
	return m, nil
}

// parseReason reads a localized message: an object of strings, or a plain
// string (early CAEP drafts and some transmitters).
func parseReason(o object, where, name string) (Reason, error) {
	v, ok := o.value(name)
	if !ok {
		return nil, nil
	}
	if isKind(v, '"') {
		s, _, err := o.str(where, name)
		if err != nil {
			return nil, err
		}
		return Reason{"": s}, nil
	}
	if !isKind(v, '{') {
		return nil, malformed("%s: %s is neither a string nor an object", where, name)
	}
	inner, err := o.asObject(v, where+"."+name)
	if err != nil {
		return nil, err
	}
	r := make(Reason, len(inner.members))
	for _, m := range inner.members {
		s, ok := decodeString(m.value)
		if !ok {
			return nil, malformed("%s: %s holds a value that is not a string", where, name)
		}
		r[m.name] = s
	}
	return r, nil
}

// decodeFunc decodes the members specific to one event type. o is the event
// object, b already holds the URI, the effective subject and Meta, and where
// names the event in errors.
type decodeFunc func(o object, b base, where string) (Event, error)

// Unknown is an event of a type riscd does not know: kept with its raw JSON,
// never dropped. Its subject is its own "subject" member when that parses,
// else the SET's sub_id.
type Unknown struct {
	base
	URI string
	Raw json.RawMessage
}
