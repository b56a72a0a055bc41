package store

import (
	"encoding/json"
	"fmt"

	"github.com/minicloud/minicloud/internal/cloud"
	bolt "go.etcd.io/bbolt"
)

// PutImage creates or replaces an image.
func (db *DB) PutImage(img *cloud.Image) error {
	v, err := json.Marshal(img)
	if err != nil {
		return fmt.Errorf("store: encode image %s: %w", img.ID, err)
	}
	return db.bolt.Batch(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketImages).Put([]byte(img.ID), v)
	})
}

// UpdateImage applies fn to the image with id and stores the result in one
// transaction. It returns ErrNotFound when there is no such image.
func (db *DB) UpdateImage(id string, fn func(*cloud.Image) error) (*cloud.Image, error) {
	var img *cloud.Image
	err := db.bolt.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketImages)
		v := b.Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		img = new(cloud.Image)
		if err := json.Unmarshal(v, img); err != nil {
			return fmt.Errorf("store: decode image %s: %w", id, err)
		}
		if err := fn(img); err != nil {
			return err
		}
		v, err := json.Marshal(img)
		if err != nil {
			return err
		}
		return b.Put([]byte(id), v)
	})
	return img, err
}

// Images returns every image, in id order.
func (db *DB) Images() ([]*cloud.Image, error) {
	var out []*cloud.Image
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketImages).ForEach(func(k, v []byte) error {
			img := new(cloud.Image)
			if err := json.Unmarshal(v, img); err != nil {
				return fmt.Errorf("store: decode image %s: %w", k, err)
			}
			out = append(out, img)
			return nil
		})
	})
	return out, err
}

// DeleteImage removes an image. A missing image is not an error.
func (db *DB) DeleteImage(id string) error {
	return db.bolt.Batch(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketImages).Delete([]byte(id))
	})
}

// Image returns the image with id, or ErrNotFound.
func (db *DB) Image(id string) (*cloud.Image, error) {
	var img *cloud.Image
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketImages).Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		img = new(cloud.Image)
		if err := json.Unmarshal(v, img); err != nil {
			return fmt.Errorf("store: decode image %s: %w", id, err)
		}
		return nil
	})
	return img, err
}
