package compute

import (
	"sort"
	"sync"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/scheduler"
)

// fleet is the live view of every host: what its last probe said, which
// images it has, and what the instances placed on it hold. The service
// reads it to place instances; the controller writes it.
type fleet struct {
	mu     sync.Mutex             // guards the fields that follow
	hosts  map[string]*hostStatus // by host name
	allocs map[string]allocation  // by instance id: what it holds
	order  []string               // host names, sorted

	// placer placed the last instances, for placerFor; it holds while
	// nothing but its own placements changed the hosts. Every change that
	// bears on placement calls changedLocked, which drops it.
	placer    *scheduler.Placer
	placerFor placerKey
}

// placerKey is what a placer was made for: a request's size, zone and
// image, and the options.
type placerKey struct {
	req  scheduler.Request // Min and Max zero
	opts scheduler.Options
}

// changedLocked records that a host's state, capacity, images or use
// changed, so the next placement starts from the hosts as they are.
func (f *fleet) changedLocked() { f.placer = nil }

// hostStatus is one host's entry in the fleet.
type hostStatus struct {
	cfg       HostConfig
	state     cloud.HostState
	message   string
	threads   int
	memoryMiB int
	images    map[string]bool
	unclaimed []string

	usedVCPUs, usedMemoryMiB, instances int
}

// allocation is what one instance holds on its host.
type allocation struct {
	host      string
	vcpus     int
	memoryMiB int
}

func newFleet(hosts []HostConfig) *fleet {
	f := &fleet{hosts: map[string]*hostStatus{}, allocs: map[string]allocation{}}
	for _, h := range hosts {
		f.hosts[h.Name] = &hostStatus{cfg: h, state: cloud.HostConnecting}
		f.order = append(f.order, h.Name)
	}
	sort.Strings(f.order)
	return f
}

// zones returns the availability zones of the configured hosts, sorted.
func (f *fleet) zones() []string {
	seen := map[string]bool{}
	var out []string
	for _, name := range f.order {
		if z := f.hosts[name].cfg.Zone; !seen[z] {
			seen[z] = true
			out = append(out, z)
		}
	}
	sort.Strings(out)
	return out
}

// setReady records a successful probe.
func (f *fleet) setReady(host string, threads, memoryMiB int, images map[string]bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.hosts[host]
	h.state, h.message = cloud.HostReady, ""
	h.threads, h.memoryMiB, h.images = threads, memoryMiB, images
	f.changedLocked()
}

// setState records that a host cannot be driven, and why.
func (f *fleet) setState(host string, state cloud.HostState, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.hosts[host]
	h.state, h.message = state, message
	f.changedLocked()
}

// setUnclaimed records the VMs on host that look like instances but that
// no instance claims.
func (f *fleet) setUnclaimed(host string, names []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hosts[host].unclaimed = names
}

// ready reports whether host can be driven now.
func (f *fleet) ready(host string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.hosts[host]
	return ok && h.state == cloud.HostReady
}

// place runs the scheduler over the fleet and, when it succeeds, reserves
// what the placed instances hold, all under one lock so that concurrent
// calls never both count the same free memory.
func (f *fleet) place(req scheduler.Request, opts scheduler.Options, ids []string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()

	// A burst of RunInstances calls for the same kind of instance goes on
	// with the last call's placer, which keeps the hosts in order: over
	// many hosts that is a heap update instead of a pass over them all.
	key := placerKey{req: req, opts: opts}
	key.req.Min, key.req.Max = 0, 0
	p := f.placer
	if p == nil || f.placerFor != key {
		p = scheduler.NewPlacer(f.viewsLocked(), req, opts)
	}
	plan, err := p.Place(req.Min, req.Max)
	if err != nil {
		f.changedLocked()
		return nil, err
	}
	for i, host := range plan.Hosts {
		f.setLocked(ids[i], allocation{host, req.VCPUs, req.MemoryMiB})
	}
	f.placer, f.placerFor = p, key
	return plan.Hosts, nil
}

// viewsLocked returns the hosts as the scheduler sees them.
func (f *fleet) viewsLocked() []scheduler.Host {
	views := make([]scheduler.Host, 0, len(f.order))
	for _, name := range f.order {
		h := f.hosts[name]
		views = append(views, scheduler.Host{
			Name: name, Zone: h.cfg.Zone, Ready: h.state == cloud.HostReady,
			Threads: h.threads, MemoryMiB: h.memoryMiB,
			UsedVCPUs: h.usedVCPUs, UsedMemoryMiB: h.usedMemoryMiB,
			Images: h.images,
		})
	}
	return views
}

// reserve makes inst hold its size on its host if the host has room,
// reporting false otherwise. An instance holding already is left alone.
func (f *fleet) reserve(inst *cloud.Instance, opts scheduler.Options) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.allocs[inst.ID]; ok {
		return true
	}
	h := f.hosts[inst.Host]
	if h == nil {
		return false
	}
	ratio := opts.CPUOvercommit
	if ratio <= 0 {
		ratio = scheduler.DefaultCPUOvercommit
	}
	if h.usedMemoryMiB+inst.MemoryMiB > h.memoryMiB ||
		float64(h.usedVCPUs+inst.VCPUs) > float64(h.threads)*ratio {
		return false
	}
	f.setLocked(inst.ID, allocation{inst.Host, inst.VCPUs, inst.MemoryMiB})
	return true
}

// track brings the fleet's accounting in line with inst as stored: it
// holds its size while it consumes, and nothing otherwise.
func (f *fleet) track(inst *cloud.Instance) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if inst.Consumes() {
		f.setLocked(inst.ID, allocation{inst.Host, inst.VCPUs, inst.MemoryMiB})
	} else {
		f.releaseLocked(inst.ID)
	}
}

// release drops what the instances in ids hold.
func (f *fleet) release(ids []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		f.releaseLocked(id)
	}
}

func (f *fleet) setLocked(id string, a allocation) {
	if had, ok := f.allocs[id]; ok && had == a {
		return // nothing changes: a controller recording a step
	}
	f.releaseLocked(id)
	f.changedLocked()
	h := f.hosts[a.host]
	if h == nil {
		return
	}
	h.usedVCPUs += a.vcpus
	h.usedMemoryMiB += a.memoryMiB
	h.instances++
	f.allocs[id] = a
}

func (f *fleet) releaseLocked(id string) {
	a, ok := f.allocs[id]
	if !ok {
		return
	}
	delete(f.allocs, id)
	f.changedLocked()
	if h := f.hosts[a.host]; h != nil {
		h.usedVCPUs -= a.vcpus
		h.usedMemoryMiB -= a.memoryMiB
		h.instances--
	}
}

// snapshot returns every host as cloud.Host values, in name order.
func (f *fleet) snapshot() []cloud.Host {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]cloud.Host, 0, len(f.order))
	for _, name := range f.order {
		h := f.hosts[name]
		out = append(out, cloud.Host{
			Name: name, Address: h.cfg.Address, AvailabilityZone: h.cfg.Zone,
			State: h.state, Message: h.message,
			CPUThreads: h.threads, MemoryMiB: h.memoryMiB,
			UsedVCPUs: h.usedVCPUs, UsedMemoryMiB: h.usedMemoryMiB,
			Instances:    h.instances,
			UnclaimedVMs: append([]string(nil), h.unclaimed...),
		})
	}
	return out
}

// unclaimed returns the unclaimed VMs last reported for host.
func (f *fleet) unclaimed(host string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hosts[host].unclaimed
}
