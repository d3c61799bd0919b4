//go:build !unix

package main

// openFileLimit is unknown on this platform.
func openFileLimit() uint64 { return 0 }
