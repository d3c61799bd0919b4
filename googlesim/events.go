package googlesim

// Event type URIs of the events Google sends (Google's "Protect user accounts
// with Cross-Account Protection" page), plus
// account-purged, which other transmitters send. Note the oauth namespace of
// the two token events.
const (
	EventSessionsRevoked                 = "https://schemas.openid.net/secevent/risc/event-type/sessions-revoked"
	EventTokensRevoked                   = "https://schemas.openid.net/secevent/oauth/event-type/tokens-revoked"
	EventTokenRevoked                    = "https://schemas.openid.net/secevent/oauth/event-type/token-revoked"
	EventAccountDisabled                 = "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
	EventAccountEnabled                  = "https://schemas.openid.net/secevent/risc/event-type/account-enabled"
	EventAccountCredentialChangeRequired = "https://schemas.openid.net/secevent/risc/event-type/account-credential-change-required"
	EventVerification                    = "https://schemas.openid.net/secevent/risc/event-type/verification"
	EventAccountPurged                   = "https://schemas.openid.net/secevent/risc/event-type/account-purged"
)

// Subject types, in Google's legacy subject_type spelling.
const (
	SubjectIssSub        = "iss-sub"
	SubjectIDTokenClaims = "id_token_claims"
	SubjectOAuthToken    = "oauth_token"
)

// Reasons of an account-disabled event. The empty reason leaves the member
// out, as Google does for other disablements.
const (
	ReasonHijacking   = "hijacking"
	ReasonBulkAccount = "bulk-account"
)

// Subject names whom an event is about. Type selects the members written:
// iss-sub and id_token_claims write iss, sub (and email when set);
// oauth_token writes token_type, token_identifier_alg and token.
type Subject struct {
	Type string
	// Iss is the subject's issuer; empty means the transmitter's issuer.
	Iss   string
	Sub   string
	Email string
	// TokenType is "refresh_token", the only type Google sends.
	TokenType          string
	TokenIdentifierAlg string
	Token              string
}

// Event is one security event before signing: its type URI, its subject
// (nil for none, as in verification) and its other members.
type Event struct {
	Type    string
	Subject *Subject
	Fields  map[string]any
}

func issSub(sub string) *Subject { return &Subject{Type: SubjectIssSub, Sub: sub} }

// SessionsRevoked: the user's sessions were revoked; end them.
func SessionsRevoked(sub string) Event {
	return Event{Type: EventSessionsRevoked, Subject: issSub(sub)}
}

// TokensRevoked: every OAuth token the user gave the project was revoked.
func TokensRevoked(sub string) Event {
	return Event{Type: EventTokensRevoked, Subject: issSub(sub)}
}

// TokenRevoked: one refresh token was revoked, identified by alg
// (IdentifierPrefix or IdentifierHash) computed from refreshToken.
func TokenRevoked(refreshToken string, alg TokenIdentifierAlg) Event {
	return TokenRevokedIdentifier(alg, TokenIdentifier(refreshToken, alg))
}

// TokenRevokedIdentifier is TokenRevoked with an identifier the caller
// computed (another base64 alphabet, a colliding prefix, garbage).
func TokenRevokedIdentifier(alg TokenIdentifierAlg, identifier string) Event {
	return Event{Type: EventTokenRevoked, Subject: &Subject{
		Type: SubjectOAuthToken, TokenType: "refresh_token",
		TokenIdentifierAlg: string(alg), Token: identifier,
	}}
}

// AccountDisabled: the account was disabled, for reason (ReasonHijacking,
// ReasonBulkAccount, or "" for none).
func AccountDisabled(sub, reason string) Event {
	ev := Event{Type: EventAccountDisabled, Subject: issSub(sub)}
	if reason != "" {
		ev.Fields = map[string]any{"reason": reason}
	}
	return ev
}

// AccountEnabled: a disabled account was enabled again.
func AccountEnabled(sub string) Event {
	return Event{Type: EventAccountEnabled, Subject: issSub(sub)}
}

// AccountCredentialChangeRequired: Google suggests watching the account.
func AccountCredentialChangeRequired(sub string) Event {
	return Event{Type: EventAccountCredentialChangeRequired, Subject: issSub(sub)}
}

// AccountPurged: the account was deleted for good.
func AccountPurged(sub string) Event {
	return Event{Type: EventAccountPurged, Subject: issSub(sub)}
}

// Verification: the test event a stream:verify call triggers, carrying
// the caller's state and no subject.
func Verification(state string) Event {
	return Event{Type: EventVerification, Fields: map[string]any{"state": state}}
}

// json renders the subject in Google's legacy spelling, or in
// RFC 9493's (format, iss_sub) when rfc9493 is set.
func (sj Subject) json(defaultIss string, rfc9493 bool) map[string]any {
	m := map[string]any{}
	typ := sj.Type
	switch sj.Type {
	case SubjectOAuthToken:
		m["token_type"] = sj.TokenType
		m["token_identifier_alg"] = sj.TokenIdentifierAlg
		m["token"] = sj.Token
	default:
		iss := sj.Iss
		if iss == "" {
			iss = defaultIss
		}
		m["iss"], m["sub"] = iss, sj.Sub
		if sj.Email != "" {
			m["email"] = sj.Email
		}
		if rfc9493 && typ == SubjectIssSub {
			typ = "iss_sub"
		}
	}
	if rfc9493 {
		m["format"] = typ
	} else {
		m["subject_type"] = typ
	}
	return m
}
