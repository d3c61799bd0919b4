// Package events says what a security event is in riscd: the typed events of
// Google's Cross-Account Protection (RISC), of the OpenID RISC 1.0, CAEP 1.0
// and Shared Signals Framework 1.0 profiles, the subjects they are about, the
// and the parsing of a verified SET payload in both of the wire formats riscd
// meets. It imports nothing of riscd's: package dispatch hands stored events
// to riscd's handlers.
//
// # Model
//
// A Subject is a closed set of concrete types (IssSub, Email, Phone, Opaque,
// Account, DID, URI, JWTID, SAMLAssertionID, IDTokenClaims, OAuthToken,
// Aliases, Complex and UnknownSubject), so a type switch over it can be
// exhaustive. An Event is likewise one concrete type per event-type URI
// (SessionsRevoked, TokenRevoked, AccountDisabled, SessionRevoked, ...); an
// event type riscd does not know is kept as Unknown with its raw JSON, never
// dropped. SubjectKey gives the stable string riscd orders work by, and
// IssSubOf the issuer and subject identifier naming the user, whichever
// subject format carried them.
//
// # Parsing
//
// Registry maps event-type URIs to decoders. NewRegistry returns a fresh one
// knowing every type in this package; there is no package-level registry.
// Registry.Parse validates the structure of a payload whose signature,
// issuer and audience the receiver has already checked (or is about to):
// claims of the right JSON types, no duplicate member names at any depth, no
// invalid UTF-8, every event decoded by its decoder. The JSON text itself is
// read by github.com/go-json-experiment/json, never by hand. Parse never
// panics on a missing or mistyped member; it returns an error for which
// errors.Is(err, ErrMalformed) holds and whose Description is safe to show
// the transmitter. Policy (which issuers, audiences and clock skew are
// acceptable) is the receiver's job.
//
// FormatGoogle is Google's legacy shape, where each event carries its own
// "subject" with a "subject_type"; FormatSSF is the Shared Signals shape,
// with a required top-level "sub_id" and no "sub". Both accept both subject
// spellings ("subject_type" and RFC 9493's "format").
//
// Nothing in this package builds, signs or verifies a SET: it only reads
// payloads that the receiver verified.
package events
