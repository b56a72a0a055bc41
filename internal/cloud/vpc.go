package cloud

import (
	"context"
	"strconv"
)

// Resource id prefixes of the network.
const (
	PrefixVPC               = "vpc-"
	PrefixSubnet            = "subnet-"
	PrefixSecurityGroup     = "sg-"
	PrefixSecurityGroupRule = "sgr-"
	PrefixNetworkInterface  = "eni-"
)

// EC2 error codes about VPCs, subnets and security groups.
const (
	ErrCodeInvalidVPCIDMalformed        = "InvalidVpcID.Malformed"
	ErrCodeInvalidVPCIDNotFound         = "InvalidVpcID.NotFound"
	ErrCodeInvalidSubnetIDMalformed     = "InvalidSubnetID.Malformed"
	ErrCodeInvalidSubnetIDNotFound      = "InvalidSubnetID.NotFound"
	ErrCodeInvalidGroupIDMalformed      = "InvalidGroupId.Malformed"
	ErrCodeInvalidGroupNotFound         = "InvalidGroup.NotFound"
	ErrCodeInvalidGroupDuplicate        = "InvalidGroup.Duplicate"
	ErrCodeInvalidGroupReserved         = "InvalidGroup.Reserved"
	ErrCodeInvalidPermissionDuplicate   = "InvalidPermission.Duplicate"
	ErrCodeInvalidPermissionNotFound    = "InvalidPermission.NotFound"
	ErrCodeInvalidPermissionMalformed   = "InvalidPermission.Malformed"
	ErrCodeInvalidRuleIDNotFound        = "InvalidSecurityGroupRuleId.NotFound"
	ErrCodeInvalidRuleIDMalformed       = "InvalidSecurityGroupRuleId.Malformed"
	ErrCodeDependencyViolation          = "DependencyViolation"
	ErrCodeCannotDelete                 = "CannotDelete"
	ErrCodeRulesPerGroupLimitExceeded   = "RulesPerSecurityGroupLimitExceeded"
	ErrCodeSecurityGroupsPerInstance    = "SecurityGroupsPerInstanceLimitExceeded"
	ErrCodeInvalidNetworkInterfaceIDBad = "InvalidNetworkInterfaceID.Malformed"
)

// DefaultVPCCIDR is the address range of every default VPC, as on EC2.
const DefaultVPCCIDR = "172.31.0.0/16"

// DefaultGroupName names the security group every VPC is created with.
const DefaultGroupName = "default"

// VPC is a virtual private cloud: an address range that subnets divide.
// minicloud keeps one, the default VPC of each account; its subnets map to
// ESXi port groups.
type VPC struct {
	ID        string
	OwnerID   string
	CIDRBlock string
	// CIDRAssociationID names the association of CIDRBlock with the
	// VPC, as EC2 reports it (vpc-cidr-assoc-...).
	CIDRAssociationID string
	IsDefault         bool
	Tags              Tags `json:",omitempty"`
}

// Clone returns a deep copy of v.
func (v *VPC) Clone() *VPC {
	c := *v
	c.Tags = v.Tags.Clone()
	return &c
}

// Subnet is a range of a VPC's addresses in one availability zone. Its
// instances' VMs attach to the ESXi port group the zone's subnet is mapped
// to, and take their addresses from that network's DHCP.
type Subnet struct {
	ID               string
	VPCID            string
	OwnerID          string
	AvailabilityZone string
	CIDRBlock        string
	// DefaultForAZ marks the default subnet of its zone: RunInstances
	// places an instance there when it names no subnet.
	DefaultForAZ        bool
	MapPublicIPOnLaunch bool `json:",omitempty"`
	Tags                Tags `json:",omitempty"`

	// AvailabilityZoneID, AvailableIPs and PortGroup are not stored:
	// the service fills them in from the fleet, the instances and the
	// configuration when it describes the subnet.
	AvailabilityZoneID string `json:"-"`
	AvailableIPs       int    `json:"-"`
	PortGroup          string `json:"-"`
}

// Clone returns a deep copy of s.
func (s *Subnet) Clone() *Subnet {
	c := *s
	c.Tags = s.Tags.Clone()
	return &c
}

// SecurityGroup is a named set of firewall rules in a VPC. minicloud keeps
// the rules and reports them; it does not enforce them on ESXi.
type SecurityGroup struct {
	ID          string
	Name        string
	Description string
	OwnerID     string
	VPCID       string
	Rules       []SecurityGroupRule `json:",omitempty"`
	Tags        Tags                `json:",omitempty"`
}

// Clone returns a deep copy of g.
func (g *SecurityGroup) Clone() *SecurityGroup {
	c := *g
	c.Rules = append([]SecurityGroupRule(nil), g.Rules...)
	for i := range c.Rules {
		c.Rules[i].Tags = c.Rules[i].Tags.Clone()
	}
	c.Tags = g.Tags.Clone()
	return &c
}

