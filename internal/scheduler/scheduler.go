// Package scheduler decides which ESXi host each new instance goes to.
//
// It is pure: it reads a snapshot of the hosts that the caller hands it,
// does no I/O and keeps no state, so the same input always gives the same
// placement. Every host it passes over gets a reason, so "why was nothing
// placed?" always has an answer.
package scheduler

import (
	"container/heap"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Host is the read-only view of one ESXi host that placement needs.
type Host struct {
	Name string
	Zone string

	// Ready is false while the host cannot be driven: not yet probed,
	// unreachable, or refusing minicloud's credentials.
	Ready bool

	// Threads and MemoryMiB are the host's physical capacity; the Used
	// fields are what instances placed on it already hold.
	Threads       int
	MemoryMiB     int
	UsedVCPUs     int
	UsedMemoryMiB int

	// Images is the set of image ids whose template disk the host has.
	Images map[string]bool
}

// Request asks for Max instances, and at least Min, of one size.
type Request struct {
	Min, Max  int
	VCPUs     int
	MemoryMiB int
	Zone      string // empty for any zone
	ImageID   string
}

// Options tune placement. The zero value uses the defaults.
type Options struct {
	// CPUOvercommit is how many vCPUs a host may run per hardware
	// thread. ESXi hosts are commonly run at 4:1; DefaultCPUOvercommit
	// when zero. Memory is never overcommitted.
	CPUOvercommit float64
}

// DefaultCPUOvercommit is the vCPU to hardware thread ratio used when
// Options.CPUOvercommit is zero.
const DefaultCPUOvercommit = 4.0

// Reason says why a host did not take an instance.
type Reason string

// The reasons a host is passed over.
const (
	ReasonNotReady  Reason = "host is not ready"
	ReasonZone      Reason = "host is in another availability zone"
	ReasonNoImage   Reason = "host does not have the image"
	ReasonMemory    Reason = "not enough free memory"
	ReasonCPU       Reason = "not enough free vCPU"
	ReasonTooSmall  Reason = "instance type is larger than the host"
	ReasonNoCompute Reason = "host reports no capacity"
)

// Rejection records one host that was passed over, and why.
type Rejection struct {
	Host   string
	Reason Reason
}

// Plan is the outcome of placement: Hosts[i] is the host of the i-th
// instance. Rejected lists every host that could not take (more)
// instances, in host name order.
type Plan struct {
	Hosts    []string
	Rejected []Rejection
}

// CapacityError is returned when fewer than Request.Min instances fit.
type CapacityError struct {
	Wanted   int
	Placed   int
	Rejected []Rejection
}

// Error summarises the reasons, one per host.
func (e *CapacityError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "scheduler: %d of %d instances fit", e.Placed, e.Wanted)
	if len(e.Rejected) == 0 {
		b.WriteString(": no hosts")
	}
	for i, r := range e.Rejected {
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%s: %s", sep, r.Host, r.Reason)
	}
	return b.String()
}

// Place chooses a host for each of up to req.Max instances, spreading them:
// each goes to the eligible host with the largest share of its memory and
// vCPU still free, counting the instances placed before it. It returns a
// *CapacityError when fewer than req.Min fit; the plan then places nothing.
func Place(hosts []Host, req Request, opts Options) (Plan, error) {
	if req.Max == 1 {
		return placeOne(hosts, req, overcommit(opts))
	}
	return NewPlacer(hosts, req, opts).Place(req.Min, req.Max)
}

// overcommit returns the vCPU to thread ratio opts asks for.
func overcommit(opts Options) float64 {
	if opts.CPUOvercommit <= 0 {
		return DefaultCPUOvercommit
	}
	return opts.CPUOvercommit
}

// Placer places instances of one request over the same hosts call after
// call, as a burst of RunInstances calls does, keeping the hosts ordered
// by the room they have left in between: its first call passes over
// every host, each later one costs a heap update. Its plans are the ones
// Place gives with each host's use updated by the placements before.
//
// A Placer knows the hosts only as they were when it was made: once they
// change otherwise (an instance stops, a host goes away), or after a call
// returns an error, it must be replaced.
type Placer struct {
	req      Request
	q        candidates  // the hosts that can take one more, best first
	rejected []Rejection // the others, in host name order
	spent    bool        // a call failed: the placer must be replaced
}

// NewPlacer sorts out hosts for instances of req's size, zone and image;
// req.Min and req.Max are ignored.
func NewPlacer(hosts []Host, req Request, opts Options) *Placer {
	ratio := overcommit(opts)
	p := &Placer{req: req, q: make(candidates, 0, len(hosts))}
	for i := range hosts {
		h := &hosts[i]
		c := newCandidate(h, ratio)
		if reason := filter(h, &c, req); reason != "" {
			p.rejected = append(p.rejected, Rejection{h.Name, reason})
			continue
		}
		c.scoreAfter(req)
		p.q = append(p.q, c)
	}
	heap.Init(&p.q)
	slices.SortFunc(p.rejected, byHost)
	return p
}

// Place places between min and max instances, each on the host with the
// most room left. It returns a *CapacityError when fewer than min fit;
// the placer is then spent.
func (p *Placer) Place(min, max int) (Plan, error) {
	if p.spent {
		return Plan{}, errors.New("scheduler: placer used after a failed placement")
	}
	var plan Plan
	for len(plan.Hosts) < max && p.q.Len() > 0 {
		c := &p.q[0]
		c.cpuUsed += p.req.VCPUs
		c.memUsed += p.req.MemoryMiB
		plan.Hosts = append(plan.Hosts, c.name)

		if reason := c.fits(p.req); reason != "" {
			p.reject(Rejection{c.name, reason})
			heap.Pop(&p.q)
			continue
		}
		c.scoreAfter(p.req)
		heap.Fix(&p.q, 0)
	}
	plan.Rejected = slices.Clone(p.rejected)
	if len(plan.Hosts) < min {
		p.spent = true
		return Plan{Rejected: plan.Rejected}, &CapacityError{
			Wanted: min, Placed: len(plan.Hosts), Rejected: plan.Rejected,
		}
	}
	return plan, nil
}

