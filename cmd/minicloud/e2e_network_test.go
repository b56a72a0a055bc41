package main

import (
	"context"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestE2E_SDK_Network describes the default VPC, manages a security
// group's rules, launches into a subnet and a group, and checks what the
// instance reports, through the Go SDK.
func TestE2E_SDK_Network(t *testing.T) {
	ts := openServer(t, serverOptions{})
	ctx := context.Background()
	c := ts.client

	// The default VPC, one default subnet per zone, the default group.
	vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil || len(vpcs.Vpcs) != 1 {
		t.Fatalf("vpcs = %+v, %v", vpcs, err)
	}
	vpc := vpcs.Vpcs[0]
	if !aws.ToBool(vpc.IsDefault) || aws.ToString(vpc.CidrBlock) != "172.31.0.0/16" ||
		vpc.State != types.VpcStateAvailable {
		t.Errorf("default vpc = %+v", vpc)
	}
	subnets, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{aws.ToString(vpc.VpcId)}},
		{Name: aws.String("default-for-az"), Values: []string{"true"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	byZone := map[string]types.Subnet{}
	for _, s := range subnets.Subnets {
		byZone[aws.ToString(s.AvailabilityZone)] = s
	}
	if aws.ToString(byZone["us-east-1a"].CidrBlock) != "172.31.0.0/20" ||
		aws.ToString(byZone["us-east-1b"].CidrBlock) != "172.31.16.0/20" || len(byZone) != 2 {
		t.Fatalf("default subnets = %+v", subnets.Subnets)
	}
	subnetB := byZone["us-east-1b"]
	def, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"default"}})
	if err != nil || len(def.SecurityGroups) != 1 || len(def.SecurityGroups[0].IpPermissionsEgress) != 1 {
		t.Fatalf("default group = %+v, %v", def, err)
	}

	// A group for web servers, and its rules.
	web, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("web"), Description: aws.String("web servers"),
		VpcId: vpc.VpcId, TagSpecifications: []types.TagSpecification{{
			ResourceType: types.ResourceTypeSecurityGroup,
			Tags:         []types.Tag{{Key: aws.String("tier"), Value: aws.String("front")}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	webID := aws.ToString(web.GroupId)
	ssh := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
		IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8"), Description: aws.String("lan")}}}
	https := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
		IpRanges:   []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}},
		Ipv6Ranges: []types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}}
	auth, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(webID), IpPermissions: []types.IpPermission{ssh, https}})
	if err != nil || len(auth.SecurityGroupRules) != 3 {
		t.Fatalf("authorize = %+v, %v", auth, err)
	}
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(webID), IpPermissions: []types.IpPermission{ssh}})
	wantAPIError(t, err, "InvalidPermission.Duplicate", 400)
	if _, err := c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{
		GroupId: aws.String(webID), IpPermissions: []types.IpPermission{ssh}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{
		GroupId: aws.String(webID), IpPermissions: []types.IpPermission{ssh}})
	wantAPIError(t, err, "InvalidPermission.NotFound", 400)
	groups, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{
		{Name: aws.String("tag:tier"), Values: []string{"front"}}}})
	if err != nil || len(groups.SecurityGroups) != 1 {
		t.Fatalf("groups tagged tier=front = %+v, %v", groups, err)
	}
	if perms := groups.SecurityGroups[0].IpPermissions; len(perms) != 1 || aws.ToInt32(perms[0].FromPort) != 443 ||
		len(perms[0].Ipv6Ranges) != 1 {
		t.Errorf("web's ingress after the revoke = %+v", perms)
	}
	rules, err := c.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{
		Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{webID}}}})
	if err != nil || len(rules.SecurityGroupRules) != 3 {
		t.Errorf("web's rules = %+v, %v", rules, err)
	}

	// An instance in us-east-1b's subnet and the web group.
	ids := ts.run(1, func(in *ec2.RunInstancesInput) {
		in.SubnetId, in.SecurityGroupIds = subnetB.SubnetId, []string{webID}
	})
	ts.waitRunning(ids...)
	inst := waitAddress(t, ts, ids[0])
	checkInstanceNetwork(t, inst, subnetB, webID)

	// Groups in use, and the default group, stay.
	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(webID)})
	wantAPIError(t, err, "DependencyViolation", 400)
	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupName: aws.String("default")})
	wantAPIError(t, err, "CannotDelete", 400)
	if _, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids}); err != nil {
		t.Fatal(err)
	}
	waitState(t, ts, types.InstanceStateNameTerminated, ids[0])
	if _, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(webID)}); err != nil {
		t.Fatal(err)
	}

	t.Run("Errors", func(t *testing.T) {
		_, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
			GroupName: aws.String("default"), Description: aws.String("x")})
		wantAPIError(t, err, "InvalidGroup.Reserved", 400)
		_, err = c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{webID}})
		wantAPIError(t, err, "InvalidGroup.NotFound", 400)
		_, err = c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-nothex"}})
		wantAPIError(t, err, "InvalidVpcID.Malformed", 400)
		_, err = c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{"subnet-0123456789abcdef0"}})
		wantAPIError(t, err, "InvalidSubnetID.NotFound", 400)
		_, err = c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ts.imageID("debian-12")),
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: subnetB.SubnetId,
			Placement: &types.Placement{AvailabilityZone: aws.String("us-east-1a")}})
		wantAPIError(t, err, "InvalidParameterValue", 400)
		_, err = c.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{
			GroupId: def.SecurityGroups[0].GroupId, IpPermissions: []types.IpPermission{{
				IpProtocol: aws.String("tcp"), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}})
		wantAPIError(t, err, "InvalidParameterValue", 400)
	})

	t.Run("Tags", func(t *testing.T) {
		res := []string{aws.ToString(vpc.VpcId), aws.ToString(subnetB.SubnetId),
			aws.ToString(def.SecurityGroups[0].GroupId)}
		if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: res,
			Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("lab")}}}); err != nil {
			t.Fatal(err)
		}
		tags, err := c.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{
			{Name: aws.String("resource-type"), Values: []string{"vpc", "subnet", "security-group"}}}})
		if err != nil || len(tags.Tags) != 3 {
			t.Errorf("tags on the network = %+v, %v", tags, err)
		}
		_, err = c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{"sg-0123456789abcdef0"}})
		wantAPIError(t, err, "InvalidGroup.NotFound", 400)
	})
}

