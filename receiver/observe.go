package receiver

import (
	"errors"
	"time"
)

// Outcome is what the receiver did with one request, as an Observation
// reports it. Its values are the metric label values riscd uses.
type Outcome string

// Outcomes of an Observation.
const (
	// OutcomeAccepted: a new SET, verified and committed, answered 202.
	OutcomeAccepted Outcome = "accepted"
	// OutcomeDuplicate: a SET whose (iss, jti) was already stored,
	// answered 202 again and not queued twice.
	OutcomeDuplicate Outcome = "duplicate"
	// OutcomeRejected: answered 400 with an RFC 8935 err code (or 405 to a
	// method other than POST, reported with invalid_request).
	OutcomeRejected Outcome = "rejected"
	// OutcomeUnavailable: answered 5xx; riscd could not judge or store the
	// SET now (store, discovery or keys unavailable, or an internal error)
	// and the transmitter is asked to retry. Its value is "failed", the
	// label the metrics use for 5xx answers.
	OutcomeUnavailable Outcome = "failed"
)

// Observation describes one request to the endpoint, for metrics. It holds
// nothing secret: no token, jti or subject.
type Observation struct {
	// Transmitter is the configured name of the transmitter the SET's iss
	// picked, or "" when the request was answered before one was picked
	// (not a POST, unreadable body, no trusted iss).
	Transmitter string
	// Outcome is what the receiver answered.
	Outcome Outcome
	// ErrCode is the RFC 8935 err code of a rejection (one of the Code*
	// constants), "" for every other outcome.
	ErrCode string
	// Duration is the time spent reading, verifying and storing the SET,
	// up to the moment the answer is decided, measured with Config.Now.
	Duration time.Duration
}

// observe reports one request, served by rt (nil when none was picked), to
// Config.Observe, which must be set.
func (r *Receiver) observe(start time.Time, rt *route, created bool, err error) {
	o := Observation{Duration: r.cfg.Now().Sub(start)}
	if rt != nil {
		o.Transmitter = rt.name
	}
	var rej *rejection
	switch {
	case err == nil && created:
		o.Outcome = OutcomeAccepted
	case err == nil:
		o.Outcome = OutcomeDuplicate
	case errors.As(err, &rej):
		o.Outcome, o.ErrCode = OutcomeRejected, rej.code
	case errors.Is(err, errMethod):
		o.Outcome, o.ErrCode = OutcomeRejected, CodeInvalidRequest
	default:
		o.Outcome = OutcomeUnavailable
	}
	r.cfg.Observe(o)
}
