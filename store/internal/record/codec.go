package record

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/riscd/riscd"
)

// Version is the version of the records this package writes; Decode
// accepts 1 to Version.
const Version = 1

// Tables: the names the additional data of a sealed field gives its
// table (the bbolt engine's bucket names).
const (
	TableKeys          = "keys"
	TableGrants        = "grants"
	TableFlows         = "flows"
	TableSessions      = "sessions"
	TableInbox         = "inbox"
	TableOutbox        = "outbox"
	TableAdminSessions = "admin_sessions"
	TableConnect       = "connect"
)

// versioned is a record: it carries its version.
type versioned interface{ version() int }

// Decode unmarshals data into the record v and checks its version. Errors
// wrap riscd.ErrCorrupt and name what ("account \"a\"").
func Decode(what string, data []byte, v versioned) error {
	if err := json.Unmarshal(data, v); err != nil || v.version() < 1 || v.version() > Version {
		return fmt.Errorf("store: %s: undecodable record: %w", what, riscd.ErrCorrupt)
	}
	return nil
}

// Encode marshals the record r.
func Encode[R any, P interface {
	*R
	versioned
}](r R) ([]byte, error) {
	return json.Marshal(P(&r))
}

// U64Key is an id as 8 big-endian bytes: the record the sealed fields of
// an outbox job are bound to (and the bbolt engine's key of records kept
// by id, which sort in id order).
func U64Key(id uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), id)
}

// AppendString appends a length-prefixed string, so a prefix made of whole
// strings never matches a longer string.
func AppendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// JTIKey identifies a SET by issuer and JTI: SHA-256(len|iss|len|jti),
// the record an inbox entry's sealed fields are bound to.
func JTIKey(iss, jti string) []byte {
	h := sha256.Sum256(AppendString(AppendString(nil, iss), jti))
	return h[:]
}

// ErrNotJSON: claims or a payload that are not one JSON value.
var ErrNotJSON = errors.New("not valid JSON")

// CompactJSON appends src without its insignificant white space
// (jsontext.Value.Compact), after checking that src is one JSON value
// (RFC 8259) with at most white space around it, in valid UTF-8 (RFC 8259
// section 8.1) unless invalidUTF8 (claims an earlier riscd stored, passed
// back unchanged). On error dst is returned unchanged with ErrNotJSON; the
// error gives the byte offset of the fault, never the bytes themselves
// (claims may carry a token's prefix).
func CompactJSON(dst, src []byte, invalidUTF8 bool) ([]byte, error) {
	n := len(dst)
	dst = append(dst, src...)
	v := jsontext.Value(dst[n:]) // compacted in place, src untouched
	if err := v.Compact(jsontext.AllowInvalidUTF8(invalidUTF8)); err != nil {
		var se *jsontext.SyntacticError
		if errors.As(err, &se) {
			return dst[:n], fmt.Errorf("%w (byte offset %d)", ErrNotJSON, se.ByteOffset)
		}
		return dst[:n], ErrNotJSON
	}
	return append(dst[:n], v...), nil
}
