package reliability_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// The torture test's settings; .ci/torture sets them for long runs.
var (
	reportFile = flag.String("report", "",
		"append the reliability tests' figures to this `file`")
	tortureRuns = flag.Int("torture.runs", 1,
		"how many torture runs TestTorture makes, one after the other")
	tortureInstances = flag.Int("torture.instances", 200,
		"how many instances each torture run launches")
	tortureKills = flag.Int("torture.kills", 0,
		"SIGKILLs in each torture run; 0 draws 3 to 5 from the seed")
	tortureSeed = flag.Uint64("torture.seed", 0,
		"seed of the first torture run; 0 takes one from the clock")
)

// The torture fleet: hosts slow enough that a launch is still on its way
// through the hosts when minicloud dies.
const (
	tortureClients   = 8
	tortureHosts     = 3
	tortureLatency   = 40 * time.Millisecond
	tortureBootDelay = 300 * time.Millisecond
)

// TestTorture launches a burst of instances from eight clients across
// three hosts and kills minicloud with SIGKILL several times at random
// moments, starting it again on the same data folder each time. Clients
// whose call was cut off send it again with the same client token, as an
// SDK does. Then every RunInstances that was acknowledged must have its
// instances, none twice, each must reach running, and every VM and
// instance folder on the hosts must be claimed by exactly one instance.
// The seed of each run is logged; -torture.seed repeats a run.
func TestTorture(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts minicloud several times; skipped with -short")
	}
	seed := *tortureSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	var results []tortureResult
	for run := 0; run < *tortureRuns; run++ {
		runSeed := seed + uint64(run)
		ok := t.Run(fmt.Sprintf("run%d_seed%d", run+1, runSeed), func(t *testing.T) {
			res := tortureRun(t, runSeed, *tortureInstances, *tortureKills)
			t.Log(res)
			results = append(results, res)
		})
		if !ok {
			break
		}
	}
	report := tortureTable(results)
	t.Log("\n" + report)
	reportTo(t, report)
}

// tortureResult is what one run did and found.
type tortureResult struct {
	seed    uint64
	kills   []killRecord
	calls   int // RunInstances calls acknowledged
	resent  int // calls sent again after a kill cut them off
	acked   int // instances those calls returned
	listed  int // instances DescribeInstances lists at the end
	vms     int // VMs on the hosts at the end
	lost    int // acknowledged instances not listed
	extra   int // instances listed twice, or that no acknowledged call returned
	orphans int // VMs or folders no instance claims, or claimed wrongly
	stuck   int // instances that did not reach running
	took    time.Duration
}

// killRecord is one SIGKILL: when it came after minicloud started, how
// many instances had been acknowledged by then, how many VMs the hosts had
// registered and how many were powered on.
type killRecord struct {
	after     time.Duration
	acked     int
	vms       int
	poweredOn int
}

// midLaunch reports whether the kill came while instances were still
// being launched: acknowledged, but their VMs not yet powered on.
func (k killRecord) midLaunch() bool { return k.poweredOn < k.acked }

func (r tortureResult) String() string {
	var kills []string
	for _, k := range r.kills {
		kills = append(kills, fmt.Sprintf("%v (%d acked, %d VMs, %d on)",
			k.after.Round(time.Millisecond), k.acked, k.vms, k.poweredOn))
	}
	return fmt.Sprintf("seed %d: %d calls (%d sent again), %d instances acknowledged, "+
		"%d listed, %d VMs; lost %d, extra %d, orphaned %d, not running %d; "+
		"kills after %s; %v", r.seed, r.calls, r.resent, r.acked, r.listed, r.vms, r.lost,
		r.extra, r.orphans, r.stuck, strings.Join(kills, ", "), r.took.Round(time.Second))
}

// tortureCall is one RunInstances a client makes, with its client token.
type tortureCall struct {
	token string
	count int32
}

