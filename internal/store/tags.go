package store

import (
	"errors"
	"strings"

	"github.com/minicloud/minicloud/internal/cloud"
	bolt "go.etcd.io/bbolt"
)

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
// by its id's prefix, in one transaction. visible is shown each resource
// (a *cloud.Instance, *cloud.Image, *cloud.VPC, *cloud.Subnet,
// *cloud.SecurityGroup or *cloud.KeyPair) and may refuse it. If any id is
// missing or refused it returns a *MissingError listing them, and if edit
// fails its error; either way nothing is written.
func (db *DB) UpdateTags(ids []string, visible func(any) bool,
	edit func(cloud.Tags) (cloud.Tags, error),
) error {
	return db.bolt.Batch(func(tx *bolt.Tx) error {
		var missing []string
		for _, id := range ids {
			err := updateTags(tx, id, visible, edit)
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
func updateTags(tx *bolt.Tx, id string, visible func(any) bool,
	edit func(cloud.Tags) (cloud.Tags, error),
) error {
	if strings.HasPrefix(id, cloud.PrefixInstance) {
		inst, err := getInstance(tx, id)
		if err != nil {
			return err
		}
		if !visible(inst) {
			return ErrNotFound
		}
		if inst.Tags, err = edit(inst.Tags); err != nil {
			return err
		}
		return putInstance(tx, inst)
	}
	switch prefix, _, _ := strings.Cut(id, "-"); prefix + "-" {
	case cloud.PrefixImage:
		return editTags[cloud.Image](tx, id, visible, edit, func(v *cloud.Image) *cloud.Tags { return &v.Tags })
	case cloud.PrefixVPC:
		return editTags[cloud.VPC](tx, id, visible, edit, func(v *cloud.VPC) *cloud.Tags { return &v.Tags })
	case cloud.PrefixSubnet:
		return editTags[cloud.Subnet](tx, id, visible, edit, func(v *cloud.Subnet) *cloud.Tags { return &v.Tags })
	case cloud.PrefixSecurityGroup:
		return editTags[cloud.SecurityGroup](tx, id, visible, edit,
			func(v *cloud.SecurityGroup) *cloud.Tags { return &v.Tags })
	case cloud.PrefixKeyPair:
		return editTags[cloud.KeyPair](tx, id, visible, edit, func(v *cloud.KeyPair) *cloud.Tags { return &v.Tags })
	}
	return ErrNotFound
}

// editTags edits the tags of the record id of type T, whose tags tagsOf
// points at.
func editTags[T any](tx *bolt.Tx, id string, visible func(any) bool,
	edit func(cloud.Tags) (cloud.Tags, error), tagsOf func(*T) *cloud.Tags,
) error {
	prefix, _, _ := strings.Cut(id, "-")
	bucket := taggedBuckets[prefix+"-"]
	v, err := getJSON[T](tx, bucket, id)
	if err != nil {
		return err
	}
	if !visible(v) {
		return ErrNotFound
	}
	tags := tagsOf(v)
	if *tags, err = edit(*tags); err != nil {
		return err
	}
	return putJSON(tx, bucket, id, v)
}
