package boltdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/riscd/riscd/store/internal/record"
	bolt "go.etcd.io/bbolt"
)

// The store file's format marker and schema. SchemaVersion changes when a
// riscd can no longer read files written by the next one; an older file is
// migrated at open, a newer one refused.
const (
	formatName = "riscd-store"
	// SchemaVersion is the newest store schema this riscd reads and writes.
	// Schema 2 leaves pending inbox entries out of the subject index (see
	// subjectIndexed); it only relaxes schema 1. Schema 3 adds the indexes
	// of failed outbox jobs (outbox.failed), of the accounts that need
	// attention (accounts.attention) and of grants by status
	// (grants.by_status), which an older riscd would not keep. Schema 4
	// adds the index of grants by verified email (grants.by_email).
	// Schema 5 adds the admin page's sessions (admin_sessions), whose
	// sealed CSRF tokens an older riscd's key rotation would not reseal.
	// Schema 6 adds connect sessions (connect) and app-user links
	// (links.by_app_user, links.by_sub), which an older riscd would
	// neither copy, check nor reseal. An older file is upgraded at open
	// (upgradeSchema).
	SchemaVersion = 6
	// recordVersion is the version of every on-disk record this riscd writes.
	recordVersion = record.Version

	metaFormat  = "format"
	metaSchema  = "schema"
	metaCreated = "created_at"
	// metaRotating names the key (its id, hex) a RotateKey started and has
	// not finished re-encrypting under.
	metaRotating = "rotating_to"

	keyCheckPlain = "riscd store key check"
)

