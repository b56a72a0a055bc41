package store_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/store"
	bolt "go.etcd.io/bbolt"
)

// MustOpen opens a store in a fresh temporary folder and closes it when
// the test ends.
func MustOpen(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "state", "minicloud.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newInstance(id, host string) *cloud.Instance {
	return &cloud.Instance{
		ID: id, ReservationID: "r-0123456789abcdef0", Host: host,
		State: cloud.StatePending, Desired: cloud.StateRunning,
		Tags:       cloud.Tags{"Name": "web"},
		LaunchTime: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC),
	}
}

func TestOpen(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		path := filepath.Join(dir, "minicloud.db")
		db, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()

		for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s mode = %o, want %o", p, got, want)
			}
		}
		if v, err := db.Schema(); err != nil || v != store.SchemaVersion {
			t.Errorf("Schema() = %d, %v; want %d", v, err, store.SchemaVersion)
		}
	})

	t.Run("ErrLocked", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "minicloud.db")
		db, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()

		start := time.Now()
		_, err = store.Open(path, store.Options{LockTimeout: 100 * time.Millisecond})
		if !errors.Is(err, store.ErrLocked) {
			t.Fatalf("second Open: err = %v, want ErrLocked", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("second Open took %v, want it to fail fast", d)
		}
	})

	t.Run("ErrNewerSchema", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "minicloud.db")
		bdb, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = bdb.Update(func(tx *bolt.Tx) error {
			b, _ := tx.CreateBucketIfNotExists([]byte("meta"))
			return b.Put([]byte("schema"), []byte("999"))
		})
		bdb.Close()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Open(path, store.Options{}); !errors.Is(err, store.ErrNewerSchema) {
			t.Fatalf("err = %v, want ErrNewerSchema", err)
		}
	})
}

func TestDB_CreateInstances(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		db := MustOpen(t)
		a, b := newInstance("i-0000000000000000a", "esxi-1"), newInstance("i-0000000000000000b", "esxi-2")
		if _, err := db.CreateInstances([]*cloud.Instance{a, b}, nil); err != nil {
			t.Fatal(err)
		}
		got, err := db.Instance(a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Host != "esxi-1" || got.Tags["Name"] != "web" || !got.LaunchTime.Equal(a.LaunchTime) {
			t.Errorf("Instance() = %+v, want it as created", got)
		}
	})

	t.Run("ErrExists", func(t *testing.T) {
		db := MustOpen(t)
		a := newInstance("i-0000000000000000a", "esxi-1")
		if _, err := db.CreateInstances([]*cloud.Instance{a}, nil); err != nil {
			t.Fatal(err)
		}
		c := newInstance("i-0000000000000000c", "esxi-1")
		_, err := db.CreateInstances([]*cloud.Instance{c, a}, nil)
		if !errors.Is(err, store.ErrExists) {
			t.Fatalf("err = %v, want ErrExists", err)
		}
		if _, err := db.Instance(c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a failed create left %s behind (err %v)", c.ID, err)
		}
	})

	t.Run("ClientToken", func(t *testing.T) {
		db := MustOpen(t)
		tok := &store.ClientToken{Key: "123456789012/tok", Fingerprint: "f1",
			ReservationID: "r-1", InstanceIDs: []string{"i-0000000000000000a"}}
		first, err := db.CreateInstances([]*cloud.Instance{newInstance("i-0000000000000000a", "h")}, tok)
		if err != nil || first != nil {
			t.Fatalf("first create = %v, %v; want nil, nil", first, err)
		}

		again := &store.ClientToken{Key: tok.Key, Fingerprint: "f2", ReservationID: "r-2"}
		got, err := db.CreateInstances([]*cloud.Instance{newInstance("i-0000000000000000b", "h")}, again)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil || got.ReservationID != "r-1" || got.Fingerprint != "f1" {
			t.Fatalf("repeat returned %+v, want the original token", got)
		}
		if _, err := db.Instance("i-0000000000000000b"); !errors.Is(err, store.ErrNotFound) {
			t.Error("a repeated token created instances")
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		db := MustOpen(t)
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < 20; i++ {
					id := fmt.Sprintf("i-%08x%09x", w, i)
					if _, err := db.CreateInstances([]*cloud.Instance{newInstance(id, "h")}, nil); err != nil {
						t.Error(err)
					}
				}
			}(w)
		}
		wg.Wait()
		n := 0
		db.ScanInstances("", func(*cloud.Instance) bool { n++; return true })
		if n != 160 {
			t.Errorf("stored %d instances, want 160", n)
		}
	})
}

