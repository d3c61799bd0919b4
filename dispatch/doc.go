// Package dispatch hands the events riscd received, as the store's inbox
// keeps them, to riscd's handlers (the lifecycle's, instrumented by the
// admin metrics).
//
// The Dispatcher drains the inbox through the small Queue interface the
// store's adapter implements, as a source of a workqueue.Queue. Entries of
// one subject are handled strictly in arrival order; different subjects
// proceed in parallel, and a failing subject never blocks another. An entry
// is marked done only after every Handler returned nil; a failure is retried
// with exponential backoff and, after Config.MaxAttempts attempts, parked
// (kept, flagged, never silently dropped) so that the subject's later
// entries proceed. Claims that do not parse, or an error wrapped by
// Permanent, park the entry at once. Delivery is at least once: handlers
// must be idempotent.
package dispatch
