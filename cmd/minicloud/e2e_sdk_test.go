package main

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestE2E_SDK_Lifecycle drives the whole instance lifecycle with
// aws-sdk-go-v2, its waiters and its paginator.
func TestE2E_SDK_Lifecycle(t *testing.T) {
	ts := openServer(t, serverOptions{})
	ctx := context.Background()
	c := ts.client

	// Launch three tagged instances; they answer pending at once.
	out, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(ts.imageID("debian-12")), InstanceType: types.InstanceTypeT3Micro,
		MinCount: aws.Int32(3), MaxCount: aws.Int32(3),
		TagSpecifications: []types.TagSpecification{{
			ResourceType: types.ResourceTypeInstance,
			Tags:         []types.Tag{{Key: aws.String("Name"), Value: aws.String("web")}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Instances) != 3 || !strings.HasPrefix(*out.ReservationId, "r-") {
		t.Fatalf("reservation %v with %d instances", out.ReservationId, len(out.Instances))
	}
	var ids []string
	for _, inst := range out.Instances {
		if inst.State.Name != types.InstanceStateNamePending || *inst.State.Code != 0 {
			t.Errorf("%s answered %s, want pending", *inst.InstanceId, inst.State.Name)
		}
		ids = append(ids, *inst.InstanceId)
	}
	ts.waitRunning(ids...)

	// Behind each instance is a VM named after it, on its host.
	hosts := map[string]bool{}
	for _, inst := range ts.describe(ids...) {
		hosts[*inst.Placement.AvailabilityZone] = true
		got := ts.sim(*inst.Placement.AvailabilityZone).sh("vim-cmd vmsvc/getallvms")
		if !strings.Contains(got, *inst.InstanceId) {
			t.Errorf("no VM named %s on its host:\n%s", *inst.InstanceId, got)
		}
	}
	if len(hosts) != 2 {
		t.Errorf("3 instances used zones %v, want both zones", hosts)
	}

	// Filters: by tag, with wildcards, by state, and ANDed together.
	for _, tt := range []struct {
		filters []types.Filter
		want    int
	}{
		{[]types.Filter{{Name: aws.String("tag:Name"), Values: []string{"web"}}}, 3},
		{[]types.Filter{{Name: aws.String("tag:Name"), Values: []string{"w?b"}}}, 3},
		{[]types.Filter{{Name: aws.String("tag:Name"), Values: []string{"db", "we*"}}}, 3},
		{[]types.Filter{{Name: aws.String("tag-key"), Values: []string{"Name"}}}, 3},
		{[]types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"running"}}}, 3},
		{[]types.Filter{{Name: aws.String("instance-state-code"), Values: []string{"16"}}}, 3},
		{[]types.Filter{{Name: aws.String("instance-type"), Values: []string{"t3.micro"}}}, 3},
		{[]types.Filter{{Name: aws.String("availability-zone"), Values: []string{"us-east-1a"}}}, 2},
		{[]types.Filter{{Name: aws.String("reservation-id"), Values: []string{*out.ReservationId}}}, 3},
		{[]types.Filter{{Name: aws.String("instance-id"), Values: []string{ids[1]}}}, 1},
		{[]types.Filter{
			{Name: aws.String("tag:Name"), Values: []string{"web"}},
			{Name: aws.String("instance-state-name"), Values: []string{"stopped"}},
		}, 0},
	} {
		got, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: tt.filters})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range got.Reservations {
			n += len(r.Instances)
		}
		if n != tt.want {
			t.Errorf("filters %s: %d instances, want %d", describeFilters(tt.filters), n, tt.want)
		}
	}

	// The guest reports its address; the private IP and DNS name follow.
	deadline := time.Now().Add(10 * time.Second)
	for {
		inst := ts.describe(ids[0])[0]
		if inst.PrivateIpAddress != nil {
			if !strings.HasPrefix(*inst.PrivateDnsName, "ip-172-31-") {
				t.Errorf("private DNS name = %s", *inst.PrivateDnsName)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no private IP after 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	got, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{{
		Name: aws.String("private-ip-address"), Values: []string{*ts.describe(ids[0])[0].PrivateIpAddress},
	}}})
	if err != nil || len(got.Reservations) != 1 || *got.Reservations[0].Instances[0].InstanceId != ids[0] {
		t.Errorf("private-ip-address filter: %+v, %v", got, err)
	}

	// Status checks: ok once the guests have booted.
	sw := ec2.NewInstanceStatusOkWaiter(c, func(o *ec2.InstanceStatusOkWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := sw.Wait(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: ids}, 20*time.Second); err != nil {
		t.Fatalf("instance-status-ok: %v", err)
	}

	// Stop, with the SDK's waiter.
	stop, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids[:1]})
	if err != nil {
		t.Fatal(err)
	}
	if s := stop.StoppingInstances[0]; s.PreviousState.Name != types.InstanceStateNameRunning ||
		s.CurrentState.Name != types.InstanceStateNameStopping {
		t.Errorf("stop: %s -> %s", s.PreviousState.Name, s.CurrentState.Name)
	}
	stopped := ec2.NewInstanceStoppedWaiter(c, func(o *ec2.InstanceStoppedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := stopped.Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids[:1]}, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	inst := ts.describe(ids[0])[0]
	if inst.StateReason == nil || *inst.StateReason.Code != "Client.UserInitiatedShutdown" ||
		!strings.HasPrefix(*inst.StateTransitionReason, "User initiated (") {
		t.Errorf("stopped instance reason: %+v %v", inst.StateReason, inst.StateTransitionReason)
	}

	// Start again, reboot.
	start, err := c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: ids[:1]})
	if err != nil {
		t.Fatal(err)
	}
	if s := start.StartingInstances[0]; s.CurrentState.Name != types.InstanceStateNamePending {
		t.Errorf("start answered %s", s.CurrentState.Name)
	}
	ts.waitRunning(ids[0])
	if _, err := c.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: ids}); err != nil {
		t.Fatal(err)
	}

	// Terminate, with the SDK's waiter; the VMs are gone from the hosts.
	term, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	if s := term.TerminatingInstances[0]; s.CurrentState.Name != types.InstanceStateNameShuttingDown {
		t.Errorf("terminate answered %s", s.CurrentState.Name)
	}
	terminated := ec2.NewInstanceTerminatedWaiter(c, func(o *ec2.InstanceTerminatedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := terminated.Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids}, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, zone := range []string{"us-east-1a", "us-east-1b"} {
		sim := ts.sim(zone)
		if got := sim.sh("vim-cmd vmsvc/getallvms"); strings.Contains(got, "i-") {
			t.Errorf("VMs left on %s after terminate:\n%s", sim.name, got)
		}
	}

	// Terminated instances stay visible, with every status.
	st, err := c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{
		InstanceIds: ids, IncludeAllInstances: aws.Bool(true),
	})
	if err != nil || len(st.InstanceStatuses) != 3 {
		t.Fatalf("status of terminated instances: %+v, %v", st, err)
	}
	if s := st.InstanceStatuses[0]; s.InstanceState.Name != types.InstanceStateNameTerminated {
		t.Errorf("status state = %s", s.InstanceState.Name)
	}
}

