package events

// Stream statuses (SSF stream-updated status).
const (
	StreamEnabled  = "enabled"
	StreamPaused   = "paused"
	StreamDisabled = "disabled"
)

// StreamUpdated (SSF stream-updated): the transmitter changed the stream's
// status to Status (StreamEnabled, StreamPaused, StreamDisabled; required),
// for Reason ("" when absent). Its subject, when present, is the stream or
// the subject whose status changed.
type StreamUpdated struct {
	base
	Status string
	Reason string
}

func decodeStreamUpdated(o object, b base, w string) (Event, error) {
	e := StreamUpdated{base: b}
	var err error
	if e.Status, err = o.requiredStr(w, "status"); err != nil {
		return nil, err
	}
	if e.Reason, err = o.optionalStr(w, "reason"); err != nil {
		return nil, err
	}
	return e, nil
}
