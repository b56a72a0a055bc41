package ec2

import (
	"github.com/minicloud/minicloud/internal/cloud"
)

func decodeDescribeVpcs(p *params) (*cloud.DescribeVPCsInput, error) {
	in := &cloud.DescribeVPCsInput{
		DryRun:     p.boolean("DryRun"),
		VPCIDs:     p.list("VpcId"),
		Filters:    p.filters(),
		MaxResults: p.maxResults(minResults, maxResults),
		NextToken:  p.str("NextToken"),
	}
	return in, p.err
}

func decodeDescribeSubnets(p *params) (*cloud.DescribeSubnetsInput, error) {
	in := &cloud.DescribeSubnetsInput{
		DryRun:     p.boolean("DryRun"),
		SubnetIDs:  p.list("SubnetId"),
		Filters:    p.filters(),
		MaxResults: p.maxResults(minResults, maxResults),
		NextToken:  p.str("NextToken"),
	}
	return in, p.err
}

func decodeDescribeSecurityGroups(p *params) (*cloud.DescribeSecurityGroupsInput, error) {
	in := &cloud.DescribeSecurityGroupsInput{
		DryRun:     p.boolean("DryRun"),
		GroupIDs:   p.list("GroupId"),
		GroupNames: p.list("GroupName"),
		Filters:    p.filters(),
		MaxResults: p.maxResults(minResults, maxResults),
		NextToken:  p.str("NextToken"),
	}
	return in, p.err
}

func decodeDescribeSecurityGroupRules(p *params) (*cloud.DescribeSecurityGroupRulesInput, error) {
	in := &cloud.DescribeSecurityGroupRulesInput{
		DryRun:     p.boolean("DryRun"),
		RuleIDs:    p.list("SecurityGroupRuleId"),
		Filters:    p.filters(),
		MaxResults: p.maxResults(minResults, maxResults),
		NextToken:  p.str("NextToken"),
	}
	return in, p.err
}

func decodeCreateSecurityGroup(p *params) (*cloud.CreateSecurityGroupInput, error) {
	in := &cloud.CreateSecurityGroupInput{
		DryRun:            p.boolean("DryRun"),
		GroupName:         p.str("GroupName"),
		Description:       p.str("GroupDescription"),
		VPCID:             p.str("VpcId"),
		TagSpecifications: decodeTagSpecifications(p),
	}
	return in, p.err
}

func decodeDeleteSecurityGroup(p *params) (*cloud.DeleteSecurityGroupInput, error) {
	in := &cloud.DeleteSecurityGroupInput{
		DryRun:    p.boolean("DryRun"),
		GroupID:   p.str("GroupId"),
		GroupName: p.str("GroupName"),
	}
	return in, p.err
}

// decodeGroupRules returns the decoder of an Authorize or Revoke call for
// ingress or egress rules.
func decodeGroupRules(egress bool) func(*params) (*cloud.SecurityGroupRulesInput, error) {
	return func(p *params) (*cloud.SecurityGroupRulesInput, error) {
		in := &cloud.SecurityGroupRulesInput{
			DryRun:            p.boolean("DryRun"),
			Egress:            egress,
			GroupID:           p.str("GroupId"),
			GroupName:         p.str("GroupName"),
			Permissions:       decodePermissions(p, "IpPermissions"),
			Flat:              decodeFlatPermission(p),
			RuleIDs:           p.list("SecurityGroupRuleId"),
			TagSpecifications: decodeTagSpecifications(p),
		}
		return in, p.err
	}
}

// decodePermissions reads prefix.N as IpPermission structures.
func decodePermissions(p *params, prefix string) []cloud.IPPermission {
	var out []cloud.IPPermission
	for _, n := range p.indexes(prefix) {
		m := member(prefix, n)
		perm := cloud.IPPermission{
			Protocol: p.str(m + ".IpProtocol"),
			FromPort: optInt(p, m+".FromPort"),
			ToPort:   optInt(p, m+".ToPort"),
		}
		for _, i := range p.indexes(m + ".IpRanges") {
			r := member(m+".IpRanges", i)
			perm.IPRanges = append(perm.IPRanges, cloud.IPRange{
				CIDR: p.str(r + ".CidrIp"), Description: p.str(r + ".Description"),
			})
		}
		for _, i := range p.indexes(m + ".Ipv6Ranges") {
			r := member(m+".Ipv6Ranges", i)
			perm.IPv6Ranges = append(perm.IPv6Ranges, cloud.IPRange{
				CIDR: p.str(r + ".CidrIpv6"), Description: p.str(r + ".Description"),
			})
		}
		for _, i := range p.indexes(m + ".Groups") {
			g := member(m+".Groups", i)
			perm.Groups = append(perm.Groups, cloud.GroupPair{
				GroupID: p.str(g + ".GroupId"), GroupName: p.str(g + ".GroupName"),
				UserID: p.str(g + ".UserId"), VPCID: p.str(g + ".VpcId"),
				Description: p.str(g + ".Description"),
			})
		}
		for _, i := range p.indexes(m + ".PrefixListIds") {
			perm.PrefixListIDs = append(perm.PrefixListIDs,
				p.str(member(m+".PrefixListIds", i)+".PrefixListId"))
		}
		out = append(out, perm)
	}
	return out
}

