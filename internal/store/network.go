package store

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/minicloud/minicloud/internal/cloud"
	bolt "go.etcd.io/bbolt"
)

// ErrInUse is returned when a record to delete is still referred to.
var ErrInUse = errors.New("store: in use")

// InUseError names what still refers to a record that was to be deleted.
// It matches ErrInUse.
type InUseError struct {
	ID string // the record to delete
	By string // the id of a record that refers to it
}

// Error describes the dependency.
func (e *InUseError) Error() string {
	return fmt.Sprintf("store: %s is used by %s", e.ID, e.By)
}

// Is makes errors.Is(err, ErrInUse) true.
func (e *InUseError) Is(target error) bool { return target == ErrInUse }

// DefaultNetwork is an account's default VPC, its default subnets (one per
// availability zone) and its default security group.
type DefaultNetwork struct {
	VPC     *cloud.VPC
	Group   *cloud.SecurityGroup
	Subnets []*cloud.Subnet
}

// EnsureDefaultNetwork records n as the default network of n.VPC.OwnerID,
// in one transaction, unless the account has one already: then it keeps
// that one and adds only the subnets of n whose zones have no default
// subnet yet, moved into the existing VPC. It returns the account's
// default network as stored, so ids stay the same across calls.
func (db *DB) EnsureDefaultNetwork(n *DefaultNetwork) (*DefaultNetwork, error) {
	var out *DefaultNetwork
	err := db.bolt.Batch(func(tx *bolt.Tx) error {
		cur, err := defaultNetwork(tx, n.VPC.OwnerID)
		if err != nil {
			return err
		}

		// A first call stores the VPC and its default group.
		if cur.VPC == nil {
			if err := putJSON(tx, bucketVPCs, n.VPC.ID, n.VPC); err != nil {
				return err
			}
			if err := putJSON(tx, bucketGroups, n.Group.ID, n.Group); err != nil {
				return err
			}
			cur.VPC, cur.Group = n.VPC, n.Group
		}

		// Zones added since get their default subnets.
		have := map[string]bool{}
		for _, s := range cur.Subnets {
			have[s.AvailabilityZone] = true
		}
		for _, s := range n.Subnets {
			if have[s.AvailabilityZone] {
				continue
			}
			s = s.Clone()
			s.VPCID = cur.VPC.ID
			if err := putJSON(tx, bucketSubnets, s.ID, s); err != nil {
				return err
			}
			cur.Subnets = append(cur.Subnets, s)
		}
		out = cur
		return nil
	})
	return out, err
}

