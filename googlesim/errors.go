package googlesim

import "errors"

// Sentinel errors, wrapped with context; check them with errors.Is.
var (
	// ErrInvalidConfig: New was given a Config it cannot run with.
	ErrInvalidConfig = errors.New("invalid config")
	// ErrNotLoopback: Start was asked to listen beyond the loopback interface.
	ErrNotLoopback = errors.New("address is not loopback")
	// ErrStarted: Start was called on a server that is already listening or
	// that has a base URL set.
	ErrStarted = errors.New("server already started")
	// ErrUnknownEndpoint: SetFault named an endpoint that takes no faults.
	ErrUnknownEndpoint = errors.New("unknown endpoint")
	// ErrNoIssuer: a SET or ID token was to be signed before the server knew
	// its issuer (no Config.Issuer, no Start, no SetBaseURL).
	ErrNoIssuer = errors.New("issuer unknown")
	// ErrUnknownUser: a user named by sub or email does not exist.
	ErrUnknownUser = errors.New("unknown user")
)