// tortureRun is one run: the fleet, the burst, the kills and the checks.
func tortureRun(t *testing.T, seed uint64, instances, kills int) tortureResult {
	begin := time.Now()
	rng := rand.New(rand.NewPCG(seed, 0x7047))
	if kills == 0 {
		kills = 3 + rng.IntN(3)
	}
	f := newFleet(t, fleetOptions{
		hosts: tortureHosts, latency: tortureLatency, bootDelay: tortureBootDelay,
	})
	ami := imageOf(t, f.ec2(), "debian-12")
	res := tortureResult{seed: seed}

	// The burst: calls of one to four instances, dealt to the clients.
	plan := make([][]tortureCall, tortureClients)
	for n, i := 0, 0; n < instances; i++ {
		count := min(1+rng.IntN(4), instances-n)
		call := tortureCall{token: fmt.Sprintf("torture-%d-%d", seed, i), count: int32(count)}
		plan[i%tortureClients] = append(plan[i%tortureClients], call)
		n += count
	}
	b := &burst{f: f, ami: ami, deadline: time.Now().Add(3 * time.Minute)}
	var wg sync.WaitGroup
	for _, calls := range plan {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.client(calls)
		}()
	}

	// The kills, each at a random moment after minicloud started: the
	// first within the burst of calls, the others while the hosts work.
	for k := 0; k < kills; k++ {
		wait := 50*time.Millisecond + randDuration(rng, 450*time.Millisecond)
		if k > 0 {
			wait = 150*time.Millisecond + randDuration(rng, 1350*time.Millisecond)
		}
		time.Sleep(wait)
		f.kill()
		rec := killRecord{after: wait, acked: b.ackedCount()}
		for _, inv := range f.inventory() {
			rec.vms += len(inv.vms)
			rec.poweredOn += inv.poweredOn
		}
		res.kills = append(res.kills, rec)
		f.start()
	}
	wg.Wait()
	if !slices.ContainsFunc(res.kills, killRecord.midLaunch) {
		t.Errorf("no kill landed while instances were launching: %v; make the hosts slower",
			res.kills)
	}
	for _, err := range b.errs {
		t.Error(err)
	}

	// Every instance runs, then minicloud stops and the hosts are read.
	insts, seen := waitAllRunning(t, f, 2*time.Minute)
	f.stop()
	res.vms, res.orphans = tortureClaims(t, f, insts)
	res.calls, res.resent, res.acked = len(b.acked), b.resent, b.ackedCount()
	res.listed = len(insts)
	res.lost, res.extra = tortureLedger(t, b.acked, seen)
	for _, inst := range insts {
		if inst.State.Name != types.InstanceStateNameRunning {
			res.stuck++
		}
	}
	if res.stuck > 0 {
		t.Errorf("%d instances did not reach running", res.stuck)
	}
	res.took = time.Since(begin)
	return res
}

// burst is the clients' shared record of what was acknowledged.
type burst struct {
	f        *fleet
	ami      string
	deadline time.Time

	mu     sync.Mutex          // guards the fields that follow
	acked  map[string][]string // instance ids by client token
	resent int                 // calls sent again after a kill
	errs   []error             // calls that failed for good
}

