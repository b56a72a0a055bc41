package compute_test

import (
	"context"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
)

func TestService_ProbeHosts(t *testing.T) {
	e := newEnv(t, envOptions{noRun: true})
	for _, h := range e.svc.Hosts() {
		if h.State != cloud.HostConnecting {
			t.Fatalf("before ProbeHosts %s is %s, want %s", h.Name, h.State, cloud.HostConnecting)
		}
	}

	e.svc.ProbeHosts(context.Background())
	for _, h := range e.svc.Hosts() {
		if h.State != cloud.HostReady || h.CPUThreads != 8 {
			t.Errorf("after ProbeHosts %s is %s with %d threads, want ready with 8",
				h.Name, h.State, h.CPUThreads)
		}
	}

	// Instances are placed and recorded, and nothing launches them.
	ids := e.runInstances(2, nil)
	time.Sleep(200 * time.Millisecond)
	for _, id := range ids {
		inst := e.instance(id)
		if inst.State != cloud.StatePending || inst.Step != cloud.StepNone || inst.Host == "" {
			t.Errorf("%s is %s at step %q on %q, want pending at no step on a host",
				id, inst.State, inst.Step, inst.Host)
		}
	}
	for i := range e.sims {
		if n := e.sims[i].Stats().VimCmds["solo/registervm"]; n != 0 {
			t.Errorf("host %d registered %d VMs without a controller", i, n)
		}
	}
}
