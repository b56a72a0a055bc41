// Package store keeps minicloud's state in one bbolt file: instances,
// images and the indexes that find them by host.
//
// Every exported method owns its transaction: reads run in View, and every
// change of state is one read-modify-write transaction. Writes from
// concurrent callers are combined into group commits, so many small
// changes share one fsync without any of them being acknowledged before it
// is on disk.
package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Errors returned by the store.
var (
	// ErrNotFound is returned when a requested record does not exist.
	ErrNotFound = errors.New("store: not found")

	// ErrExists is returned when a record to create is already there.
	ErrExists = errors.New("store: already exists")

	// ErrLocked is returned by Open when another process holds the file.
	ErrLocked = errors.New("store: database is in use by another process")

	// ErrNewerSchema is returned by Open for a file written by a newer
	// minicloud than this one.
	ErrNewerSchema = errors.New("store: database was written by a newer minicloud")
)

// Bucket names.
var (
	bucketMeta          = []byte("meta")
	bucketInstances     = []byte("instances")
	bucketHostInstances = []byte("host-instances")
	bucketImages        = []byte("images")
	bucketTokens        = []byte("client-tokens")
	bucketKeyPairs      = []byte("key-pairs")
	bucketVPCs          = []byte("vpcs")
	bucketSubnets       = []byte("subnets")
	bucketGroups        = []byte("security-groups")

	keySchema = []byte("schema")
)

// DefaultLockTimeout is how long Open waits for another process to release
// the database file before it gives up.
const DefaultLockTimeout = time.Second

// Options configure Open. The zero value is ready to use.
type Options struct {
	// LockTimeout bounds the wait for the file lock; DefaultLockTimeout
	// when zero.
	LockTimeout time.Duration

	// BatchDelay is the longest a write waits for others to share its
	// commit; bbolt's default (10ms) when zero.
	BatchDelay time.Duration
}

// DB is minicloud's state file.
type DB struct {
	bolt *bolt.DB
	path string
}

// Open opens or creates the state file at path with mode 0600, creating its
// folder with mode 0700, and brings its schema up to date. It returns
// ErrLocked when another process has the file open.
func Open(path string, opts Options) (*DB, error) {
	if opts.LockTimeout == 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create folder: %w", err)
	}

	// Open with a lock timeout so a second minicloud fails fast.
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      opts.LockTimeout,
		FreelistType: bolt.FreelistMapType,
	})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s", ErrLocked, path)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if opts.BatchDelay > 0 {
		bdb.MaxBatchDelay = opts.BatchDelay
	}

	db := &DB{bolt: bdb, path: path}
	if err := bdb.Update(migrate); err != nil {
		bdb.Close()
		return nil, err
	}
	caches.Store(bdb, newInstanceCache())
	return db, nil
}

// Close closes the file. Transactions in progress finish first.
func (db *DB) Close() error {
	err := db.bolt.Close()
	caches.Delete(db.bolt)
	return err
}

// Path returns the file's path.
func (db *DB) Path() string { return db.path }
