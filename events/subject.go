package events

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Subject is what an event is about. It is a closed set: the concrete types
// below are the only implementations, so a type switch over them can be
// exhaustive. Subjects are values; compare them with reflect.DeepEqual or
// through SubjectKey, not ==, since Aliases and Complex hold slices and
// interfaces.
type Subject interface {
	// Format returns the RFC 9493 spelling of the subject's format
	// ("iss_sub", "email", ...), whichever spelling the payload used.
	Format() string
	// String returns a short description for logs. It never holds more than
	// a few characters of a token identifier.
	String() string

	isSubject()
}

// Subject formats as Format returns them.
const (
	FormatIssSub          = "iss_sub"
	FormatEmail           = "email"
	FormatPhoneNumber     = "phone_number"
	FormatOpaque          = "opaque"
	FormatAccount         = "account"
	FormatDID             = "did"
	FormatURI             = "uri"
	FormatJWTID           = "jwt_id"
	FormatSAMLAssertionID = "saml_assertion_id"
	FormatIDTokenClaims   = "id_token_claims"
	FormatOAuthToken      = "oauth_token"
	FormatAliases         = "aliases"
	FormatComplex         = "complex"
)

// IssSub names a principal by issuer and subject identifier (Google's
// "iss-sub", RFC 9493's "iss_sub"). For Google, Sub is the permanent account
// identifier riscd keys grants on.
type IssSub struct{ Iss, Sub string }

// Email names a principal by email address: a hint, not a stable identifier.
type Email struct{ Address string }

// Phone names a principal by telephone number (Google's "phone", RFC 9493's
// "phone_number").
type Phone struct{ Number string }

// Opaque is a transmitter-specific identifier (RFC 9493 "opaque").
type Opaque struct{ ID string }

// Account is an "acct:" URI (RFC 9493 "account").
type Account struct{ URI string }

// DID is a decentralized identifier URL (RFC 9493 "did").
type DID struct{ URL string }

// URI names a principal by URI (RFC 9493 "uri").
type URI struct{ URI string }

// JWTID names a JWT by issuer and jti (SSF "jwt_id", also spelled "jwt-id").
type JWTID struct{ Iss, JTI string }

// SAMLAssertionID names a SAML assertion (SSF "saml_assertion_id").
type SAMLAssertionID struct{ Issuer, AssertionID string }

// IDTokenClaims is Google's "id_token_claims" subject: Iss and Sub identify
// the user, Email is only a hint.
type IDTokenClaims struct{ Iss, Sub, Email string }

// OAuthToken names one OAuth token by an identifier derived from it (Google's
// "oauth_token" subject of token-revoked). Token is that identifier, not the
// token: the first 16 characters of the refresh token when Alg is AlgPrefix,
// base64 of SHA-512 applied twice when Alg is AlgHashSHA512SHA512. Use
// Matches to compare it with a stored token.
type OAuthToken struct{ TokenType, Alg, Token string }

// Aliases lists several identifiers of one principal (RFC 9493 "aliases").
// Members are never Aliases themselves.
type Aliases struct{ Identifiers []Subject }

// Complex describes one principal through several facets (SSF "complex"):
// each member is optional and nil when absent; at least one is set. Members
// are never Complex themselves. Other holds members with names SSF does not
// define, keyed by name.
type Complex struct {
	User, Session, Device, Application, Tenant, OrgUnit, Group Subject
	Other                                                      map[string]Subject
}

// UnknownSubject is a subject whose format riscd does not know, kept as
// received so that nothing is lost.
type UnknownSubject struct {
	FormatName string
	Raw        json.RawMessage
}

func (IssSub) isSubject()          {}
func (Email) isSubject()           {}
func (Phone) isSubject()           {}
func (Opaque) isSubject()          {}
func (Account) isSubject()         {}
func (DID) isSubject()             {}
func (URI) isSubject()             {}
func (JWTID) isSubject()           {}
func (SAMLAssertionID) isSubject() {}
func (IDTokenClaims) isSubject()   {}
func (OAuthToken) isSubject()      {}
func (Aliases) isSubject()         {}
func (Complex) isSubject()         {}
func (UnknownSubject) isSubject()  {}