// defaultNetwork reads the default network of account in tx; its VPC is
// nil when there is none.
func defaultNetwork(tx *bolt.Tx, account string) (*DefaultNetwork, error) {
	n := &DefaultNetwork{}
	err := forEachJSON(tx, bucketVPCs, func(v *cloud.VPC) error {
		if v.OwnerID == account && v.IsDefault {
			n.VPC = v
		}
		return nil
	})
	if err != nil || n.VPC == nil {
		return n, err
	}
	err = forEachJSON(tx, bucketSubnets, func(s *cloud.Subnet) error {
		if s.VPCID == n.VPC.ID && s.DefaultForAZ {
			n.Subnets = append(n.Subnets, s)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = forEachJSON(tx, bucketGroups, func(g *cloud.SecurityGroup) error {
		if g.VPCID == n.VPC.ID && g.Name == cloud.DefaultGroupName {
			n.Group = g
		}
		return nil
	})
	return n, err
}

// VPCs returns every VPC, in id order.
func (db *DB) VPCs() ([]*cloud.VPC, error) {
	return listJSON[cloud.VPC](db, bucketVPCs)
}

// Subnets returns every subnet, in id order.
func (db *DB) Subnets() ([]*cloud.Subnet, error) {
	return listJSON[cloud.Subnet](db, bucketSubnets)
}

// SecurityGroups returns every security group, in id order.
func (db *DB) SecurityGroups() ([]*cloud.SecurityGroup, error) {
	return listJSON[cloud.SecurityGroup](db, bucketGroups)
}

// Subnet returns the subnet with id, or ErrNotFound.
func (db *DB) Subnet(id string) (*cloud.Subnet, error) {
	return getJSONView[cloud.Subnet](db, bucketSubnets, id)
}

// SecurityGroup returns the security group with id, or ErrNotFound.
func (db *DB) SecurityGroup(id string) (*cloud.SecurityGroup, error) {
	return getJSONView[cloud.SecurityGroup](db, bucketGroups, id)
}

// CreateSecurityGroup stores a new security group. It returns ErrExists,
// and writes nothing, when its VPC has a group of that name or its id is
// taken.
func (db *DB) CreateSecurityGroup(g *cloud.SecurityGroup) error {
	return db.bolt.Batch(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketGroups).Get([]byte(g.ID)) != nil {
			return fmt.Errorf("%w: security group %s", ErrExists, g.ID)
		}
		err := forEachJSON(tx, bucketGroups, func(o *cloud.SecurityGroup) error {
			if o.VPCID == g.VPCID && o.Name == g.Name {
				return fmt.Errorf("%w: security group %s", ErrExists, g.Name)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return putJSON(tx, bucketGroups, g.ID, g)
	})
}

// UpdateSecurityGroup applies fn to the group with id and stores the
// result in one transaction. It returns ErrNotFound when there is no such
// group, and fn's error unchanged, writing nothing.
func (db *DB) UpdateSecurityGroup(id string,
	fn func(*cloud.SecurityGroup) error,
) (*cloud.SecurityGroup, error) {
	var out *cloud.SecurityGroup
	err := db.bolt.Batch(func(tx *bolt.Tx) error {
		g, err := getJSON[cloud.SecurityGroup](tx, bucketGroups, id)
		if err != nil {
			return err
		}
		if err := fn(g); err != nil {
			return err
		}
		out = g
		return putJSON(tx, bucketGroups, id, g)
	})
	return out, err
}

// DeleteSecurityGroup removes the group with id unless something refers to
// it: an instance that is not terminated, or a rule of another group. It
// returns an *InUseError naming the first such record, ErrNotFound for a
// group that is not there, or check's error; each writes nothing.
func (db *DB) DeleteSecurityGroup(id string, check func(*cloud.SecurityGroup) error) error {
	return db.bolt.Batch(func(tx *bolt.Tx) error {
		g, err := getJSON[cloud.SecurityGroup](tx, bucketGroups, id)
		if err != nil {
			return err
		}
		if err := check(g); err != nil {
			return err
		}

		// Instances that are not terminated keep their groups.
		err = tx.Bucket(bucketInstances).ForEach(func(k, v []byte) error {
			inst, err := decodeInstance(k, v)
			if err != nil {
				return err
			}
			if inst.State == cloud.StateTerminated {
				return nil
			}
			for _, sg := range inst.SecurityGroups {
				if sg.ID == id {
					return &InUseError{ID: id, By: inst.ID}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}

		// Rules of other groups may name it as their peer.
		err = forEachJSON(tx, bucketGroups, func(o *cloud.SecurityGroup) error {
			if o.ID == id {
				return nil
			}
			for _, r := range o.Rules {
				if r.GroupID == id {
					return &InUseError{ID: id, By: o.ID}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketGroups).Delete([]byte(id))
	})
}

// putJSON encodes v and stores it under id in bucket.
func putJSON(tx *bolt.Tx, bucket []byte, id string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode %s: %w", id, err)
	}
	return tx.Bucket(bucket).Put([]byte(id), b)
}

// getJSON reads and decodes the record id of bucket in tx, or returns
// ErrNotFound.
func getJSON[T any](tx *bolt.Tx, bucket []byte, id string) (*T, error) {
	v := tx.Bucket(bucket).Get([]byte(id))
	if v == nil {
		return nil, ErrNotFound
	}
	out := new(T)
	if err := json.Unmarshal(v, out); err != nil {
		return nil, fmt.Errorf("store: decode %s: %w", id, err)
	}
	return out, nil
}

// getJSONView is getJSON in a read transaction of its own.
func getJSONView[T any](db *DB, bucket []byte, id string) (*T, error) {
	var out *T
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v, err := getJSON[T](tx, bucket, id)
		out = v
		return err
	})
	return out, err
}

// forEachJSON decodes every record of bucket in tx, in key order, and
// calls fn with each, stopping at fn's first error.
func forEachJSON[T any](tx *bolt.Tx, bucket []byte, fn func(*T) error) error {
	return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
		out := new(T)
		if err := json.Unmarshal(v, out); err != nil {
			return fmt.Errorf("store: decode %s: %w", k, err)
		}
		return fn(out)
	})
}

// listJSON returns every record of bucket, in key order.
func listJSON[T any](db *DB, bucket []byte) ([]*T, error) {
	var out []*T
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return forEachJSON(tx, bucket, func(v *T) error {
			out = append(out, v)
			return nil
		})
	})
	return out, err
}