// client makes its calls one after the other, each until minicloud
// acknowledges it: a call cut off by a kill is sent again, with the same
// client token, to whichever minicloud is running then.
func (b *burst) client(calls []tortureCall) {
	for _, call := range calls {
		in := &ec2.RunInstancesInput{
			ImageId: aws.String(b.ami), InstanceType: types.InstanceTypeT3Nano,
			MinCount: aws.Int32(call.count), MaxCount: aws.Int32(call.count),
			ClientToken: aws.String(call.token),
		}
		for attempt := 0; ; attempt++ {
			out, err := b.f.ec2().RunInstances(context.Background(), in)
			if err == nil {
				b.ack(call, out, attempt > 0)
				break
			}
			var ae smithy.APIError
			if errors.As(err, &ae) || time.Now().After(b.deadline) {
				b.fail(fmt.Errorf("RunInstances %s: %w", call.token, err))
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// ack records what a call returned.
func (b *burst) ack(call tortureCall, out *ec2.RunInstancesOutput, resent bool) {
	var ids []string
	for _, inst := range out.Instances {
		ids = append(ids, *inst.InstanceId)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.acked == nil {
		b.acked = map[string][]string{}
	}
	b.acked[call.token] = ids
	if resent {
		b.resent++
	}
	if len(ids) != int(call.count) {
		b.errs = append(b.errs, fmt.Errorf("RunInstances %s: %d instances, want %d",
			call.token, len(ids), call.count))
	}
}

// fail records a call that could not be made.
func (b *burst) fail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errs = append(b.errs, err)
}

// ackedCount returns how many instances have been acknowledged so far.
func (b *burst) ackedCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, ids := range b.acked {
		n += len(ids)
	}
	return n
}

// waitAllRunning waits until every instance minicloud lists is running,
// or the time is up, and returns them as last listed.
func waitAllRunning(t *testing.T, f *fleet, limit time.Duration) (
	map[string]types.Instance, map[string]int,
) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		insts, seen, err := describeAll(context.Background(), f.ec2())
		if err != nil {
			t.Fatal(err)
		}
		running := 0
		for _, inst := range insts {
			if inst.State.Name == types.InstanceStateNameRunning {
				running++
			}
		}
		if running == len(insts) || time.Now().After(deadline) {
			return insts, seen
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// tortureClaims checks the hosts against the instances, reporting each
// problem, and returns the VMs found and the problems.
func tortureClaims(t *testing.T, f *fleet, insts map[string]types.Instance) (int, int) {
	t.Helper()
	vms, wrong := f.claims(insts)
	for _, w := range wrong {
		t.Error(w)
	}
	return vms, len(wrong)
}

// tortureLedger compares what the calls acknowledged with what minicloud
// lists, reporting each difference, and returns how many acknowledged
// instances are lost and how many listed ones are extra: listed twice,
// returned by two calls, or returned by none.
func tortureLedger(t *testing.T, acked map[string][]string, seen map[string]int) (lost, extra int) {
	t.Helper()
	owner := map[string]string{}
	for token, ids := range acked {
		for _, id := range ids {
			if other, ok := owner[id]; ok {
				t.Errorf("instance %s returned by two calls, %s and %s", id, other, token)
				extra++
			}
			owner[id] = token
			if seen[id] == 0 {
				t.Errorf("instance %s, acknowledged to %s, is lost", id, token)
				lost++
			}
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("instance %s listed %d times", id, n)
			extra++
		}
		if owner[id] == "" {
			t.Errorf("instance %s was returned by no acknowledged call", id)
			extra++
		}
	}
	return lost, extra
}

// tortureTable sums up the runs, one line each.
func tortureTable(results []tortureResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "torture: %d clients, %d hosts (vim-cmd latency %v, boot %v)\n",
		tortureClients, tortureHosts, tortureLatency, tortureBootDelay)
	fmt.Fprintf(&b, "%-4s %-20s %5s %5s %6s %7s %6s %5s %4s %5s %6s %7s %6s\n", "run", "seed",
		"kills", "mid", "calls", "resent", "acked", "VMs", "lost", "extra", "orphan",
		"stuck", "secs")
	for i, r := range results {
		mid := 0
		for _, k := range r.kills {
			if k.midLaunch() {
				mid++
			}
		}
		fmt.Fprintf(&b, "%-4d %-20d %5d %5d %6d %7d %6d %5d %4d %5d %6d %7d %6.0f\n", i+1, r.seed,
			len(r.kills), mid, r.calls, r.resent, r.acked, r.vms, r.lost, r.extra, r.orphans,
			r.stuck, r.took.Seconds())
	}
	return b.String()
}

// randDuration returns a duration in [0, d) drawn from rng.
func randDuration(rng *rand.Rand, d time.Duration) time.Duration {
	return time.Duration(rng.Int64N(int64(d)))
}
