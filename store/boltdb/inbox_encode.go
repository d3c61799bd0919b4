package boltdb

import (
	"encoding/json"
	"fmt"

	"github.com/riscd/riscd/store/internal/record"
)

// The inbox record is encoded by encoding/json, as decodeInbox reads it,
// and a received SET's claims are checked and compacted by jsontext; no
// JSON is scanned here by hand.

// marshalInboxRecord returns the encoding of r: json.Marshal(r), which
// escapes <, >, &, U+2028 and U+2029 in strings and writes invalid UTF-8 in
// them as U+FFFD. r.Claims, when set, must be JSON.
func marshalInboxRecord(r *record.Inbox) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode record: %w", err)
	}
	return b, nil
}

// appendCompactJSON appends src without its insignificant white space
// (jsontext.Value.Compact), after checking that src is one JSON value
// (RFC 8259) with at most white space around it, nested at most 10,000
// levels, in valid UTF-8 (RFC 8259 section 8.1) without an escaped lone
// surrogate. Strings, numbers and duplicate member names are kept as they
// are. On error dst is returned unchanged with record.ErrNotJSON; the error gives
// the byte offset of the fault, never the bytes themselves (claims may
// carry a token's prefix).
func appendCompactJSON(dst, src []byte) ([]byte, error) {
	return record.CompactJSON(dst, src, false)
}

// appendStoredJSON is appendCompactJSON for claims the store already
// holds: an earlier riscd accepted invalid UTF-8 in them (as json.Compact
// does), and such an entry must stay writable (a new status, a key
// rotation, the replay of its journal).
func appendStoredJSON(dst, src []byte) ([]byte, error) {
	return record.CompactJSON(dst, src, true)
}
