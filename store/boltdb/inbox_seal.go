package boltdb

import (
	"encoding/json"
	"fmt"

	"github.com/riscd/riscd/store/internal/record"
)

// staleUnder reports whether r holds Raw or Claims not sealed under keys'
// primary key.
func staleUnder(r *record.Inbox, keys *keyring) bool {
	id, secret := r.Sealing()
	return secret && id != keys.Primary().RawID()
}

// resealInbox is Tx.reseal for an inbox record (RotateKey): it seals Raw
// and Claims under the primary key, or reports false when they are.
func (t *Tx) resealInbox(key, v []byte) ([]byte, bool, error) {
	var r record.Inbox
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, false, fmt.Errorf("store: reseal %s %x: undecodable record: %w", bucketInbox, key, ErrCorrupt)
	}
	if !staleUnder(&r, t.keys) {
		return nil, false, nil
	}
	e, err := decodeInbox(t.keys, key, v)
	if err != nil {
		return nil, false, fmt.Errorf("store: reseal: %w", err)
	}
	_, data, err := encodeInbox(t.keys, e, e.Claims)
	if err != nil {
		return nil, false, fmt.Errorf("store: reseal %s %x: %w", bucketInbox, key, err)
	}
	return data, true, nil
}
