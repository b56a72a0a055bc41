package compute

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/store"
)

// runNetwork is where the instances of one RunInstances call attach: a
// subnet, or the default subnet of the zone each is placed in, and their
// security groups.
type runNetwork struct {
	subnet   *cloud.Subnet // nil: the default subnet of the instance's zone
	groups   []cloud.GroupIdentifier
	zone     string // the zone the subnet or Placement.AvailabilityZone names
	defaults *store.DefaultNetwork
}

// checkRunNetwork validates the network of a RunInstances request, as
// EC2 does, and returns where its instances attach. A subnet decides the
// zone; a Placement.AvailabilityZone that names another is refused.
func (s *Service) checkRunNetwork(ctx context.Context, in *cloud.RunInstancesInput) (*runNetwork, error) {
	req, err := flattenRunNetwork(in.Network)
	if err != nil {
		return nil, err
	}
	who := caller(ctx)
	n := &runNetwork{zone: in.AvailabilityZone}
	if n.defaults, err = s.defaultNetwork(who.AccountID); err != nil {
		return nil, err
	}
	vpcID := n.defaults.VPC.ID

	// The subnet picks the VPC and the zone.
	if req.SubnetID != "" {
		if n.subnet, err = s.subnet(who.AccountID, req.SubnetID); err != nil {
			return nil, err
		}
		if in.AvailabilityZone != "" && in.AvailabilityZone != n.subnet.AvailabilityZone {
			return nil, cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
				"Value (%s) for parameter availabilityZone is invalid. Subnet '%s' is in the "+
					"availability zone %s", in.AvailabilityZone, n.subnet.ID, n.subnet.AvailabilityZone)
		}
		n.zone, vpcID = n.subnet.AvailabilityZone, n.subnet.VPCID
	}

	// The groups, by id and by name, must be in that VPC.
	if n.groups, err = s.runGroups(who.AccountID, vpcID, req); err != nil {
		return nil, err
	}
	if len(n.groups) == 0 {
		g := n.defaults.Group
		n.groups = []cloud.GroupIdentifier{{ID: g.ID, Name: g.Name}}
	}
	return n, nil
}

// flattenRunNetwork merges the instance-level parameters and the one
// NetworkInterface.N minicloud's instances can have, refusing what EC2
// refuses together and what minicloud cannot do.
func flattenRunNetwork(nw cloud.RunNetwork) (cloud.RunNetwork, error) {
	out := nw
	out.Interfaces = nil
	if len(nw.Interfaces) > 1 {
		return out, cloud.Errorf(cloud.ErrCodeUnsupported,
			"minicloud's instances have one network interface.")
	}
	if len(nw.Interfaces) == 1 {
		ni := nw.Interfaces[0]
		switch {
		case nw.SubnetID != "" && ni.SubnetID != "":
			return out, cloud.Errorf(cloud.ErrCodeInvalidParameterCombination,
				"Network interfaces and an instance-level subnet ID may not be specified on the same request")
		case len(nw.SecurityGroupIDs)+len(nw.SecurityGroupNames) > 0:
			return out, cloud.Errorf(cloud.ErrCodeInvalidParameterCombination,
				"Network interfaces and an instance-level security groups may not be specified on the same request")
		case ni.DeviceIndex != 0:
			return out, cloud.InvalidValue("NetworkInterface.DeviceIndex", strconv.Itoa(ni.DeviceIndex),
				"The primary network interface must have device index 0.")
		case ni.NetworkInterfaceID != "":
			return out, cloud.Errorf(cloud.ErrCodeUnsupported,
				"minicloud makes each instance's network interface; it cannot attach an existing one.")
		case ni.AssociatePublicIP != nil && *ni.AssociatePublicIP:
			return out, cloud.Errorf(cloud.ErrCodeUnsupported,
				"minicloud has no public IPv4 addresses.")
		}
		if ni.SubnetID != "" {
			out.SubnetID = ni.SubnetID
		}
		out.SecurityGroupIDs = ni.SecurityGroupIDs
		if ni.PrivateIPAddress != "" {
			out.PrivateIPAddress = ni.PrivateIPAddress
		}
	}
	if out.PrivateIPAddress != "" {
		return out, cloud.Errorf(cloud.ErrCodeUnsupported,
			"minicloud does not assign private addresses: guests take theirs by DHCP "+
				"on their subnet's port group.")
	}
	if out.SubnetID != "" && !cloud.ValidID(cloud.PrefixSubnet, out.SubnetID) {
		return out, cloud.Errorf(cloud.ErrCodeInvalidSubnetIDMalformed, "Invalid id: \"%s\"", out.SubnetID)
	}
	return out, checkIDs(out.SecurityGroupIDs, cloud.PrefixSecurityGroup, cloud.ErrCodeInvalidGroupIDMalformed)
}

// subnet returns the account's subnet with id.
func (s *Service) subnet(account, id string) (*cloud.Subnet, error) {
	n, err := s.store.Subnet(id)
	if isNotFound(err) || err == nil && n.OwnerID != account {
		return nil, subnetNotFound(id)
	}
	return n, err
}