// initStore writes the metadata, the buckets and the key check of a new store.
func initStore(btx *bolt.Tx, keys *keyring, now time.Time) error {
	for _, name := range bucketNames() {
		if _, err := btx.CreateBucketIfNotExists([]byte(name)); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	m := btx.Bucket([]byte(bucketMeta))
	for k, v := range map[string]string{
		metaFormat:  formatName,
		metaSchema:  strconv.Itoa(SchemaVersion),
		metaCreated: now.UTC().Format(time.RFC3339Nano),
	} {
		if err := m.Put([]byte(k), []byte(v)); err != nil {
			return fmt.Errorf("write meta %s: %w", k, err)
		}
	}
	return registerKey(btx, keys)
}

// checkMeta refuses a file that is not a riscd store or comes from a newer
// riscd.
func checkMeta(btx *bolt.Tx, path string) error {
	m := btx.Bucket([]byte(bucketMeta))
	if m == nil || !bytes.Equal(m.Get([]byte(metaFormat)), []byte(formatName)) {
		return notStore(path, "a bbolt file without riscd's metadata", nil)
	}
	raw := string(m.Get([]byte(metaSchema)))
	schema, err := strconv.Atoi(raw)
	if err != nil || schema < 1 {
		return notStore(path, fmt.Sprintf("unreadable schema version %q", raw), nil)
	}
	if schema > SchemaVersion {
		return &fileError{
			msg:  fmt.Sprintf("%s was written by a newer riscd (schema %d, this riscd reads up to %d)", path, schema, SchemaVersion),
			kind: ErrNewerSchema,
		}
	}
	return nil
}

// upgradeSchema brings a file of an older schema, which checkMeta accepted,
// to SchemaVersion, once every bucket exists. Before schema 3 it indexes
// the failed outbox jobs, the accounts that need attention and the grants
// by status; before schema 4 the grants by verified email; schemas 5 and
// 6 need only their buckets, made at open. It then
// marks the file, so that the riscd that
// wrote it, which would not keep the newer indexes, refuses it from now on.
// Every older schema is otherwise valid as the current one.
func upgradeSchema(btx *bolt.Tx) error {
	m := btx.Bucket([]byte(bucketMeta))
	schema, _ := strconv.Atoi(string(m.Get([]byte(metaSchema))))
	if schema >= SchemaVersion {
		return nil
	}
	if schema < 3 {
		if err := indexFailedOutbox(btx); err != nil {
			return fmt.Errorf("store: upgrade schema: %w", err)
		}
		if err := indexAccountsNeedingAttention(btx); err != nil {
			return fmt.Errorf("store: upgrade schema: %w", err)
		}
		if err := indexGrantsByStatus(btx); err != nil {
			return fmt.Errorf("store: upgrade schema: %w", err)
		}
	}
	if schema < 4 {
		if err := indexGrantsByEmail(btx); err != nil {
			return fmt.Errorf("store: upgrade schema: %w", err)
		}
	}
	if err := m.Put([]byte(metaSchema), []byte(strconv.Itoa(SchemaVersion))); err != nil {
		return fmt.Errorf("store: upgrade schema: %w", err)
	}
	return nil
}

// indexFailedOutbox puts every failed outbox job in outbox.failed.
func indexFailedOutbox(btx *bolt.Tx) error {
	idx := btx.Bucket([]byte(bucketOutboxFailed))
	return btx.Bucket([]byte(bucketOutbox)).ForEach(func(k, v []byte) error {
		r, err := record.DecodeOutbox(binary.BigEndian.Uint64(k), v)
		if err != nil || r.Status != string(OutboxFailed) {
			return err
		}
		return idx.Put(k, nil)
	})
}

// indexAccountsNeedingAttention puts every account that NeedsAttention in
// accounts.attention.
func indexAccountsNeedingAttention(btx *bolt.Tx) error {
	idx := btx.Bucket([]byte(bucketAccountsAttention))
	return btx.Bucket([]byte(bucketAccounts)).ForEach(func(k, v []byte) error {
		a, err := record.DecodeAccount(string(k), v)
		if err != nil || !a.NeedsAttention() {
			return err
		}
		return idx.Put(k, nil)
	})
}

// indexGrantsByStatus puts every grant in grants.by_status.
func indexGrantsByStatus(btx *bolt.Tx) error {
	idx := btx.Bucket([]byte(bucketGrantsByStatus))
	return btx.Bucket([]byte(bucketGrants)).ForEach(func(k, v []byte) error {
		r, err := record.DecodeGrant(k, v)
		if err != nil {
			return err
		}
		return idx.Put(grantIndexKey(r.Status, k), nil)
	})
}

// indexGrantsByEmail puts every grant with a verified email in
// grants.by_email.
func indexGrantsByEmail(btx *bolt.Tx) error {
	idx := btx.Bucket([]byte(bucketGrantsByEmail))
	return btx.Bucket([]byte(bucketGrants)).ForEach(func(k, v []byte) error {
		r, err := record.DecodeGrant(k, v)
		if err != nil || !emailIndexed(&r) {
			return err
		}
		return idx.Put(grantEmailKey(r.Email, k), nil)
	})
}

// checkKeys verifies that every key that sealed something in the store is
// configured and really is that key.
func checkKeys(btx *bolt.Tx, keys *keyring, path string) error {
	b := btx.Bucket([]byte(bucketKeys))
	if b == nil {
		return notStore(path, "no key check in its metadata", nil)
	}
	var missing []string
	n := 0
	err := b.ForEach(func(id, check []byte) error {
		n++
		plain, err := keys.Open(check, bucketKeys, id, "check")
		if err != nil || plain != keyCheckPlain {
			missing = append(missing, fmt.Sprintf("%x", id))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: read key checks: %w", err)
	}
	if n == 0 {
		return notStore(path, "no key check in its metadata", nil)
	}
	if len(missing) > 0 {
		have := keys.KeyIDs()
		if to := string(btx.Bucket([]byte(bucketMeta)).Get([]byte(metaRotating))); to != "" {
			return &RotationError{path: path, NewKeyID: to, have: have, missing: missing}
		}
		return &fileError{
			msg: fmt.Sprintf("%s: none of the configured keys (%s) opens the secrets sealed with key %s",
				path, strings.Join(have, ", "), strings.Join(missing, ", ")),
			kind: ErrWrongKey,
		}
	}
	return nil
}

// registerKey records a check value for the primary key, so a later open
// knows this key sealed secrets here.
func registerKey(btx *bolt.Tx, keys *keyring) error {
	b := btx.Bucket([]byte(bucketKeys))
	id := keys.Primary().RawID().Bytes()
	if b.Get(id) != nil {
		return nil
	}
	if err := b.Put(id, keys.Seal(keyCheckPlain, bucketKeys, id, "check")); err != nil {
		return fmt.Errorf("store: register key %s: %w", keys.Primary().ID(), err)
	}
	return nil
}

func notStore(path, reason string, cause error) error {
	return &fileError{msg: path + " is not a riscd store: " + reason, kind: ErrNotStore, cause: cause}
}

// RotationError is the error Open returns (errors.Is ErrWrongKey) for a
// store whose key rotation did not finish (RotateKey was interrupted: its
// secrets are sealed under two keys) and whose secrets the configured keys
// do not all open. Opening it with the new key among the keys, as
// `riscd store rotate-key` does when given the new key again, lets
// RotateKey finish the job.
type RotationError struct {
	// NewKeyID is the id of the key the rotation re-encrypts under.
	NewKeyID string

	path          string
	have, missing []string
}

func (e *RotationError) Error() string {
	return fmt.Sprintf("%s: a key rotation to key %s did not finish, and none of the configured keys (%s) opens the secrets sealed with key %s",
		e.path, e.NewKeyID, strings.Join(e.have, ", "), strings.Join(e.missing, ", "))
}

// Unwrap returns ErrWrongKey.
func (e *RotationError) Unwrap() error { return ErrWrongKey }
