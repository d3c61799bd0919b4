// Package record is the record codec every store engine shares: the
// versioned JSON records that mirror package riscd's domain types, their
// conversions to and from those types, the stamp codec of their times,
// the validation both engines apply before writing, and the sealing of
// each secret field with package seal, bound to its table, record and
// field (the additional data).
//
// The layout is the bbolt engine's, byte for byte: a store file written
// before this package existed reads and writes exactly as it did. Where a
// record is kept (bucket keys, columns) and how it is indexed stay each
// engine's own.
package record
