package compute_test

import (
	"strings"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/compute"
	"github.com/minicloud/minicloud/internal/esxisim"
	"github.com/minicloud/minicloud/internal/hypervisor"
	"github.com/minicloud/minicloud/internal/syncbuf"
)

// inject gives the i-th simulated host faults, and takes them away when
// the test ends.
func (e *env) inject(i int, f esxisim.Faults) {
	e.t.Helper()
	if err := e.sims[i].Inject(f); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { e.sims[i].Inject(esxisim.Faults{}) })
}

// wantNothingLeft fails unless the i-th host has no VM and no instance
// folder.
func (e *env) wantNothingLeft(i int) {
	e.t.Helper()
	if got := e.sh(i, "vim-cmd vmsvc/getallvms"); strings.Contains(got, "i-") {
		e.t.Errorf("VMs left on the host:\n%s", got)
	}
	if got := strings.Fields(e.sh(i, "ls /vmfs/volumes/datastore1")); len(got) != 1 {
		e.t.Errorf("datastore holds %v, want only the templates", got)
	}
}

// TestRetry_TransientFaults launches on a host whose hostd is restarting
// and busy, and whose power-on reports failure although the VM came up:
// the launch gets there, retrying each call with backoff, and the host
// stays ready throughout.
func TestRetry_TransientFaults(t *testing.T) {
	logs := &syncbuf.Buffer{}
	e := newEnv(t, envOptions{
		hosts: 1, log: debugLogger(logs),
		opts: func(o *compute.Options) { o.RetryBase, o.RetryMax = 100*time.Millisecond, time.Second },
	})
	e.inject(0, esxisim.Faults{
		Hostd: []esxisim.HostdFault{
			{Fault: esxisim.FaultHostdDown, Command: "solo/registervm", Count: 2},
			{Fault: esxisim.FaultTaskInProgress, Command: "vmsvc/power.on", Count: 2},
			{Fault: esxisim.FaultLoginReset, Command: "vmsvc/getallvms", Count: 1},
		},
		PowerOnReportsFailure: 1,
	})
	before := e.sims[0].Stats()
	start := time.Now()

	id := e.runInstances(1, nil)[0]
	e.waitState(cloud.StateRunning, id)
	elapsed := time.Since(start)

	// Each faulty call was made again, after a growing wait.
	after := e.sims[0].Stats()
	if got := after.VimCmds["solo/registervm"] - before.VimCmds["solo/registervm"]; got != 3 {
		t.Errorf("registervm ran %d times, want 3", got)
	}
	if got := after.VimCmds["vmsvc/power.on"] - before.VimCmds["vmsvc/power.on"]; got != 3 {
		t.Errorf("power.on ran %d times, want 3", got)
	}
	if min := 2 * (100 + 200) * time.Millisecond; elapsed < min {
		t.Errorf("launch took %s through four faults, want at least %s of backoff", elapsed, min)
	}
	if inst := e.instance(id); inst.StateReason != nil || inst.Launched != true {
		t.Errorf("instance: reason %+v, launched %v", inst.StateReason, inst.Launched)
	}
	time.Sleep(300 * time.Millisecond)
	if f := e.sims[0].Faults(); len(f.Hostd) != 0 || f.PowerOnReportsFailure != 0 {
		t.Errorf("faults not all met: %+v", f)
	}
	l := logs.String()
	if strings.Contains(l, "host unreachable") || strings.Contains(l, "launch failed") {
		t.Errorf("transient faults took the host or the launch down:\n%s", l)
	}
	if got := e.sh(0, "vim-cmd vmsvc/getallvms"); strings.Count(got, "\n1 ") != 1 ||
		strings.Count(got, "\n") != 2 {
		t.Errorf("want one VM:\n%s", got)
	}
}

