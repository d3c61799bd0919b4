package boltdb

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/riscd/riscd"
	bolt "go.etcd.io/bbolt"
)

// auditRecord is an audit entry on disk, keyed by its id.
type auditRecord struct {
	V           int      `json:"v"`
	At          stamp    `json:"at,omitzero"`
	Transmitter string   `json:"tx,omitempty"`
	EventJTI    string   `json:"jti,omitempty"`
	EventType   string   `json:"type,omitempty"`
	Sub         string   `json:"sub,omitempty"`
	GrantIDs    []string `json:"grants,omitempty"`
	Action      string   `json:"action,omitempty"`
	Outcome     string   `json:"outcome,omitempty"`
	Detail      string   `json:"detail,omitempty"`
	Actor       string   `json:"actor,omitempty"`
	DryRun      bool     `json:"dry,omitempty"`
}

func (r *auditRecord) entry(id uint64) AuditEntry {
	return AuditEntry{
		ID: id, At: r.At.time(), Transmitter: r.Transmitter, EventJTI: r.EventJTI, EventType: r.EventType,
		Sub: r.Sub, GrantIDs: r.GrantIDs, Action: r.Action, Outcome: r.Outcome, Detail: r.Detail,
		Actor: r.Actor, DryRun: r.DryRun,
	}
}

func decodeAudit(k, v []byte) (AuditEntry, error) {
	id := binary.BigEndian.Uint64(k)
	var r auditRecord
	if err := json.Unmarshal(v, &r); err != nil || r.V < 1 || r.V > recordVersion {
		return AuditEntry{}, fmt.Errorf("store: audit entry %d: undecodable record: %w", id, ErrCorrupt)
	}
	return r.entry(id), nil
}

// AppendAudit adds an entry to the audit log. It assigns the ID
// (increasing), sets At to now if zero, and returns the entry as stored.
func (t *Tx) AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error) {
	bs, err := t.buckets(bucketAudit, bucketAuditBySub)
	if err != nil {
		return AuditEntry{}, err
	}
	id, err := bs[0].NextSequence()
	if err != nil {
		return AuditEntry{}, fmt.Errorf("store: append audit: %w", err)
	}
	if e.At.IsZero() {
		e.At = t.now()
	}
	e.ID = id
	return writeAudit(bs[0], bs[1], e)
}

// writeAudit writes the entry e.ID to the log and its index by subject.
func writeAudit(log, bySub *bolt.Bucket, e AuditEntry) (AuditEntry, error) {
	id := e.ID
	r := auditRecord{
		V: recordVersion, At: stampOf(e.At), Transmitter: e.Transmitter, EventJTI: e.EventJTI,
		EventType: e.EventType, Sub: e.Sub, GrantIDs: e.GrantIDs, Action: e.Action, Outcome: e.Outcome,
		Detail: e.Detail, Actor: e.Actor, DryRun: e.DryRun,
	}
	data, err := json.Marshal(&r)
	if err != nil {
		return AuditEntry{}, fmt.Errorf("store: append audit: encode: %w", err)
	}
	if err := log.Put(u64Key(id), data); err != nil {
		return AuditEntry{}, fmt.Errorf("store: append audit: %w", err)
	}
	if e.Sub != "" {
		if err := bySub.Put(binary.BigEndian.AppendUint64(appendString(nil, e.Sub), id), nil); err != nil {
			return AuditEntry{}, fmt.Errorf("store: append audit: %w", err)
		}
	}
	return r.entry(id), nil
}

// ListAudit returns a page of entries, newest first, and the cursor of the
// next page ("" after the last). ErrInvalid for a malformed cursor.
func (t *Tx) ListAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, string, error) {
	limit := riscd.PageLimit(q.Limit)
	index, prefix := bucketAudit, []byte(nil)
	if q.Sub != "" {
		index, prefix = bucketAuditBySub, appendString(nil, q.Sub)
	}
	var before []byte
	if q.Cursor != "" {
		id, err := strconv.ParseUint(q.Cursor, 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("store: list audit: bad cursor: %w", ErrInvalid)
		}
		before = binary.BigEndian.AppendUint64(clone(prefix), id)
	}
	b, err := t.bucket(index)
	if err != nil {
		return nil, "", err
	}
	log, err := t.bucket(bucketAudit)
	if err != nil {
		return nil, "", err
	}
	var out []AuditEntry
	next := ""
	err = scanDesc(b, prefix, before, func(k, v []byte) (bool, error) {
		if len(out) == limit {
			next = strconv.FormatUint(out[len(out)-1].ID, 10)
			return false, nil
		}
		if index != bucketAudit {
			k = k[len(prefix):]
			if v = log.Get(k); v == nil {
				return false, fmt.Errorf("store: index %s: audit entry %d: %w", index, binary.BigEndian.Uint64(k), ErrNotFound)
			}
		}
		e, err := decodeAudit(k, v)
		if err != nil {
			return false, err
		}
		out = append(out, e)
		return true, nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}
