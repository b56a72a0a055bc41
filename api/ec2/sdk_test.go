package ec2

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/minicloud/minicloud/internal/cloud"
)

// newSDKClient starts a server over fake and returns an aws-sdk-go-v2
// EC2 client pointed at it, with retries off so errors arrive at once.
func newSDKClient(t *testing.T, fake *fakeService) *ec2.Client {
	t.Helper()
	srv := httptest.NewServer(newTestHandler(t, fake))
	t.Cleanup(srv.Close)
	return ec2.New(ec2.Options{
		HTTPClient:   loopbackClient,
		Region:       testRegion,
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(testKey, testSecret, ""),
		Retryer:      aws.NopRetryer{},
	})
}

// TestSDK_DescribeInstances checks that the SDK's strict deserializer
// reads every kind of element minicloud writes for an instance.
func TestSDK_DescribeInstances(t *testing.T) {
	ctx := context.Background()
	client := newSDKClient(t, newFake())

	out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	if len(out.Reservations) != 2 {
		t.Fatalf("%d reservations, want 2", len(out.Reservations))
	}
	r := out.Reservations[0]
	i := r.Instances[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"ReservationId", aws.ToString(r.ReservationId), "r-0fedcba9876500001"},
		{"OwnerId", aws.ToString(r.OwnerId), testAccount},
		{"InstanceId", aws.ToString(i.InstanceId), "i-0123456789abc0001"},
		{"State.Name", i.State.Name, types.InstanceStateNameRunning},
		{"State.Code", aws.ToInt32(i.State.Code), int32(16)},
		{"InstanceType", i.InstanceType, types.InstanceTypeT3Micro},
		{"LaunchTime", aws.ToTime(i.LaunchTime), testLaunch},
		{"PrivateDnsName", aws.ToString(i.PrivateDnsName), "ip-172-31-1-2.ec2.internal"},
		{"PrivateIpAddress", aws.ToString(i.PrivateIpAddress), "172.31.1.2"},
		{"PublicDnsName", aws.ToString(i.PublicDnsName), ""},
		{"Placement.AvailabilityZone", aws.ToString(i.Placement.AvailabilityZone), "us-east-1a"},
		{"Placement.Tenancy", i.Placement.Tenancy, types.TenancyDefault},
		{"Monitoring.State", i.Monitoring.State, types.MonitoringStateDisabled},
		{"Architecture", i.Architecture, types.ArchitectureValuesX8664},
		{"RootDeviceType", i.RootDeviceType, types.DeviceTypeEbs},
		{"BlockDevice.VolumeId", aws.ToString(i.BlockDeviceMappings[0].Ebs.VolumeId), "vol-0123456789abc0001"},
		{"BlockDevice.AttachTime", aws.ToTime(i.BlockDeviceMappings[0].Ebs.AttachTime), testLaunch},
		{"BlockDevice.DeleteOnTermination", aws.ToBool(i.BlockDeviceMappings[0].Ebs.DeleteOnTermination), true},
		{"VirtualizationType", i.VirtualizationType, types.VirtualizationTypeHvm},
		{"Hypervisor", i.Hypervisor, types.HypervisorTypeXen},
		{"CpuOptions.CoreCount", aws.ToInt32(i.CpuOptions.CoreCount), int32(1)},
		{"CpuOptions.ThreadsPerCore", aws.ToInt32(i.CpuOptions.ThreadsPerCore), int32(2)},
		{"EnaSupport", aws.ToBool(i.EnaSupport), true},
		{"EbsOptimized", aws.ToBool(i.EbsOptimized), false},
		{"MetadataOptions.HttpTokens", i.MetadataOptions.HttpTokens, types.HttpTokensStateOptional},
		{"MetadataOptions.HopLimit", aws.ToInt32(i.MetadataOptions.HttpPutResponseHopLimit), int32(1)},
		{"HibernationOptions.Configured", aws.ToBool(i.HibernationOptions.Configured), false},
		{"PlatformDetails", aws.ToString(i.PlatformDetails), "Linux/UNIX"},
		{"UsageOperation", aws.ToString(i.UsageOperation), "RunInstances"},
		{"CurrentInstanceBootMode", i.CurrentInstanceBootMode, types.InstanceBootModeValuesLegacyBios},
		{"KeyName", aws.ToString(i.KeyName), "lab-key"},
		{"ClientToken", aws.ToString(i.ClientToken), "run-token-1"},
		{"Tags[0]", aws.ToString(i.Tags[0].Key) + "=" + aws.ToString(i.Tags[0].Value), "Name=web-1"},
		{"Tags[1]", aws.ToString(i.Tags[1].Value), `a & b < c > "d"`},
		{"AmiLaunchIndex", aws.ToInt32(i.AmiLaunchIndex), int32(0)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}

	stopped := out.Reservations[1].Instances[0]
	if stopped.StateReason == nil || aws.ToString(stopped.StateReason.Code) != "Client.UserInitiatedShutdown" {
		t.Errorf("stopped instance's StateReason %+v", stopped.StateReason)
	}
	if stopped.State.Name != types.InstanceStateNameStopped || stopped.KeyName != nil || len(stopped.Tags) != 0 {
		t.Errorf("stopped instance: state %s, key %v, tags %v", stopped.State.Name, stopped.KeyName, stopped.Tags)
	}
}