// TestRetry_PermanentFault launches from a template whose disk is gone:
// vmkfstools fails for good, so the launch ends at once, the instance
// terminates with Server.InternalError, and nothing is left on the host.
func TestRetry_PermanentFault(t *testing.T) {
	e := newEnv(t, envOptions{hosts: 1})
	e.sh(0, "rm /vmfs/volumes/datastore1/templates/debian-12/debian-12-flat.vmdk")
	before := e.sims[0].Stats()

	id := e.runInstances(1, nil)[0]
	e.waitState(cloud.StateTerminated, id)

	inst := e.instance(id)
	if inst.StateReason == nil || *inst.StateReason != cloud.ReasonInternalError {
		t.Errorf("state reason = %+v, want %+v", inst.StateReason, cloud.ReasonInternalError)
	}
	if got := e.sims[0].Stats().Commands["vmkfstools"] - before.Commands["vmkfstools"]; got != 1 {
		t.Errorf("vmkfstools ran %d times; a permanent fault is not retried", got)
	}
	e.wantNothingLeft(0)
}

// TestRetry_GiveUp launches on a host whose hostd never comes back: after
// LaunchRetries transient faults the launch ends as a permanent one does.
func TestRetry_GiveUp(t *testing.T) {
	e := newEnv(t, envOptions{
		hosts: 1, opts: func(o *compute.Options) { o.LaunchRetries = 3 },
	})
	e.inject(0, esxisim.Faults{Hostd: []esxisim.HostdFault{
		{Fault: esxisim.FaultHostdDown, Command: "solo/registervm", Count: 100},
	}})
	before := e.sims[0].Stats()

	id := e.runInstances(1, nil)[0]
	e.waitState(cloud.StateTerminated, id)

	if got := e.instance(id).StateReason; got == nil || *got != cloud.ReasonInternalError {
		t.Errorf("state reason = %+v", got)
	}
	after := e.sims[0].Stats()
	if got := after.VimCmds["solo/registervm"] - before.VimCmds["solo/registervm"]; got != 4 {
		t.Errorf("registervm ran %d times, want 4: the first and three retries", got)
	}
	e.wantNothingLeft(0)
}

// TestRetry_SessionCap launches on a slow host whose sshd allows two
// sessions at a time: with minicloud capped at two, it is never refused
// one; capped above what the host allows, it is, so the count can tell.
// A refused session is the host being busy, not failing: however many
// there are, no launch runs out of its one retry.
func TestRetry_SessionCap(t *testing.T) {
	for _, tt := range []struct {
		name    string
		cap     int
		refused bool
	}{
		{"Within", 2, false},
		{"Above", 8, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{
				hosts: 1,
				ssh:   func(_ int, c *hypervisor.SSHConfig) { c.MaxSessions = tt.cap },
				opts:  func(o *compute.Options) { o.LaunchRetries = 1 },
			})
			e.inject(0, esxisim.Faults{Latency: 30 * time.Millisecond, MaxSessions: 2})
			ids := e.runInstances(6, nil)
			e.waitState(cloud.StateRunning, ids...)
			refused := e.sims[0].Stats().RefusedSessions
			if (refused > 0) != tt.refused {
				t.Errorf("at most %d sessions: host refused %d", tt.cap, refused)
			}
		})
	}
}

// TestRetry_ConnectionLost drops the host off the network while a launch
// is running a command there: minicloud redials when it is back and the
// launch ends with one VM.
func TestRetry_ConnectionLost(t *testing.T) {
	e := newEnv(t, envOptions{hosts: 1})
	e.inject(0, esxisim.Faults{Latency: 200 * time.Millisecond})
	before := e.sims[0].Stats()

	id := e.runInstances(1, nil)[0]
	deadline := time.Now().Add(5 * time.Second)
	for e.sims[0].Stats().VimCmds["solo/registervm"] == before.VimCmds["solo/registervm"] {
		if time.Now().After(deadline) {
			t.Fatal("registervm never ran")
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.sims[0].Down()
	time.Sleep(300 * time.Millisecond)
	if err := e.sims[0].Up(); err != nil {
		t.Fatal(err)
	}

	e.waitState(cloud.StateRunning, id)
	if got := e.sims[0].Stats().Connections - before.Connections; got < 1 {
		t.Errorf("minicloud did not connect again after the host came back")
	}
	if got := e.sh(0, "vim-cmd vmsvc/getallvms"); strings.Count(got, "\n1 ") != 1 ||
		strings.Count(got, "\n") != 2 {
		t.Errorf("want one VM:\n%s", got)
	}
}
