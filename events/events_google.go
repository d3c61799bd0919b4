package events

// SessionsRevoked (RISC sessions-revoked, Google): end the user's open
// sessions. Google requires receivers to act on it. RISC 1.0 deprecates it in
// favour of CAEP's SessionRevoked.
type SessionsRevoked struct{ base }

// TokensRevoked (Google's oauth tokens-revoked): every token of the user's
// grant to the project is revoked. Google requires ending sessions if the
// grant was for sign-in, and suggests deleting every stored token.
type TokensRevoked struct{ base }

// TokenRevoked (Google's oauth token-revoked): one refresh token is revoked.
// Token names it by identifier; delete the matching refresh token and ask for
// consent again next time one is needed. Token is also the event's Subject.
type TokenRevoked struct {
	base
	Token OAuthToken
}

// Account-disabled reasons Google sends. Other values may come from other
// transmitters; "" means none was given.
const (
	ReasonHijacking   = "hijacking"
	ReasonBulkAccount = "bulk-account"
)

// AccountDisabled (RISC account-disabled): the account was disabled. Reason
// is ReasonHijacking (Google requires ending open sessions), ReasonBulkAccount
// (suggested: review the account's activity), another value, or "" (suggested:
// disable sign-in and email recovery for the account).
type AccountDisabled struct {
	base
	Reason string
}

// AccountEnabled (RISC account-enabled): the account was enabled again.
type AccountEnabled struct{ base }

// AccountPurged (RISC account-purged): the account was deleted for good.
type AccountPurged struct{ base }

// AccountCredentialChangeRequired (RISC account-credential-change-required):
// the user had to change a credential; Google suggests watching for
// suspicious activity.
type AccountCredentialChangeRequired struct{ base }

// Verification (Google's risc verification or SSF's ssf verification): a test
// event the transmitter sent on request. State echoes the state the receiver
// asked for, "" when absent. Type tells which of the two URIs it came under.
type Verification struct {
	base
	State string
}

// subjectOnly finishes the decoding of an event type with no members of its
// own: it only needs a subject.
func subjectOnly(b base, where string, e Event) (Event, error) {
	if err := b.requireSubject(where); err != nil {
		return nil, err
	}
	return e, nil
}

func decodeSessionsRevoked(_ object, b base, w string) (Event, error) {
	return subjectOnly(b, w, SessionsRevoked{b})
}

func decodeTokensRevoked(_ object, b base, w string) (Event, error) {
	return subjectOnly(b, w, TokensRevoked{b})
}

func decodeTokenRevoked(_ object, b base, w string) (Event, error) {
	if err := b.requireSubject(w); err != nil {
		return nil, err
	}
	tok, ok := b.subject.(OAuthToken)
	if !ok {
		return nil, malformed("%s: subject is not an oauth_token", w)
	}
	return TokenRevoked{base: b, Token: tok}, nil
}

func decodeAccountDisabled(o object, b base, w string) (Event, error) {
	reason, err := o.optionalStr(w, "reason")
	if err != nil {
		return nil, err
	}
	return subjectOnly(b, w, AccountDisabled{base: b, Reason: reason})
}

func decodeAccountEnabled(_ object, b base, w string) (Event, error) {
	return subjectOnly(b, w, AccountEnabled{b})
}

func decodeAccountPurged(_ object, b base, w string) (Event, error) {
	return subjectOnly(b, w, AccountPurged{b})
}

func decodeAccountCredentialChangeRequired(_ object, b base, w string) (Event, error) {
	return subjectOnly(b, w, AccountCredentialChangeRequired{b})
}

func decodeVerification(o object, b base, w string) (Event, error) {
	state, err := o.optionalStr(w, "state")
	if err != nil {
		return nil, err
	}
	return Verification{base: b, State: state}, nil
}
