package compute_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/compute"
)

// asAccount returns a context whose caller is in account.
func asAccount(account string) context.Context {
	return cloud.WithCaller(context.Background(), cloud.Caller{AccountID: account})
}

// defaultNetwork describes the caller's VPCs, subnets and groups.
func (e *env) defaultNetwork(ctx context.Context) ([]*cloud.VPC, []*cloud.Subnet, []*cloud.SecurityGroup) {
	e.t.Helper()
	vpcs, err := e.svc.DescribeVpcs(ctx, &cloud.DescribeVPCsInput{})
	if err != nil {
		e.t.Fatal(err)
	}
	subnets, err := e.svc.DescribeSubnets(ctx, &cloud.DescribeSubnetsInput{})
	if err != nil {
		e.t.Fatal(err)
	}
	groups, err := e.svc.DescribeSecurityGroups(ctx, &cloud.DescribeSecurityGroupsInput{})
	if err != nil {
		e.t.Fatal(err)
	}
	return vpcs.VPCs, subnets.Subnets, groups.Groups
}

func TestService_DefaultNetwork(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()

	vpcs, subnets, groups := e.defaultNetwork(ctx)
	if len(vpcs) != 1 || !vpcs[0].IsDefault || vpcs[0].CIDRBlock != "172.31.0.0/16" {
		t.Fatalf("vpcs = %+v", vpcs)
	}
	want := map[string]string{"us-east-1a": "172.31.0.0/20", "us-east-1b": "172.31.16.0/20"}
	if len(subnets) != 2 {
		t.Fatalf("%d subnets, want one per zone", len(subnets))
	}
	for _, s := range subnets {
		if s.CIDRBlock != want[s.AvailabilityZone] || !s.DefaultForAZ || s.VPCID != vpcs[0].ID {
			t.Errorf("subnet %+v, want %s in %s", s, want[s.AvailabilityZone], s.AvailabilityZone)
		}
		if s.AvailableIPs != 4091 || s.AvailabilityZoneID == "" {
			t.Errorf("subnet %s: %d addresses, zone id %q", s.ID, s.AvailableIPs, s.AvailabilityZoneID)
		}
	}
	if len(groups) != 1 || groups[0].Name != "default" || groups[0].VPCID != vpcs[0].ID {
		t.Fatalf("groups = %+v", groups)
	}
	in := groups[0].Permissions(false, nil)
	out := groups[0].Permissions(true, nil)
	if len(in) != 1 || in[0].Groups[0].GroupID != groups[0].ID || len(out) != 1 ||
		out[0].IPRanges[0].CIDR != "0.0.0.0/0" || out[0].Protocol != "-1" {
		t.Errorf("default group rules: in %+v, out %+v", in, out)
	}

	t.Run("Filters", func(t *testing.T) {
		got, err := e.svc.DescribeSubnets(ctx, &cloud.DescribeSubnetsInput{Filters: []cloud.Filter{
			{Name: "availability-zone", Values: []string{"us-east-1b"}},
			{Name: "default-for-az", Values: []string{"true"}},
		}})
		if err != nil || len(got.Subnets) != 1 || got.Subnets[0].CIDRBlock != "172.31.16.0/20" {
			t.Errorf("subnets in us-east-1b = %+v, %v", got, err)
		}
		v, err := e.svc.DescribeVpcs(ctx, &cloud.DescribeVPCsInput{Filters: []cloud.Filter{
			{Name: "is-default", Values: []string{"false"}}}})
		if err != nil || len(v.VPCs) != 0 {
			t.Errorf("non-default vpcs = %+v, %v", v, err)
		}
		_, err = e.svc.DescribeVpcs(ctx, &cloud.DescribeVPCsInput{Filters: []cloud.Filter{
			{Name: "color", Values: []string{"red"}}}})
		wantCode(t, err, cloud.ErrCodeInvalidParameterValue)
	})

	t.Run("Errors", func(t *testing.T) {
		_, err := e.svc.DescribeVpcs(ctx, &cloud.DescribeVPCsInput{VPCIDs: []string{"vpc-x"}})
		wantCode(t, err, cloud.ErrCodeInvalidVPCIDMalformed)
		_, err = e.svc.DescribeVpcs(ctx, &cloud.DescribeVPCsInput{VPCIDs: []string{"vpc-0123456789abcdef0"}})
		wantCode(t, err, cloud.ErrCodeInvalidVPCIDNotFound)
		_, err = e.svc.DescribeSubnets(ctx, &cloud.DescribeSubnetsInput{SubnetIDs: []string{"subnet-0123456789abcdef0"}})
		wantCode(t, err, cloud.ErrCodeInvalidSubnetIDNotFound)
		_, err = e.svc.DescribeSecurityGroups(ctx, &cloud.DescribeSecurityGroupsInput{GroupNames: []string{"web"}})
		wantCode(t, err, cloud.ErrCodeInvalidGroupNotFound)
	})

	t.Run("OtherAccount", func(t *testing.T) {
		other := asAccount("210987654321")
		v2, s2, g2 := e.defaultNetwork(other)
		if len(v2) != 1 || v2[0].ID == vpcs[0].ID || len(s2) != 2 || len(g2) != 1 || g2[0].ID == groups[0].ID {
			t.Errorf("the other account's network: %d vpcs, %d subnets, %d groups, shared ids",
				len(v2), len(s2), len(g2))
		}
		_, err := e.svc.DescribeSubnets(other, &cloud.DescribeSubnetsInput{SubnetIDs: []string{subnets[0].ID}})
		wantCode(t, err, cloud.ErrCodeInvalidSubnetIDNotFound)
	})

	t.Run("StableAcrossRestarts", func(t *testing.T) {
		e.restart(envOptions{})
		v, s, g := e.defaultNetwork(ctx)
		if v[0].ID != vpcs[0].ID || g[0].ID != groups[0].ID || len(s) != 2 ||
			s[0].ID != subnets[0].ID || s[1].ID != subnets[1].ID {
			t.Errorf("ids changed across a restart")
		}
	})
}

