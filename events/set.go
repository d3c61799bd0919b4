package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// maxJTI is the longest jti riscd accepts, in characters.
const maxJTI = 256

// SET is the decoded payload of a verified Security Event Token. It is what
// Registry.Parse returns; riscd never builds one by hand.
type SET struct {
	Format Format    // the shape the payload was parsed as
	Iss    string    // iss
	Aud    []string  // aud: one string or an array, absent gives nil
	IAT    time.Time // iat, in UTC
	JTI    string    // jti: non-empty, at most 256 characters
	TXN    string    // txn, "" when absent
	TOE    time.Time // toe (time of event), zero when absent
	// SubID is the top-level sub_id: required for FormatSSF, usually nil
	// for FormatGoogle (whose subjects sit inside each event).
	SubID Subject
	// Events are the events in document order; at least one. Each event's
	// Subject is its own or, failing that, SubID.
	Events []Event
}

// Subject returns the principal the SET is about: SubID when set, else the
// subject of the first event that has one; nil when there is none (a
// verification event from Google).
func (s *SET) Subject() Subject {
	if s.SubID != nil {
		return s.SubID
	}
	for _, e := range s.Events {
		if sub := e.Subject(); sub != nil {
			return sub
		}
	}
	return nil
}

// Key returns SubjectKey(s.Subject()): the key riscd orders this SET's
// processing by. It is "" when the SET has no subject.
func (s *SET) Key() string { return SubjectKey(s.Subject()) }

// OccurredAt returns when event e of this SET happened, as best the payload
// says: e's event_timestamp when present, else the SET's toe, else its iat.
// Act on sessions created before this time, not before the time of arrival:
// SETs carry no ordering and may arrive late.
func (s *SET) OccurredAt(e Event) time.Time {
	if t := e.Metadata().EventTimestamp; !t.IsZero() {
		return t
	}
	if !s.TOE.IsZero() {
		return s.TOE
	}
	return s.IAT
}

// Types returns the event-type URIs of the SET, in document order.
func (s *SET) Types() []string {
	out := make([]string, len(s.Events))
	for i, e := range s.Events {
		out[i] = e.Type()
	}
	return out
}

// Parse decodes a verified SET payload (the JWS payload, as JSON) in format
// f. It checks structure only: the payload is one JSON object with no
// duplicate member names at any depth and no invalid UTF-8; iss is a string; aud, when present, a
// string or an array of strings; iat a number (integer or fraction) between
// 0 and year 9999; jti a non-empty string of at most 256 characters; txn a
// string and toe a number when present; events an object with at least one
// member, every value an object. For FormatSSF sub_id must be present with a
// known format and sub must be absent. exp and other claims are ignored.
//
// Each event is decoded by its registered decoder, which rejects missing or
// mistyped members; an unregistered event type becomes Unknown. Input errors
// match ErrMalformed and carry a Description safe to show the transmitter;
// a Format that is not a constant gives an error matching ErrUnknownFormat.
// Parse never panics. Whether iss, aud and iat are acceptable is the
// caller's decision.
func (r *Registry) Parse(payload []byte, f Format) (*SET, error) {
	if r == nil || r.types == nil {
		return nil, errors.New("events: parse: registry not built with NewRegistry")
	}
	if f != FormatGoogle && f != FormatSSF {
		return nil, fmt.Errorf("%w: %v", ErrUnknownFormat, f)
	}
	claims, err := checkJSON(payload, true)
	if err != nil {
		return nil, err
	}
	set := &SET{Format: f}
	if err := parseClaims(claims, f, set); err != nil {
		return nil, err
	}
	if err := r.parseEvents(claims, set); err != nil {
		return nil, err
	}
	return set, nil
}

// parseClaims reads every top-level claim but events into set.
func parseClaims(c object, f Format, set *SET) error {
	var err error
	const w = "claims"
	if set.Iss, err = c.requiredStr(w, "iss"); err != nil {
		return err
	}
	if set.Aud, _, err = c.strings(w, "aud"); err != nil {
		return err
	}
	var ok bool
	if set.IAT, ok, err = c.date(w, "iat"); err != nil {
		return err
	} else if !ok {
		return malformed("claims: iat is missing")
	}
	if set.JTI, err = c.requiredStr(w, "jti"); err != nil {
		return err
	}
	if runeCount(set.JTI) > maxJTI {
		return malformed("claims: jti is longer than %d characters", maxJTI)
	}
	if set.TXN, err = c.optionalStr(w, "txn"); err != nil {
		return err
	}
	if set.TOE, _, err = c.date(w, "toe"); err != nil {
		return err
	}
	if f == FormatSSF {
		if c.has("sub") {
			return malformed("claims: sub is not allowed in an SSF SET")
		}
	}
	raw, ok := c.value("sub_id")
	switch {
	case ok:
		if set.SubID, err = parseSubject(c.ix, raw, "sub_id", subjectNesting{}); err != nil {
			return err
		}
		if _, unknown := set.SubID.(UnknownSubject); unknown && f == FormatSSF {
			return malformed("sub_id: unknown format %s", quote(set.SubID.Format()))
		}
	case f == FormatSSF:
		return malformed("claims: sub_id is missing")
	}
	return nil
}

// parseEvents decodes the events claim into set.Events.
func (r *Registry) parseEvents(c object, set *SET) error {
	raw, ok := c.value("events")
	if !ok {
		return malformed("claims: events is missing")
	}
	evs, err := c.asObject(raw, "claims: events")
	if err != nil {
		return err
	}
	members := evs.members
	if len(members) == 0 {
		return malformed("claims: events is empty")
	}
	set.Events = make([]Event, 0, len(members))
	for _, m := range members {
		e, err := r.decodeEvent(c.ix, m.name, m.value, set.SubID)
		if err != nil {
			return err
		}
		set.Events = append(set.Events, e)
	}
	return nil
}

// decodeEvent decodes one member of the events claim.
func (r *Registry) decodeEvent(ix *index, uri string, raw jsontext.Value, subID Subject) (Event, error) {
	t, known := r.types[uri]
	where := t.name
	if !known {
		where = "event " + quote(uri)
	}
	if uri == "" {
		return nil, malformed("events: empty event type")
	}
	o, err := ix.asObject(raw, where)
	if err != nil {
		return nil, err
	}
	if !known {
		return decodeUnknown(uri, raw, o, subID), nil
	}
	b := base{uri: uri, subject: subID}
	if v, ok := o.value("subject"); ok {
		if b.subject, err = parseSubject(ix, v, where+": subject", subjectNesting{}); err != nil {
			return nil, err
		}
	}
	if b.meta, err = parseMeta(o, where); err != nil {
		return nil, err
	}
	return t.decode(o, b, where)
}

// decodeUnknown keeps an event of an unknown type. Its own subject and
// metadata are read when they parse; when they do not, the event is still
// kept (with sub_id as subject and empty metadata): riscd cannot judge the
// members of a type it does not know.
func decodeUnknown(uri string, raw jsontext.Value, o object, subID Subject) Event {
	b := base{uri: uri, subject: subID}
	if v, ok := o.value("subject"); ok {
		if s, err := parseSubject(o.ix, v, "subject", subjectNesting{}); err == nil {
			b.subject = s
		}
	}
	if m, err := parseMeta(o, "event"); err == nil {
		b.meta = m
	}
	return Unknown{base: b, URI: uri, Raw: append(json.RawMessage(nil), raw...)}
}
