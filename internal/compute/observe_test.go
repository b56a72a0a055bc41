package compute_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/compute"
	"github.com/minicloud/minicloud/internal/esxisim"
	"github.com/minicloud/minicloud/internal/hypervisor"
	"github.com/minicloud/minicloud/internal/syncbuf"
)

// TestObserve_OneExecPerTick runs fifty VMs on one host and counts what
// the observer runs there once they have settled: each tick is one SSH
// exec, whatever the number of VMs, as a real host takes about a second
// per vim-cmd.
func TestObserve_OneExecPerTick(t *testing.T) {
	e := newEnv(t, envOptions{
		hosts: 1, memoryGB: 64,
		sim: func(_ int, c *esxisim.Config) { c.CPUCores, c.CPUThreads = 16, 32 },
		ssh: func(_ int, c *hypervisor.SSHConfig) { c.MaxSessions = 16 },
	})
	ids := e.runInstances(50, nil)
	e.waitFor("running guests", ids, func(i *cloud.Instance) bool {
		return i.State == cloud.StateRunning && i.GuestReady
	})

	// Count over at least five ticks, between moments when no exec is in
	// flight, so that each exec counted is counted whole. Nothing but the
	// observer contacts a host whose instances are all settled.
	before := quietStats(t, e.sims[0])
	began := time.Now()
	var after esxisim.Stats
	for {
		time.Sleep(200 * time.Millisecond)
		after = quietStats(t, e.sims[0])
		if after.VimCmds["vmsvc/getallvms"]-before.VimCmds["vmsvc/getallvms"] >= 5 {
			break
		}
		if time.Since(began) > 10*time.Second {
			t.Fatal("fewer than five observer ticks in 10s")
		}
	}
	elapsed := time.Since(began)

	// Each tick reads the inventory and the running VMs once: one exec
	// holding both means as many execs as inventory reads.
	sessions := after.Sessions - before.Sessions
	lists := after.VimCmds["vmsvc/getallvms"] - before.VimCmds["vmsvc/getallvms"]
	procs := after.Commands["esxcli"] - before.Commands["esxcli"]
	guests := after.VimCmds["vmsvc/get.guest"] - before.VimCmds["vmsvc/get.guest"]
	t.Logf("%d ticks in %s: %d sessions, %d getallvms, %d esxcli, %d get.guest",
		lists, elapsed.Round(time.Millisecond), sessions, lists, procs, guests)
	if lists != sessions || procs != sessions {
		t.Errorf("%d sessions ran %d getallvms and %d esxcli: want one of each per session",
			sessions, lists, procs)
	}
	if most := int(elapsed/(100*time.Millisecond)) + 1; sessions > most {
		t.Errorf("%d sessions in %s of 100ms ticks, want at most %d", sessions, elapsed, most)
	}
	if guests != 0 {
		t.Errorf("%d get.guest calls for guests that had reported already", guests)
	}
}

// quietStats returns the host's counters at a moment between two
// execs: when they have not changed for 30ms. The observer's execs take a
// few milliseconds and come every 100.
func quietStats(t *testing.T, h *esxisim.Host) esxisim.Stats {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	last := h.Stats()
	for time.Now().Before(deadline) {
		time.Sleep(30 * time.Millisecond)
		s := h.Stats()
		if s.Sessions == last.Sessions && s.VimCmdCalls == last.VimCmdCalls &&
			s.Commands["esxcli"] == last.Commands["esxcli"] {
			return s
		}
		last = s
	}
	t.Fatal("the host never went quiet")
	return last
}

