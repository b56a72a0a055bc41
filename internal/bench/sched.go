package bench

import (
	"fmt"
	"time"

	"github.com/minicloud/minicloud/internal/scheduler"
)

// placements places n t3.micro instances over hostCount hosts one call at
// a time, as RunInstances calls the scheduler, adding each instance to its
// host's use before the next call: once through a
// scheduler.Placer kept between calls, as the compute service does, and
// once with a fresh scheduler.Place each call, which passes over every
// host.
func placements(n, hostCount int) (*SchedReport, error) {
	hosts := make([]scheduler.Host, hostCount)
	index := make(map[string]int, hostCount)
	images := map[string]bool{"ami-1": true}
	for i := range hosts {
		name := fmt.Sprintf("esxi-%04d", i)
		hosts[i] = scheduler.Host{
			Name: name, Zone: fmt.Sprintf("z%d", i%3), Ready: true,
			Threads: 64, MemoryMiB: 512 << 10, Images: images,
		}
		index[name] = i
	}
	req := scheduler.Request{Min: 1, Max: 1, VCPUs: 2, MemoryMiB: 1024, ImageID: "ami-1"}

	// As the compute service places them.
	start := time.Now()
	p := scheduler.NewPlacer(hosts, req, scheduler.Options{})
	for range n {
		if _, err := p.Place(req.Min, req.Max); err != nil {
			return nil, err
		}
	}
	placer := time.Since(start)

	// With a pass over every host each time.
	start = time.Now()
	for range n {
		plan, err := scheduler.Place(hosts, req, scheduler.Options{})
		if err != nil {
			return nil, err
		}
		h := &hosts[index[plan.Hosts[0]]]
		h.UsedVCPUs += req.VCPUs
		h.UsedMemoryMiB += req.MemoryMiB
	}
	return &SchedReport{
		Placements: n, Hosts: hostCount,
		TotalMS: ms(placer), ScanMS: ms(time.Since(start)),
	}, nil
}
