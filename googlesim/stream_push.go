package googlesim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Errors of PushToStream, wrapped with context; check them with errors.Is.
var (
	// ErrNoStream: the stream was never configured (no stream:update).
	ErrNoStream = errors.New("no stream configured")
	// ErrStreamDisabled: the stream's status is disabled; Google neither
	// sends nor buffers events then.
	ErrStreamDisabled = errors.New("stream disabled")
	// ErrEventNotRequested: the stream does not carry the event's type.
	ErrEventNotRequested = errors.New("event type not requested by the stream")
)

// maxPushes is how many push results the server remembers.
const maxPushes = 50

// streamPushTimeout bounds one asynchronous verification push.
const streamPushTimeout = 30 * time.Second

// PushResult is what came of one event sent to the stream, for tests and
// the demo page. It never holds the token pushed.
type PushResult struct {
	// At is when the push was made (the server's clock).
	At time.Time `json:"at"`
	// Event is the event-type URI; Name its short form ("account-disabled").
	Event string `json:"event"`
	Name  string `json:"name"`
	// Sub is the subject's sub, when the event names one by sub.
	Sub string `json:"sub,omitempty"`
	// JTI is the SET's jti.
	JTI string `json:"jti,omitempty"`
	// Target is the delivery URL.
	Target string `json:"target"`
	// Sent is false when the stream did not push at all (Error says why).
	Sent bool `json:"sent"`
	// Status is the receiver's HTTP status; 0 when no answer came.
	Status int `json:"status"`
	// Answer is the start of the receiver's answer body (RFC 8935 errors).
	Answer string `json:"answer,omitempty"`
	// Error describes a push that failed or was not made.
	Error string `json:"error,omitempty"`
}

// EventName returns the short name of a stream event-type URI (its last
// path segment), as the demo and PushResult spell it.
func EventName(uri string) string {
	return uri[strings.LastIndex(uri, "/")+1:]
}

// StreamPushes returns the latest pushes to the stream (at most 50), oldest
// first, including verification pushes that stream:verify made and those it
// could not make.
func (s *Server) StreamPushes() []PushResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.stream.pushes)
}

// recordPushLocked remembers r.
func (s *Server) recordPushLocked(r PushResult) {
	st := &s.stream
	st.pushes = append(st.pushes, r)
	if len(st.pushes) > maxPushes {
		st.pushes = slices.Delete(st.pushes, 0, len(st.pushes)-maxPushes)
	}
}

// PushToStream signs ev as Google would and pushes it to the stream's
// delivery URL, as Google does when the event happens, and records the
// result (StreamPushes). The push is made only while the stream is enabled
// and carries ev's type. opts apply as in Transmitter.Sign. Errors:
// ErrNoStream, ErrStreamDisabled, ErrEventNotRequested (nothing sent, no
// result recorded); otherwise the result is returned, with the signing or
// transport error (ErrNotLoopback for a delivery URL off this machine)
// both in Result.Error and as the error. An HTTP error status from the
// receiver is not an error.
func (s *Server) PushToStream(ctx context.Context, ev Event, opts ...SETOption) (PushResult, error) {
	s.mu.Lock()
	st := &s.stream
	var err error
	switch {
	case !st.configured:
		err = ErrNoStream
	case !st.enabled:
		err = ErrStreamDisabled
	case !slices.Contains(st.events, ev.Type):
		err = ErrEventNotRequested
	}
	target := st.url
	s.mu.Unlock()
	if err != nil {
		return PushResult{}, fmt.Errorf("googlesim: push %s: %w", EventName(ev.Type), err)
	}
	return s.push(ctx, target, ev, opts)
}

// push signs and sends ev to target and records the result.
func (s *Server) push(ctx context.Context, target string, ev Event, opts []SETOption) (PushResult, error) {
	jti := strings.ToUpper(randomHex(16))
	res := PushResult{At: s.now(), Event: ev.Type, Name: EventName(ev.Type), JTI: jti, Target: target, Sent: true}
	if ev.Subject != nil && ev.Subject.Type != SubjectOAuthToken {
		res.Sub = ev.Subject.Sub
	}
	status, body, err := s.Transmitter().Push(ctx, target, ev, append([]SETOption{WithJTI(jti)}, opts...)...)
	res.Status = status
	res.Answer = string(body[:min(len(body), 512)])
	if err != nil {
		res.Error = err.Error()
		err = fmt.Errorf("googlesim: push %s: %w", res.Name, err)
	}
	s.mu.Lock()
	s.recordPushLocked(res)
	s.mu.Unlock()
	s.log.Info("googlesim: stream push", "event", res.Name, "status", res.Status, "error", res.Error)
	return res, err
}

// pushVerificationAsync pushes Verification(state) in the background, as
// Google does after stream:verify; a stream that is disabled or does not
// request verification events pushes nothing (the result says so). Close
// cancels the push and waits for it.
func (s *Server) pushVerificationAsync(state string) {
	ev := Verification(state)
	s.mu.Lock()
	st := &s.stream
	target := st.url
	var why string
	switch {
	case st.closed:
		s.mu.Unlock()
		return
	case !st.enabled:
		why = "not sent: the stream is disabled"
	case !slices.Contains(st.events, EventVerification):
		why = "not sent: the stream does not request verification events"
	}
	if why != "" {
		s.recordPushLocked(PushResult{At: s.now(), Event: ev.Type, Name: EventName(ev.Type), Target: target, Error: why})
		s.mu.Unlock()
		return
	}
	st.pushing.Add(1)
	s.mu.Unlock()
	go func() {
		defer st.pushing.Done()
		ctx, cancel := context.WithTimeout(context.Background(), streamPushTimeout)
		defer cancel()
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			select {
			case <-s.done:
				cancel()
			case <-stop:
			}
		}()
		_, _ = s.push(ctx, target, ev, nil) // recorded; nothing else to do with the error
	}()
}

// waitStreamPushes stops new asynchronous pushes and waits for those in
// flight; Close calls it after ending them.
func (s *Server) waitStreamPushes() {
	s.mu.Lock()
	s.stream.closed = true
	s.mu.Unlock()
	s.stream.pushing.Wait()
}
