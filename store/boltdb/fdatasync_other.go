//go:build !linux

package boltdb

import "os"

// fdatasync flushes f; outside Linux, with a full fsync.
func fdatasync(f *os.File) error { return f.Sync() }
