package lifecycle_test

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/lifecycle"
)

// A grant record the refresher cannot decode is logged, counted and
// skipped: the other grants of the walk are still scheduled and refreshed.
func TestRefresherSkipsUndecodableGrant(t *testing.T) {
	obs := newCountingObserver()
	w := newSimWorld(t, 2, func(c *lifecycle.Config) { c.Observer = obs })
	good, bad := w.subs[0], w.subs[1]
	now := w.clock.Now()
	ids := map[string]string{}
	for _, sub := range w.subs {
		g := w.simGrant(sub, now.Add(4*time.Minute))
		w.editGrant(g.ID, func(g *riscd.Grant) { g.LastUsedAt = now.Add(-10 * time.Minute) })
		ids[sub] = g.ID
	}
	// Garble the bad grant's record in the file, as a disk fault would.
	if err := w.db.Close(); err != nil {
		t.Fatal(err)
	}
	bdb, err := bolt.Open(w.path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := hex.DecodeString(ids[bad])
	if err := bdb.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("grants")).Put(key, []byte("{garbled")) }); err != nil {
		t.Fatal(err)
	}
	if err := bdb.Close(); err != nil {
		t.Fatal(err)
	}
	w.open()
	w.cfg.Store = w.db
	w.lc = w.build(w.cfg)

	stop := w.runRefresher()
	waitFor(t, "the refresh of the good grant", func() bool { return !w.getGrant(ids[good]).RefreshedAt.IsZero() })
	waitFor(t, "the bad grant counted", func() bool { return obs.attemptCount("skipped", "refresher") == 1 })
	stop()
	if !strings.Contains(w.logs.String(), "skipped a grant that cannot be decoded") || !strings.Contains(w.logs.String(), ids[bad]) {
		t.Errorf("the skipped grant was not logged:\n%s", w.logs.String())
	}
}
