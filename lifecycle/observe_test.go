package lifecycle_test

import (
	"sync"

	"github.com/riscd/riscd/lifecycle"
)

// countingObserver counts what a Lifecycle reports, by "kind outcome" for
// outbox attempts and by outcome for refreshes.
type countingObserver struct {
	mu        sync.Mutex
	refreshes map[string]int
	attempts  map[string]int
}

var _ lifecycle.Observer = (*countingObserver)(nil)

func newCountingObserver() *countingObserver {
	return &countingObserver{refreshes: map[string]int{}, attempts: map[string]int{}}
}

func (o *countingObserver) TokenRefreshed(outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.refreshes[outcome]++
}

func (o *countingObserver) OutboxAttempt(kind, outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.attempts[kind+" "+outcome]++
}

func (o *countingObserver) RecordsSkipped(loop string, n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.attempts["skipped "+loop] += n
}

func (o *countingObserver) refreshCount(outcome string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.refreshes[outcome]
}

func (o *countingObserver) attemptCount(kind, outcome string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.attempts[kind+" "+outcome]
}
