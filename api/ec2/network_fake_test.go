package ec2

import (
	"context"
	"net/url"

	"github.com/minicloud/minicloud/internal/cloud"
)

// The requests TestEncode_MatchesModel sends for the image and network
// actions.
func init() {
	for op, form := range map[string]url.Values{
		"RegisterImage": {"Name": {"lab"},
			"ImageLocation": {"[datastore1] templates/lab/lab.vmdk"}},
		"CreateImage": {"InstanceId": {"i-0123456789abc0001"}, "Name": {"lab"}},
		"CopyImage": {"SourceImageId": {"ami-0abcdef1234567890"},
			"SourceRegion": {"us-east-1"}, "Name": {"copy"}},
		"DeregisterImage":            {"ImageId": {"ami-0abcdef1234567890"}},
		"DescribeVpcs":               {},
		"DescribeSubnets":            {},
		"DescribeSecurityGroups":     {},
		"DescribeSecurityGroupRules": {},
		"CreateSecurityGroup":        {"GroupName": {"web"}, "GroupDescription": {"web servers"}},
		"DeleteSecurityGroup":        {"GroupId": {"sg-0123456789abcdef0"}},
		"AuthorizeSecurityGroupIngress": {"GroupId": {"sg-0123456789abcdef0"},
			"IpPermissions.1.IpProtocol": {"tcp"}, "IpPermissions.1.FromPort": {"22"},
			"IpPermissions.1.ToPort": {"22"}, "IpPermissions.1.IpRanges.1.CidrIp": {"0.0.0.0/0"}},
		"AuthorizeSecurityGroupEgress": {"GroupId": {"sg-0123456789abcdef0"},
			"IpPermissions.1.IpProtocol": {"-1"}, "IpPermissions.1.IpRanges.1.CidrIp": {"10.0.0.0/8"}},
		"RevokeSecurityGroupIngress": {"GroupId": {"sg-0123456789abcdef0"},
			"SecurityGroupRuleId.1": {"sgr-0123456789abcdef0"}},
		"RevokeSecurityGroupEgress": {"GroupId": {"sg-0123456789abcdef0"},
			"SecurityGroupRuleId.1": {"sgr-0123456789abcdef0"}},
	} {
		actionForms[op] = form
	}
}

// testGroup returns a security group with rules of every kind.
func testGroup() *cloud.SecurityGroup {
	return &cloud.SecurityGroup{
		ID: "sg-0123456789abcdef0", Name: "web", Description: "web servers",
		OwnerID: testAccount, VPCID: "vpc-0123456789abcdef0", Tags: cloud.Tags{"tier": "web"},
		Rules: []cloud.SecurityGroupRule{
			{ID: "sgr-00000000000000001", Protocol: "tcp", FromPort: 22, ToPort: 22,
				CIDRIPv4: "0.0.0.0/0", Description: "ssh"},
			{ID: "sgr-00000000000000002", Protocol: "tcp", FromPort: 22, ToPort: 22,
				CIDRIPv6: "::/0"},
			{ID: "sgr-00000000000000003", Protocol: "-1", FromPort: -1, ToPort: -1,
				GroupID: "sg-0123456789abcdef0", GroupOwnerID: testAccount},
			{ID: "sgr-00000000000000004", Protocol: "icmp", FromPort: 8, ToPort: -1,
				CIDRIPv4: "10.0.0.0/8"},
			{ID: "sgr-00000000000000005", Egress: true, Protocol: "-1", FromPort: -1, ToPort: -1,
				CIDRIPv4: "0.0.0.0/0"},
		},
	}
}

func (f *fakeService) RegisterImage(ctx context.Context, in *cloud.RegisterImageInput) (string, error) {
	return "ami-0000000000000000c", f.record(ctx, "RegisterImage", in)
}

func (f *fakeService) CreateImage(ctx context.Context, in *cloud.CreateImageInput) (string, error) {
	return "ami-0000000000000000d", f.record(ctx, "CreateImage", in)
}

func (f *fakeService) CopyImage(ctx context.Context, in *cloud.CopyImageInput) (string, error) {
	return "ami-0000000000000000e", f.record(ctx, "CopyImage", in)
}

func (f *fakeService) DeregisterImage(ctx context.Context, in *cloud.DeregisterImageInput) error {
	return f.record(ctx, "DeregisterImage", in)
}

