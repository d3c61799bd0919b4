package record

import (
	"context"
	"fmt"

	"github.com/riscd/riscd"
)

// ImportBatch is how many records one Import transaction writes.
const ImportBatch = 1000

// Import hands the records src yields to write in batches of ImportBatch,
// each for one transaction, and a last batch (maybe empty) at the end:
// every engine's riscd.Importer. first is true for the first batch, whose
// transaction checks that the store is empty; so does the last, empty
// batch when src yielded nothing.
func Import(ctx context.Context, src riscd.RecordSource, write func(batch []riscd.Record, first bool) error) error {
	batch := make([]riscd.Record, 0, ImportBatch)
	first := true
	flush := func() error {
		if err := write(batch, first); err != nil {
			return err
		}
		first = false
		batch = batch[:0]
		return nil
	}
	err := src(ctx, func(r riscd.Record) error {
		batch = append(batch, r)
		if len(batch) < ImportBatch {
			return nil
		}
		return flush()
	})
	if err != nil {
		return err
	}
	return flush()
}

// SweepFlows runs sweep, one transaction each, from the key from on, then
// from each key it returns until it returns nil, and adds up what they
// removed: every engine's riscd.Store.SweepFlows.
func SweepFlows(from []byte, sweep func(from []byte) (riscd.FlowSweep, []byte, error)) (riscd.FlowSweep, error) {
	var total riscd.FlowSweep
	for {
		sw, next, err := sweep(from)
		if err != nil {
			return total, err
		}
		total.Deleted += sw.Deleted
		total.Undecodable += sw.Undecodable
		if next == nil {
			return total, nil
		}
		from = next
	}
}

// CheckKinds refuses an imported record without exactly one kind set.
func CheckKinds(r *riscd.Record) error {
	set := 0
	for _, p := range []bool{r.Grant != nil, r.Account != nil, r.Session != nil, r.Flow != nil, r.Inbox != nil,
		r.Outbox != nil, r.Audit != nil, r.Mark != nil, r.Connect != nil, r.Link != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		return fmt.Errorf("a record with %d kinds set, want 1: %w", set, riscd.ErrInvalid)
	}
	return nil
}