// TestSDK_Paginator walks DescribeInstances pages with the SDK's
// paginator, which relies on NextToken round-tripping.
func TestSDK_Paginator(t *testing.T) {
	fake := newFake()
	fake.instances = nil
	for n := range 12 {
		fake.instances = append(fake.instances, runningInstance(n))
	}
	client := newSDKClient(t, fake)

	pages := ec2.NewDescribeInstancesPaginator(client, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	var ids []string
	count := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatalf("page %d: %v", count, err)
		}
		count++
		for _, r := range page.Reservations {
			ids = append(ids, aws.ToString(r.Instances[0].InstanceId))
		}
	}
	if count != 3 || len(ids) != 12 {
		t.Errorf("%d pages, %d instances; want 3 pages of 12 instances", count, len(ids))
	}
}

// TestSDK_Actions calls every other action through the SDK and checks a
// few fields of each answer, and what the service was asked.
func TestSDK_Actions(t *testing.T) {
	ctx := context.Background()
	fake := newFake()
	client := newSDKClient(t, fake)
	ids := []string{"i-0123456789abc0001", "i-0123456789abc0002"}

	run, err := client.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-0abcdef1234567890"), MinCount: aws.Int32(1), MaxCount: aws.Int32(2),
		InstanceType: types.InstanceTypeT3Micro, KeyName: aws.String("lab"),
		Placement: &types.Placement{AvailabilityZone: aws.String("us-east-1b")},
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance,
			Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("web")}}}},
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	if got := run.Instances[0].State.Name; got != types.InstanceStateNamePending {
		t.Errorf("RunInstances state %s", got)
	}
	if aws.ToString(run.RequesterId) != "940372691376" || aws.ToString(run.Instances[0].StateReason.Code) != "pending" {
		t.Errorf("RunInstances requester %v, reason %+v", run.RequesterId, run.Instances[0].StateReason)
	}
	in := fake.input("RunInstances").(*cloud.RunInstancesInput)
	if in.MaxCount != 2 || in.AvailabilityZone != "us-east-1b" || in.ClientToken == "" ||
		len(in.TagSpecifications) != 1 || in.TagSpecifications[0].Tags[0].Value != "web" {
		t.Errorf("RunInstances input %+v", in)
	}

	start, err := client.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: ids})
	if err != nil || len(start.StartingInstances) != 2 ||
		start.StartingInstances[1].PreviousState.Name != types.InstanceStateNameStopped {
		t.Errorf("StartInstances: %v %+v", err, start)
	}
	stop, err := client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids[:1], Force: aws.Bool(true)})
	if err != nil || aws.ToInt32(stop.StoppingInstances[0].CurrentState.Code) != 64 {
		t.Errorf("StopInstances: %v %+v", err, stop)
	}
	if !fake.input("StopInstances").(*cloud.StopInstancesInput).Force {
		t.Error("StopInstances lost Force")
	}
	term, err := client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids[:1]})
	if err != nil || term.TerminatingInstances[0].CurrentState.Name != types.InstanceStateNameShuttingDown {
		t.Errorf("TerminateInstances: %v %+v", err, term)
	}
	if _, err := client.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: ids}); err != nil {
		t.Errorf("RebootInstances: %v", err)
	}
	_, err = client.CreateTags(ctx, &ec2.CreateTagsInput{Resources: ids[:1],
		Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	if err != nil {
		t.Errorf("CreateTags: %v", err)
	}
	_, err = client.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: ids[:1],
		Tags: []types.Tag{{Key: aws.String("k")}}})
	if err != nil || fake.input("DeleteTags").(*cloud.DeleteTagsInput).Tags[0].ValueSet {
		t.Errorf("DeleteTags: %v %+v", err, fake.input("DeleteTags"))
	}

	status, err := client.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{
		IncludeAllInstances: aws.Bool(true)})
	if err != nil || len(status.InstanceStatuses) != 3 ||
		status.InstanceStatuses[0].SystemStatus.Status != types.SummaryStatusOk ||
		status.InstanceStatuses[0].SystemStatus.Details[0].Status != types.StatusTypePassed ||
		status.InstanceStatuses[1].SystemStatus.Details[0].Status != types.StatusTypeFailed ||
		aws.ToString(status.NextToken) != "status-page-2" {
		t.Errorf("DescribeInstanceStatus: %v %+v", err, status)
	}

	tags, err := client.DescribeTags(ctx, &ec2.DescribeTagsInput{})
	if err != nil || len(tags.Tags) != 2 || tags.Tags[0].ResourceType != types.ResourceTypeInstance ||
		aws.ToString(tags.Tags[1].Value) != "" {
		t.Errorf("DescribeTags: %v %+v", err, tags)
	}

	images, err := client.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	if err != nil || len(images.Images) != 2 {
		t.Fatalf("DescribeImages: %v %+v", err, images)
	}
	img := images.Images[0]
	if aws.ToString(img.ImageOwnerAlias) != "amazon" || !aws.ToBool(img.Public) ||
		aws.ToString(img.CreationDate) != "2024-01-02T03:04:05.000Z" ||
		aws.ToInt32(img.BlockDeviceMappings[0].Ebs.VolumeSize) != 8 ||
		img.BlockDeviceMappings[0].Ebs.VolumeType != types.VolumeTypeGp3 ||
		img.State != types.ImageStateAvailable || aws.ToString(img.Tags[0].Value) != "debian" {
		t.Errorf("DescribeImages image %+v", img)
	}

	it, err := client.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{})
	if err != nil || len(it.InstanceTypes) != 4 {
		t.Fatalf("DescribeInstanceTypes: %v %+v", err, it)
	}
	t3 := it.InstanceTypes[0]
	if aws.ToInt64(t3.MemoryInfo.SizeInMiB) != 1024 || aws.ToInt32(t3.VCpuInfo.DefaultVCpus) != 2 ||
		!aws.ToBool(t3.BurstablePerformanceSupported) || !aws.ToBool(t3.FreeTierEligible) ||
		t3.Hypervisor != types.InstanceTypeHypervisorNitro ||
		t3.ProcessorInfo.SupportedArchitectures[0] != types.ArchitectureTypeX8664 ||
		aws.ToString(t3.NetworkInfo.NetworkPerformance) != "Up to 5 Gigabit" {
		t.Errorf("DescribeInstanceTypes t3.micro %+v", t3)
	}

	regions, err := client.DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)})
	if err != nil || aws.ToString(regions.Regions[0].RegionName) != "us-east-1" ||
		aws.ToString(regions.Regions[0].OptInStatus) != "opt-in-not-required" {
		t.Errorf("DescribeRegions: %v %+v", err, regions)
	}
	zones, err := client.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
	if err != nil || len(zones.AvailabilityZones) != 2 ||
		zones.AvailabilityZones[1].State != types.AvailabilityZoneStateImpaired ||
		aws.ToString(zones.AvailabilityZones[1].Messages[1].Message) != "host esxi-3 is unreachable" {
		t.Errorf("DescribeAvailabilityZones: %v %+v", err, zones)
	}
}