// Protocols a rule names by word; any other is an IP protocol number.
const (
	ProtocolAll    = "-1"
	ProtocolTCP    = "tcp"
	ProtocolUDP    = "udp"
	ProtocolICMP   = "icmp"
	ProtocolICMPv6 = "icmpv6"
)

// SecurityGroupRule is one rule of a security group: traffic of one
// protocol and port range, into the group's instances (ingress) or out of
// them (egress), from or to one peer: an IPv4 range, an IPv6 range or
// another group.
type SecurityGroupRule struct {
	ID       string // sgr-...
	Egress   bool   `json:",omitempty"`
	Protocol string // ProtocolAll, tcp, udp, icmp, icmpv6 or a number
	// FromPort and ToPort bound the ports of tcp and udp; for icmp they
	// are the type and code. Both are -1 when the protocol has no ports
	// or every type is allowed.
	FromPort int
	ToPort   int

	CIDRIPv4 string `json:",omitempty"`
	CIDRIPv6 string `json:",omitempty"`
	// GroupID and GroupOwnerID name a peer group.
	GroupID      string `json:",omitempty"`
	GroupOwnerID string `json:",omitempty"`

	Description string `json:",omitempty"`
	Tags        Tags   `json:",omitempty"`
}

// SameTraffic reports whether r and o allow the same traffic from the same
// peer, whatever their ids and descriptions: EC2 keeps one of them only.
func (r SecurityGroupRule) SameTraffic(o SecurityGroupRule) bool {
	return r.Egress == o.Egress && r.Protocol == o.Protocol &&
		r.FromPort == o.FromPort && r.ToPort == o.ToPort &&
		r.CIDRIPv4 == o.CIDRIPv4 && r.CIDRIPv6 == o.CIDRIPv6 &&
		r.GroupID == o.GroupID
}

// HasPorts reports whether the rule's protocol has the port (or ICMP type)
// fields EC2 reports.
func (r SecurityGroupRule) HasPorts() bool {
	switch r.Protocol {
	case ProtocolTCP, ProtocolUDP, ProtocolICMP, ProtocolICMPv6:
		return true
	}
	return false
}

// IPPermission is EC2's grouping of rules: one protocol and port range
// with every peer it allows. Requests carry rules in this form and
// DescribeSecurityGroups answers in it.
type IPPermission struct {
	Protocol string
	// FromPort and ToPort are nil when the request did not send them.
	FromPort, ToPort *int
	IPRanges         []IPRange
	IPv6Ranges       []IPRange
	Groups           []GroupPair
	PrefixListIDs    []string
}

// IPRange is a peer address range and the rule's description.
type IPRange struct {
	CIDR        string
	Description string
}

// GroupPair names a peer security group: by id, or by name in the
// default VPC. UserID is the group's owner.
type GroupPair struct {
	GroupID     string
	GroupName   string
	UserID      string
	VPCID       string
	Description string
}

// Permissions groups the group's ingress or egress rules as EC2 reports
// them: one IPPermission per protocol and port range, in the order each
// first appears, with its peers in the order they were added. name looks
// up the names of peer groups; it may return "".
func (g *SecurityGroup) Permissions(egress bool, name func(id string) string) []IPPermission {
	var out []IPPermission
	index := map[string]int{}
	for _, r := range g.Rules {
		if r.Egress != egress {
			continue
		}
		key := r.Protocol + "/" + strconv.Itoa(r.FromPort) + "/" + strconv.Itoa(r.ToPort)
		i, ok := index[key]
		if !ok {
			p := IPPermission{Protocol: r.Protocol}
			if r.HasPorts() {
				from, to := r.FromPort, r.ToPort
				p.FromPort, p.ToPort = &from, &to
			}
			i = len(out)
			index[key] = i
			out = append(out, p)
		}
		p := &out[i]
		switch {
		case r.CIDRIPv4 != "":
			p.IPRanges = append(p.IPRanges, IPRange{CIDR: r.CIDRIPv4, Description: r.Description})
		case r.CIDRIPv6 != "":
			p.IPv6Ranges = append(p.IPv6Ranges, IPRange{CIDR: r.CIDRIPv6, Description: r.Description})
		case r.GroupID != "":
			pair := GroupPair{GroupID: r.GroupID, UserID: r.GroupOwnerID, Description: r.Description}
			if name != nil {
				pair.GroupName = name(r.GroupID)
			}
			p.Groups = append(p.Groups, pair)
		}
	}
	return out
}

// GroupIdentifier names a security group an instance belongs to. EC2
// group names never change, so an instance keeps the name beside the id.
type GroupIdentifier struct {
	ID   string
	Name string
}

