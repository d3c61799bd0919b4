package boltdb

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// stamp is how on-disk records keep a time: Unix nanoseconds as a JSON
// number (compact), or an RFC 3339 string for the rare time outside the
// years 1678-2262. The zero time is omitted (fields are tagged omitzero).
// Times read back are in UTC.
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

// u64Key encodes an increasing record id as a big-endian bbolt key, so keys
// sort in id order and buckets fill append-only.
func u64Key(id uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), id)
}

// appendString appends a length-prefixed string, so a prefix made of whole
// strings never matches a longer string.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// clone copies bytes owned by a transaction so they may outlive it.
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