// reject adds r to the rejections, in host name order.
func (p *Placer) reject(r Rejection) {
	i, _ := slices.BinarySearchFunc(p.rejected, r, byHost)
	p.rejected = slices.Insert(p.rejected, i, r)
}

// byHost orders rejections by host name.
func byHost(a, b Rejection) int { return strings.Compare(a.Host, b.Host) }

// placeOne is Place for a single instance, the request RunInstances makes
// most often: one pass over the hosts that keeps only the best so far, so
// a placement over a thousand hosts allocates nothing but its answer.
func placeOne(hosts []Host, req Request, ratio float64) (Plan, error) {
	var plan Plan
	var best, c candidate
	found := false
	for i := range hosts {
		h := &hosts[i]
		c.set(h, ratio)
		if reason := filter(h, &c, req); reason != "" {
			plan.Rejected = append(plan.Rejected, Rejection{h.Name, reason})
			continue
		}
		c.scoreAfter(req)
		if !found || c.better(&best) {
			best, found = c, true
		}
	}

	// The chosen host may now be full, as Place reports it.
	if found {
		plan.Hosts = []string{best.name}
		best.cpuUsed += req.VCPUs
		best.memUsed += req.MemoryMiB
		if reason := best.fits(req); reason != "" {
			plan.Rejected = append(plan.Rejected, Rejection{best.name, reason})
		}
	}
	return finish(plan, req)
}

// finish sorts the rejections by host name and turns a plan short of
// req.Min into a *CapacityError.
func finish(plan Plan, req Request) (Plan, error) {
	slices.SortFunc(plan.Rejected, byHost)
	if len(plan.Hosts) < req.Min {
		return Plan{Rejected: plan.Rejected}, &CapacityError{
			Wanted: req.Min, Placed: len(plan.Hosts), Rejected: plan.Rejected,
		}
	}
	return plan, nil
}

// newCandidate returns h's capacity and use as placement counts them.
func newCandidate(h *Host, ratio float64) candidate {
	var c candidate
	c.set(h, ratio)
	return c
}

// set makes c h's capacity and use as placement counts them.
func (c *candidate) set(h *Host, ratio float64) {
	c.name = h.Name
	c.cpuCap = int(float64(h.Threads) * ratio)
	c.memCap = h.MemoryMiB
	c.cpuUsed, c.memUsed = h.UsedVCPUs, h.UsedMemoryMiB
}

// filter returns why host h cannot take even one instance, or "".
func filter(h *Host, c *candidate, req Request) Reason {
	switch {
	case !h.Ready:
		return ReasonNotReady
	case req.Zone != "" && h.Zone != req.Zone:
		return ReasonZone
	case req.ImageID != "" && !h.Images[req.ImageID]:
		return ReasonNoImage
	case c.cpuCap <= 0 || c.memCap <= 0:
		return ReasonNoCompute
	case req.VCPUs > c.cpuCap || req.MemoryMiB > c.memCap:
		return ReasonTooSmall
	}
	return c.fits(req)
}

// candidate is a host still able to take instances, with its running
// totals and its score as the fraction num/den.
type candidate struct {
	name             string
	cpuCap, memCap   int
	cpuUsed, memUsed int
	num, den         int64
}

// fits returns why one more instance does not fit, or "".
func (c *candidate) fits(req Request) Reason {
	if c.memUsed+req.MemoryMiB > c.memCap {
		return ReasonMemory
	}
	if c.cpuUsed+req.VCPUs > c.cpuCap {
		return ReasonCPU
	}
	return ""
}

// scoreAfter sets c's score: the smaller of the free memory and free vCPU
// shares the host would keep after taking one more instance. The host
// with the highest score is the emptiest, which spreads instances. The
// shares stay fractions, compared by cross-multiplying, so placement
// over many hosts does no division.
func (c *candidate) scoreAfter(req Request) {
	memFree := int64(c.memCap - c.memUsed - req.MemoryMiB)
	cpuFree := int64(c.cpuCap - c.cpuUsed - req.VCPUs)
	mem, cpu := int64(c.memCap), int64(c.cpuCap)
	if memFree*cpu <= cpuFree*mem {
		c.num, c.den = memFree, mem
	} else {
		c.num, c.den = cpuFree, cpu
	}
}

// candidates is a max-heap of hosts by score; ties go to the host name
// that sorts first, so placement is deterministic.
type candidates []candidate

// better reports whether c should take the next instance before d: it
// has the higher score, or the same score and the name that sorts first.
func (c *candidate) better(d *candidate) bool {
	l, r := c.num*d.den, d.num*c.den
	if l != r {
		return l > r
	}
	return c.name < d.name
}

func (q candidates) Len() int           { return len(q) }
func (q candidates) Less(i, j int) bool { return q[i].better(&q[j]) }
func (q candidates) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *candidates) Push(x any)        { *q = append(*q, x.(candidate)) }
func (q *candidates) Pop() any {
	old := *q
	c := old[len(old)-1]
	*q = old[:len(old)-1]
	return c
}
