package compute

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"sync"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/store"
)

// NetworkStore is the part of Store for VPCs, subnets, security groups
// and the tags of every kind of resource. *store.DB implements it.
type NetworkStore interface {
	EnsureDefaultNetwork(n *store.DefaultNetwork) (*store.DefaultNetwork, error)
	VPCs() ([]*cloud.VPC, error)
	Subnets() ([]*cloud.Subnet, error)
	Subnet(id string) (*cloud.Subnet, error)
	SecurityGroups() ([]*cloud.SecurityGroup, error)
	SecurityGroup(id string) (*cloud.SecurityGroup, error)
	CreateSecurityGroup(g *cloud.SecurityGroup) error
	UpdateSecurityGroup(id string, fn func(*cloud.SecurityGroup) error) (*cloud.SecurityGroup, error)
	DeleteSecurityGroup(id string, check func(*cloud.SecurityGroup) error) error
	UpdateTags(ids []string, slot func(any) (store.TagSlot, bool),
		edit func(cloud.Tags) (cloud.Tags, error)) error
}

// networks caches each account's default network, which is made once and
// then only grows a subnet when a zone is added.
type networks struct {
	mu       sync.Mutex                       // guards defaults
	defaults map[string]*store.DefaultNetwork // by account
}

// subnetBits is the size of default subnets: a /20 each, as on EC2.
const subnetBits = 20

// EnsureDefaultNetworks makes sure each account has its default VPC, a
// default subnet in every availability zone of the configured hosts and
// its default security group. What exists keeps its ids; an account seen
// for the first time later gets its network on its first request.
func (s *Service) EnsureDefaultNetworks(accounts ...string) error {
	for _, a := range accounts {
		if _, err := s.defaultNetwork(a); err != nil {
			return err
		}
	}
	return nil
}

// defaultNetwork returns the account's default network, making it, or the
// subnets of zones added since, when needed.
func (s *Service) defaultNetwork(account string) (*store.DefaultNetwork, error) {
	zones := s.fleet.zones()
	s.nets.mu.Lock()
	n := s.nets.defaults[account]
	s.nets.mu.Unlock()
	if n != nil && len(n.Subnets) >= len(zones) {
		return n, nil
	}

	n, err := s.store.EnsureDefaultNetwork(s.planDefaultNetwork(account, n, zones))
	if err != nil {
		return nil, fmt.Errorf("compute: default network of %s: %w", account, err)
	}
	s.nets.mu.Lock()
	if s.nets.defaults == nil {
		s.nets.defaults = map[string]*store.DefaultNetwork{}
	}
	s.nets.defaults[account] = n
	s.nets.mu.Unlock()
	return n, nil
}

// planDefaultNetwork lays out a default network as EC2 does: 172.31.0.0/16
// with a /20 per zone, the first zone's at 172.31.0.0, the next at
// 172.31.16.0 and so on; a zone added later takes the first free /20. cur
// is what the account has, or nil when not yet known.
func (s *Service) planDefaultNetwork(account string, cur *store.DefaultNetwork,
	zones []string,
) *store.DefaultNetwork {
	vpc := &cloud.VPC{
		ID: cloud.NewID(cloud.PrefixVPC), OwnerID: account, CIDRBlock: cloud.DefaultVPCCIDR,
		CIDRAssociationID: cloud.NewID("vpc-cidr-assoc-"), IsDefault: true,
	}
	group := newSecurityGroup(account, vpc.ID, cloud.DefaultGroupName,
		"default VPC security group")
	group.Rules = append(group.Rules, cloud.SecurityGroupRule{
		ID: cloud.NewID(cloud.PrefixSecurityGroupRule), Protocol: cloud.ProtocolAll,
		FromPort: -1, ToPort: -1, GroupID: group.ID, GroupOwnerID: account,
	})
	n := &store.DefaultNetwork{VPC: vpc, Group: group}

	// Which /20s are taken, and by which zones.
	taken := map[string]bool{}
	have := map[string]bool{}
	if cur != nil {
		for _, sn := range cur.Subnets {
			taken[sn.CIDRBlock], have[sn.AvailabilityZone] = true, true
		}
	}
	base := netip.MustParsePrefix(cloud.DefaultVPCCIDR)
	blocks := 1 << (subnetBits - base.Bits())
	for i, z := range zones {
		if have[z] {
			continue
		}
		cidr := ""
		for j := range blocks {
			c := subnetCIDR(base, (i+j)%blocks)
			if !taken[c] {
				cidr = c
				break
			}
		}
		if cidr == "" {
			s.log.Error("no /20 left in the default VPC for a zone", "zone", z)
			continue
		}
		taken[cidr] = true
		n.Subnets = append(n.Subnets, &cloud.Subnet{
			ID: cloud.NewID(cloud.PrefixSubnet), VPCID: vpc.ID, OwnerID: account,
			AvailabilityZone: z, CIDRBlock: cidr, DefaultForAZ: true,
		})
	}
	return n
}

