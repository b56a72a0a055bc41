package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestE2E_Restart stops minicloud with work in flight and starts it again
// on the same data folder: every instance, its state, tags and host are
// still there, each VM is still matched to its instance, and the
// unfinished work completes.
func TestE2E_Restart(t *testing.T) {
	data := t.TempDir()
	slow := func(i int, c *simConfig) { c.Latency = 150 * time.Millisecond }
	ts := openServer(t, serverOptions{data: data, sim: slow})
	ctx := context.Background()

	// Two instances settle: one running, one stopped, both tagged.
	settled := ts.run(2, func(in *ec2.RunInstancesInput) {
		in.TagSpecifications = []types.TagSpecification{{ResourceType: types.ResourceTypeInstance,
			Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("keep")}}}}
	})
	ts.waitRunning(settled...)
	if _, err := ts.client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: settled[1:]}); err != nil {
		t.Fatal(err)
	}
	waitState(t, ts, types.InstanceStateNameStopped, settled[1])
	before := map[string]types.Instance{}
	for _, inst := range ts.describe(settled...) {
		before[*inst.InstanceId] = inst
	}

	// Three more are acknowledged; stop minicloud before their VMs exist.
	pending := ts.run(3, nil)
	ts.Close()

	// Start again on the same data folder.
	ts = openServer(t, serverOptions{data: data, sim: slow})
	for _, inst := range ts.describe(settled...) {
		was := before[*inst.InstanceId]
		if inst.State.Name != was.State.Name || *inst.Placement.AvailabilityZone != *was.Placement.AvailabilityZone ||
			len(inst.Tags) != 1 || *inst.Tags[0].Value != "keep" {
			t.Errorf("%s after restart: %s in %s tags %v; before: %s in %s",
				*inst.InstanceId, inst.State.Name, *inst.Placement.AvailabilityZone, inst.Tags,
				was.State.Name, *was.Placement.AvailabilityZone)
		}
	}

	// The unfinished launches complete, and every VM is matched.
	ts.waitRunning(pending...)
	for _, h := range ts.Service().Hosts() {
		if len(h.UnclaimedVMs) > 0 {
			t.Errorf("host %s has unclaimed VMs %v", h.Name, h.UnclaimedVMs)
		}
	}
	for _, inst := range ts.describe(append(settled, pending...)...) {
		vms := ts.sim(*inst.Placement.AvailabilityZone).sh("vim-cmd vmsvc/getallvms")
		if rows := strings.Count(vms, " "+*inst.InstanceId+" "); rows != 1 {
			t.Errorf("VM of %s is in %d rows of its host's inventory:\n%s", *inst.InstanceId, rows, vms)
		}
	}

	// The stopped one still starts, on the same VM.
	if _, err := ts.client.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: settled[1:]}); err != nil {
		t.Fatal(err)
	}
	ts.waitRunning(settled[1])
}

// waitState polls until the instance is in state.
func waitState(t *testing.T, ts *testServer, state types.InstanceStateName, id string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if ts.describe(id)[0].State.Name == state {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not become %s", id, state)
}