// TestSDK_Errors checks that errors reach the SDK as API errors with
// EC2's codes.
func TestSDK_Errors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		err  error
		code string
	}{
		{"NotFound", cloud.InstancesNotFound([]string{"i-0000000000000dead"}), cloud.ErrCodeInvalidInstanceIDNotFound},
		{"DryRun", cloud.ErrDryRun, cloud.ErrCodeDryRunOperation},
		{"Capacity", cloud.InsufficientCapacity(""), cloud.ErrCodeInsufficientCapacity},
		{"Internal", errors.New("disk on fire"), cloud.ErrCodeInternalError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake()
			fake.err = tt.err
			client := newSDKClient(t, fake)
			_, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
			var api smithy.APIError
			if !errors.As(err, &api) {
				t.Fatalf("got %v, want an APIError", err)
			}
			if api.ErrorCode() != tt.code {
				t.Errorf("code %q (%s), want %q", api.ErrorCode(), api.ErrorMessage(), tt.code)
			}
		})
	}

	t.Run("DecodeError", func(t *testing.T) {
		client := newSDKClient(t, newFake())
		_, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
			InstanceIds: []string{"i-1"}, MaxResults: aws.Int32(5)})
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != cloud.ErrCodeInvalidParameterCombination {
			t.Errorf("got %v, want InvalidParameterCombination", err)
		}
	})

	t.Run("WrongSecret", func(t *testing.T) {
		srv := httptest.NewServer(newTestHandler(t, newFake()))
		defer srv.Close()
		client := ec2.New(ec2.Options{
			HTTPClient: loopbackClient,
			Region:     testRegion, BaseEndpoint: aws.String(srv.URL), Retryer: aws.NopRetryer{},
			Credentials: credentials.NewStaticCredentialsProvider(testKey, "wrong", ""),
		})
		_, err := client.DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != cloud.ErrCodeSignatureDoesNotMatch {
			t.Errorf("got %v, want SignatureDoesNotMatch", err)
		}
	})
}

// TestSDK_Waiter runs the SDK's instance-running waiter, which reads
// instanceState/name from DescribeInstances.
func TestSDK_Waiter(t *testing.T) {
	fake := newFake()
	fake.instances = fake.instances[:1]
	client := newSDKClient(t, fake)
	w := ec2.NewInstanceRunningWaiter(client)
	err := w.Wait(context.Background(), &ec2.DescribeInstancesInput{
		InstanceIds: []string{"i-0123456789abc0001"}}, 10*time.Second)
	if err != nil {
		t.Errorf("waiter: %v", err)
	}
}
