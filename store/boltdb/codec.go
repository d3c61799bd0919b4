package boltdb

import "github.com/riscd/riscd/store/internal/record"

// The record codec is package record's, shared with the other engines;
// these are the helpers this engine's keys use too.
var (
	// u64Key encodes an increasing record id as a big-endian bbolt key, so
	// keys sort in id order and buckets fill append-only.
	u64Key = record.U64Key
	// appendString appends a length-prefixed string, so a prefix made of
	// whole strings never matches a longer string.
	appendString = record.AppendString
)

// clone copies bytes owned by a transaction so they may outlive it.
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