// Format implements Subject.
func (IssSub) Format() string { return FormatIssSub }

// Format implements Subject.
func (Email) Format() string { return FormatEmail }

// Format implements Subject.
func (Phone) Format() string { return FormatPhoneNumber }

// Format implements Subject.
func (Opaque) Format() string { return FormatOpaque }

// Format implements Subject.
func (Account) Format() string { return FormatAccount }

// Format implements Subject.
func (DID) Format() string { return FormatDID }

// Format implements Subject.
func (URI) Format() string { return FormatURI }

// Format implements Subject.
func (JWTID) Format() string { return FormatJWTID }

// Format implements Subject.
func (SAMLAssertionID) Format() string { return FormatSAMLAssertionID }

// Format implements Subject.
func (IDTokenClaims) Format() string { return FormatIDTokenClaims }

// Format implements Subject.
func (OAuthToken) Format() string { return FormatOAuthToken }

// Format implements Subject.
func (Aliases) Format() string { return FormatAliases }

// Format implements Subject.
func (Complex) Format() string { return FormatComplex }

// Format implements Subject: the format name as received.
func (u UnknownSubject) Format() string { return u.FormatName }

// short cuts s for a log line.
func short(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// String implements Subject.
func (s IssSub) String() string { return "iss_sub:" + short(s.Iss) + "|" + short(s.Sub) }

// String implements Subject.
func (s Email) String() string { return "email:" + short(s.Address) }

// String implements Subject.
func (s Phone) String() string { return "phone_number:" + short(s.Number) }

// String implements Subject.
func (s Opaque) String() string { return "opaque:" + short(s.ID) }

// String implements Subject.
func (s Account) String() string { return "account:" + short(s.URI) }

// String implements Subject.
func (s DID) String() string { return "did:" + short(s.URL) }

// String implements Subject.
func (s URI) String() string { return "uri:" + short(s.URI) }

// String implements Subject.
func (s JWTID) String() string { return "jwt_id:" + short(s.Iss) + "|" + short(s.JTI) }

// String implements Subject.
func (s SAMLAssertionID) String() string {
	return "saml_assertion_id:" + short(s.Issuer) + "|" + short(s.AssertionID)
}

// String implements Subject.
func (s IDTokenClaims) String() string {
	return "id_token_claims:" + short(s.Iss) + "|" + short(s.Sub)
}

// String implements Subject: the identifier is cut to its first 6 characters.
func (s OAuthToken) String() string {
	id := s.Token
	if len(id) > 6 {
		cut := 6
		for cut > 0 && !utf8.RuneStart(id[cut]) {
			cut--
		}
		id = id[:cut] + "..."
	}
	return "oauth_token:" + short(s.TokenType) + "/" + short(s.Alg) + "/" + id
}

// String implements Subject: the first identifier and how many there are.
func (s Aliases) String() string {
	if len(s.Identifiers) == 0 {
		return "aliases[]"
	}
	return "aliases[" + s.Identifiers[0].String() + " (of " + strconv.Itoa(len(s.Identifiers)) + ")]"
}

// String implements Subject: the first member set, in the order user,
// session, device, application, tenant, org_unit, group.
func (s Complex) String() string {
	for _, m := range s.members() {
		if m.s != nil {
			return "complex{" + m.name + ":" + m.s.String() + "}"
		}
	}
	return "complex{}"
}

// String implements Subject.
func (s UnknownSubject) String() string { return "unknown_format:" + short(s.FormatName) }

// complexMember is one named member of a Complex subject.
type complexMember struct {
	name string
	s    Subject
}

// members lists the SSF-defined members of c in a fixed order.
func (c Complex) members() []complexMember {
	return []complexMember{
		{"user", c.User}, {"session", c.Session}, {"device", c.Device},
		{"application", c.Application}, {"tenant", c.Tenant},
		{"org_unit", c.OrgUnit}, {"group", c.Group},
	}
}

// normalizeFormat maps the spellings riscd meets onto RFC 9493's: Google's
// "iss-sub" and "phone", the "jwt-id" of SSF drafts.
func normalizeFormat(f string) string {
	f = strings.ReplaceAll(strings.ToLower(f), "-", "_")
	if f == "phone" {
		return FormatPhoneNumber
	}
	return f
}
