package riscd

import (
	"time"
)

// Session is a browser session of riscd's own consent pages. The ID is a
// bearer secret: the store keeps only its SHA-256.
type Session struct {
	ID        Secret
	Sub       string
	Email     string
	CSRF      Secret    // per-session token for POST forms (encrypted at rest)
	CreatedAt time.Time // now if zero at CreateSession
	ExpiresAt time.Time // zero: never; at or after it, Session reports ErrNotFound
}

// Flow is the server-side record of one authorization request in progress,
// referenced by the browser's flow cookie and by the state parameter. It is
// single use: TakeFlow deletes it as it returns it.
type Flow struct {
	ID           Secret // cookie value; the store keeps only its SHA-256
	State        Secret // encrypted at rest, as are PKCEVerifier and Nonce
	PKCEVerifier Secret
	Nonce        Secret
	Features     []string
	Scopes       []string // requested
	Sub          string   // signed-in subject when the flow started, if any
	ConnectID    string   // the connect session it serves, if any
	CreatedAt    time.Time
}
