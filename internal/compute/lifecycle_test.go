package compute

import (
	"testing"

	"github.com/minicloud/minicloud/internal/cloud"
)

// TestTransitions checks every user request from every state against what
// EC2 does: the state the instance moves to at once, or the refusal.
func TestTransitions(t *testing.T) {
	const (
		pending      = cloud.StatePending
		running      = cloud.StateRunning
		stopping     = cloud.StateStopping
		stopped      = cloud.StateStopped
		shuttingDown = cloud.StateShuttingDown
		terminated   = cloud.StateTerminated
		refused      = cloud.InstanceState("refused")
	)
	requests := []struct {
		name string
		t    transition
		want map[cloud.InstanceState]cloud.InstanceState
	}{
		{"start", startTransition, map[cloud.InstanceState]cloud.InstanceState{
			pending: pending, running: running, stopping: refused,
			stopped: pending, shuttingDown: refused, terminated: refused,
		}},
		{"stop", stopTransition(false), map[cloud.InstanceState]cloud.InstanceState{
			pending: stopping, running: stopping, stopping: stopping,
			stopped: stopped, shuttingDown: refused, terminated: refused,
		}},
		{"terminate", terminateTransition, map[cloud.InstanceState]cloud.InstanceState{
			pending: shuttingDown, running: shuttingDown, stopping: shuttingDown,
			stopped: shuttingDown, shuttingDown: shuttingDown, terminated: terminated,
		}},
		{"reboot", rebootTransition, map[cloud.InstanceState]cloud.InstanceState{
			pending: pending, running: running, stopping: refused,
			stopped: refused, shuttingDown: refused, terminated: refused,
		}},
	}
	for _, r := range requests {
		for from, want := range r.want {
			inst := &cloud.Instance{ID: "i-0123456789abcdef0", State: from, Desired: from}
			err := r.t(inst, "User initiated (2026-12-03 10:00:00 GMT)")
			got := inst.State
			if err != nil {
				if cloud.ErrorCode(err) != cloud.ErrCodeIncorrectInstanceState {
					t.Errorf("%s from %s: err %v, want IncorrectInstanceState", r.name, from, err)
				}
				got = refused
			}
			if got != want {
				t.Errorf("%s from %s: %s, want %s", r.name, from, got, want)
			}
		}
	}
}

// TestTransitions_Desired checks where each request sends the controller
// and the reasons it records.
func TestTransitions_Desired(t *testing.T) {
	now := "User initiated (2026-12-03 10:00:00 GMT)"

	inst := &cloud.Instance{State: cloud.StateRunning, Desired: cloud.StateRunning}
	stopTransition(true)(inst, now)
	if inst.Desired != cloud.StateStopped || !inst.ForceStop ||
		inst.StateReason.Code != "Client.UserInitiatedShutdown" || inst.StateTransitionReason != now {
		t.Errorf("after a forced stop: %+v", inst)
	}

	startTransition(inst, now) // stopping: refused, nothing changes
	if inst.State != cloud.StateStopping {
		t.Errorf("start of a stopping instance changed it to %s", inst.State)
	}

	inst.State = cloud.StateStopped
	startTransition(inst, now)
	if inst.Desired != cloud.StateRunning || inst.ForceStop || inst.StateReason.Code != "pending" ||
		inst.StateTransitionReason != "" {
		t.Errorf("after start: %+v", inst)
	}

	inst.State = cloud.StateRunning
	rebootTransition(inst, now)
	if !inst.RebootRequested {
		t.Error("reboot of a running instance did not ask the controller")
	}
	terminateTransition(inst, now)
	if inst.Desired != cloud.StateTerminated || inst.RebootRequested {
		t.Errorf("after terminate: %+v", inst)
	}
}