func describeFilters(fs []types.Filter) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, fmt.Sprintf("%s=%v", *f.Name, f.Values))
	}
	return strings.Join(parts, " ")
}

// TestE2E_SDK_Paginator lists instances a page at a time with the SDK's
// paginator: every instance once, in a stable order.
func TestE2E_SDK_Paginator(t *testing.T) {
	ts := openServer(t, serverOptions{})
	ids := ts.run(12, nil)
	sort.Strings(ids)

	var seen []string
	pages := 0
	p := ec2.NewDescribeInstancesPaginator(ts.client, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		n := 0
		for _, r := range page.Reservations {
			for _, inst := range r.Instances {
				seen = append(seen, *inst.InstanceId)
				n++
			}
		}
		if n > 5 {
			t.Errorf("page %d has %d instances, want at most 5", pages, n)
		}
	}
	if pages != 3 || fmt.Sprint(seen) != fmt.Sprint(ids) {
		t.Errorf("%d pages listed %v, want 3 pages listing %v", pages, seen, ids)
	}
}

// TestE2E_SDK_Tags adds, lists and removes tags.
func TestE2E_SDK_Tags(t *testing.T) {
	ts := openServer(t, serverOptions{})
	ctx := context.Background()
	ids := ts.run(2, nil)

	_, err := ts.client.CreateTags(ctx, &ec2.CreateTagsInput{
		Resources: ids,
		Tags: []types.Tag{
			{Key: aws.String("team"), Value: aws.String("infra")},
			{Key: aws.String("env"), Value: aws.String("prod")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tags, err := ts.client.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{
		{Name: aws.String("resource-id"), Values: []string{ids[0]}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tags.Tags) != 2 || *tags.Tags[0].Key != "env" || tags.Tags[0].ResourceType != types.ResourceTypeInstance {
		t.Errorf("tags of %s: %+v", ids[0], tags.Tags)
	}

	// Delete one tag only if its value matches, another whatever its value.
	_, err = ts.client.DeleteTags(ctx, &ec2.DeleteTagsInput{
		Resources: ids,
		Tags: []types.Tag{
			{Key: aws.String("team"), Value: aws.String("not-infra")},
			{Key: aws.String("env")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	inst := ts.describe(ids[1])[0]
	if len(inst.Tags) != 1 || *inst.Tags[0].Key != "team" {
		t.Errorf("tags after delete: %+v", inst.Tags)
	}
}

// TestE2E_SDK_Catalog reads the images, types, regions and zones.
func TestE2E_SDK_Catalog(t *testing.T) {
	ts := openServer(t, serverOptions{})
	ctx := context.Background()

	imgs, err := ts.client.DescribeImages(ctx, &ec2.DescribeImagesInput{})
	if err != nil || len(imgs.Images) != len(simTemplates) {
		t.Fatalf("images: %d, %v", len(imgs.Images), err)
	}
	for _, img := range imgs.Images {
		if img.State != types.ImageStateAvailable || img.Architecture != types.ArchitectureValuesX8664 ||
			img.RootDeviceType != types.DeviceTypeEbs || *img.RootDeviceName == "" {
			t.Errorf("image %s: %+v", *img.Name, img)
		}
	}

	it, err := ts.client.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{
		InstanceTypes: []types.InstanceType{types.InstanceTypeT3Micro},
	})
	if err != nil || len(it.InstanceTypes) != 1 {
		t.Fatalf("instance types: %+v, %v", it, err)
	}
	if got := it.InstanceTypes[0]; *got.VCpuInfo.DefaultVCpus != 2 || *got.MemoryInfo.SizeInMiB != 1024 {
		t.Errorf("t3.micro = %d vCPU, %d MiB", *got.VCpuInfo.DefaultVCpus, *got.MemoryInfo.SizeInMiB)
	}

	regions, err := ts.client.DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil || len(regions.Regions) != 1 || *regions.Regions[0].RegionName != "us-east-1" {
		t.Errorf("regions: %+v, %v", regions, err)
	}
	zones, err := ts.client.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
	if err != nil || len(zones.AvailabilityZones) != 2 {
		t.Fatalf("zones: %+v, %v", zones, err)
	}
	if z := zones.AvailabilityZones[0]; *z.ZoneName != "us-east-1a" || *z.ZoneId != "use1-az1" ||
		z.State != types.AvailabilityZoneStateAvailable {
		t.Errorf("zone = %s %s %s", *z.ZoneName, *z.ZoneId, z.State)
	}
}

// TestE2E_SDK_Errors checks that each client mistake gets EC2's code and
// HTTP status, and none gets a 500 but the one EC2 itself answers 500 for.
func TestE2E_SDK_Errors(t *testing.T) {
	ts := openServer(t, serverOptions{})
	ctx := context.Background()
	c := ts.client
	ami := ts.imageID("debian-12")
	running := ts.run(1, nil)[0]
	ts.waitRunning(running)
	term := ts.run(1, nil)[0]
	if _, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{term}}); err != nil {
		t.Fatal(err)
	}
	const missing = "i-0123456789abcdef0"

	tests := []struct {
		name   string
		call   func() error
		code   string
		status int
	}{
		{"MalformedInstanceID", func() error {
			_, err := c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{"i-xyz"}})
			return err
		}, "InvalidInstanceID.Malformed", 400},
		{"InstanceNotFound", func() error {
			_, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{missing}})
			return err
		}, "InvalidInstanceID.NotFound", 400},
		{"DescribeNotFound", func() error {
			_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{missing, running}})
			return err
		}, "InvalidInstanceID.NotFound", 400},
		{"StartTerminated", func() error {
			_, err := c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{term}})
			return err
		}, "IncorrectInstanceState", 400},
		{"MalformedImage", func() error {
			_, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-nope"),
				MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
			return err
		}, "InvalidAMIID.Malformed", 400},
		{"ImageNotFound", func() error {
			_, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"),
				MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
			return err
		}, "InvalidAMIID.NotFound", 400},
		{"MissingImage", func() error {
			_, err := c.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
			return err
		}, "MissingParameter", 400},
		{"BadInstanceType", func() error {
			_, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: &ami, InstanceType: "t9.enormous",
				MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
			return err
		}, "InvalidParameterValue", 400},
		{"BadZone", func() error {
			_, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: &ami,
				MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
				Placement: &types.Placement{AvailabilityZone: aws.String("us-east-1z")}})
			return err
		}, "InvalidParameterValue", 400},
		{"NoCapacity", func() error {
			_, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: &ami, InstanceType: types.InstanceTypeM54xlarge,
				MinCount: aws.Int32(100), MaxCount: aws.Int32(100)})
			return err
		}, "InsufficientInstanceCapacity", 500},
		{"UnknownFilter", func() error {
			_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{
				{Name: aws.String("colour"), Values: []string{"blue"}}}})
			return err
		}, "InvalidParameterValue", 400},
		{"MaxResultsWithIDs", func() error {
			_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{running},
				MaxResults: aws.Int32(5)})
			return err
		}, "InvalidParameterCombination", 400},
		{"MaxResultsRange", func() error {
			_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(4)})
			return err
		}, "InvalidParameterValue", 400},
		{"BadNextToken", func() error {
			_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{NextToken: aws.String("garbage!")})
			return err
		}, "InvalidNextToken", 400},
		{"DryRun", func() error {
			_, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{running}, DryRun: aws.Bool(true)})
			return err
		}, "DryRunOperation", 412},
		{"TagMissingResource", func() error {
			_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{missing},
				Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
			return err
		}, "InvalidInstanceID.NotFound", 400},
		{"UnknownKey", func() error {
			_, err := newClient(ts.Endpoint(), "AKIDNOBODY", "x").DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
			return err
		}, "AuthFailure", 401},
		{"WrongSecret", func() error {
			_, err := newClient(ts.Endpoint(), "test", "wrong").DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
			return err
		}, "SignatureDoesNotMatch", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantAPIError(t, tt.call(), tt.code, tt.status)
		})
	}

	// The dry run changed nothing.
	if s := ts.describe(running)[0].State.Name; s != types.InstanceStateNameRunning {
		t.Errorf("after a dry-run stop the instance is %s", s)
	}

	// An unknown action, sent by hand.
	resp, err := http.Get(ts.Endpoint() + "/?Action=LaunchRocket&Version=2016-11-15")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Errorf("unsigned unknown action: status %d, want a 4xx", resp.StatusCode)
	}
}
