// Package testkit holds the helpers riscd's tests share: a goroutine-safe
// log buffer, a settable clock, a bounded wait for a condition and a
// headless Chromium. Its package hostile holds the forged and malformed
// security event tokens a receiver must refuse. It is an ordinary package so that test files of every
// package can import it; only test files do.
package testkit
