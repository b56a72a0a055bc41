package reliability_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/minicloud/minicloud/internal/esxisim"
)

// The faults TestLoad_HostFaults gives its hosts: esxi-1 stays well,
// esxi-2 goes down and comes back, esxi-3 turns slow, and esxi-4's hostd
// starts failing calls at random, as it does while restarting or busy.
const (
	faultSlowLatency = 250 * time.Millisecond
	faultHostdDown   = 0.3 // the chance a vim-cmd finds hostd down
	faultTaskBusy    = 0.3 // the chance a power.on finds another task running
)

// TestLoad_HostFaults runs the mixed load of TestLoad across four
// hosts while three of them fail: one goes off the network and comes
// back, one turns slow, one's hostd fails vim-cmd calls at random (seeded;
// the seed is logged). No request may be answered with a 5xx; no
// acknowledged instance may be lost; instances on the healthy host must
// reach the state asked for with no failure; on the others, each must
// reach the state asked for once its host recovers, or end in EC2's clear
// failure: a launch terminated, or a start stopped, with
// Server.InternalError.
func TestLoad_HostFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs fifty clients for twenty seconds; skipped with -short")
	}
	seed := seedOf(*loadSeed)
	f := newFleet(t, fleetOptions{hosts: 4, latency: 5 * time.Millisecond})
	plan := &faultPlan{t: t, seed: seed, d: *loadDuration,
		down: f.hosts[1], slow: f.hosts[2], flaky: f.hosts[3]}
	healthy := f.hosts[0]
	rec := runLoad(t, f, seed, *loadClients, plan.d, plan.run)
	rec.check5xx(t)

	// Each instance ends as asked, or in EC2's clear failure off the
	// healthy host.
	clearFailure := func(id string, inst types.Instance) bool {
		return inst.Placement != nil && *inst.Placement.AvailabilityZone != healthy.zone &&
			failedClearly(inst, rec.desired[id])
	}
	insts := settle(t, f, rec, 2*time.Minute, clearFailure)
	outcomes := checkOutcomes(t, f, rec, insts, healthy)
	_, wrong := f.claims(insts)
	for _, w := range wrong {
		t.Error(w)
	}

	// The faults struck: minicloud lost the host that went down, and
	// tried calls on the flaky host again.
	logged := f.logCounts()
	if logged[plan.down.name]["host unreachable"] == 0 {
		t.Errorf("minicloud never found %s unreachable: %v", plan.down.name,
			logged[plan.down.name])
	}
	if logged[plan.flaky.name]["step failed; will retry"] == 0 {
		t.Errorf("no call on %s was tried again: %v", plan.flaky.name, logged[plan.flaky.name])
	}

	report := fmt.Sprintf("host faults: %d clients for %v across 4 hosts, seed %d\n%s\n%s%s",
		*loadClients, plan.d, seed, strings.Join(plan.timeline, "\n"),
		outcomeTable(f, outcomes, logged), rec.table())
	t.Log("\n" + report)
	reportTo(t, report)
}

// faultPlan is what happens to the hosts during the load: the faults
// strike early, the lost host comes back before the load ends, and the
// others recover when it ends.
type faultPlan struct {
	t     *testing.T
	seed  uint64        // seeds the hostd faults' draws
	d     time.Duration // how long the load runs
	down  *fleetHost    // goes off the network and comes back
	slow  *fleetHost    // answers every call late
	flaky *fleetHost    // its hostd fails calls at random

	timeline []string // what happened when, for the report
}