// subnetCIDR returns the i-th /20 of base.
func subnetCIDR(base netip.Prefix, i int) string {
	a := base.Addr().As4()
	n := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	n += uint32(i) << (32 - subnetBits)
	addr := netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	return netip.PrefixFrom(addr, subnetBits).String()
}

// newSecurityGroup returns a group that allows all traffic out and none
// in, as EC2 creates every group.
func newSecurityGroup(owner, vpcID, name, description string) *cloud.SecurityGroup {
	return &cloud.SecurityGroup{
		ID: cloud.NewID(cloud.PrefixSecurityGroup), Name: name, Description: description,
		OwnerID: owner, VPCID: vpcID,
		Rules: []cloud.SecurityGroupRule{{
			ID: cloud.NewID(cloud.PrefixSecurityGroupRule), Egress: true,
			Protocol: cloud.ProtocolAll, FromPort: -1, ToPort: -1, CIDRIPv4: "0.0.0.0/0",
		}},
	}
}

// vpcFilters are the DescribeVpcs filter names, besides the tag filters.
var vpcFilters = map[string]func(*cloud.VPC) []string{
	"vpc-id":                            func(v *cloud.VPC) []string { return one(v.ID) },
	"cidr":                              func(v *cloud.VPC) []string { return one(v.CIDRBlock) },
	"cidr-block-association.cidr-block": func(v *cloud.VPC) []string { return one(v.CIDRBlock) },
	"cidr-block-association.association-id": func(v *cloud.VPC) []string {
		return one(v.CIDRAssociationID)
	},
	"cidr-block-association.state": func(*cloud.VPC) []string { return one("associated") },
	"is-default":                   func(v *cloud.VPC) []string { return one(strconv.FormatBool(v.IsDefault)) },
	"isDefault":                    func(v *cloud.VPC) []string { return one(strconv.FormatBool(v.IsDefault)) },
	"state":                        func(*cloud.VPC) []string { return one("available") },
	"owner-id":                     func(v *cloud.VPC) []string { return one(v.OwnerID) },
	"dhcp-options-id":              func(*cloud.VPC) []string { return one("default") },
	"instance-tenancy":             func(*cloud.VPC) []string { return one("default") },
}

// DescribeVpcs lists the caller's VPCs: its default VPC.
func (s *Service) DescribeVpcs(ctx context.Context,
	in *cloud.DescribeVPCsInput,
) (*cloud.DescribeVPCsOutput, error) {
	if err := checkIDs(in.VPCIDs, cloud.PrefixVPC, cloud.ErrCodeInvalidVPCIDMalformed); err != nil {
		return nil, err
	}
	match, after, err := startListing(in.Filters, vpcFilters,
		func(v *cloud.VPC) cloud.Tags { return v.Tags }, in.MaxResults, in.NextToken, in.DryRun)
	if err != nil {
		return nil, err
	}
	who, err := s.networkCaller(ctx)
	if err != nil {
		return nil, err
	}

	all, err := s.store.VPCs()
	if err != nil {
		return nil, err
	}
	mine := slices.DeleteFunc(all, func(v *cloud.VPC) bool { return v.OwnerID != who.AccountID })
	if missing := missingIDs(in.VPCIDs, mine, func(v *cloud.VPC) string { return v.ID }); len(missing) > 0 {
		return nil, cloud.Errorf(cloud.ErrCodeInvalidVPCIDNotFound,
			"The vpc ID '%s' does not exist", missing[0])
	}
	out := slices.DeleteFunc(mine, func(v *cloud.VPC) bool {
		return !(len(in.VPCIDs) == 0 || slices.Contains(in.VPCIDs, v.ID)) || !match(v)
	})
	page, next := paginate(out, after, in.MaxResults, func(v *cloud.VPC) string { return v.ID })
	return &cloud.DescribeVPCsOutput{VPCs: page, NextToken: next}, nil
}