// Networks is the part of the EC2 API about VPCs, subnets and security
// groups. Service embeds it.
type Networks interface {
	DescribeVpcs(ctx context.Context, in *DescribeVPCsInput) (*DescribeVPCsOutput, error)
	DescribeSubnets(ctx context.Context, in *DescribeSubnetsInput) (*DescribeSubnetsOutput, error)
	DescribeSecurityGroups(ctx context.Context,
		in *DescribeSecurityGroupsInput) (*DescribeSecurityGroupsOutput, error)
	DescribeSecurityGroupRules(ctx context.Context,
		in *DescribeSecurityGroupRulesInput) (*DescribeSecurityGroupRulesOutput, error)
	CreateSecurityGroup(ctx context.Context, in *CreateSecurityGroupInput) (*SecurityGroup, error)
	DeleteSecurityGroup(ctx context.Context, in *DeleteSecurityGroupInput) (string, error)
	AuthorizeSecurityGroupRules(ctx context.Context, in *SecurityGroupRulesInput) ([]GroupRule, error)
	RevokeSecurityGroupRules(ctx context.Context,
		in *SecurityGroupRulesInput) (*RevokeSecurityGroupRulesOutput, error)
}

// DescribeVPCsInput is a DescribeVpcs request.
type DescribeVPCsInput struct {
	DryRun     bool
	VPCIDs     []string
	Filters    []Filter
	MaxResults int
	NextToken  string
}

// DescribeVPCsOutput is one page of VPCs.
type DescribeVPCsOutput struct {
	VPCs      []*VPC
	NextToken string
}

// DescribeSubnetsInput is a DescribeSubnets request.
type DescribeSubnetsInput struct {
	DryRun     bool
	SubnetIDs  []string
	Filters    []Filter
	MaxResults int
	NextToken  string
}

// DescribeSubnetsOutput is one page of subnets.
type DescribeSubnetsOutput struct {
	Subnets   []*Subnet
	NextToken string
}

// DescribeSecurityGroupsInput is a DescribeSecurityGroups request.
// GroupNames name groups of the default VPC.
type DescribeSecurityGroupsInput struct {
	DryRun     bool
	GroupIDs   []string
	GroupNames []string
	Filters    []Filter
	MaxResults int
	NextToken  string
}

// DescribeSecurityGroupsOutput is one page of security groups, with the
// names of every group their rules refer to.
type DescribeSecurityGroupsOutput struct {
	Groups     []*SecurityGroup
	GroupNames map[string]string // by group id
	NextToken  string
}

// DescribeSecurityGroupRulesInput is a DescribeSecurityGroupRules request.
type DescribeSecurityGroupRulesInput struct {
	DryRun     bool
	RuleIDs    []string
	Filters    []Filter
	MaxResults int
	NextToken  string
}

// GroupRule is a rule with the group it belongs to, as
// DescribeSecurityGroupRules and the Authorize calls report it.
type GroupRule struct {
	GroupID      string
	GroupOwnerID string
	Rule         SecurityGroupRule
}

// DescribeSecurityGroupRulesOutput is one page of rules.
type DescribeSecurityGroupRulesOutput struct {
	Rules     []GroupRule
	NextToken string
}

// CreateSecurityGroupInput is a CreateSecurityGroup request. An empty VPCID
// means the default VPC.
type CreateSecurityGroupInput struct {
	DryRun            bool
	GroupName         string
	Description       string
	VPCID             string
	TagSpecifications []TagSpecification
}

// DeleteSecurityGroupInput names the group to delete, by id or by name in
// the default VPC.
type DeleteSecurityGroupInput struct {
	DryRun    bool
	GroupID   string
	GroupName string
}

// SecurityGroupRulesInput is an Authorize or Revoke call, for ingress or
// egress rules. The group is named by id or, for ingress, by name in the
// default VPC. Rules come as IPPermissions, or for ingress in the older
// flat form (CidrIp, IpProtocol, FromPort, ToPort, SourceSecurityGroup*),
// or, for Revoke, as rule ids.
type SecurityGroupRulesInput struct {
	DryRun      bool
	Egress      bool
	GroupID     string
	GroupName   string
	Permissions []IPPermission
	// Flat is the older form, a single permission; nil when not sent.
	Flat              *IPPermission
	RuleIDs           []string
	TagSpecifications []TagSpecification
}

// RevokeSecurityGroupRulesOutput is what a Revoke call removed, and the
// permissions it was asked to remove that the group did not have. EC2
// succeeds in that case as long as something matched.
type RevokeSecurityGroupRulesOutput struct {
	Revoked []SecurityGroupRule
	Unknown []IPPermission
}

// RunNetwork is where RunInstances attaches each instance's one network
// interface: SubnetId and the groups, given directly or as the first
// NetworkInterface.N. Nothing set means the default subnet of the zone the
// scheduler picks and the default security group.
type RunNetwork struct {
	SubnetID           string
	SecurityGroupIDs   []string
	SecurityGroupNames []string // SecurityGroup.N: names in the default VPC
	PrivateIPAddress   string
	Interfaces         []RunNetworkInterface
}

// RunNetworkInterface is one NetworkInterface.N of RunInstances.
type RunNetworkInterface struct {
	DeviceIndex        int
	SubnetID           string
	SecurityGroupIDs   []string
	NetworkInterfaceID string
	PrivateIPAddress   string
	// AssociatePublicIP is nil when not sent.
	AssociatePublicIP *bool
}
