package store

import (
	"encoding/json"
	"fmt"

	"github.com/minicloud/minicloud/internal/cloud"
	bolt "go.etcd.io/bbolt"
)

// CreateKeyPair stores a new key pair. It returns ErrExists, and writes
// nothing, when its owner already has a key pair of that name or its id is
// taken: names are unique within an account, ids everywhere.
func (db *DB) CreateKeyPair(k *cloud.KeyPair) error {
	v, err := json.Marshal(k)
	if err != nil {
		return fmt.Errorf("store: encode key pair %s: %w", k.ID, err)
	}
	return db.bolt.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKeyPairs)
		if b.Get([]byte(k.ID)) != nil {
			return fmt.Errorf("%w: key pair %s", ErrExists, k.ID)
		}

		// Names are few (EC2 allows 5,000 an account): a scan finds a
		// clash inside the transaction that would create it.
		err := b.ForEach(func(id, v []byte) error {
			other, err := decodeKeyPair(id, v)
			if err != nil {
				return err
			}
			if other.OwnerID == k.OwnerID && other.Name == k.Name {
				return fmt.Errorf("%w: key pair %s", ErrExists, k.Name)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return b.Put([]byte(k.ID), v)
	})
}

// KeyPairs returns every key pair, in id order.
func (db *DB) KeyPairs() ([]*cloud.KeyPair, error) {
	var out []*cloud.KeyPair
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKeyPairs).ForEach(func(id, v []byte) error {
			k, err := decodeKeyPair(id, v)
			if err != nil {
				return err
			}
			out = append(out, k)
			return nil
		})
	})
	return out, err
}

// KeyPair returns the key pair with id, or ErrNotFound.
func (db *DB) KeyPair(id string) (*cloud.KeyPair, error) {
	var k *cloud.KeyPair
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketKeyPairs).Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		var err error
		k, err = decodeKeyPair([]byte(id), v)
		return err
	})
	return k, err
}

// UpdateKeyPair applies fn to the key pair with id and stores the result
// in one transaction. It returns ErrNotFound when there is no such key
// pair; fn must not change the name or id.
func (db *DB) UpdateKeyPair(id string, fn func(*cloud.KeyPair) error) (*cloud.KeyPair, error) {
	var k *cloud.KeyPair
	err := db.bolt.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKeyPairs)
		v := b.Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		var err error
		if k, err = decodeKeyPair([]byte(id), v); err != nil {
			return err
		}
		if err := fn(k); err != nil {
			return err
		}
		if v, err = json.Marshal(k); err != nil {
			return err
		}
		return b.Put([]byte(id), v)
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// DeleteKeyPair removes the key pair with id. A missing one is not an
// error.
func (db *DB) DeleteKeyPair(id string) error {
	return db.bolt.Batch(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKeyPairs).Delete([]byte(id))
	})
}

// decodeKeyPair decodes a stored key pair.
func decodeKeyPair(id, v []byte) (*cloud.KeyPair, error) {
	k := new(cloud.KeyPair)
	if err := json.Unmarshal(v, k); err != nil {
		return nil, fmt.Errorf("store: decode key pair %s: %w", id, err)
	}
	return k, nil
}
