package store

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
	bolt "go.etcd.io/bbolt"
)

// openCached opens a store in a temporary folder for the cache's tests.
func openCached(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "minicloud.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// fullInstance returns an instance with every field set, so that a copy
// that shares any part of it shows.
func fullInstance(t *testing.T, id string) *cloud.Instance {
	t.Helper()
	inst := &cloud.Instance{}
	v := reflect.ValueOf(inst).Elem()
	for i := range v.NumField() {
		fill(t, v.Field(i), v.Type().Field(i).Name)
	}
	inst.ID = id
	return inst
}

// fill gives f a non-zero value.
func fill(t *testing.T, f reflect.Value, name string) {
	t.Helper()
	switch f.Kind() {
	case reflect.String:
		f.SetString(name)
	case reflect.Bool:
		f.SetBool(true)
	case reflect.Int, reflect.Int64:
		if f.Type() == reflect.TypeOf(time.Duration(0)) {
			f.SetInt(int64(time.Second))
			return
		}
		f.SetInt(7)
	case reflect.Map:
		m := reflect.MakeMap(f.Type())
		k, e := reflect.New(f.Type().Key()).Elem(), reflect.New(f.Type().Elem()).Elem()
		fill(t, k, name+"Key")
		fill(t, e, name+"Value")
		m.SetMapIndex(k, e)
		f.Set(m)
	case reflect.Slice:
		s := reflect.MakeSlice(f.Type(), 1, 1)
		fill(t, s.Index(0), name)
		f.Set(s)
	case reflect.Pointer:
		p := reflect.New(f.Type().Elem())
		fill(t, p.Elem(), name)
		f.Set(p)
	case reflect.Struct:
		if f.Type() == reflect.TypeOf(time.Time{}) {
			f.Set(reflect.ValueOf(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)))
			return
		}
		for i := range f.NumField() {
			if f.Type().Field(i).IsExported() {
				fill(t, f.Field(i), name+f.Type().Field(i).Name)
			}
		}
	case reflect.Uint8:
		f.SetUint(7)
	default:
		t.Fatalf("field %s: cannot fill a %s; teach this test", name, f.Kind())
	}
}

// sharesMemory reports the first map, slice or pointer of a and b, two
// values of the same type, that is one and the same in both.
func sharesMemory(a, b reflect.Value, name string) string {
	switch a.Kind() {
	case reflect.Map, reflect.Slice, reflect.Pointer:
		if !a.IsNil() && a.UnsafePointer() == b.UnsafePointer() {
			return name
		}
		if a.Kind() == reflect.Pointer && !a.IsNil() {
			return sharesMemory(a.Elem(), b.Elem(), name)
		}
		if a.Kind() == reflect.Slice {
			for i := 0; i < a.Len() && i < b.Len(); i++ {
				if s := sharesMemory(a.Index(i), b.Index(i), name); s != "" {
					return s
				}
			}
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if !a.Type().Field(i).IsExported() {
				continue
			}
			if s := sharesMemory(a.Field(i), b.Field(i), name+"."+a.Type().Field(i).Name); s != "" {
				return s
			}
		}
	}
	return ""
}

func TestInstanceCache(t *testing.T) {
	t.Run("CopiesAreOwned", func(t *testing.T) {
		db := openCached(t)
		want := fullInstance(t, "i-0000000000000000a")
		if _, err := db.CreateInstances([]*cloud.Instance{want}, nil); err != nil {
			t.Fatal(err)
		}

		// Two reads, from the cache, are equal and share nothing.
		a, err := db.Instance(want.ID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := db.Instance(want.ID)
		if !reflect.DeepEqual(a, want) || !reflect.DeepEqual(b, want) {
			t.Fatalf("read back\n%+v\nwant\n%+v", a, want)
		}
		if s := sharesMemory(reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem(), "Instance"); s != "" {
			t.Errorf("two reads share %s: cloud.Instance.Clone must copy it", s)
		}
	})

	t.Run("RolledBackWrite", func(t *testing.T) {
		db := openCached(t)
		inst := newCachedTestInstance("i-0000000000000000b")
		db.CreateInstances([]*cloud.Instance{inst}, nil)

		failed := errors.New("refused")
		_, err := db.UpdateInstance(inst.ID, func(i *cloud.Instance) error {
			i.State = cloud.StateRunning
			return failed
		})
		if !errors.Is(err, failed) {
			t.Fatalf("err = %v, want the refusal", err)
		}
		got, _ := db.Instance(inst.ID)
		if got.State != cloud.StatePending {
			t.Errorf("state %s after a failed update, want pending", got.State)
		}
	})

	t.Run("StoredBytesWin", func(t *testing.T) {
		db := openCached(t)
		inst := newCachedTestInstance("i-0000000000000000c")
		db.CreateInstances([]*cloud.Instance{inst}, nil)
		db.Instance(inst.ID) // cached

		// Another writer changes the record behind the cache's back.
		inst.State = cloud.StateStopped
		v, _ := json.Marshal(inst)
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketInstances).Put([]byte(inst.ID), v)
		})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := db.Instance(inst.ID)
		if got.State != cloud.StateStopped {
			t.Errorf("state %s, want stopped as stored", got.State)
		}
		var scanned cloud.InstanceState
		db.ScanInstances("", func(i *cloud.Instance) bool { scanned = i.State; return false })
		if scanned != cloud.StateStopped {
			t.Errorf("scan saw %s, want stopped as stored", scanned)
		}
	})

	t.Run("Deleted", func(t *testing.T) {
		db := openCached(t)
		inst := newCachedTestInstance("i-0000000000000000d")
		db.CreateInstances([]*cloud.Instance{inst}, nil)
		if err := db.DeleteInstances([]string{inst.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Instance(inst.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("err = %v after delete, want ErrNotFound", err)
		}
		if n := len(cacheOfDB(db).byID); n != 0 {
			t.Errorf("%d entries kept after delete, want 0", n)
		}
	})
}

func newCachedTestInstance(id string) *cloud.Instance {
	return &cloud.Instance{ID: id, Host: "esxi-1", State: cloud.StatePending,
		Desired: cloud.StateRunning, Tags: cloud.Tags{"Name": "web"}}
}

// cacheOfDB returns db's instance cache.
func cacheOfDB(db *DB) *instanceCache {
	c, _ := caches.Load(db.bolt)
	return c.(*instanceCache)
}