// TestObserve_Drift changes VMs behind minicloud's back, as a person
// with the host client or an SSH session would, and checks that the
// instances follow, with the reasons EC2 gives.
func TestObserve_Drift(t *testing.T) {
	logs := &syncbuf.Buffer{}
	e := newEnv(t, envOptions{hosts: 1, log: debugLogger(logs)})
	ctx := context.Background()
	ids := e.runInstances(3, nil)
	e.waitState(cloud.StateRunning, ids...)

	t.Run("PoweredOff", func(t *testing.T) {
		inst := e.instance(ids[0])
		e.sh(0, "vim-cmd vmsvc/power.off "+inst.VMID)
		e.waitState(cloud.StateStopped, inst.ID)
		got := e.instance(inst.ID)
		if got.Desired != cloud.StateStopped || got.StateReason == nil ||
			*got.StateReason != cloud.ReasonUserShutdown ||
			!strings.HasPrefix(got.StateTransitionReason, "User initiated (") {
			t.Errorf("stopped outside: desired %s, reason %+v, transition %q",
				got.Desired, got.StateReason, got.StateTransitionReason)
		}

		// minicloud leaves it off.
		time.Sleep(300 * time.Millisecond)
		if s := e.sh(0, "vim-cmd vmsvc/power.getstate "+inst.VMID); !strings.Contains(s, "Powered off") {
			t.Errorf("minicloud powered the VM on again: %q", s)
		}
	})

	t.Run("PoweredOn", func(t *testing.T) {
		inst := e.instance(ids[0])
		e.sh(0, "vim-cmd vmsvc/power.on "+inst.VMID)
		e.waitState(cloud.StateRunning, inst.ID)
		got := e.instance(inst.ID)
		if got.Desired != cloud.StateRunning || got.StateReason != nil {
			t.Errorf("started outside: desired %s, reason %+v", got.Desired, got.StateReason)
		}
	})

	t.Run("Destroyed", func(t *testing.T) {
		inst := e.instance(ids[1])
		e.sh(0, "vim-cmd vmsvc/power.off "+inst.VMID+" && vim-cmd vmsvc/destroy "+inst.VMID)
		e.waitState(cloud.StateTerminated, inst.ID)
		got := e.instance(inst.ID)
		if got.StateReason == nil || got.StateReason.Code != "Server.InternalError" ||
			!strings.Contains(got.StateReason.Message, "removed from its host outside minicloud") {
			t.Errorf("destroyed outside: reason %+v", got.StateReason)
		}
	})

	t.Run("Unclaimed", func(t *testing.T) {
		// Someone registers a VM named like an instance.
		stray := "i-0123456789abcdef0"
		vmx, err := hypervisor.VMXFor(hypervisor.VMSpec{
			Name: stray, Datastore: "datastore1", NumCPUs: 1, MemoryMB: 512,
			SourceDisk: "[datastore1] templates/debian-12/debian-12.vmdk",
		})
		if err != nil {
			t.Fatal(err)
		}
		dir := "/vmfs/volumes/datastore1/" + stray
		var out, errOut strings.Builder
		cmd := "mkdir -p " + dir + " && cat > " + dir + "/" + stray + ".vmx && " +
			"vim-cmd solo/registervm " + dir + "/" + stray + ".vmx " + stray
		if st := e.sims[0].Exec(ctx, cmd, strings.NewReader(vmx), &out, &errOut); st != 0 {
			t.Fatalf("register by hand: %d %s%s", st, out.String(), errOut.String())
		}

		// It is reported and logged, and still there several ticks later.
		deadline := time.Now().Add(5 * time.Second)
		for !slices.Contains(e.host("esxi-1").UnclaimedVMs, stray) {
			if time.Now().After(deadline) {
				t.Fatalf("unclaimed VMs = %v", e.host("esxi-1").UnclaimedVMs)
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond)
		if !strings.Contains(e.sh(0, "vim-cmd vmsvc/getallvms"), stray) {
			t.Error("minicloud removed a VM no instance claims")
		}
		if !strings.Contains(e.sh(0, "ls /vmfs/volumes/datastore1"), stray) {
			t.Error("minicloud removed the folder of a VM no instance claims")
		}
		if got := strings.Count(logs.String(), "vm="+stray); got != 1 {
			t.Errorf("the unclaimed VM was logged %d times, want once", got)
		}
		if got := e.host("esxi-1").UnclaimedVMs; !slices.Equal(got, []string{stray}) {
			t.Errorf("unclaimed VMs = %v, want only %s", got, stray)
		}
	})
}

// TestObserve_HostDown takes a host off the network and checks that its
// instances' system status is impaired while they keep their last known
// state, that minicloud redials with backoff rather than at every probe,
// and that all is well again once the host is back.
func TestObserve_HostDown(t *testing.T) {
	e := newEnv(t, envOptions{
		hosts: 1,
		opts:  func(o *compute.Options) { o.ProbeInterval = 20 * time.Millisecond },
		ssh: func(_ int, c *hypervisor.SSHConfig) {
			c.MinBackoff, c.MaxBackoff = 100*time.Millisecond, 400*time.Millisecond
		},
	})
	ctx := context.Background()
	ids := e.runInstances(2, nil)
	e.waitFor("running guests", ids, func(i *cloud.Instance) bool {
		return i.State == cloud.StateRunning && i.GuestReady
	})
	stop := &cloud.StopInstancesInput{InstanceIDs: ids[1:]}
	if _, err := e.svc.StopInstances(ctx, stop); err != nil {
		t.Fatal(err)
	}
	e.waitState(cloud.StateStopped, ids[1])
	status := func() map[string]cloud.InstanceStatus {
		t.Helper()
		out, err := e.svc.DescribeInstanceStatus(ctx, &cloud.DescribeInstanceStatusInput{
			IncludeAllInstances: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]cloud.InstanceStatus{}
		for _, s := range out.Statuses {
			m[s.InstanceID] = s
		}
		return m
	}
	if s := status()[ids[0]]; s.System != cloud.StatusOK || s.Instance != cloud.StatusOK {
		t.Fatalf("before: %+v", s)
	}

	// Down: impaired, and the last known states stay.
	e.sims[0].Down()
	e.waitHost("esxi-1", cloud.HostUnreachable)
	dials := e.conns[0].Stats().Dials
	time.Sleep(1500 * time.Millisecond)
	st := status()
	if s := st[ids[0]]; s.State != cloud.StateRunning || s.System != cloud.StatusImpaired {
		t.Errorf("running instance on a host that is down: %+v", s)
	}
	if s := st[ids[1]]; s.State != cloud.StateStopped {
		t.Errorf("stopped instance on a host that is down: %+v", s)
	}
	if n := e.conns[0].Stats().Dials - dials; n > 8 {
		t.Errorf("%d dials in 1.5s of probes every 20ms: want backoff", n)
	}

	// Up: ok again, and the states are unchanged.
	if err := e.sims[0].Up(); err != nil {
		t.Fatal(err)
	}
	e.waitHost("esxi-1", cloud.HostReady)
	deadline := time.Now().Add(5 * time.Second)
	for status()[ids[0]].System != cloud.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("after the host came back: %+v", status()[ids[0]])
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := e.instance(ids[0]).State; got != cloud.StateRunning {
		t.Errorf("running instance is %s after the host came back", got)
	}
	if got := e.instance(ids[1]).State; got != cloud.StateStopped {
		t.Errorf("stopped instance is %s after the host came back", got)
	}
}