// waitAddress waits until the instance's guest reports its address, and
// returns the instance as described then.
func waitAddress(t *testing.T, ts *testServer, id string) types.Instance {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		inst := ts.describe(id)[0]
		if aws.ToString(inst.PrivateIpAddress) != "" {
			return inst
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has no address yet", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkInstanceNetwork checks that inst is in subnet and group as EC2
// reports it: the instance's fields and its one network interface.
func checkInstanceNetwork(t *testing.T, inst types.Instance, subnet types.Subnet, group string) {
	t.Helper()
	ip := aws.ToString(inst.PrivateIpAddress)
	addr, err := netip.ParseAddr(ip)
	if err != nil || !netip.MustParsePrefix(aws.ToString(subnet.CidrBlock)).Contains(addr) {
		t.Errorf("address %q is outside subnet %s", ip, aws.ToString(subnet.CidrBlock))
	}
	if aws.ToString(inst.SubnetId) != aws.ToString(subnet.SubnetId) ||
		aws.ToString(inst.VpcId) != aws.ToString(subnet.VpcId) ||
		len(inst.SecurityGroups) != 1 || aws.ToString(inst.SecurityGroups[0].GroupId) != group ||
		aws.ToString(inst.SecurityGroups[0].GroupName) != "web" {
		t.Errorf("instance network: vpc %v subnet %v groups %+v", inst.VpcId, inst.SubnetId, inst.SecurityGroups)
	}
	wantDNS := "ip-" + strings.ReplaceAll(ip, ".", "-") + ".ec2.internal"
	if aws.ToString(inst.PrivateDnsName) != wantDNS {
		t.Errorf("private DNS name %q, want %q", aws.ToString(inst.PrivateDnsName), wantDNS)
	}
	if len(inst.NetworkInterfaces) != 1 {
		t.Fatalf("%d network interfaces", len(inst.NetworkInterfaces))
	}
	ni := inst.NetworkInterfaces[0]
	if !strings.HasPrefix(aws.ToString(ni.NetworkInterfaceId), "eni-") ||
		!strings.HasPrefix(aws.ToString(ni.MacAddress), "00:50:56:") ||
		aws.ToString(ni.PrivateIpAddress) != ip || aws.ToString(ni.SubnetId) != aws.ToString(subnet.SubnetId) ||
		ni.Attachment == nil || aws.ToInt32(ni.Attachment.DeviceIndex) != 0 ||
		len(ni.Groups) != 1 || len(ni.PrivateIpAddresses) != 1 || !aws.ToBool(ni.PrivateIpAddresses[0].Primary) {
		t.Errorf("network interface = %+v", ni)
	}
}

// TestE2E_NetworkMistakes sends the image and network actions requests a
// client gets wrong: every one is answered with a client error and EC2's
// code, never a server error.
func TestE2E_NetworkMistakes(t *testing.T) {
	ts := openServer(t, serverOptions{})
	tests := []struct {
		action string
		form   url.Values
		code   string
	}{
		{"CreateSecurityGroup", url.Values{"GroupName": {"x"}}, "MissingParameter"},
		{"CreateSecurityGroup", url.Values{"GroupName": {strings.Repeat("x", 256)}, "GroupDescription": {"d"}},
			"InvalidParameterValue"},
		{"DeleteSecurityGroup", url.Values{}, "MissingParameter"},
		{"DeleteSecurityGroup", url.Values{"GroupId": {"sg-"}}, "InvalidGroupId.Malformed"},
		{"AuthorizeSecurityGroupIngress", url.Values{"GroupName": {"default"},
			"IpPermissions.1.IpProtocol": {"tcp"}, "IpPermissions.1.FromPort": {"twenty"},
			"IpPermissions.1.ToPort": {"22"}}, "InvalidParameterValue"},
		{"AuthorizeSecurityGroupIngress", url.Values{"GroupName": {"default"},
			"IpPermissions.1.IpProtocol": {"-1"}, "IpPermissions.1.Groups.1.Description": {"no group"}},
			"InvalidParameterValue"},
		{"AuthorizeSecurityGroupIngress", url.Values{"GroupName": {"default"}, "CidrIp": {"0.0.0.0/0"},
			"IpPermissions.1.IpProtocol": {"-1"}}, "InvalidParameterCombination"},
		{"AuthorizeSecurityGroupIngress", url.Values{"GroupName": {"default"}, "IpProtocol": {"tcp"},
			"FromPort": {"1"}, "ToPort": {"70000"}, "CidrIp": {"0.0.0.0/0"}}, "InvalidParameterValue"},
		{"AuthorizeSecurityGroupIngress", url.Values{"GroupName": {"default"}, "IpProtocol": {"udp"},
			"FromPort": {"1"}, "ToPort": {"1"}, "CidrIp": {"::/0"}}, "InvalidParameterValue"},
		{"AuthorizeSecurityGroupEgress", url.Values{"GroupName": {"default"},
			"IpPermissions.1.IpProtocol": {"-1"}}, "MissingParameter"},
		{"RevokeSecurityGroupEgress", url.Values{"GroupId": {"sg-0123456789abcdef0"},
			"SecurityGroupRuleId.1": {"sgr-x"}}, "InvalidSecurityGroupRuleId.Malformed"},
		{"DescribeSecurityGroups", url.Values{"Filter.1.Name": {"ip-permission.colour"},
			"Filter.1.Value.1": {"x"}}, "InvalidParameterValue"},
		{"DescribeSecurityGroups", url.Values{"GroupId.1": {"sg-0123456789abcdef0"}, "MaxResults": {"5"}},
			"InvalidParameterCombination"},
		{"DescribeSubnets", url.Values{"MaxResults": {"4"}}, "InvalidParameterValue"},
		{"DescribeVpcs", url.Values{"NextToken": {"not-a-token"}}, "InvalidNextToken"},
		{"RunInstances", url.Values{"ImageId": {ts.imageID("debian-12")}, "MinCount": {"1"},
			"MaxCount": {"1"}, "SubnetId": {"subnet-nothex"}}, "InvalidSubnetID.Malformed"},
		{"RunInstances", url.Values{"ImageId": {ts.imageID("debian-12")}, "MinCount": {"1"},
			"MaxCount": {"1"}, "NetworkInterface.1.DeviceIndex": {"1"}}, "InvalidParameterValue"},
		{"RunInstances", url.Values{"ImageId": {ts.imageID("debian-12")}, "MinCount": {"1"},
			"MaxCount": {"1"}, "SecurityGroupId.1": {"sg-0123456789abcdef0"},
			"NetworkInterface.1.SecurityGroupId.1": {"sg-0123456789abcdef0"}}, "InvalidParameterCombination"},
		{"RegisterImage", url.Values{"Name": {"lab"}, "ImageLocation": {"[datastore1] ../../etc/shadow.vmdk"}},
			"InvalidParameterValue"},
		{"RegisterImage", url.Values{"Name": {"lab"}, "ImageLocation": {"[datastore1] t/t.vmdk"},
			"TagSpecification.1.ResourceType": {"instance"}}, "InvalidParameterValue"},
		{"CreateImage", url.Values{"InstanceId": {"i-0123456789abcdef0"}, "Name": {"lab"},
			"NoReboot": {"perhaps"}}, "InvalidParameterValue"},
		{"CopyImage", url.Values{"SourceImageId": {"ami-x"}, "SourceRegion": {"us-east-1"}, "Name": {"c"}},
			"InvalidAMIName.Malformed"},
		{"DeregisterImage", url.Values{"ImageId": {"ami-0123456789abcdef0"}}, "InvalidAMIID.NotFound"},
		{"CreateTags", url.Values{"ResourceId.1": {"vpc-0123456789abcdef0"}, "Tag.1.Key": {"k"}},
			"InvalidVpcID.NotFound"},
		{"DescribeTags", url.Values{"Filter.1.Name": {"resource-kind"}, "Filter.1.Value.1": {"vpc"}},
			"InvalidParameterValue"},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			status, code := ts.post(t, tt.action, tt.form)
			if status != 400 || code != tt.code {
				t.Errorf("%v: %d %s, want 400 %s", tt.form, status, code, tt.code)
			}
		})
	}
}
