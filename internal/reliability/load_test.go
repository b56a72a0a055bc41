package reliability_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// The load tests' settings; .ci/load sets them for long runs.
var (
	loadDuration = flag.Duration("load.duration", 20*time.Second,
		"how long the load tests' clients keep sending requests")
	loadClients = flag.Int("load.clients", 50,
		"how many clients the load tests run at once")
	loadSeed = flag.Uint64("load.seed", 0,
		"seed of the load tests' clients and faults; 0 takes one from the clock")
)

// loadMaxOwned is how many live instances one load client keeps at most;
// past it, a launch becomes a termination.
const loadMaxOwned = 4

// TestLoad runs fifty clients against minicloud for a bounded time,
// each mixing what EC2 users do all day: describe, run, stop, start,
// terminate and tags. No request may be answered with a 5xx or cut off,
// minicloud's resident memory must stay under a bound the whole time, and
// afterwards every instance must reach the state its client last asked
// for. The p99 latency of each action is logged.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs fifty clients for twenty seconds; skipped with -short")
	}
	seed := seedOf(*loadSeed)
	f := newFleet(t, fleetOptions{latency: 5 * time.Millisecond})
	rec := runLoad(t, f, seed, *loadClients, *loadDuration, nil)

	// Nothing answered 5xx or cut off; memory stayed bounded.
	rec.check5xx(t)
	if rec.peakRSS > rssBound {
		t.Errorf("minicloud's resident memory peaked at %d MiB, bound %d MiB",
			rec.peakRSS>>20, rssBound>>20)
	}

	// Every instance ends where its client last asked.
	insts := settle(t, f, rec, time.Minute, nil)
	for id, want := range rec.desired {
		if got := insts[id].State.Name; got != want {
			t.Errorf("instance %s is %s, want %s (%v)", id, got, want, insts[id].StateReason)
		}
	}
	_, wrong := f.claims(insts)
	for _, w := range wrong {
		t.Error(w)
	}

	report := fmt.Sprintf("load: %d clients for %v, seed %d\n%s", *loadClients, *loadDuration,
		seed, rec.table())
	t.Log("\n" + report)
	reportTo(t, report)
}

// seedOf returns seed, or one from the clock when it is zero.
func seedOf(seed uint64) uint64 {
	if seed == 0 {
		return uint64(time.Now().UnixNano())
	}
	return seed
}

// loadRecord is what a load run measured, and what each instance's
// client last asked for.
type loadRecord struct {
	mu        sync.Mutex                         // guards the fields that follow
	latencies map[string][]time.Duration         // by action
	codes     map[string]map[string]int          // error codes by action
	fivexx    []string                           // requests answered 5xx
	cutOff    []string                           // requests with no answer
	desired   map[string]types.InstanceStateName // by instance id
	zone      map[string]string                  // each instance's zone
	took      time.Duration                      // how long the clients ran
	samples   int                                // memory samples taken
	peakRSS   int64                              // the largest, in bytes
	requests  int                                // every request sent
}

// runLoad runs clients against the fleet's minicloud for d, calling
// during (if not nil) in a goroutine of its own with a context that ends
// with the load, and samples minicloud's memory all along.
func runLoad(t *testing.T, f *fleet, seed uint64, clients int, d time.Duration,
	during func(ctx context.Context),
) *loadRecord {
	t.Helper()
	rec := &loadRecord{
		latencies: map[string][]time.Duration{}, codes: map[string]map[string]int{},
		desired: map[string]types.InstanceStateName{}, zone: map[string]string{},
	}
	ami := imageOf(t, f.ec2(), "debian-12")
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()

	// Memory, sampled until the clients are done.
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		rec.sampleRSS(ctx, f.pid())
	}()
	var wg sync.WaitGroup
	if during != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			during(ctx)
		}()
	}

	// The clients.
	begin := time.Now()
	for i := 0; i < clients; i++ {
		c := &loadClient{
			id: i, rng: rand.New(rand.NewPCG(seed, uint64(i))), ec2: f.ec2(), ami: ami, rec: rec,
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c.next()
			}
		}()
	}
	wg.Wait()
	rec.took = time.Since(begin)
	<-sampled
	return rec
}

