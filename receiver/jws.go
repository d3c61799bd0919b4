package receiver

import (
	"bytes"
	"encoding/base64"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
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
// not base64url's). The parts are decoded into one new buffer; signingInput
// shares tok. Errors are rejections (invalid_request).
func splitCompact(tok []byte) (compact, error) {
	if len(tok) == 0 {
		return compact{}, reject(CodeInvalidRequest, "empty body")
	}
	dots := 0
	for _, c := range tok {
		switch jwsOctet[c] {
		case octetDot:
			dots++
		case octetOther:
			return compact{}, reject(CodeInvalidRequest, "not a compact JWS")
		}
	}
	if dots != 2 {
		return compact{}, reject(CodeInvalidRequest, "not a compact JWS")
	}
	i, j := bytes.IndexByte(tok, '.'), bytes.LastIndexByte(tok, '.')
	buf := make([]byte, b64.DecodedLen(i)+b64.DecodedLen(j-i-1)+b64.DecodedLen(len(tok)-j-1))
	// decode decodes src into the front of buf and cuts it off.
	decode := func(src []byte) ([]byte, error) {
		n, err := b64.Decode(buf, src)
		part := buf[:n:n]
		buf = buf[n:]
		return part, err
	}
	var c compact
	var err error
	if c.header, err = decode(tok[:i]); err != nil || len(c.header) == 0 {
		return compact{}, reject(CodeInvalidRequest, "header is not base64url")
	}
	if c.payload, err = decode(tok[i+1 : j]); err != nil || len(c.payload) == 0 {
		return compact{}, reject(CodeInvalidRequest, "payload is not base64url")
	}
	if c.signature, err = decode(tok[j+1:]); err != nil {
		return compact{}, reject(CodeInvalidRequest, "signature is not base64url")
	}
	c.signingInput = tok[:j:j]
	return c, nil
}

func isB64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// The classes of octet in a compact JWS, and each octet's class: a table
// lookup per octet instead of isB64URL's comparisons (the scan is most of
// splitCompact's time).
const (
	octetOther = iota // neither: the token is refused
	octetB64          // the base64url alphabet
	octetDot          // the separator
)

var jwsOctet = func() (t [256]uint8) {
	for c := range 256 {
		if isB64URL(byte(c)) {
			t[c] = octetB64
		}
	}
	t['.'] = octetDot
	return t
}()

// header is what the receiver reads of a JWS protected header. jku, x5u,
// jwk and x5c are never read: keys come from the transmitter's key set only.
type header struct {
	alg, kid string
	typ      string
	hasTyp   bool
}

// parseHeader checks a protected header: one JSON object without duplicate
// members (escaped spellings included) and in UTF-8, as jsontext reads it;
// alg a string; kid and typ strings when present; typ, when present,
// secevent+jwt; no crit (riscd understands no JWS extension, RFC 7515
// §4.1.11). Errors are rejections (invalid_request).
func parseHeader(b []byte) (header, error) {
	var h header
	var crit bool
	var badName string
	err := readObject(b, func(d *jsontext.Decoder, name string) error {
		var dst *string
		switch name {
		case "crit":
			crit = true
		case "alg":
			dst = &h.alg
		case "kid":
			dst = &h.kid
		case "typ":
			dst, h.hasTyp = &h.typ, true
		}
		if dst == nil {
			return d.SkipValue()
		}
		ok, err := readString(d, dst)
		if !ok && err == nil && badName == "" {
			badName = name
		}
		return err
	})
	switch {
	case err != nil:
		return header{}, reject(CodeInvalidRequest, "header: "+describeJSON(err))
	case crit:
		return header{}, reject(CodeInvalidRequest, "crit header is not supported")
	case badName != "":
		return header{}, reject(CodeInvalidRequest, "header: "+badName+" is not a string")
	case h.alg == "":
		return header{}, reject(CodeInvalidRequest, "header: alg is missing")
	}
	if h.hasTyp && !isSETType(h.typ) {
		return header{}, reject(CodeInvalidRequest, "header: typ is not secevent+jwt")
	}
	return h, nil
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