// subnetFilters are the DescribeSubnets filter names, besides the tag
// filters. EC2 also accepts the older camel-case names.
var subnetFilters = func() map[string]func(*cloud.Subnet) []string {
	m := map[string]func(*cloud.Subnet) []string{
		"subnet-id":            func(n *cloud.Subnet) []string { return one(n.ID) },
		"vpc-id":               func(n *cloud.Subnet) []string { return one(n.VPCID) },
		"availability-zone":    func(n *cloud.Subnet) []string { return one(n.AvailabilityZone) },
		"availability-zone-id": func(n *cloud.Subnet) []string { return one(n.AvailabilityZoneID) },
		"cidr-block":           func(n *cloud.Subnet) []string { return one(n.CIDRBlock) },
		"default-for-az":       func(n *cloud.Subnet) []string { return one(strconv.FormatBool(n.DefaultForAZ)) },
		"state":                func(*cloud.Subnet) []string { return one("available") },
		"owner-id":             func(n *cloud.Subnet) []string { return one(n.OwnerID) },
		"map-public-ip-on-launch": func(n *cloud.Subnet) []string {
			return one(strconv.FormatBool(n.MapPublicIPOnLaunch))
		},
		"available-ip-address-count": func(n *cloud.Subnet) []string {
			return one(strconv.Itoa(n.AvailableIPs))
		},
	}
	m["availabilityZone"] = m["availability-zone"]
	m["availabilityZoneId"] = m["availability-zone-id"]
	m["cidr"], m["cidrBlock"] = m["cidr-block"], m["cidr-block"]
	m["defaultForAz"] = m["default-for-az"]
	m["subnet-arn"] = func(n *cloud.Subnet) []string { return one(subnetARN(n)) }
	return m
}()

// subnetARN returns the subnet's ARN as EC2 writes it.
func subnetARN(n *cloud.Subnet) string {
	return "arn:aws:ec2:" + regionOf(n.AvailabilityZone) + ":" + n.OwnerID + ":subnet/" + n.ID
}

// regionOf returns the region of a zone name: us-east-1a is in us-east-1.
func regionOf(zone string) string {
	if len(zone) > 1 {
		return zone[:len(zone)-1]
	}
	return zone
}

// DescribeSubnets lists the caller's subnets: the default subnet of each
// zone, with how many addresses each has left.
func (s *Service) DescribeSubnets(ctx context.Context,
	in *cloud.DescribeSubnetsInput,
) (*cloud.DescribeSubnetsOutput, error) {
	if err := checkIDs(in.SubnetIDs, cloud.PrefixSubnet, cloud.ErrCodeInvalidSubnetIDMalformed); err != nil {
		return nil, err
	}
	match, after, err := startListing(in.Filters, subnetFilters,
		func(n *cloud.Subnet) cloud.Tags { return n.Tags }, in.MaxResults, in.NextToken, in.DryRun)
	if err != nil {
		return nil, err
	}
	who := caller(ctx)
	mine, err := s.subnets(who.AccountID)
	if err != nil {
		return nil, err
	}
	missing := missingIDs(in.SubnetIDs, mine, func(n *cloud.Subnet) string { return n.ID })
	if len(missing) > 0 {
		return nil, subnetNotFound(missing[0])
	}
	if err := s.fillSubnets(mine); err != nil {
		return nil, err
	}
	out := slices.DeleteFunc(mine, func(n *cloud.Subnet) bool {
		return !(len(in.SubnetIDs) == 0 || slices.Contains(in.SubnetIDs, n.ID)) || !match(n)
	})
	page, next := paginate(out, after, in.MaxResults, func(n *cloud.Subnet) string { return n.ID })
	return &cloud.DescribeSubnetsOutput{Subnets: page, NextToken: next}, nil
}

