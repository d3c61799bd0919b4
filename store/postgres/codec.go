package postgres

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// recordVersion is the version of the JSON documents this package writes.
const recordVersion = 1

// Seal tables: the AAD names them, binding a ciphertext to its table.
const (
	tableKeys     = "keys"
	tableGrants   = "grants"
	tableFlows    = "flows"
	tableSessions = "sessions"
	tableInbox    = "inbox"
	tableOutbox   = "outbox"
	tableAdmin    = "admin_sessions"
	tableConnect  = "connect"
)

// stamp keeps a time in a document: Unix nanoseconds, or RFC 3339 for the
// rare time outside 1678-2262. Zero times are omitted; times read back are
// UTC.
type stamp time.Time

func stampOf(t time.Time) stamp { return stamp(t) }

func (s stamp) time() time.Time {
	t := time.Time(s)
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// IsZero lets the omitzero tag drop zero times.
func (s stamp) IsZero() bool { return time.Time(s).IsZero() }

// MarshalJSON implements json.Marshaler.
func (s stamp) MarshalJSON() ([]byte, error) {
	t := time.Time(s)
	if n := t.UnixNano(); time.Unix(0, n).Equal(t) {
		return strconv.AppendInt(nil, n, 10), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339Nano))
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *stamp) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		t, err := time.Parse(time.RFC3339Nano, str)
		if err != nil {
			return err
		}
		*s = stamp(t.UTC())
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("time stamp: %w", err)
	}
	*s = stamp(time.Unix(0, n).UTC())
	return nil
}

var (
	minNanos = time.Unix(0, math.MinInt64)
	maxNanos = time.Unix(0, math.MaxInt64)
)

// nanos is t as Unix nanoseconds for an ordering column, clamped to the
// range an int64 holds.
func nanos(t time.Time) int64 {
	switch {
	case t.Before(minNanos):
		return math.MinInt64
	case t.After(maxNanos):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// nullNanos is nanos, or NULL for the zero time.
func nullNanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := nanos(t)
	return &n
}

// u64Key is an id as 8 big-endian bytes: the record a sealed field of an
// outbox job is bound to.
func u64Key(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// appendString appends a length-prefixed string.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func sha(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// jtiHash identifies a SET by issuer and JTI: the inbox's unique key, and
// the record its sealed fields are bound to.
func jtiHash(iss, jti string) []byte {
	h := sha256.Sum256(appendString(appendString(nil, iss), jti))
	return h[:]
}

// nullBytes is b, or NULL for "".
func nullBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

var errNotJSON = errors.New("not valid JSON")

// compactJSON appends src compacted to dst. invalidUTF8 accepts invalid
// UTF-8 in strings (claims stored before, passed back unchanged).
func compactJSON(dst, src []byte, invalidUTF8 bool) ([]byte, error) {
	n := len(dst)
	dst = append(dst, src...)
	v := jsontext.Value(dst[n:])
	if err := v.Compact(jsontext.AllowInvalidUTF8(invalidUTF8)); err != nil {
		return dst[:n], errNotJSON
	}
	return append(dst[:n], v...), nil
}

// decode unmarshals a document and checks its version.
func decode(what string, data []byte, v interface{ version() int }) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("store: %s: undecodable record: %w", what, errCorrupt)
	}
	if n := v.version(); n < 1 || n > recordVersion {
		return fmt.Errorf("store: %s: record version %d: %w", what, n, errCorrupt)
	}
	return nil
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
