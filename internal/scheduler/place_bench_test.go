package scheduler_test

import (
	"fmt"
	"testing"

	"github.com/minicloud/minicloud/internal/scheduler"
)

// BenchmarkPlace_OneAtATime places 10,000 instances across 1,000 hosts one
// call at a time, as RunInstances does, adding each instance to its host's
// use before the next call. One op is all 10,000 placements.
func BenchmarkPlace_OneAtATime(b *testing.B) {
	const placements, hosts = 10000, 1000
	req := scheduler.Request{Min: 1, Max: 1, VCPUs: 2, MemoryMiB: 1024, ImageID: "ami-1"}
	fleet := make([]scheduler.Host, hosts)
	index := make(map[string]int, hosts)
	for i := range fleet {
		fleet[i] = host(fmt.Sprintf("esxi-%04d", i), fmt.Sprintf("z%d", i%3), 64, 512<<10)
		index[fleet[i].Name] = i
	}

	b.ReportAllocs()
	for b.Loop() {
		for i := range fleet {
			fleet[i].UsedVCPUs, fleet[i].UsedMemoryMiB = 0, 0
		}
		for range placements {
			plan, err := scheduler.Place(fleet, req, scheduler.Options{})
			if err != nil {
				b.Fatal(err)
			}
			h := &fleet[index[plan.Hosts[0]]]
			h.UsedVCPUs += req.VCPUs
			h.UsedMemoryMiB += req.MemoryMiB
		}
	}

	// Spreading puts ten on each host.
	for _, h := range fleet {
		if h.UsedVCPUs != 20 {
			b.Fatalf("%s holds %d vCPUs, want 20: placement did not spread", h.Name, h.UsedVCPUs)
		}
	}
}
