package receiver

import (
	"bytes"
	"encoding/base64"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/lestrrat-go/jwx/v2/jws"
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

// splitCompact splits a compact JWS (RFC 7515 §7.1) with jwx and decodes
// its parts: exactly three segments, each base64url without padding (RFC
// 7515 §2) and no line breaks, which base64's decoder would skip. The parts
// are decoded into one new buffer; signingInput shares tok. Errors are
// rejections (invalid_request).
func splitCompact(tok []byte) (compact, error) {
	if len(tok) == 0 {
		return compact{}, reject(CodeInvalidRequest, "empty body")
	}
	h, p, s, err := jws.SplitCompact(tok)
	if err != nil || bytes.ContainsAny(tok, "\r\n") {
		return compact{}, reject(CodeInvalidRequest, "not a compact JWS")
	}
	buf := make([]byte, b64.DecodedLen(len(h))+b64.DecodedLen(len(p))+b64.DecodedLen(len(s)))
	// decode decodes src into the front of buf and cuts it off.
	decode := func(src []byte) ([]byte, error) {
		n, err := b64.Decode(buf, src)
		part := buf[:n:n]
		buf = buf[n:]
		return part, err
	}
	var c compact
	if c.header, err = decode(h); err != nil || len(c.header) == 0 {
		return compact{}, reject(CodeInvalidRequest, "header is not base64url")
	}
	if c.payload, err = decode(p); err != nil || len(c.payload) == 0 {
		return compact{}, reject(CodeInvalidRequest, "payload is not base64url")
	}
	if c.signature, err = decode(s); err != nil {
		return compact{}, reject(CodeInvalidRequest, "signature is not base64url")
	}
	n := len(h) + 1 + len(p)
	c.signingInput = tok[:n:n]
	return c, nil
}

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