// run carries the plan out until ctx, the load's, ends.
func (p *faultPlan) run(ctx context.Context) {
	begin := time.Now()
	mark := func(what string) {
		p.timeline = append(p.timeline,
			fmt.Sprintf("%5.1fs %s", time.Since(begin).Seconds(), what))
	}
	sleepCtx(ctx, p.d*15/100)
	p.down.Down()
	mark(p.down.name + " down")
	injectOrFail(p.t, p.slow, esxisim.Faults{Latency: faultSlowLatency})
	mark(fmt.Sprintf("%s slow (+%v a call)", p.slow.name, faultSlowLatency))
	injectOrFail(p.t, p.flaky, esxisim.Faults{Hostd: []esxisim.HostdFault{
		{Fault: esxisim.FaultHostdDown, Probability: faultHostdDown, Seed: p.seed},
		{Fault: esxisim.FaultTaskInProgress, Command: "vmsvc/power.on",
			Probability: faultTaskBusy, Seed: p.seed + 1},
	}})
	mark(fmt.Sprintf("%s hostd failing (%.0f%% of calls, %.0f%% of power.on)",
		p.flaky.name, faultHostdDown*100, faultTaskBusy*100))

	sleepCtx(ctx, p.d*45/100)
	if err := p.down.Up(); err != nil {
		p.t.Error(err)
	}
	mark(p.down.name + " back up")

	<-ctx.Done()
	injectOrFail(p.t, p.slow, esxisim.Faults{})
	injectOrFail(p.t, p.flaky, esxisim.Faults{})
	mark("load over; faults lifted")
}

// checkOutcomes names how each instance ended, by host, failing t for an
// instance on the healthy host that did not end as asked and for one that
// did not settle anywhere.
func checkOutcomes(t *testing.T, f *fleet, rec *loadRecord, insts map[string]types.Instance,
	healthy *fleetHost,
) map[string]map[string]int {
	t.Helper()
	outcomes := map[string]map[string]int{}
	for id, want := range rec.desired {
		inst, ok := insts[id]
		if !ok {
			continue // reported lost by settle
		}
		host := f.host(rec.zone[id]).name
		outcome := faultOutcome(inst, want)
		if outcomes[host] == nil {
			outcomes[host] = map[string]int{}
		}
		outcomes[host][outcome]++
		switch {
		case host == healthy.name && outcome != "as asked":
			t.Errorf("instance %s on the healthy host %s: %s (%v)", id, host, outcome,
				inst.StateReason)
		case outcome == "not settled":
			t.Errorf("instance %s on %s is %s, want %s (%v)", id, host, inst.State.Name, want,
				inst.StateReason)
		}
	}
	return outcomes
}

// failedClearly reports whether inst ended in one of EC2's clear failures
// for the state its client wanted: a launch terminated, or a start left
// stopped, with Server.InternalError.
func failedClearly(inst types.Instance, want types.InstanceStateName) bool {
	if want != types.InstanceStateNameRunning || inst.StateReason == nil ||
		inst.StateReason.Code == nil || *inst.StateReason.Code != "Server.InternalError" {
		return false
	}
	return inst.State.Name == types.InstanceStateNameTerminated ||
		inst.State.Name == types.InstanceStateNameStopped
}

// faultOutcome names how an instance ended.
func faultOutcome(inst types.Instance, want types.InstanceStateName) string {
	internal := inst.StateReason != nil && inst.StateReason.Code != nil &&
		*inst.StateReason.Code == "Server.InternalError"
	switch {
	case inst.State.Name == want && !internal:
		return "as asked"
	case inst.State.Name == want:
		return "as asked, after a failed start"
	case failedClearly(inst, want) && inst.State.Name == types.InstanceStateNameTerminated:
		return "launch failed: terminated, Server.InternalError"
	case failedClearly(inst, want):
		return "start failed: stopped, Server.InternalError"
	}
	return "not settled"
}

// outcomeTable prints how the instances of each host ended, and what
// minicloud logged of the host's faults.
func outcomeTable(f *fleet, outcomes, logged map[string]map[string]int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-8s %9s %8s %11s  %s\n", "host", "instances", "retried",
		"unreachable", "outcomes")
	for _, h := range f.hosts {
		var parts []string
		total := 0
		for what, n := range outcomes[h.name] {
			parts = append(parts, fmt.Sprintf("%s %d", what, n))
			total += n
		}
		sort.Strings(parts)
		fmt.Fprintf(&b, "%-8s %9d %8d %11d  %s\n", h.name, total,
			logged[h.name]["step failed; will retry"], logged[h.name]["host unreachable"],
			strings.Join(parts, "; "))
	}
	return b.String()
}

// injectOrFail gives h the faults, failing t if it cannot.
func injectOrFail(t *testing.T, h *fleetHost, f esxisim.Faults) {
	if err := h.Inject(f); err != nil {
		t.Errorf("inject faults on %s: %v", h.name, err)
	}
}

// sleepCtx sleeps for d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
