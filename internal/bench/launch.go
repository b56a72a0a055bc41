package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/minicloud/minicloud/internal/esxisim"
)

// hostCounts is what a simulated host has been asked to do so far.
type hostCounts struct {
	sessions   int // SSH exec requests and shells
	vimCmds    int // every vim-cmd run
	vmkfstools int
	esxcli     int // one per observer tick once the host is ready
	getAllVMs  int // the observer's inventory read
	getGuest   int // the observer's read of a booting guest
}

func countsOf(h *esxisim.Host) hostCounts {
	s := h.Stats()
	return hostCounts{
		sessions: s.Sessions, vimCmds: s.VimCmdCalls, vmkfstools: s.Commands["vmkfstools"],
		esxcli: s.Commands["esxcli"], getAllVMs: s.VimCmds["vmsvc/getallvms"],
		getGuest: s.VimCmds["vmsvc/get.guest"],
	}
}

func (c hostCounts) minus(d hostCounts) hostCounts {
	return hostCounts{
		sessions: c.sessions - d.sessions, vimCmds: c.vimCmds - d.vimCmds,
		vmkfstools: c.vmkfstools - d.vmkfstools, esxcli: c.esxcli - d.esxcli,
		getAllVMs: c.getAllVMs - d.getAllVMs, getGuest: c.getGuest - d.getGuest,
	}
}

// countAll reads every host's counters.
func countAll(hosts []*esxisim.Host) []hostCounts {
	out := make([]hostCounts, len(hosts))
	for i, h := range hosts {
		out[i] = countsOf(h)
	}
	return out
}

// total sums after minus before over the hosts.
func total(after, before []hostCounts) hostCounts {
	var t hostCounts
	for i := range after {
		d := after[i].minus(before[i])
		t.sessions += d.sessions
		t.vimCmds += d.vimCmds
		t.vmkfstools += d.vmkfstools
		t.esxcli += d.esxcli
		t.getAllVMs += d.getAllVMs
		t.getGuest += d.getGuest
	}
	return t
}

// launchTimeout bounds the wait for instances to run.
const launchTimeout = 3 * time.Minute

// launch starts a whole minicloud, launches spec.Instances instances with
// one RunInstances and times them until they run; then it watches the
// observer while nothing else happens.
func (r *runner) launch(ctx context.Context, dir string, spec LaunchSpec) (*LaunchReport, error) {
	srv, err := r.opts.Open(ctx, ServerSpec{Dir: dir, Hosts: spec.Hosts, Latency: spec.Latency})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	ep := newEndpoint("minicloud", srv.Endpoint(), 1, nil)
	defer ep.close()
	image, err := firstImage(ctx, ep)
	if err != nil {
		return nil, err
	}
	sims := srv.SimulatedHosts()

	// Launch, and wait for every instance to run.
	before := countAll(sims)
	start := time.Now()
	n := int32(spec.Instances)
	out, err := ep.sdk.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(image), InstanceType: types.InstanceType(instanceType),
		MinCount: aws.Int32(n), MaxCount: aws.Int32(n),
	})
	if err != nil {
		return nil, err
	}
	lr := &LaunchReport{
		Instances: spec.Instances, Hosts: spec.Hosts, LatencyMS: ms(spec.Latency),
		AckMS: ms(time.Since(start)),
	}
	var ids []string
	for _, inst := range out.Instances {
		ids = append(ids, aws.ToString(inst.InstanceId))
	}
	first, all, err := waitRunning(ctx, ep, ids, start)
	if err != nil {
		return nil, err
	}
	lr.FirstRunning, lr.AllRunning = first.Seconds(), all.Seconds()

	// What the launch asked of the hosts: every vim-cmd and vmkfstools
	// run but the observer's reads, and every exec but its one per tick.
	d := total(countAll(sims), before)
	launchCalls := d.vimCmds - d.getAllVMs - d.getGuest + d.vmkfstools
	lr.HostdCallsPerLaunch = float64(launchCalls) / float64(spec.Instances)
	lr.SSHExecsPerLaunch = float64(d.sessions-d.esxcli) / float64(spec.Instances)

	lr.Observer, err = watchObserver(ctx, ep, ids, sims)
	if err != nil {
		return nil, err
	}
	lr.Observer.VMsPerHost = float64(spec.Instances) / float64(spec.Hosts)
	r.progress("  launch %d on %d host(s), vim-cmd %v: ack %.1fms, all running %.2fs, "+
		"%.1f hostd calls/launch, observer %.2f execs/tick", spec.Instances, spec.Hosts,
		spec.Latency, lr.AckMS, lr.AllRunning, lr.HostdCallsPerLaunch, lr.Observer.SSHExecsPerTick)
	return lr, nil
}