// TestService_DefaultNetworkNewZone adds a host in a third zone: the zone
// gets the next /20, and the others keep theirs.
func TestService_DefaultNetworkNewZone(t *testing.T) {
	e := newEnv(t, envOptions{hosts: 2})
	ctx := context.Background()
	_, before, _ := e.defaultNetwork(ctx)

	e.shutdown()
	e.startSim(2, envOptions{})
	e.open(envOptions{})
	_, after, _ := e.defaultNetwork(ctx)
	if len(after) != 3 {
		t.Fatalf("%d subnets, want 3", len(after))
	}
	for _, s := range after {
		switch s.AvailabilityZone {
		case "us-east-1c":
			if s.CIDRBlock != "172.31.32.0/20" {
				t.Errorf("new zone's subnet is %s, want 172.31.32.0/20", s.CIDRBlock)
			}
		default:
			found := false
			for _, b := range before {
				found = found || b.ID == s.ID && b.CIDRBlock == s.CIDRBlock
			}
			if !found {
				t.Errorf("subnet %s of %s changed", s.ID, s.AvailabilityZone)
			}
		}
	}
}

func TestService_SecurityGroups(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	port := func(n int) *int { return &n }
	tcp := func(from, to int, cidr string) cloud.IPPermission {
		return cloud.IPPermission{Protocol: "tcp", FromPort: port(from), ToPort: port(to),
			IPRanges: []cloud.IPRange{{CIDR: cidr}}}
	}

	web, err := e.svc.CreateSecurityGroup(ctx, &cloud.CreateSecurityGroupInput{
		GroupName: "web", Description: "web servers",
		TagSpecifications: []cloud.TagSpecification{{ResourceType: "security-group",
			Tags: []cloud.Tag{{Key: "tier", Value: "front"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if web.Tags["tier"] != "front" || len(web.Rules) != 1 || !web.Rules[0].Egress {
		t.Errorf("new group = %+v", web)
	}
	db, err := e.svc.CreateSecurityGroup(ctx, &cloud.CreateSecurityGroupInput{GroupName: "db", Description: "db"})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("CreateErrors", func(t *testing.T) {
		tests := []struct {
			name string
			in   cloud.CreateSecurityGroupInput
			code string
		}{
			{"Duplicate", cloud.CreateSecurityGroupInput{GroupName: "web", Description: "x"},
				cloud.ErrCodeInvalidGroupDuplicate},
			{"Reserved", cloud.CreateSecurityGroupInput{GroupName: "default", Description: "x"},
				cloud.ErrCodeInvalidGroupReserved},
			{"NoName", cloud.CreateSecurityGroupInput{Description: "x"}, cloud.ErrCodeMissingParameter},
			{"NoDescription", cloud.CreateSecurityGroupInput{GroupName: "x"}, cloud.ErrCodeMissingParameter},
			{"IDLikeName", cloud.CreateSecurityGroupInput{GroupName: "sg-1", Description: "x"},
				cloud.ErrCodeInvalidParameterValue},
			{"NotASCII", cloud.CreateSecurityGroupInput{GroupName: "wéb", Description: "x"},
				cloud.ErrCodeInvalidParameterValue},
			{"MalformedVPC", cloud.CreateSecurityGroupInput{GroupName: "x", Description: "x", VPCID: "vpc-1"},
				cloud.ErrCodeInvalidVPCIDMalformed},
			{"UnknownVPC", cloud.CreateSecurityGroupInput{GroupName: "x", Description: "x", VPCID: "vpc-0123456789abcdef0"},
				cloud.ErrCodeInvalidVPCIDNotFound},
			{"TagType", cloud.CreateSecurityGroupInput{GroupName: "x", Description: "x",
				TagSpecifications: []cloud.TagSpecification{{ResourceType: "instance"}}}, cloud.ErrCodeInvalidParameterValue},
			{"DryRun", cloud.CreateSecurityGroupInput{GroupName: "x", Description: "x", DryRun: true},
				cloud.ErrCodeDryRunOperation},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := e.svc.CreateSecurityGroup(ctx, &tt.in)
				wantCode(t, err, tt.code)
			})
		}
	})

	t.Run("Authorize", func(t *testing.T) {
		rules, err := e.svc.AuthorizeSecurityGroupRules(ctx, &cloud.SecurityGroupRulesInput{
			GroupID: web.ID,
			Permissions: []cloud.IPPermission{
				tcp(80, 80, "0.0.0.0/0"),
				{Protocol: "TCP", FromPort: port(443), ToPort: port(443),
					IPRanges:   []cloud.IPRange{{CIDR: "10.0.0.0/8", Description: "lan"}},
					IPv6Ranges: []cloud.IPRange{{CIDR: "::/0"}}},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(rules) != 3 || rules[1].Rule.Protocol != "tcp" || !strings.HasPrefix(rules[0].Rule.ID, "sgr-") {
			t.Errorf("rules = %+v", rules)
		}

		// The older flat form names a peer group by name.
		_, err = e.svc.AuthorizeSecurityGroupRules(ctx, &cloud.SecurityGroupRulesInput{
			GroupName: "db", Flat: &cloud.IPPermission{Protocol: "-1",
				Groups: []cloud.GroupPair{{GroupName: "web"}}},
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("AuthorizeErrors", func(t *testing.T) {
		tests := []struct {
			name string
			in   cloud.SecurityGroupRulesInput
			code string
		}{
			{"Duplicate", cloud.SecurityGroupRulesInput{GroupID: web.ID,
				Permissions: []cloud.IPPermission{tcp(80, 80, "0.0.0.0/0")}}, cloud.ErrCodeInvalidPermissionDuplicate},
			{"DuplicateInRequest", cloud.SecurityGroupRulesInput{GroupID: web.ID,
				Permissions: []cloud.IPPermission{tcp(81, 81, "1.0.0.0/8"), tcp(81, 81, "1.0.0.0/8")}},
				cloud.ErrCodeInvalidPermissionDuplicate},
			{"NoPorts", cloud.SecurityGroupRulesInput{GroupID: web.ID, Permissions: []cloud.IPPermission{
				{Protocol: "tcp", IPRanges: []cloud.IPRange{{CIDR: "0.0.0.0/0"}}}}}, cloud.ErrCodeInvalidParameterValue},
			{"BadRange", cloud.SecurityGroupRulesInput{GroupID: web.ID,
				Permissions: []cloud.IPPermission{tcp(90, 80, "0.0.0.0/0")}}, cloud.ErrCodeInvalidParameterValue},
			{"BadCIDR", cloud.SecurityGroupRulesInput{GroupID: web.ID,
				Permissions: []cloud.IPPermission{tcp(22, 22, "10.0.0.0/33")}}, cloud.ErrCodeInvalidParameterValue},
			{"BadProtocol", cloud.SecurityGroupRulesInput{GroupID: web.ID, Permissions: []cloud.IPPermission{
				{Protocol: "tpc", IPRanges: []cloud.IPRange{{CIDR: "0.0.0.0/0"}}}}}, cloud.ErrCodeInvalidParameterValue},
			{"NoPeer", cloud.SecurityGroupRulesInput{GroupID: web.ID, Permissions: []cloud.IPPermission{
				{Protocol: "-1"}}}, cloud.ErrCodeMissingParameter},
			{"UnknownPeer", cloud.SecurityGroupRulesInput{GroupID: web.ID, Permissions: []cloud.IPPermission{
				{Protocol: "-1", Groups: []cloud.GroupPair{{GroupID: "sg-0123456789abcdef0"}}}}},
				cloud.ErrCodeInvalidGroupNotFound},
			{"PrefixList", cloud.SecurityGroupRulesInput{GroupID: web.ID, Permissions: []cloud.IPPermission{
				{Protocol: "-1", PrefixListIDs: []string{"pl-1"}}}}, cloud.ErrCodeUnsupported},
			{"NoPermissions", cloud.SecurityGroupRulesInput{GroupID: web.ID}, cloud.ErrCodeMissingParameter},
			{"EgressByName", cloud.SecurityGroupRulesInput{GroupName: "web", Egress: true,
				Permissions: []cloud.IPPermission{tcp(1, 1, "0.0.0.0/0")}}, cloud.ErrCodeMissingParameter},
			{"UnknownGroup", cloud.SecurityGroupRulesInput{GroupID: "sg-0123456789abcdef0",
				Permissions: []cloud.IPPermission{tcp(1, 1, "0.0.0.0/0")}}, cloud.ErrCodeInvalidGroupNotFound},
			{"MalformedGroup", cloud.SecurityGroupRulesInput{GroupID: "sg-x",
				Permissions: []cloud.IPPermission{tcp(1, 1, "0.0.0.0/0")}}, cloud.ErrCodeInvalidGroupIDMalformed},
			{"DryRun", cloud.SecurityGroupRulesInput{GroupID: web.ID, DryRun: true,
				Permissions: []cloud.IPPermission{tcp(2, 2, "0.0.0.0/0")}}, cloud.ErrCodeDryRunOperation},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := e.svc.AuthorizeSecurityGroupRules(ctx, &tt.in)
				wantCode(t, err, tt.code)
			})
		}
	})

	t.Run("Describe", func(t *testing.T) {
		out, err := e.svc.DescribeSecurityGroups(ctx, &cloud.DescribeSecurityGroupsInput{
			Filters: []cloud.Filter{{Name: "ip-permission.from-port", Values: []string{"443"}}}})
		if err != nil || len(out.Groups) != 1 || out.Groups[0].ID != web.ID {
			t.Fatalf("groups allowing 443 = %+v, %v", out, err)
		}
		perms := out.Groups[0].Permissions(false, nil)
		if len(perms) != 2 || len(perms[1].IPRanges) != 1 || len(perms[1].IPv6Ranges) != 1 ||
			perms[1].IPRanges[0].Description != "lan" {
			t.Errorf("web's ingress = %+v", perms)
		}
		out, err = e.svc.DescribeSecurityGroups(ctx, &cloud.DescribeSecurityGroupsInput{
			GroupNames: []string{"db"}})
		if err != nil || len(out.Groups) != 1 || out.GroupNames[web.ID] != "web" {
			t.Errorf("db by name = %+v, %v", out, err)
		}
		out, err = e.svc.DescribeSecurityGroups(ctx, &cloud.DescribeSecurityGroupsInput{
			Filters: []cloud.Filter{{Name: "tag:tier", Values: []string{"front"}}}})
		if err != nil || len(out.Groups) != 1 {
			t.Errorf("groups tagged tier=front = %+v, %v", out, err)
		}
	})

	t.Run("Revoke", func(t *testing.T) {
		// One of two permissions matches: it goes, the other is unknown.
		out, err := e.svc.RevokeSecurityGroupRules(ctx, &cloud.SecurityGroupRulesInput{
			GroupID: web.ID, Permissions: []cloud.IPPermission{tcp(80, 80, "0.0.0.0/0"), tcp(8080, 8080, "0.0.0.0/0")},
		})
		if err != nil || len(out.Revoked) != 1 || len(out.Unknown) != 1 {
			t.Fatalf("revoke = %+v, %v", out, err)
		}
		_, err = e.svc.RevokeSecurityGroupRules(ctx, &cloud.SecurityGroupRulesInput{
			GroupID: web.ID, Permissions: []cloud.IPPermission{tcp(80, 80, "0.0.0.0/0")},
		})
		wantCode(t, err, cloud.ErrCodeInvalidPermissionNotFound)
		_, err = e.svc.RevokeSecurityGroupRules(ctx, &cloud.SecurityGroupRulesInput{
			GroupID: web.ID, RuleIDs: []string{"sgr-0123456789abcdef0"},
		})
		wantCode(t, err, cloud.ErrCodeInvalidRuleIDNotFound)

		// By rule id, as DescribeSecurityGroupRules names them.
		rules, err := e.svc.DescribeSecurityGroupRules(ctx, &cloud.DescribeSecurityGroupRulesInput{
			Filters: []cloud.Filter{{Name: "group-id", Values: []string{web.ID}}}})
		if err != nil {
			t.Fatal(err)
		}
		var egress string
		for _, r := range rules.Rules {
			if r.Rule.Egress {
				egress = r.Rule.ID
			}
		}
		if len(rules.Rules) != 3 || egress == "" {
			t.Fatalf("web's rules = %+v", rules.Rules)
		}
		_, err = e.svc.RevokeSecurityGroupRules(ctx, &cloud.SecurityGroupRulesInput{
			GroupID: web.ID, Egress: true, RuleIDs: []string{egress}})
		if err != nil {
			t.Fatal(err)
		}
		g, _ := e.svc.DescribeSecurityGroups(ctx, &cloud.DescribeSecurityGroupsInput{GroupIDs: []string{web.ID}})
		if len(g.Groups[0].Permissions(true, nil)) != 0 {
			t.Errorf("egress after revoking its only rule: %+v", g.Groups[0].Permissions(true, nil))
		}
	})

	t.Run("Delete", func(t *testing.T) {
		_, _, groups := e.defaultNetwork(ctx)
		var def string
		for _, g := range groups {
			if g.Name == "default" {
				def = g.ID
			}
		}
		_, err := e.svc.DeleteSecurityGroup(ctx, &cloud.DeleteSecurityGroupInput{GroupID: def})
		wantCode(t, err, cloud.ErrCodeCannotDelete)

		// db's rule names web: web cannot go while it does.
		_, err = e.svc.DeleteSecurityGroup(ctx, &cloud.DeleteSecurityGroupInput{GroupID: web.ID})
		wantCode(t, err, cloud.ErrCodeDependencyViolation)

		// An instance in db holds it until the instance terminates.
		ids := e.runInstances(1, func(in *cloud.RunInstancesInput) {
			in.Network.SecurityGroupIDs = []string{db.ID}
		})
		_, err = e.svc.DeleteSecurityGroup(ctx, &cloud.DeleteSecurityGroupInput{GroupName: "db"})
		wantCode(t, err, cloud.ErrCodeDependencyViolation)
		if _, err := e.svc.TerminateInstances(ctx, &cloud.InstanceIDsInput{InstanceIDs: ids}); err != nil {
			t.Fatal(err)
		}
		e.waitState(cloud.StateTerminated, ids...)
		_, err = e.svc.DeleteSecurityGroup(ctx, &cloud.DeleteSecurityGroupInput{GroupName: "db", DryRun: true})
		wantCode(t, err, cloud.ErrCodeDryRunOperation)
		id, err := e.svc.DeleteSecurityGroup(ctx, &cloud.DeleteSecurityGroupInput{GroupName: "db"})
		if err != nil || id != db.ID {
			t.Fatalf("delete db = %s, %v", id, err)
		}
		if _, err := e.svc.DeleteSecurityGroup(ctx, &cloud.DeleteSecurityGroupInput{GroupID: web.ID}); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.DeleteSecurityGroup(ctx, &cloud.DeleteSecurityGroupInput{GroupID: web.ID})
		wantCode(t, err, cloud.ErrCodeInvalidGroupNotFound)
		_, err = e.svc.DeleteSecurityGroup(ctx, &cloud.DeleteSecurityGroupInput{})
		wantCode(t, err, cloud.ErrCodeMissingParameter)
	})
}

// TestService_RunNetwork launches into a subnet and groups and checks what
// the instance reports and what its VM is given.
func TestService_RunNetwork(t *testing.T) {
	e := newEnv(t, envOptions{opts: func(o *compute.Options) {
		o.SubnetPortGroups = map[string]string{"us-east-1b": "Lab VLAN 20"}
	}})
	ctx := context.Background()
	_, subnets, groups := e.defaultNetwork(ctx)
	var subnetB *cloud.Subnet
	for _, s := range subnets {
		if s.AvailabilityZone == "us-east-1b" {
			subnetB = s
		}
	}
	web, err := e.svc.CreateSecurityGroup(ctx, &cloud.CreateSecurityGroupInput{GroupName: "web", Description: "web"})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Errors", func(t *testing.T) {
		tests := []struct {
			name string
			mod  func(*cloud.RunInstancesInput)
			code string
		}{
			{"ZoneConflict", func(in *cloud.RunInstancesInput) {
				in.Network.SubnetID, in.AvailabilityZone = subnetB.ID, "us-east-1a"
			}, cloud.ErrCodeInvalidParameterValue},
			{"UnknownSubnet", func(in *cloud.RunInstancesInput) {
				in.Network.SubnetID = "subnet-0123456789abcdef0"
			}, cloud.ErrCodeInvalidSubnetIDNotFound},
			{"MalformedSubnet", func(in *cloud.RunInstancesInput) { in.Network.SubnetID = "subnet-x" },
				cloud.ErrCodeInvalidSubnetIDMalformed},
			{"UnknownGroup", func(in *cloud.RunInstancesInput) {
				in.Network.SecurityGroupIDs = []string{"sg-0123456789abcdef0"}
			}, cloud.ErrCodeInvalidGroupNotFound},
			{"UnknownGroupName", func(in *cloud.RunInstancesInput) {
				in.Network.SecurityGroupNames = []string{"nope"}
			}, cloud.ErrCodeInvalidGroupNotFound},
			{"InterfaceAndSubnet", func(in *cloud.RunInstancesInput) {
				in.Network.SubnetID = subnetB.ID
				in.Network.Interfaces = []cloud.RunNetworkInterface{{SubnetID: subnetB.ID}}
			}, cloud.ErrCodeInvalidParameterCombination},
			{"TwoInterfaces", func(in *cloud.RunInstancesInput) {
				in.Network.Interfaces = []cloud.RunNetworkInterface{{}, {DeviceIndex: 1}}
			}, cloud.ErrCodeUnsupported},
			{"PrivateIP", func(in *cloud.RunInstancesInput) { in.Network.PrivateIPAddress = "172.31.0.10" },
				cloud.ErrCodeUnsupported},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				in := &cloud.RunInstancesInput{ImageID: e.imageID(), InstanceType: "t3.micro",
					MinCount: 1, MaxCount: 1}
				tt.mod(in)
				_, err := e.svc.RunInstances(ctx, in)
				wantCode(t, err, tt.code)
			})
		}
	})

	// The subnet picks the zone, and so the host.
	ids := e.runInstances(2, func(in *cloud.RunInstancesInput) {
		in.Network.Interfaces = []cloud.RunNetworkInterface{{SubnetID: subnetB.ID,
			SecurityGroupIDs: []string{web.ID}}}
	})
	e.waitFor("guest address", ids, func(i *cloud.Instance) bool { return i.GuestReady })
	cidr := netip.MustParsePrefix(subnetB.CIDRBlock)
	for _, id := range ids {
		inst := e.instance(id)
		if inst.AvailabilityZone != "us-east-1b" || inst.SubnetID != subnetB.ID ||
			inst.VPCID != subnetB.VPCID || len(inst.SecurityGroups) != 1 ||
			inst.SecurityGroups[0] != (cloud.GroupIdentifier{ID: web.ID, Name: "web"}) {
			t.Errorf("instance %s: zone %s subnet %s groups %+v", id, inst.AvailabilityZone,
				inst.SubnetID, inst.SecurityGroups)
		}
		if ip, err := netip.ParseAddr(inst.PrivateIPAddress); err != nil || !cidr.Contains(ip) {
			t.Errorf("instance %s has address %q, outside %s", id, inst.PrivateIPAddress, cidr)
		}

		// Its VM attaches to the subnet's port group with its MAC.
		h := e.simIndex(id)
		vmx := e.sh(h, "cat /vmfs/volumes/datastore1/"+id+"/"+id+".vmx")
		for _, want := range []string{`ethernet0.networkName = "Lab VLAN 20"`,
			`ethernet0.addressType = "static"`, `ethernet0.address = "` + inst.MACAddress + `"`} {
			if !strings.Contains(vmx, want) {
				t.Errorf("the .vmx of %s lacks %s", id, want)
			}
		}
		if !strings.HasPrefix(inst.MACAddress, "00:50:56:") || !strings.HasPrefix(inst.NetworkInterfaceID, "eni-") {
			t.Errorf("instance %s: mac %q eni %q", id, inst.MACAddress, inst.NetworkInterfaceID)
		}
		if guest := e.sh(h, "vim-cmd vmsvc/get.guest "+inst.VMID); !strings.Contains(guest, inst.MACAddress) {
			t.Errorf("the guest of %s does not report mac %s:\n%s", id, inst.MACAddress, guest)
		}
	}

	// Without a subnet: the default subnet of the zone placed in, and the
	// default group.
	one := e.runInstances(1, func(in *cloud.RunInstancesInput) { in.AvailabilityZone = "us-east-1a" })[0]
	inst := e.instance(one)
	if inst.SubnetID == subnetB.ID || inst.SubnetID == "" || inst.SecurityGroups[0].ID != groups[0].ID ||
		inst.Network != "VM Network" {
		t.Errorf("default launch: subnet %s groups %+v network %q", inst.SubnetID, inst.SecurityGroups, inst.Network)
	}

	t.Run("Filters", func(t *testing.T) {
		for _, f := range []cloud.Filter{
			{Name: "subnet-id", Values: []string{subnetB.ID}},
			{Name: "instance.group-name", Values: []string{"web"}},
			{Name: "instance.group-id", Values: []string{web.ID}},
		} {
			out, err := e.svc.DescribeInstances(ctx, &cloud.DescribeInstancesInput{Filters: []cloud.Filter{f}})
			if err != nil || len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 2 {
				t.Errorf("filter %s: %+v, %v", f.Name, out, err)
			}
		}
		sub, err := e.svc.DescribeSubnets(ctx, &cloud.DescribeSubnetsInput{SubnetIDs: []string{subnetB.ID}})
		if err != nil || sub.Subnets[0].AvailableIPs != 4089 {
			t.Errorf("subnet with two instances: %+v, %v", sub, err)
		}
	})
}

// TestService_TagsEverywhere tags one resource of each kind minicloud
// keeps, then lists and deletes those tags.
func TestService_TagsEverywhere(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	vpcs, subnets, groups := e.defaultNetwork(ctx)
	key, err := e.svc.ImportKeyPair(ctx, &cloud.ImportKeyPairInput{KeyName: "lab",
		PublicKeyMaterial: []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIILWSUbvTgSlI8BnpkbrOplm97iuYVCoBJxloieLmkbd lab")})
	if err != nil {
		t.Fatal(err)
	}
	inst := e.runInstances(1, nil)[0]
	ids := []string{inst, e.imageID(), vpcs[0].ID, subnets[0].ID, groups[0].ID, key.ID}

	err = e.svc.CreateTags(ctx, &cloud.CreateTagsInput{ResourceIDs: ids,
		Tags: []cloud.Tag{{Key: "env", Value: "lab"}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.svc.DescribeTags(ctx, &cloud.DescribeTagsInput{Filters: []cloud.Filter{
		{Name: "key", Values: []string{"env"}}}})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, d := range out.Tags {
		kinds[d.ResourceType] = true
	}
	for _, k := range []string{"instance", "image", "vpc", "subnet", "security-group", "key-pair"} {
		if !kinds[k] {
			t.Errorf("DescribeTags lists no %s tag: %+v", k, out.Tags)
		}
	}
	byType, err := e.svc.DescribeTags(ctx, &cloud.DescribeTagsInput{Filters: []cloud.Filter{
		{Name: "resource-type", Values: []string{"subnet"}}, {Name: "resource-id", Values: []string{subnets[0].ID}}}})
	if err != nil || len(byType.Tags) != 1 || byType.Tags[0].ResourceID != subnets[0].ID {
		t.Errorf("subnet tags = %+v, %v", byType, err)
	}
	v, err := e.svc.DescribeVpcs(ctx, &cloud.DescribeVPCsInput{Filters: []cloud.Filter{
		{Name: "tag:env", Values: []string{"lab"}}}})
	if err != nil || len(v.VPCs) != 1 {
		t.Errorf("vpcs tagged env=lab = %+v, %v", v, err)
	}

	t.Run("Errors", func(t *testing.T) {
		tag := []cloud.Tag{{Key: "k"}}
		err := e.svc.CreateTags(ctx, &cloud.CreateTagsInput{ResourceIDs: []string{"sg-0123456789abcdef0"}, Tags: tag})
		wantCode(t, err, cloud.ErrCodeInvalidGroupNotFound)
		err = e.svc.CreateTags(ctx, &cloud.CreateTagsInput{ResourceIDs: []string{"subnet-0123456789abcdef0"}, Tags: tag})
		wantCode(t, err, cloud.ErrCodeInvalidSubnetIDNotFound)
		err = e.svc.CreateTags(ctx, &cloud.CreateTagsInput{ResourceIDs: []string{"igw-0123456789abcdef0"}, Tags: tag})
		wantCode(t, err, cloud.ErrCodeInvalidID)

		// Another account sees none of them, not even those on the
		// public image: its tags there are its own.
		other := asAccount("210987654321")
		err = e.svc.CreateTags(other, &cloud.CreateTagsInput{ResourceIDs: []string{vpcs[0].ID}, Tags: tag})
		wantCode(t, err, cloud.ErrCodeInvalidVPCIDNotFound)
		seen, err := e.svc.DescribeTags(other, &cloud.DescribeTagsInput{})
		if err != nil || len(seen.Tags) != 0 {
			t.Errorf("another account sees %+v, %v", seen, err)
		}
		err = e.svc.CreateTags(other, &cloud.CreateTagsInput{ResourceIDs: []string{e.imageID()},
			Tags: []cloud.Tag{{Key: "env", Value: "theirs"}}})
		if err != nil {
			t.Fatal(err)
		}
		for ctx, want := range map[context.Context]string{ctx: "lab", other: "theirs"} {
			page, err := e.svc.DescribeImages(ctx, &cloud.DescribeImagesInput{Filters: []cloud.Filter{
				{Name: "tag:env", Values: []string{want}}}})
			imgs := imagesOf(page)
			if err != nil || len(imgs) != 1 || imgs[0].Tags["env"] != want || len(imgs[0].Tags) != 1 {
				t.Errorf("image tagged env=%s: %+v, %v", want, imgs, err)
			}
		}

		// A dry run changes nothing.
		err = e.svc.DeleteTags(ctx, &cloud.DeleteTagsInput{ResourceIDs: ids, DryRun: true})
		wantCode(t, err, cloud.ErrCodeDryRunOperation)
	})

	if err := e.svc.DeleteTags(ctx, &cloud.DeleteTagsInput{ResourceIDs: ids[2:],
		Tags: []cloud.DeleteTag{{Key: "env", Value: "lab", ValueSet: true}}}); err != nil {
		t.Fatal(err)
	}
	out, err = e.svc.DescribeTags(ctx, &cloud.DescribeTagsInput{})
	if err != nil || len(out.Tags) != 2 {
		t.Errorf("after deleting: %+v, %v", out, err)
	}
}
