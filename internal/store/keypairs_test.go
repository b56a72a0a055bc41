package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/store"
)

func newKeyPair(id, owner, name string) *cloud.KeyPair {
	return &cloud.KeyPair{ID: id, OwnerID: owner, Name: name, Type: cloud.KeyTypeED25519,
		Fingerprint: "fp", PublicKey: "ssh-ed25519 AAAA " + name,
		CreateTime: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
}

func TestDB_CreateKeyPair(t *testing.T) {
	db := MustOpen(t)
	if err := db.CreateKeyPair(newKeyPair("key-0000000000000000a", "111", "lab")); err != nil {
		t.Fatal(err)
	}

	t.Run("ErrExistsName", func(t *testing.T) {
		err := db.CreateKeyPair(newKeyPair("key-0000000000000000b", "111", "lab"))
		if !errors.Is(err, store.ErrExists) {
			t.Errorf("err = %v, want ErrExists", err)
		}
	})
	t.Run("ErrExistsID", func(t *testing.T) {
		err := db.CreateKeyPair(newKeyPair("key-0000000000000000a", "222", "other"))
		if !errors.Is(err, store.ErrExists) {
			t.Errorf("err = %v, want ErrExists", err)
		}
	})
	t.Run("SameNameOtherAccount", func(t *testing.T) {
		if err := db.CreateKeyPair(newKeyPair("key-0000000000000000c", "222", "lab")); err != nil {
			t.Fatal(err)
		}
	})

	keys, err := db.KeyPairs()
	if err != nil || len(keys) != 2 || keys[0].ID != "key-0000000000000000a" {
		t.Fatalf("KeyPairs() = %v, %v", keys, err)
	}
}

func TestDB_UpdateKeyPair(t *testing.T) {
	db := MustOpen(t)
	db.CreateKeyPair(newKeyPair("key-0000000000000000a", "111", "lab"))
	_, err := db.UpdateKeyPair("key-0000000000000000a", func(k *cloud.KeyPair) error {
		k.Tags = cloud.Tags{"team": "lab"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.KeyPair("key-0000000000000000a")
	if err != nil || got.Tags["team"] != "lab" || !got.CreateTime.Equal(newKeyPair("", "", "").CreateTime) {
		t.Errorf("KeyPair() = %+v, %v", got, err)
	}
	_, err = db.UpdateKeyPair("key-0000000000000000f", func(*cloud.KeyPair) error { return nil })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update of a missing key pair: %v", err)
	}

	// Deleting twice is fine; the key pair is gone.
	for i := 0; i < 2; i++ {
		if err := db.DeleteKeyPair("key-0000000000000000a"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.KeyPair("key-0000000000000000a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("KeyPair after delete: %v", err)
	}
}
