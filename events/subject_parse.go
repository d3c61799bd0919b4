package events

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// subjectNesting says where a subject sits, to enforce RFC 9493's and SSF's
// nesting rules: no aliases inside aliases, no complex inside complex.
type subjectNesting struct{ inAliases, inComplex bool }

// complexNames returns the SSF-defined member names of a complex subject.
func complexNames() []string {
	return []string{"user", "session", "device", "application", "tenant", "org_unit", "group"}
}

// parseSubject decodes a subject object in either spelling: Google's
// "subject_type" or RFC 9493's "format". A complex subject may also come
// without a format (SSF drafts). where names the member in errors.
func parseSubject(ix *index, raw jsontext.Value, where string, n subjectNesting) (Subject, error) {
	o, err := ix.asObject(raw, where)
	if err != nil {
		return nil, err
	}
	format, hasFormat, err := o.str(where, "format")
	if err != nil {
		return nil, err
	}
	stype, hasType, err := o.str(where, "subject_type")
	if err != nil {
		return nil, err
	}
	switch {
	case hasFormat && hasType && normalizeFormat(format) != normalizeFormat(stype):
		return nil, malformed("%s: format and subject_type disagree", where)
	case !hasFormat && hasType:
		format = stype
	case !hasFormat && !hasType:
		if !looksComplex(o) {
			return nil, malformed("%s: format is missing", where)
		}
		format = FormatComplex
	}
	if format == "" {
		return nil, malformed("%s: format is empty", where)
	}
	switch normalizeFormat(format) {
	case FormatIssSub:
		iss, err := o.requiredStr(where, "iss")
		if err != nil {
			return nil, err
		}
		sub, err := o.requiredStr(where, "sub")
		if err != nil {
			return nil, err
		}
		return IssSub{Iss: iss, Sub: sub}, nil
	case FormatEmail:
		v, err := o.requiredStr(where, "email")
		return orNil(Email{Address: v}, err)
	case FormatPhoneNumber:
		v, err := o.firstStr(where, "phone_number", "phone")
		return orNil(Phone{Number: v}, err)
	case FormatOpaque:
		v, err := o.requiredStr(where, "id")
		return orNil(Opaque{ID: v}, err)
	case FormatAccount:
		v, err := o.requiredStr(where, "uri")
		return orNil(Account{URI: v}, err)
	case FormatDID:
		v, err := o.requiredStr(where, "url")
		return orNil(DID{URL: v}, err)
	case FormatURI:
		v, err := o.requiredStr(where, "uri")
		return orNil(URI{URI: v}, err)
	case FormatJWTID:
		iss, err := o.requiredStr(where, "iss")
		if err != nil {
			return nil, err
		}
		jti, err := o.requiredStr(where, "jti")
		return orNil(JWTID{Iss: iss, JTI: jti}, err)
	case FormatSAMLAssertionID:
		iss, err := o.requiredStr(where, "issuer")
		if err != nil {
			return nil, err
		}
		id, err := o.requiredStr(where, "assertion_id")
		return orNil(SAMLAssertionID{Issuer: iss, AssertionID: id}, err)
	case FormatIDTokenClaims:
		return parseIDTokenClaims(o, where)
	case FormatOAuthToken:
		return parseOAuthToken(o, where)
	case FormatAliases:
		return parseAliases(o, where, n)
	case FormatComplex:
		return parseComplex(o, where, n)
	default:
		return UnknownSubject{FormatName: format, Raw: append(json.RawMessage(nil), raw...)}, nil
	}
}

// orNil returns s, or nil when err is set, so a decoder never hands back a
// half-filled subject.
func orNil(s Subject, err error) (Subject, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}

// looksComplex reports whether o has a member named like a complex subject's.
func looksComplex(o object) bool {
	for _, name := range complexNames() {
		if _, ok := o.value(name); ok {
			return true
		}
	}
	return false
}

func parseIDTokenClaims(o object, where string) (Subject, error) {
	iss, err := o.requiredStr(where, "iss")
	if err != nil {
		return nil, err
	}
	sub, err := o.requiredStr(where, "sub")
	if err != nil {
		return nil, err
	}
	email, err := o.optionalStr(where, "email")
	if err != nil {
		return nil, err
	}
	return IDTokenClaims{Iss: iss, Sub: sub, Email: email}, nil
}

func parseOAuthToken(o object, where string) (Subject, error) {
	typ, err := o.requiredStr(where, "token_type")
	if err != nil {
		return nil, err
	}
	alg, err := o.requiredStr(where, "token_identifier_alg")
	if err != nil {
		return nil, err
	}
	tok, err := o.requiredStr(where, "token")
	if err != nil {
		return nil, err
	}
	return OAuthToken{TokenType: typ, Alg: alg, Token: tok}, nil
}

func parseAliases(o object, where string, n subjectNesting) (Subject, error) {
	if n.inAliases {
		return nil, malformed("%s: aliases inside aliases", where)
	}
	v, ok := o.value("identifiers")
	if !ok {
		return nil, malformed("%s: identifiers is missing", where)
	}
	if !isKind(v, '[') {
		return nil, malformed("%s: identifiers is not an array", where)
	}
	items, err := o.ix.arrayItems(v)
	if err != nil {
		return nil, malformed("%s: identifiers is not an array", where)
	}
	if len(items) == 0 {
		return nil, malformed("%s: identifiers is empty", where)
	}
	inner := subjectNesting{inAliases: true, inComplex: n.inComplex}
	ids := make([]Subject, 0, len(items))
	for _, it := range items {
		s, err := parseSubject(o.ix, it, where+".identifiers", inner)
		if err != nil {
			return nil, err
		}
		ids = append(ids, s)
	}
	return Aliases{Identifiers: ids}, nil
}

func parseComplex(o object, where string, n subjectNesting) (Subject, error) {
	if n.inComplex {
		return nil, malformed("%s: complex inside complex", where)
	}
	inner := subjectNesting{inAliases: n.inAliases, inComplex: true}
	var c Complex
	slots := map[string]*Subject{
		"user": &c.User, "session": &c.Session, "device": &c.Device,
		"application": &c.Application, "tenant": &c.Tenant,
		"org_unit": &c.OrgUnit, "group": &c.Group,
	}
	members := slices.Clone(o.members)
	slices.SortFunc(members, func(a, b member) int { return strings.Compare(a.name, b.name) })
	count := 0
	for _, m := range members {
		name, raw := m.name, m.value
		if name == "format" || name == "subject_type" || isNull(raw) {
			continue
		}
		slot, known := slots[name]
		if !known && !isKind(raw, '{') {
			continue // an extra member that is not a subject: not ours to judge
		}
		s, err := parseSubject(o.ix, raw, where+"."+clipName(name), inner)
		if err != nil {
			return nil, err
		}
		count++
		if known {
			*slot = s
			continue
		}
		if c.Other == nil {
			c.Other = make(map[string]Subject)
		}
		c.Other[name] = s
	}
	if count == 0 {
		return nil, malformed("%s: complex subject has no members", where)
	}
	return c, nil
}

// clipName shortens a member name taken from input for use in a "where".
func clipName(name string) string {
	q := quote(name)
	return q[1 : len(q)-1]
}