// sampleRSS records pid's resident memory every 100ms until ctx ends.
func (rec *loadRecord) sampleRSS(ctx context.Context, pid int) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		now, peak, err := rss(pid)
		if err == nil {
			rec.mu.Lock()
			rec.samples++
			rec.peakRSS = max(rec.peakRSS, now, peak)
			rec.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// loadClient is one user of minicloud, with the instances it launched.
type loadClient struct {
	id    int
	rng   *rand.Rand
	ec2   *ec2.Client
	ami   string
	rec   *loadRecord
	owned []string // live instances it launched
}

// next sends one request, chosen as a user's day is made of: mostly
// describing, then launching, stopping, starting, tagging, terminating.
func (c *loadClient) next() {
	n := c.rng.IntN(100)
	switch {
	case n < 30:
		c.describe()
	case n < 42 || len(c.owned) == 0:
		if len(c.owned) >= loadMaxOwned {
			c.terminate()
			return
		}
		c.run()
	case n < 54:
		c.stop()
	case n < 66:
		c.start()
	case n < 74:
		c.terminate()
	default:
		c.tags()
	}
}

// pick returns one of the client's live instances.
func (c *loadClient) pick() string { return c.owned[c.rng.IntN(len(c.owned))] }

// describe lists the client's instances, by id or by its tag.
func (c *loadClient) describe() {
	in := &ec2.DescribeInstancesInput{}
	if len(c.owned) > 0 && c.rng.IntN(2) == 0 {
		in.InstanceIds = slices.Clone(c.owned)
	} else {
		in.Filters = []types.Filter{{Name: aws.String("tag:client"),
			Values: []string{fmt.Sprint(c.id)}}}
	}
	c.do("DescribeInstances", func(ctx context.Context) error {
		_, err := c.ec2.DescribeInstances(ctx, in)
		return err
	})
}

// run launches one instance tagged with the client's number.
func (c *loadClient) run() {
	var out *ec2.RunInstancesOutput
	err := c.do("RunInstances", func(ctx context.Context) (err error) {
		out, err = c.ec2.RunInstances(ctx, &ec2.RunInstancesInput{
			ImageId: aws.String(c.ami), InstanceType: types.InstanceTypeT3Nano,
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			TagSpecifications: []types.TagSpecification{{
				ResourceType: types.ResourceTypeInstance,
				Tags:         []types.Tag{{Key: aws.String("client"), Value: aws.String(fmt.Sprint(c.id))}},
			}},
		})
		return err
	})
	if err != nil {
		return
	}
	for _, inst := range out.Instances {
		c.owned = append(c.owned, *inst.InstanceId)
		c.rec.want(*inst.InstanceId, types.InstanceStateNameRunning, *inst.Placement.AvailabilityZone)
	}
}

// stop stops one of the client's instances.
func (c *loadClient) stop() {
	id := c.pick()
	err := c.do("StopInstances", func(ctx context.Context) error {
		_, err := c.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
		return err
	})
	if err == nil {
		c.rec.want(id, types.InstanceStateNameStopped, "")
	}
}

// start starts one of the client's instances.
func (c *loadClient) start() {
	id := c.pick()
	err := c.do("StartInstances", func(ctx context.Context) error {
		_, err := c.ec2.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
		return err
	})
	if err == nil {
		c.rec.want(id, types.InstanceStateNameRunning, "")
	}
}

// terminate terminates one of the client's instances.
func (c *loadClient) terminate() {
	if len(c.owned) == 0 {
		return
	}
	i := c.rng.IntN(len(c.owned))
	id := c.owned[i]
	err := c.do("TerminateInstances", func(ctx context.Context) error {
		_, err := c.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
		return err
	})
	if err == nil {
		c.owned = slices.Delete(c.owned, i, i+1)
		c.rec.want(id, types.InstanceStateNameTerminated, "")
	}
}

// tags adds, lists or removes a tag on one of the client's instances.
func (c *loadClient) tags() {
	id := c.pick()
	key := fmt.Sprintf("k%d", c.rng.IntN(3))
	switch c.rng.IntN(3) {
	case 0:
		c.do("CreateTags", func(ctx context.Context) error {
			_, err := c.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id},
				Tags: []types.Tag{{Key: aws.String(key), Value: aws.String(time.Now().String())}}})
			return err
		})
	case 1:
		c.do("DescribeTags", func(ctx context.Context) error {
			_, err := c.ec2.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{
				{Name: aws.String("resource-id"), Values: []string{id}}}})
			return err
		})
	default:
		c.do("DeleteTags", func(ctx context.Context) error {
			_, err := c.ec2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id},
				Tags: []types.Tag{{Key: aws.String(key)}}})
			return err
		})
	}
}

