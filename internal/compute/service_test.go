package compute_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/compute"
	"github.com/minicloud/minicloud/internal/store"
)

// wantCode fails unless err is a cloud.Error with code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ce *cloud.Error
	if !errors.As(err, &ce) || ce.Code != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
}

func TestService_Lifecycle(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()

	// Launch: pending at once, running when the VM is powered on.
	ids := e.runInstances(2, nil)
	e.waitState(cloud.StateRunning, ids...)
	id := ids[0]
	h := e.simIndex(id)
	inst := e.instance(id)
	if inst.VMID == "" || inst.StateReason != nil {
		t.Errorf("running instance: vmid %q, reason %+v", inst.VMID, inst.StateReason)
	}
	if got := e.sh(h, "vim-cmd vmsvc/power.getstate "+inst.VMID); !strings.Contains(got, "Powered on") {
		t.Errorf("VM of a running instance: %q", got)
	}
	if got := e.sh(h, "vim-cmd vmsvc/getallvms"); !strings.Contains(got, id) {
		t.Errorf("getallvms does not list %s:\n%s", id, got)
	}

	// The guest reports its address a moment later.
	e.waitFor("guest address", []string{id}, func(i *cloud.Instance) bool {
		return i.PrivateIPAddress != "" && i.GuestReady
	})
	if ip := e.instance(id).PrivateIPAddress; !strings.HasPrefix(ip, "172.31.") {
		t.Errorf("private IP = %q, want one from the host's guest network", ip)
	}

	// Stop.
	changes, err := e.svc.StopInstances(ctx, &cloud.StopInstancesInput{InstanceIDs: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if c := changes[0]; c.Previous != cloud.StateRunning || c.Current != cloud.StateStopping {
		t.Errorf("stop change = %+v", c)
	}
	e.waitState(cloud.StateStopped, id)
	if got := e.sh(h, "vim-cmd vmsvc/power.getstate "+inst.VMID); !strings.Contains(got, "Powered off") {
		t.Errorf("VM of a stopped instance: %q", got)
	}
	stopped := e.instance(id)
	if stopped.StateReason == nil || stopped.StateReason.Code != "Client.UserInitiatedShutdown" ||
		!strings.HasPrefix(stopped.StateTransitionReason, "User initiated (") {
		t.Errorf("stopped reason = %+v / %q", stopped.StateReason, stopped.StateTransitionReason)
	}

	// Start again.
	changes, err = e.svc.StartInstances(ctx, &cloud.InstanceIDsInput{InstanceIDs: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if c := changes[0]; c.Previous != cloud.StateStopped || c.Current != cloud.StatePending {
		t.Errorf("start change = %+v", c)
	}
	e.waitState(cloud.StateRunning, id)

	// Reboot keeps it running and clears the request.
	if err := e.svc.RebootInstances(ctx, &cloud.InstanceIDsInput{InstanceIDs: []string{id}}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("reboot", []string{id}, func(i *cloud.Instance) bool {
		return !i.RebootRequested && i.State == cloud.StateRunning
	})

	// Terminate: the VM and its folder go.
	changes, err = e.svc.TerminateInstances(ctx, &cloud.InstanceIDsInput{InstanceIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	if c := changes[0]; c.Current != cloud.StateShuttingDown {
		t.Errorf("terminate change = %+v", c)
	}
	e.waitState(cloud.StateTerminated, ids...)
	for _, id := range ids {
		i := e.simIndex(id)
		if got := e.sh(i, "vim-cmd vmsvc/getallvms"); strings.Contains(got, id) {
			t.Errorf("getallvms still lists terminated %s", id)
		}
		if got := e.sh(i, "ls /vmfs/volumes/datastore1"); strings.Contains(got, id) {
			t.Errorf("folder of terminated %s is still there", id)
		}
	}

	// A terminated instance cannot start, and terminating again is fine.
	_, err = e.svc.StartInstances(ctx, &cloud.InstanceIDsInput{InstanceIDs: []string{id}})
	wantCode(t, err, cloud.ErrCodeIncorrectInstanceState)
	changes, err = e.svc.TerminateInstances(ctx, &cloud.InstanceIDsInput{InstanceIDs: []string{id}})
	if err != nil || changes[0].Previous != cloud.StateTerminated {
		t.Errorf("terminate again = %+v, %v", changes, err)
	}
}

func TestService_RunInstances(t *testing.T) {
	e := newEnv(t, envOptions{opts: func(o *compute.Options) {}})
	ctx := context.Background()
	e.waitReady()

	tests := []struct {
		name string
		mod  func(*cloud.RunInstancesInput)
		code string
	}{
		{"ErrMissingImage", func(in *cloud.RunInstancesInput) { in.ImageID = "" }, cloud.ErrCodeMissingParameter},
		{"ErrMalformedImage", func(in *cloud.RunInstancesInput) { in.ImageID = "ami-xyz" },
			cloud.ErrCodeInvalidAMIIDMalformed},
		{"ErrUnknownImage", func(in *cloud.RunInstancesInput) { in.ImageID = "ami-0123456789abcdef0" },
			cloud.ErrCodeInvalidAMIIDNotFound},
		{"ErrInstanceType", func(in *cloud.RunInstancesInput) { in.InstanceType = "t9.huge" },
			cloud.ErrCodeInvalidParameterValue},
		{"ErrMinCount", func(in *cloud.RunInstancesInput) { in.MinCount = 0 }, cloud.ErrCodeInvalidParameterValue},
		{"ErrMaxBelowMin", func(in *cloud.RunInstancesInput) { in.MinCount, in.MaxCount = 3, 2 },
			cloud.ErrCodeInvalidParameterValue},
		{"ErrZone", func(in *cloud.RunInstancesInput) { in.AvailabilityZone = "us-east-1z" },
			cloud.ErrCodeInvalidParameterValue},
		{"ErrCapacity", func(in *cloud.RunInstancesInput) { in.MinCount, in.MaxCount = 500, 500 },
			cloud.ErrCodeInsufficientCapacity},
		{"ErrTagKey", func(in *cloud.RunInstancesInput) {
			in.TagSpecifications = []cloud.TagSpecification{{ResourceType: "instance",
				Tags: []cloud.Tag{{Key: "aws:x", Value: "y"}}}}
		}, cloud.ErrCodeInvalidParameterValue},
		{"ErrTagResourceType", func(in *cloud.RunInstancesInput) {
			in.TagSpecifications = []cloud.TagSpecification{{ResourceType: "bucket",
				Tags: []cloud.Tag{{Key: "a", Value: "b"}}}}
		}, cloud.ErrCodeInvalidParameterValue},
		{"DryRun", func(in *cloud.RunInstancesInput) { in.DryRun = true }, cloud.ErrCodeDryRunOperation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &cloud.RunInstancesInput{ImageID: e.imageID(), InstanceType: "t3.micro", MinCount: 1, MaxCount: 1}
			tt.mod(in)
			_, err := e.svc.RunInstances(ctx, in)
			wantCode(t, err, tt.code)
		})
	}

	// None of the refused calls recorded anything.
	out, err := e.svc.DescribeInstances(ctx, &cloud.DescribeInstancesInput{})
	if err != nil || len(out.Reservations) != 0 {
		t.Fatalf("after refused calls: %d reservations, %v", len(out.Reservations), err)
	}

	t.Run("MinMax", func(t *testing.T) {
		// Each simulated host has 8 threads, so 32 vCPUs at 4:1: room for
		// 16 t3.micro each. Ask for at least 2 and at most 40.
		ids := e.runInstances(0, func(in *cloud.RunInstancesInput) { in.MinCount, in.MaxCount = 2, 40 })
		if len(ids) != 32 {
			t.Errorf("launched %d, want the 32 that fit", len(ids))
		}
		hosts := map[string]int{}
		for _, id := range ids {
			hosts[e.instance(id).Host]++
		}
		if hosts["esxi-1"] != 16 || hosts["esxi-2"] != 16 {
			t.Errorf("spread = %v, want 16 on each host", hosts)
		}
		e.waitState(cloud.StateRunning, ids...)
	})
}

// waitReady waits until every host has been probed.
func (e *env) waitReady() {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ready := 0
		for _, h := range e.svc.Hosts() {
			if h.State == cloud.HostReady {
				ready++
			}
		}
		if ready == len(e.hosts) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("hosts not ready: %+v", e.svc.Hosts())
}

func TestZoneIDs(t *testing.T) {
	e := newEnv(t, envOptions{hosts: 2})
	zones, err := e.svc.DescribeAvailabilityZones(context.Background(), &cloud.DescribeAvailabilityZonesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(zones) != 2 || zones[0].ID != "use1-az1" || zones[1].ID != "use1-az2" ||
		zones[0].State != cloud.ZoneAvailable {
		t.Errorf("zones = %+v", zones)
	}
}

// TestService_StartSetsLaunchTime checks that a restarted instance
// reports the time of its last start as its launch time, as EC2 does.
func TestService_StartSetsLaunchTime(t *testing.T) {
	var offset atomic.Int64
	e := newEnv(t, envOptions{hosts: 1, opts: func(o *compute.Options) {
		o.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	}})
	ctx := context.Background()
	id := e.runInstances(1, nil)[0]
	e.waitState(cloud.StateRunning, id)
	first := e.instance(id).LaunchTime

	if _, err := e.svc.StopInstances(ctx, &cloud.StopInstancesInput{InstanceIDs: []string{id}, Force: true}); err != nil {
		t.Fatal(err)
	}
	e.waitState(cloud.StateStopped, id)
	offset.Store(int64(time.Hour))
	if _, err := e.svc.StartInstances(ctx, &cloud.InstanceIDsInput{InstanceIDs: []string{id}}); err != nil {
		t.Fatal(err)
	}
	e.waitState(cloud.StateRunning, id)
	if got := e.instance(id).LaunchTime; got.Sub(first) < 59*time.Minute {
		t.Errorf("launch time after a start an hour later = %v, first launch %v", got, first)
	}
}

// TestService_TerminatedLeaveTheStore checks that terminated instances
// stay visible for TerminatedTTL (an hour by default, as on EC2), then
// leave both the answers and the state file.
func TestService_TerminatedLeaveTheStore(t *testing.T) {
	const ttl = 400 * time.Millisecond
	e := newEnv(t, envOptions{hosts: 1, opts: func(o *compute.Options) { o.TerminatedTTL = ttl }})
	ctx := context.Background()
	ids := e.runInstances(2, nil)
	e.waitState(cloud.StateRunning, ids...)
	if _, err := e.svc.TerminateInstances(ctx, &cloud.InstanceIDsInput{InstanceIDs: ids[:1]}); err != nil {
		t.Fatal(err)
	}
	e.waitState(cloud.StateTerminated, ids[0])

	// Still listed just after.
	out, err := e.svc.DescribeInstances(ctx, &cloud.DescribeInstancesInput{InstanceIDs: ids[:1]})
	if err != nil || len(out.Reservations) != 1 {
		t.Fatalf("just terminated: %+v, %v", out, err)
	}

	// Gone from the answers and from the store once the TTL has passed.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := e.db.Instance(ids[0])
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("terminated instance still stored 10s after its TTL: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, err = e.svc.DescribeInstances(ctx, &cloud.DescribeInstancesInput{InstanceIDs: ids[:1]})
	wantCode(t, err, cloud.ErrCodeInvalidInstanceIDNotFound)

	// The other instance is untouched.
	if got := e.instance(ids[1]).State; got != cloud.StateRunning {
		t.Errorf("the running instance is %s", got)
	}
}
