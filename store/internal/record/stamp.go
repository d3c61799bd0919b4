package record

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Stamp is how a record keeps a time: Unix nanoseconds as a JSON number
// (compact), or an RFC 3339 string for the rare time outside the years
// 1678-2262. The zero time is omitted (fields are tagged omitzero). Times
// read back are in UTC.
type Stamp time.Time

// StampOf is t as a Stamp.
func StampOf(t time.Time) Stamp { return Stamp(t) }

// Time is the stamp's time in UTC, or the zero time.
func (s Stamp) Time() time.Time {
	t := time.Time(s)
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// Round is t as a record keeps it and reads it back.
func Round(t time.Time) time.Time { return StampOf(t).Time() }

// IsZero lets the omitzero tag drop zero times.
func (s Stamp) IsZero() bool { return time.Time(s).IsZero() }

// MarshalJSON implements json.Marshaler.
func (s Stamp) MarshalJSON() ([]byte, error) {
	t := time.Time(s)
	if n := t.UnixNano(); time.Unix(0, n).Equal(t) {
		return strconv.AppendInt(nil, n, 10), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339Nano))
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *Stamp) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		t, err := time.Parse(time.RFC3339Nano, str)
		if err != nil {
			return err
		}
		*s = Stamp(t.UTC())
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("time stamp: %w", err)
	}
	*s = Stamp(time.Unix(0, n).UTC())
	return nil
}
