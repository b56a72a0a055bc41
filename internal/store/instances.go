package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/minicloud/minicloud/internal/cloud"
	bolt "go.etcd.io/bbolt"
)

// MissingError reports the ids of records that do not exist. It matches
// ErrNotFound with errors.Is.
type MissingError struct {
	IDs []string
}

// Error lists the missing ids.
func (e *MissingError) Error() string {
	return "store: not found: " + strings.Join(e.IDs, ", ")
}

// Is makes errors.Is(err, ErrNotFound) true.
func (e *MissingError) Is(target error) bool { return target == ErrNotFound }

// ClientToken records the outcome of a RunInstances call made with a
// client token, so that a repeat of the call returns the same reservation.
type ClientToken struct {
	// Key is the token, scoped to its account.
	Key string
	// Fingerprint identifies the parameters of the original call.
	Fingerprint   string
	ReservationID string
	InstanceIDs   []string
}

// CreateInstances stores new instances in one commit, shared with other
// writers that arrive at the same moment. It returns ErrExists, and writes
// nothing, when any id is already taken.
//
// When token is not nil it is recorded in the same commit, unless a token
// with its key exists: then nothing is written and the stored token is
// returned, so the caller can answer with the original reservation.
func (db *DB) CreateInstances(insts []*cloud.Instance, token *ClientToken) (*ClientToken, error) {
	var existing *ClientToken
	err := db.bolt.Batch(func(tx *bolt.Tx) error {
		existing = nil

		// A token seen before wins over creating anything.
		if token != nil {
			b := tx.Bucket(bucketTokens)
			if v := b.Get([]byte(token.Key)); v != nil {
				existing = new(ClientToken)
				return json.Unmarshal(v, existing)
			}
			v, err := json.Marshal(token)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(token.Key), v); err != nil {
				return err
			}
		}

		b := tx.Bucket(bucketInstances)
		for _, inst := range insts {
			if b.Get([]byte(inst.ID)) != nil {
				return fmt.Errorf("%w: instance %s", ErrExists, inst.ID)
			}
			if err := putInstance(tx, inst); err != nil {
				return err
			}
		}
		return nil
	})
	return existing, err
}

// Instance returns the instance with id, or ErrNotFound.
func (db *DB) Instance(id string) (*cloud.Instance, error) {
	var inst *cloud.Instance
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		inst, err = getInstance(tx, id)
		return err
	})
	return inst, err
}

// InstancesByID returns the instances among ids that exist, in the order
// of ids, and the ids that do not exist.
func (db *DB) InstancesByID(ids []string) (found []*cloud.Instance, missing []string, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		found, missing, err = getInstances(tx, ids)
		return err
	})
	return found, missing, err
}

// getInstances reads the instances among ids that exist, in the order of
// ids, and returns the ids that do not exist.
func getInstances(tx *bolt.Tx, ids []string) (found []*cloud.Instance, missing []string, err error) {
	for _, id := range ids {
		inst, err := getInstance(tx, id)
		if errors.Is(err, ErrNotFound) {
			missing = append(missing, id)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		found = append(found, inst)
	}
	return found, missing, nil
}

// ScanInstances calls fn for each instance whose id sorts after the id
// after, in id order, until fn returns false. An empty after starts at the
// first instance. fn owns the instance it is given.
func (db *DB) ScanInstances(after string, fn func(*cloud.Instance) bool) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketInstances).Cursor()
		k, v := c.First()
		if after != "" {
			k, v = c.Seek([]byte(after))
			if k != nil && string(k) == after {
				k, v = c.Next()
			}
		}
		cache := cacheOf(tx)
		for ; k != nil; k, v = c.Next() {
			inst, err := cache.decode(k, v)
			if err != nil {
				return err
			}
			if !fn(inst) {
				return nil
			}
		}
		return nil
	})
}

// HostInstances returns the instances placed on host, in id order.
func (db *DB) HostInstances(host string) ([]*cloud.Instance, error) {
	var out []*cloud.Instance
	err := db.bolt.View(func(tx *bolt.Tx) error {
		idx := tx.Bucket(bucketHostInstances).Bucket([]byte(host))
		if idx == nil {
			return nil
		}
		return idx.ForEach(func(k, _ []byte) error {
			inst, err := getInstance(tx, string(k))
			if err != nil {
				return fmt.Errorf("store: host index of %s: %w", host, err)
			}
			out = append(out, inst)
			return nil
		})
	})
	return out, err
}

// UpdateInstances applies fn to each instance in ids and stores the
// results, all in one transaction: if any id is missing (a *MissingError
// listing them) or fn returns an error, nothing is written. It returns the
// instances as stored.
func (db *DB) UpdateInstances(ids []string, fn func(*cloud.Instance) error) ([]*cloud.Instance, error) {
	var out []*cloud.Instance
	err := db.bolt.Batch(func(tx *bolt.Tx) error {
		// Batch may run this function more than once: start afresh.
		var missing []string
		var err error
		out, missing, err = getInstances(tx, ids)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			return &MissingError{IDs: missing}
		}

		for _, inst := range out {
			if err := fn(inst); err != nil {
				return err
			}
			if err := putInstance(tx, inst); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateInstance applies fn to one instance; see UpdateInstances.
func (db *DB) UpdateInstance(id string, fn func(*cloud.Instance) error) (*cloud.Instance, error) {
	out, err := db.UpdateInstances([]string{id}, fn)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// DeleteInstances removes the instances in ids, and their index entries.
// Ids that do not exist are ignored.
func (db *DB) DeleteInstances(ids []string) error {
	return db.bolt.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketInstances)
		for _, id := range ids {
			inst, err := getInstance(tx, id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if idx := tx.Bucket(bucketHostInstances).Bucket([]byte(inst.Host)); idx != nil {
				if err := idx.Delete([]byte(id)); err != nil {
					return err
				}
			}
			if err := b.Delete([]byte(id)); err != nil {
				return err
			}
			cacheOf(tx).forget(id)
		}
		return nil
	})
}

// getInstance reads one instance in tx, or returns ErrNotFound.
func getInstance(tx *bolt.Tx, id string) (*cloud.Instance, error) {
	v := tx.Bucket(bucketInstances).Get([]byte(id))
	if v == nil {
		return nil, ErrNotFound
	}
	return cacheOf(tx).decode([]byte(id), v)
}

// putInstance writes inst and its host index entry in tx.
func putInstance(tx *bolt.Tx, inst *cloud.Instance) error {
	v, err := json.Marshal(inst)
	if err != nil {
		return fmt.Errorf("store: encode instance %s: %w", inst.ID, err)
	}
	if err := tx.Bucket(bucketInstances).Put([]byte(inst.ID), v); err != nil {
		return err
	}
	cacheOf(tx).remember(inst.ID, v, inst)
	if inst.Host == "" {
		return nil
	}
	idx, err := tx.Bucket(bucketHostInstances).CreateBucketIfNotExists([]byte(inst.Host))
	if err != nil {
		return err
	}
	return idx.Put([]byte(inst.ID), nil)
}

// decodeInstance decodes a stored instance. The bytes belong to bbolt and
// are only valid inside the transaction; json.Unmarshal copies them.
func decodeInstance(k, v []byte) (*cloud.Instance, error) {
	inst := new(cloud.Instance)
	if err := json.Unmarshal(v, inst); err != nil {
		return nil, fmt.Errorf("store: decode instance %s: %w", k, err)
	}
	return inst, nil
}
