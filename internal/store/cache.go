package store

import (
	"bytes"
	"sync"

	"github.com/minicloud/minicloud/internal/cloud"
	bolt "go.etcd.io/bbolt"
)

// instanceCache keeps every instance read or written decoded, beside the
// stored bytes it was decoded from, so that reads skip JSON decoding:
// decoding was most of the cost of a page of DescribeInstances, about ten
// microseconds an instance against a fraction of one for a copy.
//
// The cache never decides what a read sees. An entry is used only when
// its bytes equal the bytes the reading transaction holds; otherwise the
// read decodes them, as without a cache, and keeps the result. So a write
// that rolls back, a snapshot older or newer than an entry, or a file
// changed by another program costs at most a decode, never a wrong answer.
// Entries are handed out as deep copies (cloud.Instance.Clone): callers own
// what they get.
type instanceCache struct {
	mu   sync.RWMutex // guards byID
	byID map[string]cachedInstance
}

// cachedInstance is one instance as decoded from raw.
type cachedInstance struct {
	raw  []byte          // the stored JSON; never modified
	inst *cloud.Instance // never handed out: callers get clones
}

func newInstanceCache() *instanceCache {
	return &instanceCache{byID: map[string]cachedInstance{}}
}

// caches finds the instance cache of an open file from its transactions.
var caches sync.Map // *bolt.DB -> *instanceCache

// cacheOf returns the instance cache of tx's file, or nil, which caches
// nothing.
func cacheOf(tx *bolt.Tx) *instanceCache {
	c, _ := caches.Load(tx.DB())
	ic, _ := c.(*instanceCache)
	return ic
}

// decode returns the instance stored under k as v, from the cache when it
// holds these very bytes.
func (c *instanceCache) decode(k, v []byte) (*cloud.Instance, error) {
	if c != nil {
		c.mu.RLock()
		e, ok := c.byID[string(k)]
		c.mu.RUnlock()
		if ok && bytes.Equal(e.raw, v) {
			return e.inst.Clone(), nil
		}
	}
	inst, err := decodeInstance(k, v)
	if err != nil {
		return nil, err
	}
	// v belongs to bbolt and lives only as long as the transaction.
	c.remember(string(k), bytes.Clone(v), inst)
	return inst, nil
}

// remember keeps a copy of inst as decoded from raw, which the cache then
// owns.
func (c *instanceCache) remember(id string, raw []byte, inst *cloud.Instance) {
	if c == nil {
		return
	}
	e := cachedInstance{raw: raw, inst: inst.Clone()}
	c.mu.Lock()
	c.byID[id] = e
	c.mu.Unlock()
}

// forget drops the entry of a deleted instance.
func (c *instanceCache) forget(id string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.byID, id)
	c.mu.Unlock()
}