// decodeFlatPermission reads the older single-rule parameters (CidrIp,
// IpProtocol, FromPort, ToPort, SourceSecurityGroupName and
// SourceSecurityGroupOwnerId), or returns nil when none was sent. A source
// group without a protocol allows every protocol, as EC2 reads it.
func decodeFlatPermission(p *params) *cloud.IPPermission {
	names := []string{"CidrIp", "IpProtocol", "FromPort", "ToPort",
		"SourceSecurityGroupName", "SourceSecurityGroupOwnerId"}
	sent := false
	for _, n := range names {
		sent = sent || p.has(n)
	}
	if !sent {
		return nil
	}
	perm := &cloud.IPPermission{
		Protocol: p.str("IpProtocol"),
		FromPort: optInt(p, "FromPort"),
		ToPort:   optInt(p, "ToPort"),
	}
	if c := p.str("CidrIp"); c != "" {
		perm.IPRanges = []cloud.IPRange{{CIDR: c}}
	}
	if g := p.str("SourceSecurityGroupName"); g != "" {
		perm.Groups = []cloud.GroupPair{{GroupName: g, UserID: p.str("SourceSecurityGroupOwnerId")}}
		if perm.Protocol == "" {
			perm.Protocol = cloud.ProtocolAll
		}
	}
	return perm
}

// optInt returns the integer name, or nil when it was not sent.
func optInt(p *params, name string) *int {
	n, ok := p.integer(name)
	if !ok {
		return nil
	}
	return &n
}

// decodeRunNetwork reads where RunInstances attaches its instances:
// SubnetId, SecurityGroupId.N, SecurityGroup.N, PrivateIpAddress and
// NetworkInterface.N.
func decodeRunNetwork(p *params) cloud.RunNetwork {
	nw := cloud.RunNetwork{
		SubnetID:           p.str("SubnetId"),
		SecurityGroupIDs:   p.list("SecurityGroupId"),
		SecurityGroupNames: p.list("SecurityGroup"),
		PrivateIPAddress:   p.str("PrivateIpAddress"),
	}
	for _, n := range p.indexes("NetworkInterface") {
		m := member("NetworkInterface", n)
		ni := cloud.RunNetworkInterface{
			SubnetID:           p.str(m + ".SubnetId"),
			SecurityGroupIDs:   p.list(m + ".SecurityGroupId"),
			NetworkInterfaceID: p.str(m + ".NetworkInterfaceId"),
			PrivateIPAddress:   p.str(m + ".PrivateIpAddress"),
		}
		ni.DeviceIndex, _ = p.integer(m + ".DeviceIndex")
		if p.has(m + ".AssociatePublicIpAddress") {
			v := p.boolean(m + ".AssociatePublicIpAddress")
			ni.AssociatePublicIP = &v
		}
		nw.Interfaces = append(nw.Interfaces, ni)
	}
	return nw
}

func encodeDescribeVpcs(e *encoder, out *cloud.DescribeVPCsOutput) {
	set(&e.xmlWriter, "vpcSet", out.VPCs, func(v *cloud.VPC) {
		e.text("vpcId", v.ID)
		e.text("ownerId", v.OwnerID)
		e.text("state", "available")
		e.text("cidrBlock", v.CIDRBlock)
		e.start("cidrBlockAssociationSet")
		e.start("item")
		e.text("associationId", v.CIDRAssociationID)
		e.text("cidrBlock", v.CIDRBlock)
		e.start("cidrBlockState")
		e.text("state", "associated")
		e.end("cidrBlockState")
		e.end("item")
		e.end("cidrBlockAssociationSet")
		e.text("dhcpOptionsId", "default")
		e.text("instanceTenancy", "default")
		e.boolean("isDefault", v.IsDefault)
		e.tagSet(v.Tags)
	})
	e.opt("nextToken", out.NextToken)
}

