package ec2

import (
	"context"
	"net/url"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/minicloud/minicloud/internal/cloud"
)

// TestDecode_Network decodes a full request of each image and network
// action, and RunInstances' network parameters. Every name sent must be
// a parameter of the action in the EC2 model.
func TestDecode_Network(t *testing.T) {
	m := ec2Model(t)
	port := func(n int) *int { return &n }
	yes := true
	tests := []struct {
		action string
		form   url.Values
		decode func(*params) (any, error)
		want   any
	}{
		{"RegisterImage", form("Name", "lab", "Description", "a lab", "Architecture", "arm64",
			"ImageLocation", "[ds] t/t.vmdk", "RootDeviceName", "/dev/sda1",
			"VirtualizationType", "hvm", "BlockDeviceMapping.1.Ebs.SnapshotId", "snap-1",
			"TagSpecification.1.ResourceType", "image", "TagSpecification.1.Tag.1.Key", "k"),
			func(p *params) (any, error) { return decodeRegisterImage(p) },
			&cloud.RegisterImageInput{Name: "lab", Description: "a lab", Architecture: "arm64",
				ImageLocation: "[ds] t/t.vmdk", RootDeviceName: "/dev/sda1", VirtualizationType: "hvm",
				HasSnapshot: true, TagSpecifications: []cloud.TagSpecification{{ResourceType: "image",
					Tags: []cloud.Tag{{Key: "k"}}}}}},
		{"CreateImage", form("InstanceId", "i-1", "Name", "lab", "NoReboot", "true", "DryRun", "true"),
			func(p *params) (any, error) { return decodeCreateImage(p) },
			&cloud.CreateImageInput{InstanceID: "i-1", Name: "lab", NoReboot: true, DryRun: true}},
		{"CopyImage", form("SourceImageId", "ami-1", "SourceRegion", "us-east-1", "Name", "c",
			"ClientToken", "tok", "CopyImageTags", "true"),
			func(p *params) (any, error) { return decodeCopyImage(p) },
			&cloud.CopyImageInput{SourceImageID: "ami-1", SourceRegion: "us-east-1", Name: "c",
				ClientToken: "tok", CopyImageTags: true}},
		{"DeregisterImage", form("ImageId", "ami-1"),
			func(p *params) (any, error) { return decodeDeregisterImage(p) },
			&cloud.DeregisterImageInput{ImageID: "ami-1"}},
		{"DescribeVpcs", form("VpcId.1", "vpc-1", "Filter.1.Name", "is-default", "Filter.1.Value.1", "true",
			"MaxResults", "5", "NextToken", "t"),
			func(p *params) (any, error) { return decodeDescribeVpcs(p) },
			&cloud.DescribeVPCsInput{VPCIDs: []string{"vpc-1"}, MaxResults: 5, NextToken: "t",
				Filters: []cloud.Filter{{Name: "is-default", Values: []string{"true"}}}}},
		{"DescribeSubnets", form("SubnetId.1", "subnet-1", "SubnetId.2", "subnet-2"),
			func(p *params) (any, error) { return decodeDescribeSubnets(p) },
			&cloud.DescribeSubnetsInput{SubnetIDs: []string{"subnet-1", "subnet-2"}}},
		{"DescribeSecurityGroups", form("GroupId.1", "sg-1", "GroupName.1", "web"),
			func(p *params) (any, error) { return decodeDescribeSecurityGroups(p) },
			&cloud.DescribeSecurityGroupsInput{GroupIDs: []string{"sg-1"}, GroupNames: []string{"web"}}},
		{"DescribeSecurityGroupRules", form("SecurityGroupRuleId.1", "sgr-1"),
			func(p *params) (any, error) { return decodeDescribeSecurityGroupRules(p) },
			&cloud.DescribeSecurityGroupRulesInput{RuleIDs: []string{"sgr-1"}}},
		{"CreateSecurityGroup", form("GroupName", "web", "GroupDescription", "d", "VpcId", "vpc-1"),
			func(p *params) (any, error) { return decodeCreateSecurityGroup(p) },
			&cloud.CreateSecurityGroupInput{GroupName: "web", Description: "d", VPCID: "vpc-1"}},
		{"DeleteSecurityGroup", form("GroupName", "web"),
			func(p *params) (any, error) { return decodeDeleteSecurityGroup(p) },
			&cloud.DeleteSecurityGroupInput{GroupName: "web"}},
		{"AuthorizeSecurityGroupIngress", form("GroupId", "sg-1",
			"IpPermissions.1.IpProtocol", "tcp", "IpPermissions.1.FromPort", "22",
			"IpPermissions.1.ToPort", "22", "IpPermissions.1.IpRanges.1.CidrIp", "10.0.0.0/8",
			"IpPermissions.1.IpRanges.1.Description", "lan",
			"IpPermissions.1.Ipv6Ranges.1.CidrIpv6", "::/0",
			"IpPermissions.1.Groups.1.GroupId", "sg-2", "IpPermissions.1.Groups.1.UserId", "1",
			"IpPermissions.1.PrefixListIds.1.PrefixListId", "pl-1"),
			func(p *params) (any, error) { return decodeGroupRules(false)(p) },
			&cloud.SecurityGroupRulesInput{GroupID: "sg-1", Permissions: []cloud.IPPermission{{
				Protocol: "tcp", FromPort: port(22), ToPort: port(22),
				IPRanges:      []cloud.IPRange{{CIDR: "10.0.0.0/8", Description: "lan"}},
				IPv6Ranges:    []cloud.IPRange{{CIDR: "::/0"}},
				Groups:        []cloud.GroupPair{{GroupID: "sg-2", UserID: "1"}},
				PrefixListIDs: []string{"pl-1"},
			}}}},
		{"AuthorizeSecurityGroupIngress", form("GroupName", "web", "IpProtocol", "udp",
			"FromPort", "53", "ToPort", "53", "CidrIp", "0.0.0.0/0"),
			func(p *params) (any, error) { return decodeGroupRules(false)(p) },
			&cloud.SecurityGroupRulesInput{GroupName: "web", Flat: &cloud.IPPermission{
				Protocol: "udp", FromPort: port(53), ToPort: port(53),
				IPRanges: []cloud.IPRange{{CIDR: "0.0.0.0/0"}}}}},
		{"AuthorizeSecurityGroupIngress", form("GroupName", "web", "SourceSecurityGroupName", "db"),
			func(p *params) (any, error) { return decodeGroupRules(false)(p) },
			&cloud.SecurityGroupRulesInput{GroupName: "web", Flat: &cloud.IPPermission{
				Protocol: "-1", Groups: []cloud.GroupPair{{GroupName: "db"}}}}},
		{"RevokeSecurityGroupEgress", form("GroupId", "sg-1", "SecurityGroupRuleId.1", "sgr-1"),
			func(p *params) (any, error) { return decodeGroupRules(true)(p) },
			&cloud.SecurityGroupRulesInput{GroupID: "sg-1", Egress: true, RuleIDs: []string{"sgr-1"}}},
		{"RunInstances", form("SubnetId", "subnet-1", "SecurityGroupId.1", "sg-1",
			"SecurityGroup.1", "web", "PrivateIpAddress", "172.31.0.9",
			"NetworkInterface.1.DeviceIndex", "0", "NetworkInterface.1.SubnetId", "subnet-2",
			"NetworkInterface.1.SecurityGroupId.1", "sg-2",
			"NetworkInterface.1.AssociatePublicIpAddress", "true"),
			func(p *params) (any, error) { return decodeRunNetwork(p), p.err },
			cloud.RunNetwork{SubnetID: "subnet-1", SecurityGroupIDs: []string{"sg-1"},
				SecurityGroupNames: []string{"web"}, PrivateIPAddress: "172.31.0.9",
				Interfaces: []cloud.RunNetworkInterface{{SubnetID: "subnet-2",
					SecurityGroupIDs: []string{"sg-2"}, AssociatePublicIP: &yes}}}},
		{"DescribeImages", form("ExecutableBy.1", "self"),
			func(p *params) (any, error) { return decodeDescribeImages(p) },
			&cloud.DescribeImagesInput{ExecutableUsers: []string{"self"}}},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			for name := range tt.form {
				if !m.hasParam(tt.action, name) {
					t.Errorf("%s is not a parameter of %s in the EC2 model", name, tt.action)
				}
			}
			got, err := tt.decode(&params{values: tt.form})
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// networkInstance returns a running instance in a subnet with two groups.
func networkInstance() *cloud.Instance {
	i := runningInstance(3)
	i.VPCID, i.SubnetID = "vpc-0123456789abcdef0", "subnet-0123456789abcdef0"
	i.SecurityGroups = []cloud.GroupIdentifier{{ID: "sg-0123456789abcdef0", Name: "default"},
		{ID: "sg-0123456789abcdef1", Name: "web"}}
	i.NetworkInterfaceID, i.MACAddress = "eni-0123456789abcdef0", "00:50:56:01:23:45"
	return i
}

// TestEncode_InstanceNetwork checks an instance's network elements
// against the model and their values.
func TestEncode_InstanceNetwork(t *testing.T) {
	const first = "reservationSet/item/instancesSet/item/"
	fake := newFake()
	fake.instances = []*cloud.Instance{networkInstance()}
	h := newTestHandler(t, fake)
	body := wantOK(t, call(t, h, "DescribeInstances", nil))
	for _, err := range ec2Model(t).validateResponse("DescribeInstances", parseXML(t, body)) {
		t.Error(err)
	}
	const eni = first + "networkInterfaceSet/item/"
	tests := []struct{ path, want string }{
		{first + "vpcId", "vpc-0123456789abcdef0"},
		{first + "subnetId", "subnet-0123456789abcdef0"},
		{first + "groupSet/item/groupId", "sg-0123456789abcdef0"},
		{first + "groupSet/item/groupName", "default"},
		{first + "sourceDestCheck", "true"},
		{eni + "networkInterfaceId", "eni-0123456789abcdef0"},
		{eni + "macAddress", "00:50:56:01:23:45"},
		{eni + "privateIpAddress", "172.31.1.4"},
		{eni + "privateDnsName", "ip-172-31-1-4.ec2.internal"},
		{eni + "status", "in-use"},
		{eni + "attachment/attachmentId", "eni-attach-0123456789abcdef0"},
		{eni + "attachment/deviceIndex", "0"},
		{eni + "privateIpAddressesSet/item/primary", "true"},
	}
	for _, tt := range tests {
		if got, ok := element(t, body, tt.path); !ok || got != tt.want {
			t.Errorf("%s = %q (present %v), want %q", tt.path, got, ok, tt.want)
		}
	}
}

// TestSDK_Network reads the network answers with the Go SDK's strict
// deserializers.
func TestSDK_Network(t *testing.T) {
	ctx := context.Background()
	fake := newFake()
	fake.instances = []*cloud.Instance{networkInstance()}
	client := newSDKClient(t, fake)

	insts, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	i := insts.Reservations[0].Instances[0]
	ni := i.NetworkInterfaces[0]
	if aws.ToString(i.SubnetId) != "subnet-0123456789abcdef0" || len(i.SecurityGroups) != 2 ||
		aws.ToString(ni.MacAddress) != "00:50:56:01:23:45" ||
		aws.ToInt32(ni.Attachment.DeviceIndex) != 0 || ni.Status != types.NetworkInterfaceStatusInUse {
		t.Errorf("instance network = subnet %v, groups %v, eni %+v", i.SubnetId, i.SecurityGroups, ni)
	}

	groups, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	g := groups.SecurityGroups[0]
	if len(g.IpPermissions) != 3 || len(g.IpPermissionsEgress) != 1 {
		t.Fatalf("permissions = %+v / %+v", g.IpPermissions, g.IpPermissionsEgress)
	}
	ssh, all, icmp := g.IpPermissions[0], g.IpPermissions[1], g.IpPermissions[2]
	if aws.ToInt32(ssh.FromPort) != 22 || len(ssh.IpRanges) != 1 || len(ssh.Ipv6Ranges) != 1 ||
		aws.ToString(ssh.IpRanges[0].Description) != "ssh" {
		t.Errorf("ssh permission = %+v", ssh)
	}
	if aws.ToString(all.IpProtocol) != "-1" || all.FromPort != nil ||
		aws.ToString(all.UserIdGroupPairs[0].GroupName) != "web" {
		t.Errorf("all-traffic permission = %+v", all)
	}
	if aws.ToInt32(icmp.FromPort) != 8 || aws.ToInt32(icmp.ToPort) != -1 {
		t.Errorf("icmp permission = %+v", icmp)
	}

	vpcs, err := client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil || !aws.ToBool(vpcs.Vpcs[0].IsDefault) ||
		aws.ToString(vpcs.Vpcs[0].CidrBlock) != "172.31.0.0/16" {
		t.Errorf("vpcs = %+v, %v", vpcs, err)
	}
	subnets, err := client.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil || aws.ToInt32(subnets.Subnets[0].AvailableIpAddressCount) != 4090 ||
		aws.ToString(subnets.Subnets[0].SubnetArn) !=
			"arn:aws:ec2:us-east-1:"+testAccount+":subnet/subnet-0123456789abcdef0" {
		t.Errorf("subnets = %+v, %v", subnets, err)
	}
	rules, err := client.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String("sg-0123456789abcdef0"), IpProtocol: aws.String("tcp"),
		FromPort: aws.Int32(22), ToPort: aws.Int32(22), CidrIp: aws.String("0.0.0.0/0"),
	})
	if err != nil || !aws.ToBool(rules.Return) || len(rules.SecurityGroupRules) != 2 ||
		aws.ToString(rules.SecurityGroupRules[1].ReferencedGroupInfo.GroupId) != "sg-0123456789abcdef0" {
		t.Errorf("authorize = %+v, %v", rules, err)
	}
	revoked, err := client.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{
		GroupId: aws.String("sg-0123456789abcdef0"), SecurityGroupRuleIds: []string{"sgr-1"},
	})
	if err != nil || len(revoked.RevokedSecurityGroupRules) != 3 || len(revoked.UnknownIpPermissions) != 2 {
		t.Errorf("revoke = %+v, %v", revoked, err)
	}
}

