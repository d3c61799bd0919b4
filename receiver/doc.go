// Package receiver is riscd's RFC 8935 push endpoint: it takes a Security
// Event Token (RFC 8417) POSTed by a transmitter (Google's Cross-Account
// Protection, or a Shared Signals Framework 1.0 transmitter), verifies it,
// commits it durably to the store's inbox and answers.
//
// # Answers
//
// 202 Accepted, with an empty body, only after the verified SET is committed
// under its unique (iss, jti); a redelivered SET gets 202 again and is not
// queued twice. A token that fails parsing or validation gets 400 with
// Content-Type application/json, Content-Language en and
// {"err": code, "description": text}, code being one of invalid_request,
// invalid_key, invalid_issuer and invalid_audience; descriptions are short,
// never show internals and quote at most 64 characters of input. A transient
// fault on riscd's side (store, discovery, keys not reachable) gets 503 with
// Retry-After and {"err": "temporarily_unavailable", ...}, so the
// transmitter retries instead of dropping the event. Other methods than POST
// get 405.
//
// Each SET is committed through the Inbox's PutInbox, which returns once
// the entry is durable; with a store engine's Store.Inbox (riscd's)
// concurrent SETs share one durable commit.
//
// The inbox entry records the transmitter's name, its issuer as configured
// or discovered (so a redelivery under the other trailing-slash spelling is
// recognised as one), the jti, the events package's subject key, the event
// types, the raw token, the verified payload and the time of receipt.
//
// # Validation
//
// The transmitter is picked by the SET's iss, read from the unverified
// payload for that purpose only. Then: the protected header is one JSON
// object in UTF-8 without duplicate members (read with jsontext); alg is in
// the transmitter's allow-list (Transmitter.Algorithms, else
// Config.Algorithms; asymmetric algorithms only, RS256 by default) and, when
// the JWK names an alg, equal to it; a crit header is refused; kid is required and names a key
// of the transmitter's JWKS; typ, when present (always, for SSF
// transmitters), is secevent+jwt; jku, x5u, jwk and x5c are ignored. The
// signature is verified with the allow-listed algorithm, never the one a key
// or a library infers, through jwx (crypto/rsa for RS* and PS*, RSA keys of
// 2048 bits or more). Then the payload is parsed by the events package
// (structure, duplicate members, claim types, events) and checked against the
// transmitter: iss equal to its issuer (the spelling with or without a
// trailing slash), aud containing one of its audiences, iat not more than
// Config.MaxIATSkew ahead. exp is not checked: SETs describe the past.
//
// # Keys and discovery
//
// Transmitters are described by a discovery URL (issuer, jwks_uri) or by an
// issuer and a JWKS URL. Discovery and key loading run in the background for
// the lifetime of New's context, retried with backoff; until they succeed the
// receiver answers 503. Key sets live in a jwk.Cache, refreshed as the JWKS
// response's caching headers say, clamped to Config.MinRefresh ..
// Config.MaxRefresh. A token naming an unknown kid triggers a refetch of
// the key set unless the last one is too recent: the least time between
// two starts at one second, doubles after each refetch that brings no new
// kid up to Config.UnknownKidRefetch (5 seconds) and is one second again
// after one that brings a new kid, so a flood of made-up kids delays a
// rotated key by at most that bound. Concurrent lookups share the refetch,
// which runs on New's context: a request that ends stops waiting, not the
// fetch. Refetches bypass the jwk.Cache (fetching through it adds a refresh
// schedule each time), and a failed one keeps the keys already loaded.
// Beyond a map lookup, the request path does JWKS work only for an
// unknown kid.
//
// # Observation
//
// Config.Observe, when set, hears of every request once (transmitter,
// outcome, RFC 8935 err code, time to verify and store), and
// Config.ObserveJWKS of every key set fetch and its error, so that metrics
// can be kept without the receiver knowing of them.
//
// Nothing here acts on an event: the dispatcher (package events) does, after
// the receiver's 202.
package receiver
