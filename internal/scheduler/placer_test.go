package scheduler_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/minicloud/minicloud/internal/scheduler"
)

// mixedFleet returns hosts of several sizes, some in another zone, one
// without the image and one not ready.
func mixedFleet() []scheduler.Host {
	var hosts []scheduler.Host
	for i := range 12 {
		h := host(fmt.Sprintf("esxi-%02d", i), "z1", 4+i%3*4, 8192+i%4*4096)
		h.UsedVCPUs, h.UsedMemoryMiB = i%5, i%3*1024
		hosts = append(hosts, h)
	}
	hosts[3].Zone = "z2"
	hosts[5].Images = map[string]bool{}
	hosts[7].Ready = false
	return hosts
}

func TestPlacer_Place(t *testing.T) {
	t.Run("SameAsPlace", func(t *testing.T) {
		req := scheduler.Request{VCPUs: 2, MemoryMiB: 2048, Zone: "z1", ImageID: "ami-1"}
		hosts := mixedFleet()
		index := map[string]int{}
		for i, h := range hosts {
			index[h.Name] = i
		}
		p := scheduler.NewPlacer(hosts, req, scheduler.Options{})

		// Place until the fleet is full, one or three at a time, and
		// compare each plan with a fresh Place over the updated hosts.
		for call := 0; ; call++ {
			n := 1 + call%2*2
			want := req
			want.Min, want.Max = 1, n
			wantPlan, wantErr := scheduler.Place(hosts, want, scheduler.Options{})
			got, err := p.Place(1, n)
			if !reflect.DeepEqual(got, wantPlan) || (err == nil) != (wantErr == nil) {
				t.Fatalf("call %d: placer gave %+v, %v; Place gives %+v, %v",
					call, got, err, wantPlan, wantErr)
			}
			if err != nil {
				break
			}
			for _, name := range got.Hosts {
				hosts[index[name]].UsedVCPUs += req.VCPUs
				hosts[index[name]].UsedMemoryMiB += req.MemoryMiB
			}
		}
	})

	t.Run("SpentAfterFailure", func(t *testing.T) {
		req := scheduler.Request{VCPUs: 2, MemoryMiB: 1024, ImageID: "ami-1"}
		p := scheduler.NewPlacer([]scheduler.Host{host("a", "z1", 1, 2048)}, req, scheduler.Options{})
		_, err := p.Place(3, 3)
		var capErr *scheduler.CapacityError
		if !errors.As(err, &capErr) || capErr.Placed != 2 {
			t.Fatalf("err = %v, want a capacity error after 2", err)
		}
		if _, err := p.Place(1, 1); err == nil || errors.As(err, &capErr) {
			t.Errorf("a spent placer answered %v, want an error saying it is spent", err)
		}
	})
}

// BenchmarkPlacer_OneAtATime places 10,000 instances across 1,000 hosts
// one call at a time through one Placer, as a burst of RunInstances does.
// One op is all 10,000 placements.
func BenchmarkPlacer_OneAtATime(b *testing.B) {
	const placements, hosts = 10000, 1000
	req := scheduler.Request{VCPUs: 2, MemoryMiB: 1024, ImageID: "ami-1"}
	fleet := make([]scheduler.Host, hosts)
	for i := range fleet {
		fleet[i] = host(fmt.Sprintf("esxi-%04d", i), fmt.Sprintf("z%d", i%3), 64, 512<<10)
	}

	b.ReportAllocs()
	for b.Loop() {
		p := scheduler.NewPlacer(fleet, req, scheduler.Options{})
		for range placements {
			if _, err := p.Place(1, 1); err != nil {
				b.Fatal(err)
			}
		}
	}
}
