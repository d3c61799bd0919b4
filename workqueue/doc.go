// Package workqueue is riscd's one durable work queue: the scheduling that
// the inbox dispatcher and the outbox share. Its items live in a Source's
// store; the queue holds in memory only what it needs to order them.
package workqueue