// runGroups resolves the security groups of a launch, which must all be in
// the VPC vpcID.
func (s *Service) runGroups(account, vpcID string, req cloud.RunNetwork) ([]cloud.GroupIdentifier, error) {
	var out []cloud.GroupIdentifier
	add := func(g *cloud.SecurityGroup) error {
		if g.VPCID != vpcID {
			return cloud.Errorf("InvalidParameter",
				"Security group %s and subnet %s belong to different networks.", g.ID, req.SubnetID)
		}
		if !slices.ContainsFunc(out, func(o cloud.GroupIdentifier) bool { return o.ID == g.ID }) {
			out = append(out, cloud.GroupIdentifier{ID: g.ID, Name: g.Name})
		}
		return nil
	}
	for _, id := range req.SecurityGroupIDs {
		g, err := s.group(account, id, "")
		if err != nil {
			return nil, err
		}
		if err := add(g); err != nil {
			return nil, err
		}
	}
	for _, name := range req.SecurityGroupNames {
		g, err := s.group(account, "", name)
		if err != nil {
			return nil, err
		}
		if err := add(g); err != nil {
			return nil, err
		}
	}
	if len(out) > maxGroupsPerNIC {
		return nil, cloud.Errorf(cloud.ErrCodeSecurityGroupsPerInstance,
			"The maximum number of security groups per interface has been reached.")
	}
	return out, nil
}

// attach gives each new instance its network interface: the subnet asked
// for or its zone's default subnet, the groups, an eni- id with a MAC
// address of its own, and the subnet's port group.
func (s *Service) attach(n *runNetwork, insts []*cloud.Instance) {
	for _, inst := range insts {
		sn := n.subnet
		if sn == nil {
			for _, d := range n.defaults.Subnets {
				if d.AvailabilityZone == inst.AvailabilityZone {
					sn = d
				}
			}
		}
		if sn != nil {
			inst.VPCID, inst.SubnetID = sn.VPCID, sn.ID
		}
		inst.SecurityGroups = slices.Clone(n.groups)
		inst.NetworkInterfaceID = cloud.NewID(cloud.PrefixNetworkInterface)
		inst.MACAddress = macFor(inst.NetworkInterfaceID)
		inst.Network = s.portGroup(inst.AvailabilityZone, inst.Network)
	}
}

// macFor derives a MAC address from a network interface id, in the range
// VMware keeps for addresses set by hand (00:50:56:00:00:00 to
// 00:50:56:3f:ff:ff), which ESXi accepts as a static address.
func macFor(eni string) string {
	hex := strings.TrimPrefix(eni, cloud.PrefixNetworkInterface)
	for len(hex) < 6 {
		hex += "0"
	}
	b := make([]byte, 3)
	for i := range b {
		v, _ := strconv.ParseUint(hex[2*i:2*i+2], 16, 8)
		b[i] = byte(v)
	}
	return fmt.Sprintf("00:50:56:%02x:%02x:%02x", b[0]&0x3f, b[1], b[2])
}

// nicConfig returns the .vmx keys that give the VM's NIC the instance's
// MAC address, so that the address EC2 reports is the one the guest sees.
func nicConfig(inst *cloud.Instance) map[string]string {
	if inst.MACAddress == "" {
		return nil
	}
	return map[string]string{
		"ethernet0.addressType": "static",
		"ethernet0.address":     inst.MACAddress,
	}
}

// networkFilters are the DescribeInstances filters about the network.
var networkFilters = map[string]func(*cloud.Instance) []string{
	"vpc-id":    func(i *cloud.Instance) []string { return nonEmpty(i.VPCID) },
	"subnet-id": func(i *cloud.Instance) []string { return nonEmpty(i.SubnetID) },
	"network-interface.network-interface-id": func(i *cloud.Instance) []string {
		return nonEmpty(i.NetworkInterfaceID)
	},
	"network-interface.mac-address": func(i *cloud.Instance) []string { return nonEmpty(i.MACAddress) },
	"mac-address":                   func(i *cloud.Instance) []string { return nonEmpty(i.MACAddress) },
	"instance.group-id":             instanceGroups(func(g cloud.GroupIdentifier) string { return g.ID }),
	"instance.group-name":           instanceGroups(func(g cloud.GroupIdentifier) string { return g.Name }),
	"group-id":                      instanceGroups(func(g cloud.GroupIdentifier) string { return g.ID }),
	"group-name":                    instanceGroups(func(g cloud.GroupIdentifier) string { return g.Name }),
}

// instanceGroups returns a filter field over an instance's groups.
func instanceGroups(get func(cloud.GroupIdentifier) string) func(*cloud.Instance) []string {
	return func(i *cloud.Instance) []string {
		var out []string
		for _, g := range i.SecurityGroups {
			out = append(out, get(g))
		}
		return out
	}
}

// The network filters join DescribeInstances' own.
func init() {
	for name, get := range networkFilters {
		instanceFilters[name] = get
	}
}
