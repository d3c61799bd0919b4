// Package stream manages a Google Cloud project's Cross-Account Protection
// (RISC) event stream through Google's management API
// (https://risc.googleapis.com/v1beta), and checks that the stream stays
// healthy.
//
// A Client authenticates as a service account holding the RISC
// Configuration Admin role (roles/riscconfigs.admin): each call carries a
// self-signed JWT made from the account's JSON key, with the audience
// Audience. It reads and replaces the stream's configuration (Get, Update,
// which also reports the requested event types Google dropped), reads and
// sets its status (Status, SetStatus) and asks Google for a verification
// event (Verify).
//
// A Checker runs in the daemon: every interval it reads the status (it must
// be enabled), sends a verification with a random state and asks the
// daemon whether that event arrived before a deadline.
//
// Errors: Google's error answers come back as *Error, whose message says
// what to do about them (grant a role, fix the delivery URL, create the
// stream first) and which matches one of the sentinels below with
// errors.Is (ErrNoStream, ErrMissingRole, ...). New wraps ErrInvalidKey
// when the key file is not a service account key, and NewChecker wraps
// ErrInvalidConfig. Neither the key nor the bearer token ever appears in an
// error string.
package stream