func encodeDescribeSubnets(e *encoder, out *cloud.DescribeSubnetsOutput) {
	set(&e.xmlWriter, "subnetSet", out.Subnets, func(n *cloud.Subnet) {
		e.text("subnetId", n.ID)
		e.text("subnetArn", "arn:aws:ec2:"+e.region+":"+n.OwnerID+":subnet/"+n.ID)
		e.text("state", "available")
		e.text("ownerId", n.OwnerID)
		e.text("vpcId", n.VPCID)
		e.text("cidrBlock", n.CIDRBlock)
		e.empty("ipv6CidrBlockAssociationSet")
		e.integer("availableIpAddressCount", n.AvailableIPs)
		e.text("availabilityZone", n.AvailabilityZone)
		e.opt("availabilityZoneId", n.AvailabilityZoneID)
		e.boolean("defaultForAz", n.DefaultForAZ)
		e.boolean("mapPublicIpOnLaunch", n.MapPublicIPOnLaunch)
		e.boolean("mapCustomerOwnedIpOnLaunch", false)
		e.boolean("assignIpv6AddressOnCreation", false)
		e.boolean("enableDns64", false)
		e.boolean("ipv6Native", false)
		e.start("privateDnsNameOptionsOnLaunch")
		e.text("hostnameType", "ip-name")
		e.boolean("enableResourceNameDnsARecord", false)
		e.boolean("enableResourceNameDnsAAAARecord", false)
		e.end("privateDnsNameOptionsOnLaunch")
		e.tagSet(n.Tags)
	})
	e.opt("nextToken", out.NextToken)
}

func encodeDescribeSecurityGroups(e *encoder, out *cloud.DescribeSecurityGroupsOutput) {
	name := func(id string) string { return out.GroupNames[id] }
	set(&e.xmlWriter, "securityGroupInfo", out.Groups, func(g *cloud.SecurityGroup) {
		e.text("ownerId", g.OwnerID)
		e.text("groupId", g.ID)
		e.text("groupName", g.Name)
		e.text("groupDescription", g.Description)
		e.text("vpcId", g.VPCID)
		e.text("securityGroupArn", e.groupARN(g.OwnerID, g.ID))
		e.permissions("ipPermissions", g.Permissions(false, name))
		e.permissions("ipPermissionsEgress", g.Permissions(true, name))
		e.tagSet(g.Tags)
	})
	e.opt("nextToken", out.NextToken)
}

// groupARN returns a security group's ARN.
func (e *encoder) groupARN(owner, id string) string {
	return "arn:aws:ec2:" + e.region + ":" + owner + ":security-group/" + id
}

// permissions writes a list of IpPermission structures. Protocols without
// ports have no fromPort and toPort, as EC2 writes them.
func (e *encoder) permissions(name string, perms []cloud.IPPermission) {
	set(&e.xmlWriter, name, perms, func(p cloud.IPPermission) {
		e.text("ipProtocol", p.Protocol)
		if p.FromPort != nil {
			e.integer("fromPort", *p.FromPort)
		}
		if p.ToPort != nil {
			e.integer("toPort", *p.ToPort)
		}
		set(&e.xmlWriter, "groups", p.Groups, func(g cloud.GroupPair) {
			e.opt("description", g.Description)
			e.opt("userId", g.UserID)
			e.text("groupId", g.GroupID)
			e.opt("groupName", g.GroupName)
		})
		set(&e.xmlWriter, "ipRanges", p.IPRanges, func(r cloud.IPRange) {
			e.opt("description", r.Description)
			e.text("cidrIp", r.CIDR)
		})
		set(&e.xmlWriter, "ipv6Ranges", p.IPv6Ranges, func(r cloud.IPRange) {
			e.opt("description", r.Description)
			e.text("cidrIpv6", r.CIDR)
		})
		e.empty("prefixListIds")
	})
}

func encodeCreateSecurityGroup(e *encoder, g *cloud.SecurityGroup) {
	e.text("groupId", g.ID)
	e.tagSet(g.Tags)
	e.text("securityGroupArn", e.groupARN(g.OwnerID, g.ID))
}

func encodeDeleteSecurityGroup(e *encoder, id string) {
	e.boolean("return", true)
	e.text("groupId", id)
}

func encodeAuthorizeRules(e *encoder, rules []cloud.GroupRule) {
	e.boolean("return", true)
	set(&e.xmlWriter, "securityGroupRuleSet", rules, e.groupRule)
}

