package receiver

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/riscd/riscd/events"
)

// b64 decodes JWS segments: base64url, no padding, no stray bits.
var b64 = base64.RawURLEncoding.Strict()

// compact is a compact JWS split into its decoded parts.
type compact struct {
	header       []byte
	payload      []byte
	signature    []byte
	signingInput []byte // BASE64URL(header) "." BASE64URL(payload), as received
}

// splitCompact splits a compact JWS. Only the base64url alphabet and exactly
// two dots are accepted (base64's decoder would skip line breaks; padding is
// not base64url's). Errors are rejections (invalid_request).
func splitCompact(tok string) (compact, error) {
	if tok == "" {
		return compact{}, reject(CodeInvalidRequest, "empty body")
	}
	dots := 0
	for i := 0; i < len(tok); i++ {
		switch c := tok[i]; {
		case c == '.':
			dots++
		case !isB64URL(c):
			return compact{}, reject(CodeInvalidRequest, "not a compact JWS")
		}
	}
	if dots != 2 {
		return compact{}, reject(CodeInvalidRequest, "not a compact JWS")
	}
	i, j := strings.IndexByte(tok, '.'), strings.LastIndexByte(tok, '.')
	var c compact
	var err error
	if c.header, err = b64.DecodeString(tok[:i]); err != nil || len(c.header) == 0 {
		return compact{}, reject(CodeInvalidRequest, "header is not base64url")
	}
	if c.payload, err = b64.DecodeString(tok[i+1 : j]); err != nil || len(c.payload) == 0 {
		return compact{}, reject(CodeInvalidRequest, "payload is not base64url")
	}
	if c.signature, err = b64.DecodeString(tok[j+1:]); err != nil {
		return compact{}, reject(CodeInvalidRequest, "signature is not base64url")
	}
	c.signingInput = []byte(tok[:j])
	return c, nil
}

func isB64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// header is what the receiver reads of a JWS protected header. jku, x5u,
// jwk and x5c are never read: keys come from the transmitter's key set only.
type header struct {
	alg, kid string
	typ      string
	hasTyp   bool
}

// parseHeader checks a protected header: one JSON object without duplicate
// members; alg a string; kid and typ strings when present; typ, when present,
// secevent+jwt; no crit (riscd understands no JWS extension). Errors are
// rejections (invalid_request).
func parseHeader(b []byte) (header, error) {
	if err := events.CheckJSON(b); err != nil {
		return header{}, reject(CodeInvalidRequest, "header: "+events.Description(err))
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return header{}, &rejection{code: CodeInvalidRequest, desc: "header is not a JSON object", cause: err}
	}
	if _, ok := m["crit"]; ok {
		return header{}, reject(CodeInvalidRequest, "crit header is not supported")
	}
	var h header
	var ok bool
	if h.alg, ok = stringMember(m, "alg"); !ok || h.alg == "" {
		return header{}, reject(CodeInvalidRequest, "header: alg is missing or not a string")
	}
	if h.kid, ok = stringMember(m, "kid"); !ok {
		return header{}, reject(CodeInvalidRequest, "header: kid is not a string")
	}
	if h.typ, ok = stringMember(m, "typ"); !ok {
		return header{}, reject(CodeInvalidRequest, "header: typ is not a string")
	}
	_, h.hasTyp = m["typ"]
	if h.hasTyp && !isSETType(h.typ) {
		return header{}, reject(CodeInvalidRequest, "header: typ is not secevent+jwt")
	}
	return h, nil
}

// stringMember returns the string member name of m: "" and true when it is
// absent, false when it is present but not a JSON string.
func stringMember(m map[string]json.RawMessage, name string) (string, bool) {
	raw, ok := m[name]
	if !ok {
		return "", true
	}
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// isSETType reports whether typ names the SET media type: secevent+jwt,
// case-insensitively, with or without the application/ prefix.
func isSETType(typ string) bool {
	const prefix = "application/"
	if len(typ) > len(prefix) && strings.EqualFold(typ[:len(prefix)], prefix) {
		typ = typ[len(prefix):]
	}
	return strings.EqualFold(typ, "secevent+jwt")
}
