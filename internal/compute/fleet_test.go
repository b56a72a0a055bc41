package compute

import (
	"errors"
	"fmt"
	"testing"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/scheduler"
)

// readyFleet returns a fleet of n ready hosts with the image ami-1, each
// with 64 threads and 512 GiB.
func readyFleet(n int) *fleet {
	var configs []HostConfig
	for i := range n {
		configs = append(configs, HostConfig{Name: fmt.Sprintf("esxi-%04d", i), Zone: "z1"})
	}
	f := newFleet(configs)
	for _, c := range configs {
		f.setReady(c.Name, 64, 512<<10, map[string]bool{"ami-1": true})
	}
	return f
}

var microReq = scheduler.Request{Min: 1, Max: 1, VCPUs: 2, MemoryMiB: 1024, ImageID: "ami-1"}

func TestFleet_Place(t *testing.T) {
	t.Run("Spreads", func(t *testing.T) {
		f := readyFleet(3)
		got := map[string]int{}
		for i := range 9 {
			hosts, err := f.place(microReq, scheduler.Options{}, []string{fmt.Sprint("i-", i)})
			if err != nil {
				t.Fatal(err)
			}
			got[hosts[0]]++
		}
		for _, h := range f.snapshot() {
			if got[h.Name] != 3 || h.Instances != 3 || h.UsedVCPUs != 6 {
				t.Errorf("%s: %d placed, %d instances, %d vCPUs; want 3, 3 and 6",
					h.Name, got[h.Name], h.Instances, h.UsedVCPUs)
			}
		}
	})

	t.Run("SeesChanges", func(t *testing.T) {
		f := readyFleet(2)
		if _, err := f.place(microReq, scheduler.Options{}, []string{"i-1"}); err != nil {
			t.Fatal(err)
		}

		// A host that stops answering takes nothing more.
		f.setState("esxi-0000", cloud.HostUnreachable, "gone")
		for i := range 4 {
			hosts, err := f.place(microReq, scheduler.Options{}, []string{fmt.Sprint("i-x", i)})
			if err != nil || hosts[0] != "esxi-0001" {
				t.Fatalf("placed on %v, %v; want esxi-0001 alone", hosts, err)
			}
		}

		// Nor does a host that lost the image.
		f.setReady("esxi-0000", 64, 512<<10, map[string]bool{"ami-1": true})
		f.setImage("esxi-0000", "ami-1", false)
		hosts, err := f.place(microReq, scheduler.Options{}, []string{"i-y"})
		if err != nil || hosts[0] != "esxi-0001" {
			t.Fatalf("placed on %v, %v; want esxi-0001, the host with the image", hosts, err)
		}

		// Room freed elsewhere counts at once.
		f.setImage("esxi-0000", "ami-1", true)
		f.release([]string{"i-x0", "i-x1", "i-x2", "i-x3", "i-y"})
		hosts, _ = f.place(microReq, scheduler.Options{}, []string{"i-z"})
		if hosts[0] != "esxi-0001" {
			t.Errorf("placed on %s, want esxi-0001, emptier once released", hosts[0])
		}
	})

	t.Run("Full", func(t *testing.T) {
		f := newFleet([]HostConfig{{Name: "a", Zone: "z1"}})
		f.setReady("a", 1, 2048, map[string]bool{"ami-1": true})
		for i := range 2 {
			if _, err := f.place(microReq, scheduler.Options{}, []string{fmt.Sprint("i-", i)}); err != nil {
				t.Fatal(err)
			}
		}
		_, err := f.place(microReq, scheduler.Options{}, []string{"i-2"})
		var capErr *scheduler.CapacityError
		if !errors.As(err, &capErr) {
			t.Fatalf("err = %v, want a capacity error", err)
		}
		f.release([]string{"i-0"})
		if _, err := f.place(microReq, scheduler.Options{}, []string{"i-3"}); err != nil {
			t.Errorf("after a release: %v, want room for one", err)
		}
	})
}

// BenchmarkFleet_Place places 10,000 instances over 1,000 hosts one call
// at a time, as RunInstances does: the fleet's accounting included. One
// op is all 10,000 placements.
func BenchmarkFleet_Place(b *testing.B) {
	ids := make([][]string, 10000)
	for i := range ids {
		ids[i] = []string{fmt.Sprint("i-", i)}
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		f := readyFleet(1000)
		b.StartTimer()
		for _, id := range ids {
			if _, err := f.place(microReq, scheduler.Options{}, id); err != nil {
				b.Fatal(err)
			}
		}
	}
}