func TestDB_ScanInstances(t *testing.T) {
	db := MustOpen(t)
	var insts []*cloud.Instance
	for _, id := range []string{"i-0000000000000000c", "i-0000000000000000a", "i-0000000000000000b"} {
		insts = append(insts, newInstance(id, "h"))
	}
	if _, err := db.CreateInstances(insts, nil); err != nil {
		t.Fatal(err)
	}

	scan := func(after string, limit int) []string {
		var ids []string
		err := db.ScanInstances(after, func(i *cloud.Instance) bool {
			ids = append(ids, i.ID)
			return len(ids) < limit
		})
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if got := scan("", 10); fmt.Sprint(got) != "[i-0000000000000000a i-0000000000000000b i-0000000000000000c]" {
		t.Errorf("full scan = %v, want id order", got)
	}
	if got := scan("i-0000000000000000a", 1); fmt.Sprint(got) != "[i-0000000000000000b]" {
		t.Errorf("scan after a = %v, want [b]", got)
	}
	if got := scan("i-0000000000000000ab", 10); fmt.Sprint(got) != "[i-0000000000000000b i-0000000000000000c]" {
		t.Errorf("scan after a missing key = %v, want [b c]", got)
	}
}

func TestDB_UpdateInstances(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		db := MustOpen(t)
		a := newInstance("i-0000000000000000a", "h")
		db.CreateInstances([]*cloud.Instance{a}, nil)
		out, err := db.UpdateInstances([]string{a.ID}, func(i *cloud.Instance) error {
			i.State = cloud.StateRunning
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := db.Instance(a.ID)
		if got.State != cloud.StateRunning || out[0].State != cloud.StateRunning {
			t.Errorf("state = %s (returned %s), want running", got.State, out[0].State)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		db := MustOpen(t)
		a := newInstance("i-0000000000000000a", "h")
		db.CreateInstances([]*cloud.Instance{a}, nil)
		_, err := db.UpdateInstances([]string{a.ID, "i-00000000000000bad"}, func(i *cloud.Instance) error {
			i.State = cloud.StateRunning
			return nil
		})
		var missing *store.MissingError
		if !errors.As(err, &missing) || !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("err = %v, want a MissingError", err)
		}
		if fmt.Sprint(missing.IDs) != "[i-00000000000000bad]" {
			t.Errorf("missing = %v", missing.IDs)
		}
		if got, _ := db.Instance(a.ID); got.State != cloud.StatePending {
			t.Errorf("a failed update changed %s to %s", a.ID, got.State)
		}
	})

	t.Run("FnError", func(t *testing.T) {
		db := MustOpen(t)
		a, b := newInstance("i-0000000000000000a", "h"), newInstance("i-0000000000000000b", "h")
		db.CreateInstances([]*cloud.Instance{a, b}, nil)
		stop := errors.New("refused")
		_, err := db.UpdateInstances([]string{a.ID, b.ID}, func(i *cloud.Instance) error {
			if i.ID == b.ID {
				return stop
			}
			i.State = cloud.StateRunning
			return nil
		})
		if !errors.Is(err, stop) {
			t.Fatalf("err = %v, want the function's error", err)
		}
		if got, _ := db.Instance(a.ID); got.State != cloud.StatePending {
			t.Errorf("%s changed although the update failed", a.ID)
		}
	})
}

func TestDB_HostInstances(t *testing.T) {
	db := MustOpen(t)
	db.CreateInstances([]*cloud.Instance{
		newInstance("i-0000000000000000a", "esxi-1"),
		newInstance("i-0000000000000000b", "esxi-2"),
		newInstance("i-0000000000000000c", "esxi-1"),
	}, nil)
	got, err := db.HostInstances("esxi-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "i-0000000000000000a" || got[1].ID != "i-0000000000000000c" {
		t.Fatalf("HostInstances(esxi-1) = %d instances", len(got))
	}

	if err := db.DeleteInstances([]string{"i-0000000000000000a"}); err != nil {
		t.Fatal(err)
	}
	got, _ = db.HostInstances("esxi-1")
	if len(got) != 1 {
		t.Errorf("after delete, HostInstances = %d instances, want 1", len(got))
	}
	if _, err := db.Instance("i-0000000000000000a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted instance still there: %v", err)
	}
}

func TestDB_Reopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "minicloud.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.CreateInstances([]*cloud.Instance{newInstance("i-0000000000000000a", "esxi-1")}, nil)
	db.PutImage(&cloud.Image{ID: "ami-0000000000000000a", Name: "debian-12"})
	db.Close()

	db, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inst, err := db.Instance("i-0000000000000000a")
	if err != nil || inst.Host != "esxi-1" {
		t.Fatalf("after reopen: %v, %v", inst, err)
	}
	imgs, _ := db.Images()
	if len(imgs) != 1 || imgs[0].Name != "debian-12" {
		t.Errorf("after reopen, images = %v", imgs)
	}
}

func BenchmarkDB_CreateInstances(b *testing.B) {
	db := MustOpen(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			batch := make([]*cloud.Instance, 10)
			for i := range batch {
				batch[i] = newInstance(cloud.NewID("i-"), "esxi-1")
			}
			if _, err := db.CreateInstances(batch, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDB_Instance(b *testing.B) {
	db := MustOpen(b)
	var ids []string
	var batch []*cloud.Instance
	for i := 0; i < 10000; i++ {
		inst := newInstance(cloud.NewID("i-"), "esxi-1")
		ids = append(ids, inst.ID)
		batch = append(batch, inst)
	}
	db.CreateInstances(batch, nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Instance(ids[i%len(ids)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDB_ScanInstances(b *testing.B) {
	db := MustOpen(b)
	var batch []*cloud.Instance
	for i := 0; i < 10000; i++ {
		batch = append(batch, newInstance(cloud.NewID("i-"), "esxi-1"))
	}
	db.CreateInstances(batch, nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		db.ScanInstances("", func(*cloud.Instance) bool { n++; return true })
		if n != 10000 {
			b.Fatal(n)
		}
	}
}

func TestOpen_MigratesSchema1(t *testing.T) {
	// A file as the first minicloud wrote it: schema 1, no network buckets.
	path := filepath.Join(t.TempDir(), "minicloud.db")
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucketIfNotExists([]byte("meta"))
		for _, b := range []string{"instances", "host-instances", "images", "client-tokens"} {
			tx.CreateBucketIfNotExists([]byte(b))
		}
		return meta.Put([]byte("schema"), []byte("1"))
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}

	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, _ := db.Schema(); v != store.SchemaVersion || v < 2 {
		t.Fatalf("schema = %d, want %d", v, store.SchemaVersion)
	}
}