// TestEncode_ImageState checks the elements of a failed image made from
// an instance against the model.
func TestEncode_ImageState(t *testing.T) {
	img := testImage()
	img.State = cloud.ImageFailed
	img.StateReason = &cloud.StateReason{Code: "Server.InternalError", Message: "Server.InternalError: x"}
	img.SourceInstanceID, img.VolumeSizeGiB = "i-0123456789abc0001", 0
	out := &cloud.DescribeImagesOutput{Images: []*cloud.Image{img}}
	doc := encodeDoc(t, "DescribeImages", func(e *encoder) { encodeDescribeImages(e, out) })
	for _, err := range ec2Model(t).validateResponse("DescribeImages", parseXML(t, doc)) {
		t.Error(err)
	}
	for path, want := range map[string]string{
		"imagesSet/item/stateReason/code":                                "Server.InternalError",
		"imagesSet/item/sourceInstanceId":                                "i-0123456789abc0001",
		"imagesSet/item/imageState":                                      "failed",
		"imagesSet/item/imageOwnerAlias":                                 "amazon",
		"imagesSet/item/blockDeviceMapping/item/ebs/deleteOnTermination": "true",
	} {
		if got, ok := element(t, doc, path); !ok || got != want {
			t.Errorf("%s = %q (present %v), want %q", path, got, ok, want)
		}
	}
	if _, ok := element(t, doc, "imagesSet/item/blockDeviceMapping/item/ebs/volumeSize"); ok {
		t.Error("an image of unknown size reports a volumeSize")
	}
}

// encodeDoc writes one success document for action with encode.
func encodeDoc(t *testing.T, action string, encode func(*encoder)) []byte {
	t.Helper()
	var e encoder
	e.dnsSuffix, e.region = "ec2.internal", testRegion
	e.raw(xmlHeader)
	e.raw("<" + action + `Response xmlns="` + xmlNamespace + `">`)
	e.text("requestId", "test")
	encode(&e)
	e.raw("</" + action + "Response>")
	return e.buf
}