func encodeRevokeRules(e *encoder, out *cloud.RevokeSecurityGroupRulesOutput) {
	e.boolean("return", true)
	if len(out.Unknown) > 0 {
		e.permissions("unknownIpPermissionSet", out.Unknown)
	}
	set(&e.xmlWriter, "revokedSecurityGroupRuleSet", out.Revoked, func(r cloud.SecurityGroupRule) {
		e.text("securityGroupRuleId", r.ID)
		e.boolean("isEgress", r.Egress)
		e.ruleTraffic(r)
		e.opt("referencedGroupId", r.GroupID)
		e.opt("description", r.Description)
	})
}

func encodeDescribeSecurityGroupRules(e *encoder, out *cloud.DescribeSecurityGroupRulesOutput) {
	set(&e.xmlWriter, "securityGroupRuleSet", out.Rules, e.groupRule)
	e.opt("nextToken", out.NextToken)
}

// groupRule writes one SecurityGroupRule.
func (e *encoder) groupRule(gr cloud.GroupRule) {
	r := gr.Rule
	e.text("securityGroupRuleId", r.ID)
	e.text("groupId", gr.GroupID)
	e.text("groupOwnerId", gr.GroupOwnerID)
	e.boolean("isEgress", r.Egress)
	e.ruleTraffic(r)
	if r.GroupID != "" {
		e.start("referencedGroupInfo")
		e.text("groupId", r.GroupID)
		e.opt("userId", r.GroupOwnerID)
		e.end("referencedGroupInfo")
	}
	e.opt("description", r.Description)
	e.tagSet(r.Tags)
	e.text("securityGroupRuleArn",
		"arn:aws:ec2:"+e.region+":"+gr.GroupOwnerID+":security-group-rule/"+r.ID)
}

// ruleTraffic writes a rule's protocol, ports and address range: EC2
// writes -1 for the ports of a protocol that has none.
func (e *encoder) ruleTraffic(r cloud.SecurityGroupRule) {
	e.text("ipProtocol", r.Protocol)
	e.integer("fromPort", r.FromPort)
	e.integer("toPort", r.ToPort)
	e.opt("cidrIpv4", r.CIDRIPv4)
	e.opt("cidrIpv6", r.CIDRIPv6)
}

// instanceNetwork writes where an instance is in the network: its VPC,
// subnet and groups, and its one network interface. A terminated
// instance has given its interface back.
func (e *encoder) instanceNetwork(in *cloud.Instance) {
	groups := func() {
		set(&e.xmlWriter, "groupSet", in.SecurityGroups, func(g cloud.GroupIdentifier) {
			e.text("groupId", g.ID)
			e.text("groupName", g.Name)
		})
	}
	if in.State == cloud.StateTerminated || in.NetworkInterfaceID == "" {
		e.empty("groupSet")
		e.empty("networkInterfaceSet")
		return
	}
	e.text("vpcId", in.VPCID)
	e.text("subnetId", in.SubnetID)
	groups()
	e.boolean("sourceDestCheck", true)

	e.start("networkInterfaceSet")
	e.start("item")
	e.text("networkInterfaceId", in.NetworkInterfaceID)
	e.text("subnetId", in.SubnetID)
	e.text("vpcId", in.VPCID)
	e.empty("description")
	e.text("ownerId", in.OwnerID)
	e.text("status", "in-use")
	e.text("macAddress", in.MACAddress)
	e.opt("privateIpAddress", in.PrivateIPAddress)
	if in.PrivateIPAddress != "" {
		e.privateDNSName(in.PrivateIPAddress)
	}
	e.boolean("sourceDestCheck", true)
	groups()
	e.start("attachment")
	e.derivedID("attachmentId", "eni-attach-", in.NetworkInterfaceID)
	e.integer("deviceIndex", 0)
	e.text("status", "attached")
	e.timestamp("attachTime", in.LaunchTime)
	e.boolean("deleteOnTermination", true)
	e.integer("networkCardIndex", 0)
	e.end("attachment")
	if in.PrivateIPAddress == "" {
		e.empty("privateIpAddressesSet")
	} else {
		e.start("privateIpAddressesSet")
		e.start("item")
		e.text("privateIpAddress", in.PrivateIPAddress)
		e.privateDNSName(in.PrivateIPAddress)
		e.boolean("primary", true)
		e.end("item")
		e.end("privateIpAddressesSet")
	}
	e.empty("ipv6AddressesSet")
	e.text("interfaceType", "interface")
	e.end("item")
	e.end("networkInterfaceSet")
}
