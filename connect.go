package riscd

import (
	"time"
)

// ConnectStatus is where a connect session stands.
type ConnectStatus string

// Connect session states. A session starts pending, becomes started when
// its browser opens its URL, and ends connected, denied or error; an ended
// session never changes again.
const (
	ConnectPending   ConnectStatus = "pending"   // created; its URL not yet opened
	ConnectStarted   ConnectStatus = "started"   // its browser is at the provider's consent
	ConnectConnected ConnectStatus = "connected" // consent saved; Sub, GrantID and Scopes are set
	ConnectDenied    ConnectStatus = "denied"    // the user (or the provider) refused the consent
	ConnectError     ConnectStatus = "error"     // anything else: reuse, tampering, another browser, a failure
)

// Ended reports whether s is a final state.
func (s ConnectStatus) Ended() bool {
	return s == ConnectConnected || s == ConnectDenied || s == ConnectError
}

// ConnectSession is an app's request to send one of its own users through
// the consent flow and learn which account and scopes that user granted.
//
// ID is not a bearer credential: it travels in the URL the browser returns
// to the app with, and reading the result needs the app's token. Starting
// the consent needs StartToken, a bearer secret that only the session's URL
// holds (the store keeps its SHA-256 in StartDigest); once started, the
// browser is bound to the consent flow by the flow's cookie, and StateDigest
// (the SHA-256 of the flow's state) lets an answer that comes back to
// another browser find, and end, the session it belongs to.
type ConnectSession struct {
	ID          string // 32 hex characters, chosen by the caller
	AppUser     string // the app's identifier of its user
	Features    []string
	ReturnTo    string // where the browser goes at the end (an allowed URL)
	LoginHint   string // passed to the provider; personal data, sealed at rest
	StartDigest []byte // SHA-256 of the start token (IDDigest)
	StateDigest []byte // SHA-256 of the flow's state, once started
	Status      ConnectStatus
	Sub         string // the account that consented, once connected
	Email       string // its email, display only; sealed at rest
	GrantID     string
	Scopes      []string // granted, sorted
	Error       string   // a short code for denied and error ("access_denied", "reused", ...)
	CreatedAt   time.Time
	ExpiresAt   time.Time // required; see Expired
}

// Expired reports whether s has expired at now: then it is no longer
// shown to the app, and a browser that comes with it is sent back with
// status=error.
func (s ConnectSession) Expired(now time.Time) bool { return !now.Before(s.ExpiresAt) }

// ConnectSessionTTL is how long a connect session lives.
const ConnectSessionTTL = 10 * time.Minute

// AppUserLink says that the app's user AppUser connected the account Sub.
// An app user may be linked to several accounts, and an account to several
// app users.
type AppUserLink struct {
	AppUser   string
	Sub       string
	CreatedAt time.Time // when first linked
}

// MaxAppUser is the longest app user identifier, in bytes: every engine
// stores one this long and refuses a longer one (or an empty one) with
// ErrInvalid.
const MaxAppUser = 255
