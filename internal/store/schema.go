package store

import (
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// migrations bring a file from one schema version to the next: the change
// at index i takes version i to version i+1. A file is at version 0 before
// anything was written to it. Append only; never edit a step that shipped.
var migrations = []func(tx *bolt.Tx) error{
	// 0 -> 1: the first layout.
	func(tx *bolt.Tx) error {
		for _, name := range [][]byte{
			bucketInstances, bucketHostInstances, bucketImages, bucketTokens,
		} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	},

	// 1 -> 2: key pairs and the network: VPCs, subnets, security groups.
	func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketKeyPairs, bucketVPCs, bucketSubnets, bucketGroups} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	},
}

// SchemaVersion is the version this minicloud writes.
var SchemaVersion = len(migrations)

// migrate runs every migration the file has not seen, in one transaction.
func migrate(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return fmt.Errorf("store: create meta bucket: %w", err)
	}

	version := 0
	if v := meta.Get(keySchema); v != nil {
		version, err = strconv.Atoi(string(v))
		if err != nil {
			return fmt.Errorf("store: bad schema version %q: %w", v, err)
		}
	}
	if version > SchemaVersion {
		return fmt.Errorf("%w: file has schema %d, this minicloud knows %d",
			ErrNewerSchema, version, SchemaVersion)
	}

	for ; version < SchemaVersion; version++ {
		if err := migrations[version](tx); err != nil {
			return fmt.Errorf("store: migrate schema %d to %d: %w",
				version, version+1, err)
		}
	}
	return meta.Put(keySchema, []byte(strconv.Itoa(version)))
}

// Schema returns the schema version recorded in the file.
func (db *DB) Schema() (int, error) {
	var version int
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(keySchema)
		n, err := strconv.Atoi(string(v))
		version = n
		return err
	})
	return version, err
}
