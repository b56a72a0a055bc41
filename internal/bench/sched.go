package bench

import (
	"fmt"
	"time"

	"github.com/minicloud/minicloud/internal/scheduler"
)

// Placement sizes: a large fleet of mid-sized hosts.
const (
	schedPlacements = 10000
	schedHosts      = 1000
)

// placements places schedPlacements t3.micro instances over schedHosts
// hosts one call at a time, as RunInstances calls the scheduler, adding
// each instance to its host's use before the next call.
func placements() (*SchedReport, error) {
	hosts := make([]scheduler.Host, schedHosts)
	index := make(map[string]int, schedHosts)
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

	start := time.Now()
	for range schedPlacements {
		plan, err := scheduler.Place(hosts, req, scheduler.Options{})
		if err != nil {
			return nil, err
		}
		h := &hosts[index[plan.Hosts[0]]]
		h.UsedVCPUs += req.VCPUs
		h.UsedMemoryMiB += req.MemoryMiB
	}
	return &SchedReport{
		Placements: schedPlacements, Hosts: schedHosts, TotalMS: ms(time.Since(start)),
	}, nil
}
