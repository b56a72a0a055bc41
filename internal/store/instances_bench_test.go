package store_test

import (
	"slices"
	"testing"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/store"
)

// fill stores n instances over four hosts and returns their ids.
func fill(b *testing.B, db *store.DB, n int) []string {
	b.Helper()
	hosts := []string{"esxi-1", "esxi-2", "esxi-3", "esxi-4"}
	ids := make([]string, 0, n)
	batch := make([]*cloud.Instance, 0, 1000)
	for i := range n {
		inst := newInstance(cloud.NewID(cloud.PrefixInstance), hosts[i%len(hosts)])
		ids = append(ids, inst.ID)
		batch = append(batch, inst)
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := db.CreateInstances(batch, nil); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return ids
}

// BenchmarkDB_CreateInstances_Serial records ten instances a commit with
// one writer: each call waits for its own fsync.
func BenchmarkDB_CreateInstances_Serial(b *testing.B) {
	db := MustOpen(b)
	for b.Loop() {
		batch := make([]*cloud.Instance, 10)
		for i := range batch {
			batch[i] = newInstance(cloud.NewID(cloud.PrefixInstance), "esxi-1")
		}
		if _, err := db.CreateInstances(batch, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDB_InstancesByID reads one instance by id among 10,000, as
// DescribeInstances with an instance id does.
func BenchmarkDB_InstancesByID(b *testing.B) {
	db := MustOpen(b)
	ids := fill(b, db, 10000)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		found, _, err := db.InstancesByID(ids[n%len(ids) : n%len(ids)+1])
		if err != nil || len(found) != 1 {
			b.Fatal(err)
		}
		n++
	}
}

// BenchmarkDB_ScanInstances_Page reads a page of 1,001 instances from the
// middle of 10,000, as each page of a DescribeInstances listing does.
func BenchmarkDB_ScanInstances_Page(b *testing.B) {
	db := MustOpen(b)
	ids := fill(b, db, 10000)
	slices.Sort(ids) // ids are random: the middle of the list is not the middle of the store
	after := ids[len(ids)/2]
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := db.ScanInstances(after, func(*cloud.Instance) bool { n++; return n <= 1000 })
		if err != nil || n != 1001 {
			b.Fatalf("%d instances, %v", n, err)
		}
	}
}

// BenchmarkDB_HostInstances reads the 2,500 instances of one host among
// 10,000, as each controller does before every reconcile and observation.
func BenchmarkDB_HostInstances(b *testing.B) {
	db := MustOpen(b)
	fill(b, db, 10000)
	b.ReportAllocs()
	for b.Loop() {
		insts, err := db.HostInstances("esxi-2")
		if err != nil || len(insts) != 2500 {
			b.Fatalf("%d instances, %v", len(insts), err)
		}
	}
}

// BenchmarkDB_UpdateInstances tags 100 instances among 10,000 in one
// commit, as CreateTags does.
func BenchmarkDB_UpdateInstances(b *testing.B) {
	db := MustOpen(b)
	ids := fill(b, db, 10000)
	n := 0
	for b.Loop() {
		start := (n * 100) % len(ids)
		_, err := db.UpdateInstances(ids[start:start+100], func(i *cloud.Instance) error {
			i.Tags["bench"] = "x"
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
}