func (f *fakeService) DescribeVpcs(
	ctx context.Context, in *cloud.DescribeVPCsInput,
) (*cloud.DescribeVPCsOutput, error) {
	if err := f.record(ctx, "DescribeVpcs", in); err != nil {
		return nil, err
	}
	return &cloud.DescribeVPCsOutput{VPCs: []*cloud.VPC{{
		ID: "vpc-0123456789abcdef0", OwnerID: testAccount, CIDRBlock: "172.31.0.0/16",
		CIDRAssociationID: "vpc-cidr-assoc-0123456789abcdef0", IsDefault: true,
		Tags: cloud.Tags{"Name": "default"},
	}}, NextToken: "vpcs-page-2"}, nil
}

func (f *fakeService) DescribeSubnets(
	ctx context.Context, in *cloud.DescribeSubnetsInput,
) (*cloud.DescribeSubnetsOutput, error) {
	if err := f.record(ctx, "DescribeSubnets", in); err != nil {
		return nil, err
	}
	return &cloud.DescribeSubnetsOutput{Subnets: []*cloud.Subnet{{
		ID: "subnet-0123456789abcdef0", VPCID: "vpc-0123456789abcdef0", OwnerID: testAccount,
		AvailabilityZone: "us-east-1a", AvailabilityZoneID: "use1-az1", CIDRBlock: "172.31.0.0/20",
		DefaultForAZ: true, AvailableIPs: 4090, Tags: cloud.Tags{"Name": "a"},
	}}, NextToken: "subnets-page-2"}, nil
}

func (f *fakeService) DescribeSecurityGroups(
	ctx context.Context, in *cloud.DescribeSecurityGroupsInput,
) (*cloud.DescribeSecurityGroupsOutput, error) {
	if err := f.record(ctx, "DescribeSecurityGroups", in); err != nil {
		return nil, err
	}
	g := testGroup()
	return &cloud.DescribeSecurityGroupsOutput{Groups: []*cloud.SecurityGroup{g},
		GroupNames: map[string]string{g.ID: g.Name}, NextToken: "groups-page-2"}, nil
}

func (f *fakeService) DescribeSecurityGroupRules(
	ctx context.Context, in *cloud.DescribeSecurityGroupRulesInput,
) (*cloud.DescribeSecurityGroupRulesOutput, error) {
	if err := f.record(ctx, "DescribeSecurityGroupRules", in); err != nil {
		return nil, err
	}
	g := testGroup()
	out := &cloud.DescribeSecurityGroupRulesOutput{NextToken: "rules-page-2"}
	for _, r := range g.Rules {
		out.Rules = append(out.Rules, cloud.GroupRule{GroupID: g.ID, GroupOwnerID: g.OwnerID, Rule: r})
	}
	return out, nil
}

func (f *fakeService) CreateSecurityGroup(
	ctx context.Context, in *cloud.CreateSecurityGroupInput,
) (*cloud.SecurityGroup, error) {
	if err := f.record(ctx, "CreateSecurityGroup", in); err != nil {
		return nil, err
	}
	return testGroup(), nil
}

func (f *fakeService) DeleteSecurityGroup(ctx context.Context, in *cloud.DeleteSecurityGroupInput) (string, error) {
	return "sg-0123456789abcdef0", f.record(ctx, "DeleteSecurityGroup", in)
}

func (f *fakeService) AuthorizeSecurityGroupRules(
	ctx context.Context, in *cloud.SecurityGroupRulesInput,
) ([]cloud.GroupRule, error) {
	if err := f.record(ctx, "AuthorizeSecurityGroupRules", in); err != nil {
		return nil, err
	}
	g := testGroup()
	return []cloud.GroupRule{{GroupID: g.ID, GroupOwnerID: g.OwnerID, Rule: g.Rules[0]},
		{GroupID: g.ID, GroupOwnerID: g.OwnerID, Rule: g.Rules[2]}}, nil
}

func (f *fakeService) RevokeSecurityGroupRules(
	ctx context.Context, in *cloud.SecurityGroupRulesInput,
) (*cloud.RevokeSecurityGroupRulesOutput, error) {
	if err := f.record(ctx, "RevokeSecurityGroupRules", in); err != nil {
		return nil, err
	}
	g := testGroup()
	return &cloud.RevokeSecurityGroupRulesOutput{
		Revoked: g.Rules[:3],
		Unknown: g.Permissions(false, nil)[1:],
	}, nil
}
