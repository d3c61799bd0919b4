package events

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// maxKeyLen bounds SubjectKey's result; longer keys are replaced by a hash.
const maxKeyLen = 512

// SubjectKey returns a stable string naming the principal s is about, for
// per-subject ordering and for indexing: "iss_sub:<iss>|<sub>" for IssSub
// and IDTokenClaims alike (a trailing slash on the issuer is dropped, so
// Google's two issuer spellings agree), "email:<lower-cased address>",
// "opaque:<id>", and so on. Aliases take the key of their first IssSub or
// IDTokenClaims member, else of their first member; Complex the key of its
// user, else of its first member set. An OAuthToken's key is derived from a
// hash of its identifier, so the key reveals nothing of the token. Keys
// longer than 512 bytes are replaced by "h:" and a SHA-256. A nil subject
// gives "".
func SubjectKey(s Subject) string {
	k := subjectKey(s)
	if len(k) > maxKeyLen {
		return "h:" + hashHex(k)
	}
	return k
}

func subjectKey(s Subject) string {
	switch v := s.(type) {
	case nil:
		return ""
	case IssSub:
		return issSubKey(v.Iss, v.Sub)
	case IDTokenClaims:
		return issSubKey(v.Iss, v.Sub)
	case Email:
		return "email:" + strings.ToLower(v.Address)
	case Phone:
		return "phone_number:" + v.Number
	case Opaque:
		return "opaque:" + v.ID
	case Account:
		return "account:" + v.URI
	case DID:
		return "did:" + v.URL
	case URI:
		return "uri:" + v.URI
	case JWTID:
		return "jwt_id:" + v.Iss + "|" + v.JTI
	case SAMLAssertionID:
		return "saml_assertion_id:" + v.Issuer + "|" + v.AssertionID
	case OAuthToken:
		id := v.Token
		if isHashAlg(v.Alg) {
			id = NormalizeTokenHash(id)
		}
		return "oauth_token:" + hashHex(v.Alg + "\x00" + id)[:32]
	case Aliases:
		for _, id := range v.Identifiers {
			if _, ok := IssSubOf(id); ok {
				return subjectKey(id)
			}
		}
		if len(v.Identifiers) > 0 {
			return subjectKey(v.Identifiers[0])
		}
		return ""
	case Complex:
		for _, m := range v.members() {
			if m.s != nil {
				return subjectKey(m.s)
			}
		}
		return ""
	case UnknownSubject:
		return "format:" + v.FormatName + ":" + hashHex(string(v.Raw))[:32]
	default:
		return ""
	}
}

func issSubKey(iss, sub string) string {
	return "iss_sub:" + strings.TrimSuffix(iss, "/") + "|" + sub
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// IssSubOf returns the issuer and subject identifier naming the user s is
// about: s itself when it is an IssSub, the iss and sub of IDTokenClaims,
// Complex's user member, or the first Aliases member that yields one. It
// reports false for every other subject; the caller decides which issuers it
// trusts (for Google: https://accounts.google.com, with or without the slash).
func IssSubOf(s Subject) (IssSub, bool) {
	switch v := s.(type) {
	case IssSub:
		return v, true
	case IDTokenClaims:
		return IssSub{Iss: v.Iss, Sub: v.Sub}, true
	case Complex:
		if v.User != nil {
			return IssSubOf(v.User)
		}
	case Aliases:
		for _, id := range v.Identifiers {
			if r, ok := IssSubOf(id); ok {
				return r, true
			}
		}
	}
	return IssSub{}, false
}

// EmailOf returns the email address s carries, as a display hint only: an
// Email subject, IDTokenClaims' email, Complex's user member, or the first
// Aliases member that has one. It reports false when there is none.
func EmailOf(s Subject) (string, bool) {
	switch v := s.(type) {
	case Email:
		return v.Address, true
	case IDTokenClaims:
		return v.Email, v.Email != ""
	case Complex:
		if v.User != nil {
			return EmailOf(v.User)
		}
	case Aliases:
		for _, id := range v.Identifiers {
			if r, ok := EmailOf(id); ok {
				return r, true
			}
		}
	}
	return "", false
}