// subnets returns the account's subnets, making its default network first.
func (s *Service) subnets(account string) ([]*cloud.Subnet, error) {
	if _, err := s.defaultNetwork(account); err != nil {
		return nil, err
	}
	all, err := s.store.Subnets()
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(n *cloud.Subnet) bool { return n.OwnerID != account }), nil
}

// fillSubnets sets what subnets report but do not store: the zone id, the
// port group and the addresses left, which EC2 counts as the range less
// five reserved addresses and one per instance.
func (s *Service) fillSubnets(subnets []*cloud.Subnet) error {
	used := map[string]int{}
	err := s.store.ScanInstances("", func(inst *cloud.Instance) bool {
		if inst.SubnetID != "" && inst.State != cloud.StateTerminated {
			used[inst.SubnetID]++
		}
		return true
	})
	if err != nil {
		return err
	}
	zones := s.zones()
	for _, n := range subnets {
		for _, z := range zones {
			if z.Name == n.AvailabilityZone {
				n.AvailabilityZoneID = z.ID
			}
		}
		n.PortGroup = s.portGroup(n.AvailabilityZone, "")
		if p, err := netip.ParsePrefix(n.CIDRBlock); err == nil {
			n.AvailableIPs = max(0, 1<<(32-p.Bits())-5-used[n.ID])
		}
	}
	return nil
}

// portGroup returns the ESXi port group that VMs in the zone's subnets
// attach to: the one configured for the zone, else the host's network.
func (s *Service) portGroup(zone, hostNetwork string) string {
	if pg := s.opts.SubnetPortGroups[zone]; pg != "" {
		return pg
	}
	if hostNetwork != "" {
		return hostNetwork
	}
	return "VM Network"
}

// subnetNotFound is EC2's error for an unknown subnet id.
func subnetNotFound(id string) error {
	return cloud.Errorf(cloud.ErrCodeInvalidSubnetIDNotFound,
		"The subnet ID '%s' does not exist", id)
}

// checkIDs reports the first id that is not prefix and 8 or 17 hex digits,
// with code.
func checkIDs(ids []string, prefix, code string) error {
	for _, id := range ids {
		if !cloud.ValidID(prefix, id) {
			return cloud.Errorf(code, "Invalid id: \"%s\"", id)
		}
	}
	return nil
}

// missingIDs returns the ids that no resource in list has.
func missingIDs[T any](ids []string, list []T, id func(T) string) []string {
	var missing []string
	for _, want := range ids {
		if !slices.ContainsFunc(list, func(v T) bool { return id(v) == want }) {
			missing = append(missing, want)
		}
	}
	return missing
}

// pageArgs checks MaxResults (5 to 1000), decodes NextToken and ends a
// dry run, in the order EC2 checks them.
func pageArgs(max int, token string, dryRun bool) (string, error) {
	if err := checkMaxResults(max, 5, 1000); err != nil {
		return "", err
	}
	after, err := decodeToken(token)
	if err != nil {
		return "", err
	}
	if dryRun {
		return "", cloud.ErrDryRun
	}
	return after, nil
}

// networkCaller returns the caller of ctx once its default VPC, subnets
// and security group exist: every network call sees them, however new
// the account.
func (s *Service) networkCaller(ctx context.Context) (cloud.Caller, error) {
	who := caller(ctx)
	_, err := s.defaultNetwork(who.AccountID)
	return who, err
}

// isNotFound reports whether err is the store's ErrNotFound.
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
