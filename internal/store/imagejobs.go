package store

import (
	"fmt"

	"github.com/minicloud/minicloud/internal/cloud"
	bolt "go.etcd.io/bbolt"
)

// NameTakenError is returned by CreateImage when the owner already has an
// image of that name. It matches ErrExists.
type NameTakenError struct {
	Name    string
	ImageID string // the image that has the name
}

// Error names the image holding the name.
func (e *NameTakenError) Error() string {
	return fmt.Sprintf("store: image name %q is used by %s", e.Name, e.ImageID)
}

// Is makes errors.Is(err, ErrExists) true.
func (e *NameTakenError) Is(target error) bool { return target == ErrExists }

// CreateImage stores a new image. An image name is unique among its
// owner's images that are not deregistered: it returns a *NameTakenError
// for a name in use, and ErrExists for an id in use, writing nothing.
func (db *DB) CreateImage(img *cloud.Image) error {
	_, err := db.CreateImageFrom(img, "", nil)
	return err
}

// CreateImageFrom stores a new image, as CreateImage does, and in the same
// transaction applies change to the instance with id instanceID, when it
// is not empty, and stores it. It returns the instance as stored, or
// ErrNotFound for a missing instance; nothing is written on any error.
func (db *DB) CreateImageFrom(img *cloud.Image, instanceID string,
	change func(*cloud.Instance) error,
) (*cloud.Instance, error) {
	var inst *cloud.Instance
	err := db.bolt.Batch(func(tx *bolt.Tx) error {
		inst = nil
		if tx.Bucket(bucketImages).Get([]byte(img.ID)) != nil {
			return fmt.Errorf("%w: image %s", ErrExists, img.ID)
		}
		err := forEachJSON(tx, bucketImages, func(o *cloud.Image) error {
			if o.OwnerID == img.OwnerID && o.OwnerAlias == img.OwnerAlias &&
				o.Name == img.Name && o.State != cloud.ImageDeregistered {
				return &NameTakenError{Name: img.Name, ImageID: o.ID}
			}
			return nil
		})
		if err != nil {
			return err
		}

		// The instance the image is made from changes with it.
		if instanceID != "" {
			i, err := getInstance(tx, instanceID)
			if err != nil {
				return err
			}
			// An image of a stopped instance leaves it as it is.
			if change != nil {
				if err := change(i); err != nil {
					return err
				}
				if err := putInstance(tx, i); err != nil {
					return err
				}
			}
			inst = i
		}
		return putJSON(tx, bucketImages, img.ID, img)
	})
	if err != nil {
		return nil, err
	}
	return inst, nil
}
