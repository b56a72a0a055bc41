package store

import (
	"errors"
	"strings"

	"github.com/minicloud/minicloud/internal/cloud"
	bolt "go.etcd.io/bbolt"
)

// TagSlot reads and writes the tags a caller sees on one resource: most
// resources have one set of tags, but an image has one per account.
type TagSlot struct {
	Get func() cloud.Tags
	Set func(cloud.Tags)
}

// taggedBuckets maps the id prefix of each kind of resource that keeps
// tags, other than instances, to its bucket.
var taggedBuckets = map[string][]byte{
	cloud.PrefixImage:         bucketImages,
	cloud.PrefixVPC:           bucketVPCs,
	cloud.PrefixSubnet:        bucketSubnets,
	cloud.PrefixSecurityGroup: bucketGroups,
	cloud.PrefixKeyPair:       bucketKeyPairs,
}

// UpdateTags applies edit to the tags of every resource in ids, each found
// by its id's prefix, in one transaction. slot is shown each resource (a
// *cloud.Instance, *cloud.Image, *cloud.VPC, *cloud.Subnet,
// *cloud.SecurityGroup or *cloud.KeyPair) and returns where its tags are,
// or false to treat it as missing. If any id is missing it returns a
// *MissingError listing them, and if edit fails its error; either way
// nothing is written.
func (db *DB) UpdateTags(ids []string, slot func(any) (TagSlot, bool),
	edit func(cloud.Tags) (cloud.Tags, error),
) error {
	return db.bolt.Batch(func(tx *bolt.Tx) error {
		var missing []string
		for _, id := range ids {
			err := updateTags(tx, id, slot, edit)
			if errors.Is(err, ErrNotFound) {
				missing = append(missing, id)
				continue
			}
			if err != nil {
				return err
			}
		}
		if len(missing) > 0 {
			return &MissingError{IDs: missing}
		}
		return nil
	})
}

// updateTags edits the tags of one resource in tx.
func updateTags(tx *bolt.Tx, id string, slot func(any) (TagSlot, bool),
	edit func(cloud.Tags) (cloud.Tags, error),
) error {
	if strings.HasPrefix(id, cloud.PrefixInstance) {
		inst, err := getInstance(tx, id)
		if err != nil {
			return err
		}
		if err := editSlot(inst, slot, edit); err != nil {
			return err
		}
		return putInstance(tx, inst)
	}
	prefix, _, _ := strings.Cut(id, "-")
	switch prefix + "-" {
	case cloud.PrefixImage:
		return editTags[cloud.Image](tx, id, slot, edit)
	case cloud.PrefixVPC:
		return editTags[cloud.VPC](tx, id, slot, edit)
	case cloud.PrefixSubnet:
		return editTags[cloud.Subnet](tx, id, slot, edit)
	case cloud.PrefixSecurityGroup:
		return editTags[cloud.SecurityGroup](tx, id, slot, edit)
	case cloud.PrefixKeyPair:
		return editTags[cloud.KeyPair](tx, id, slot, edit)
	}
	return ErrNotFound
}

// editTags edits the tags of the record id of type T in its bucket.
func editTags[T any](tx *bolt.Tx, id string, slot func(any) (TagSlot, bool),
	edit func(cloud.Tags) (cloud.Tags, error),
) error {
	prefix, _, _ := strings.Cut(id, "-")
	bucket := taggedBuckets[prefix+"-"]
	v, err := getJSON[T](tx, bucket, id)
	if err != nil {
		return err
	}
	if err := editSlot(v, slot, edit); err != nil {
		return err
	}
	return putJSON(tx, bucket, id, v)
}

// editSlot applies edit to the tags slot finds on v.
func editSlot(v any, slot func(any) (TagSlot, bool), edit func(cloud.Tags) (cloud.Tags, error)) error {
	s, ok := slot(v)
	if !ok {
		return ErrNotFound
	}
	tags, err := edit(s.Get())
	if err != nil {
		return err
	}
	s.Set(tags)
	return nil
}