// waitRunning polls until every instance in ids is running and returns
// how long after start the first and the last one was seen running.
func waitRunning(
	ctx context.Context, ep *endpoint, ids []string, start time.Time,
) (first, all time.Duration, err error) {
	deadline := start.Add(launchTimeout)
	for {
		out, err := ep.sdk.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
		if err != nil {
			return 0, 0, err
		}
		running, other := 0, ""
		for _, res := range out.Reservations {
			for _, inst := range res.Instances {
				if inst.State.Name == types.InstanceStateNameRunning {
					running++
				} else {
					other = string(inst.State.Name)
				}
			}
		}
		now := time.Since(start)
		if running > 0 && first == 0 {
			first = now
		}
		if running == len(ids) {
			return first, now, nil
		}
		if other != "" && other != string(types.InstanceStateNamePending) {
			return 0, 0, fmt.Errorf("an instance went %s instead of running", other)
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("%d of %d instances running after %v", running, len(ids),
				launchTimeout)
		}
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// observerTicks is how many ticks of each host watchObserver counts.
const observerTicks = 3

// watchObserver waits until every guest has booted and reported its
// address, lets one more tick pass, and then counts what the next ticks
// ask of each host.
func watchObserver(ctx context.Context, ep *endpoint, ids []string, sims []*esxisim.Host) (ObserverReport, error) {
	deadline := time.Now().Add(launchTimeout)
	for {
		out, err := ep.sdk.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
		if err != nil {
			return ObserverReport{}, err
		}
		booted := 0
		for _, res := range out.Reservations {
			for _, inst := range res.Instances {
				if aws.ToString(inst.PrivateIpAddress) != "" {
					booted++
				}
			}
		}
		if booted == len(ids) {
			break
		}
		if time.Now().After(deadline) {
			return ObserverReport{}, fmt.Errorf("%d of %d guests reported an address", booted, len(ids))
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return ObserverReport{}, err
		}
	}

	// One tick to settle, then the ticks that count.
	if _, err := waitTicks(ctx, sims, countAll(sims), 1); err != nil {
		return ObserverReport{}, err
	}
	before := countAll(sims)
	after, err := waitTicks(ctx, sims, before, observerTicks)
	if err != nil {
		return ObserverReport{}, err
	}
	d := total(after, before)
	return ObserverReport{
		Ticks:           d.esxcli,
		SSHExecsPerTick: float64(d.sessions) / float64(d.esxcli),
		VimCmdsPerTick:  float64(d.vimCmds) / float64(d.esxcli),
	}, nil
}

// waitTicks waits until every host has had ticks observer ticks since
// before, and returns the counters then. A tick runs one esxcli call.
func waitTicks(ctx context.Context, sims []*esxisim.Host, before []hostCounts, ticks int) ([]hostCounts, error) {
	deadline := time.Now().Add(launchTimeout)
	for {
		now := countAll(sims)
		done := true
		for i := range now {
			if now[i].esxcli-before[i].esxcli < ticks {
				done = false
			}
		}
		if done {
			return now, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the observer did not tick %d times in %v", ticks, launchTimeout)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