// do sends one request and records its latency and outcome. A request
// still in flight when the load ends is let finish.
func (c *loadClient) do(action string, call func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	begin := time.Now()
	err := call(ctx)
	c.rec.outcome(action, time.Since(begin), err)
	return err
}

// outcome records one request.
func (rec *loadRecord) outcome(action string, took time.Duration, err error) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.requests++
	rec.latencies[action] = append(rec.latencies[action], took)
	if err == nil {
		return
	}
	var ae smithy.APIError
	var re *awshttp.ResponseError
	switch {
	case errors.As(err, &re) && re.HTTPStatusCode() >= 500:
		rec.fivexx = append(rec.fivexx, fmt.Sprintf("%s: %v", action, err))
	case errors.As(err, &ae):
		if rec.codes[action] == nil {
			rec.codes[action] = map[string]int{}
		}
		rec.codes[action][ae.ErrorCode()]++
	default:
		rec.cutOff = append(rec.cutOff, fmt.Sprintf("%s: %v", action, err))
	}
}

// want records the state the client last asked an instance to be in,
// and the instance's zone when known.
func (rec *loadRecord) want(id string, state types.InstanceStateName, zone string) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.desired[id] = state
	if zone != "" {
		rec.zone[id] = zone
	}
}

// check5xx fails t for every request answered 5xx or cut off.
func (rec *loadRecord) check5xx(t *testing.T) {
	t.Helper()
	for _, what := range []struct {
		kind string
		errs []string
	}{{"answered 5xx", rec.fivexx}, {"cut off", rec.cutOff}} {
		if len(what.errs) > 0 {
			t.Errorf("%d of %d requests %s; the first: %s", len(what.errs), rec.requests,
				what.kind, strings.Join(what.errs[:min(5, len(what.errs))], "; "))
		}
	}
}

// settle waits until every instance the clients touched is in the state
// its client last asked for, or accept (if not nil) takes the state it
// is in as final, or the time is up; it returns every instance as last
// listed, and fails t for an acknowledged instance that is not listed.
func settle(t *testing.T, f *fleet, rec *loadRecord, limit time.Duration,
	accept func(id string, inst types.Instance) bool,
) map[string]types.Instance {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		insts, _, err := describeAll(context.Background(), f.ec2())
		if err != nil {
			t.Fatal(err)
		}
		done := true
		for id, want := range rec.desired {
			inst, ok := insts[id]
			if !ok {
				continue
			}
			if inst.State.Name != want && (accept == nil || !accept(id, inst)) {
				done = false
			}
		}
		if done || time.Now().After(deadline) {
			for id := range rec.desired {
				if _, ok := insts[id]; !ok {
					t.Errorf("acknowledged instance %s is lost", id)
				}
			}
			return insts
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// table prints, for each action, how many requests were sent, how many
// were refused and with what, and the latency percentiles, then the
// totals and the memory peak.
func (rec *loadRecord) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-20s %7s %7s %9s %9s %9s  %s\n", "action", "sent", "refused", "p50 ms",
		"p99 ms", "max ms", "refusals")
	var actions []string
	for a := range rec.latencies {
		actions = append(actions, a)
	}
	sort.Strings(actions)
	for _, a := range actions {
		lat := slices.Clone(rec.latencies[a])
		slices.Sort(lat)
		refused, codes := 0, []string{}
		for code, n := range rec.codes[a] {
			refused += n
			codes = append(codes, fmt.Sprintf("%s %d", code, n))
		}
		sort.Strings(codes)
		fmt.Fprintf(&b, "%-20s %7d %7d %9.1f %9.1f %9.1f  %s\n", a, len(lat), refused,
			ms(percentile(lat, 0.50)), ms(percentile(lat, 0.99)), ms(lat[len(lat)-1]),
			strings.Join(codes, ", "))
	}
	fmt.Fprintf(&b, "requests %d in %v (%.0f/s), 5xx %d, cut off %d, peak RSS %d MiB "+
		"(%d samples), instances %d\n", rec.requests, rec.took.Round(time.Millisecond),
		float64(rec.requests)/rec.took.Seconds(), len(rec.fivexx), len(rec.cutOff),
		rec.peakRSS>>20, rec.samples, len(rec.desired))
	return b.String()
}

// percentile returns the p-th percentile of sorted, by nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// ms returns d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
