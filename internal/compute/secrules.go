package compute

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/minicloud/minicloud/internal/cloud"
)

// ruleTypes are the resource types an Authorize call's tag specification
// may name.
var ruleTypes = map[string]bool{"security-group-rule": true}

// AuthorizeSecurityGroupRules adds ingress or egress rules to a group and
// returns them, one per peer, with their new ids. A rule the group has
// already, or one given twice, is InvalidPermission.Duplicate and nothing
// is added.
func (s *Service) AuthorizeSecurityGroupRules(ctx context.Context,
	in *cloud.SecurityGroupRulesInput,
) ([]cloud.GroupRule, error) {
	who := caller(ctx)
	g, err := s.ruleGroup(who.AccountID, in)
	if err != nil {
		return nil, err
	}
	tags, err := specTagsFor(in.TagSpecifications, ruleTypes, "security-group-rule")
	if err != nil {
		return nil, err
	}
	rules, err := s.expandRules(who.AccountID, g, in)
	if err != nil {
		return nil, err
	}
	for i := range rules {
		rules[i].ID = cloud.NewID(cloud.PrefixSecurityGroupRule)
		rules[i].Tags = tags.Clone()
	}

	// Check against the group as stored when the change is applied.
	add := func(g *cloud.SecurityGroup) error {
		count := 0
		for _, r := range g.Rules {
			if r.Egress == in.Egress {
				count++
			}
		}
		if count+len(rules) > maxRulesPerGroup {
			return cloud.Errorf(cloud.ErrCodeRulesPerGroupLimitExceeded,
				"The maximum number of rules per security group has been reached.")
		}
		for i, r := range rules {
			dup := func(o cloud.SecurityGroupRule) bool { return o.SameTraffic(r) }
			if containsRule(g.Rules, dup) || containsRule(rules[:i], dup) {
				return cloud.Errorf(cloud.ErrCodeInvalidPermissionDuplicate,
					"the specified rule %s already exists", describeRule(r))
			}
		}
		if in.DryRun {
			return cloud.ErrDryRun
		}
		g.Rules = append(g.Rules, rules...)
		return nil
	}
	if err := add(g.Clone()); err != nil {
		return nil, err
	}
	if _, err := s.store.UpdateSecurityGroup(g.ID, add); err != nil {
		if isNotFound(err) {
			return nil, groupNotFound(g.ID)
		}
		return nil, err
	}
	out := make([]cloud.GroupRule, len(rules))
	for i, r := range rules {
		out[i] = cloud.GroupRule{GroupID: g.ID, GroupOwnerID: g.OwnerID, Rule: r}
	}
	return out, nil
}

// RevokeSecurityGroupRules removes rules from a group: those named by id,
// or those matching the permissions given. As on EC2, permissions the
// group does not have are reported back as unknown, and the call fails
// with InvalidPermission.NotFound only when none of them matched.
func (s *Service) RevokeSecurityGroupRules(ctx context.Context,
	in *cloud.SecurityGroupRulesInput,
) (*cloud.RevokeSecurityGroupRulesOutput, error) {
	err := checkIDs(in.RuleIDs, cloud.PrefixSecurityGroupRule, cloud.ErrCodeInvalidRuleIDMalformed)
	if err != nil {
		return nil, err
	}
	who := caller(ctx)
	g, err := s.ruleGroup(who.AccountID, in)
	if err != nil {
		return nil, err
	}
	var want []cloud.SecurityGroupRule
	if len(in.RuleIDs) == 0 {
		if want, err = s.expandRules(who.AccountID, g, in); err != nil {
			return nil, err
		}
	}

	// Match against the group as stored when the change is applied.
	out := &cloud.RevokeSecurityGroupRulesOutput{}
	remove := func(g *cloud.SecurityGroup) error {
		*out = cloud.RevokeSecurityGroupRulesOutput{}
		keep, err := revoke(g, in, want, out)
		if err != nil {
			return err
		}
		if in.DryRun {
			return cloud.ErrDryRun
		}
		g.Rules = keep
		return nil
	}
	if err := remove(g.Clone()); err != nil {
		return nil, err
	}
	if _, err := s.store.UpdateSecurityGroup(g.ID, remove); err != nil {
		if isNotFound(err) {
			return nil, groupNotFound(g.ID)
		}
		return nil, err
	}
	return out, nil
}

// revoke returns g's rules without those in.RuleIDs names or want
// matches, and records in out what went and what matched nothing.
func revoke(g *cloud.SecurityGroup, in *cloud.SecurityGroupRulesInput,
	want []cloud.SecurityGroupRule, out *cloud.RevokeSecurityGroupRulesOutput,
) ([]cloud.SecurityGroupRule, error) {
	gone := map[string]bool{}
	for _, id := range in.RuleIDs {
		found := false
		for _, r := range g.Rules {
			if r.ID == id && r.Egress == in.Egress {
				gone[r.ID], found = true, true
			}
		}
		if !found {
			return nil, cloud.Errorf(cloud.ErrCodeInvalidRuleIDNotFound,
				"The security group rule ID '%s' does not exist", id)
		}
	}
	for _, w := range want {
		found := false
		for _, r := range g.Rules {
			if r.SameTraffic(w) {
				gone[r.ID], found = true, true
			}
		}
		if !found {
			out.Unknown = append(out.Unknown, permissionOf(w))
		}
	}
	if len(gone) == 0 {
		return nil, cloud.Errorf(cloud.ErrCodeInvalidPermissionNotFound,
			"The specified rule does not exist in this security group.")
	}
	var keep []cloud.SecurityGroupRule
	for _, r := range g.Rules {
		if gone[r.ID] {
			out.Revoked = append(out.Revoked, r)
		} else {
			keep = append(keep, r)
		}
	}
	return keep, nil
}

// ruleGroup finds the group an Authorize or Revoke call names. Egress
// rules need the group's id; ingress rules may name a default VPC group.
func (s *Service) ruleGroup(account string, in *cloud.SecurityGroupRulesInput) (*cloud.SecurityGroup, error) {
	if in.Egress && in.GroupID == "" {
		return nil, cloud.MissingParameter("GroupId")
	}
	return s.group(account, in.GroupID, in.GroupName)
}

// containsRule reports whether any rule satisfies match.
func containsRule(rules []cloud.SecurityGroupRule, match func(cloud.SecurityGroupRule) bool) bool {
	for _, r := range rules {
		if match(r) {
			return true
		}
	}
	return false
}

// expandRules turns the permissions of a request into rules of g, one per
// peer, checking each as EC2 does.
func (s *Service) expandRules(account string, g *cloud.SecurityGroup,
	in *cloud.SecurityGroupRulesInput,
) ([]cloud.SecurityGroupRule, error) {
	perms := in.Permissions
	if in.Flat != nil {
		if len(perms) > 0 {
			return nil, cloud.Errorf(cloud.ErrCodeInvalidParameterCombination,
				"The parameter IpPermissions cannot be used with the parameters CidrIp, "+
					"IpProtocol, FromPort, ToPort or SourceSecurityGroupName")
		}
		perms = []cloud.IPPermission{*in.Flat}
	}
	if len(perms) == 0 {
		return nil, cloud.MissingParameter("IpPermissions")
	}
	var out []cloud.SecurityGroupRule
	for _, p := range perms {
		rules, err := s.permissionRules(account, g, in.Egress, p)
		if err != nil {
			return nil, err
		}
		out = append(out, rules...)
	}
	return out, nil
}

// permissionRules checks one permission and returns its rules.
func (s *Service) permissionRules(account string, g *cloud.SecurityGroup, egress bool,
	p cloud.IPPermission,
) ([]cloud.SecurityGroupRule, error) {
	base, err := ruleTraffic(p)
	if err != nil {
		return nil, err
	}
	base.Egress = egress
	if len(p.PrefixListIDs) > 0 {
		return nil, cloud.Errorf(cloud.ErrCodeUnsupported,
			"Prefix lists are not supported by minicloud.")
	}
	if len(p.IPRanges)+len(p.IPv6Ranges)+len(p.Groups) == 0 {
		return nil, cloud.Errorf(cloud.ErrCodeMissingParameter,
			"The request must contain the parameter ipRanges, ipv6Ranges or groups")
	}

	var out []cloud.SecurityGroupRule
	for _, r := range p.IPRanges {
		rule, err := withCIDR(base, r, false)
		if err != nil {
			return nil, err
		}
		out = append(out, rule)
	}
	for _, r := range p.IPv6Ranges {
		rule, err := withCIDR(base, r, true)
		if err != nil {
			return nil, err
		}
		out = append(out, rule)
	}
	for _, pair := range p.Groups {
		rule, err := s.withGroup(account, g, base, pair)
		if err != nil {
			return nil, err
		}
		out = append(out, rule)
	}
	return out, nil
}

// protocolNumbers are the protocols EC2 also accepts by number, and the
// word it stores them as.
var protocolNumbers = map[string]string{
	"6": cloud.ProtocolTCP, "17": cloud.ProtocolUDP, "1": cloud.ProtocolICMP,
	"58": cloud.ProtocolICMPv6, "all": cloud.ProtocolAll,
}

// ruleTraffic checks a permission's protocol and ports and returns a rule
// that has them.
func ruleTraffic(p cloud.IPPermission) (cloud.SecurityGroupRule, error) {
	r := cloud.SecurityGroupRule{FromPort: -1, ToPort: -1}
	proto := strings.ToLower(p.Protocol)
	if w, ok := protocolNumbers[proto]; ok {
		proto = w
	}
	switch proto {
	case "":
		return r, cloud.MissingParameter("IpProtocol")
	case cloud.ProtocolAll, cloud.ProtocolTCP, cloud.ProtocolUDP,
		cloud.ProtocolICMP, cloud.ProtocolICMPv6:
	default:
		n, err := strconv.Atoi(proto)
		if err != nil || n < 0 || n > 255 {
			return r, cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
				"Invalid value '%s' for IP protocol. Unknown protocol.", p.Protocol)
		}
		proto = strconv.Itoa(n)
	}
	r.Protocol = proto

	// Ports mean something for TCP and UDP, and ICMP types and codes
	// for ICMP; other protocols take every port.
	switch proto {
	case cloud.ProtocolTCP, cloud.ProtocolUDP:
		if p.FromPort == nil || p.ToPort == nil {
			return r, cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
				"Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.")
		}
		from, to := *p.FromPort, *p.ToPort
		if from < 0 || to > 65535 || from > to {
			return r, cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
				"Invalid TCP/UDP port range %d-%d", from, to)
		}
		r.FromPort, r.ToPort = from, to
	case cloud.ProtocolICMP, cloud.ProtocolICMPv6:
		if p.FromPort != nil {
			r.FromPort = *p.FromPort
		}
		if p.ToPort != nil {
			r.ToPort = *p.ToPort
		}
		if r.FromPort < -1 || r.FromPort > 255 || r.ToPort < -1 || r.ToPort > 255 {
			return r, cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
				"Invalid ICMP type %d or code %d", r.FromPort, r.ToPort)
		}
	}
	return r, nil
}

// withCIDR returns base allowing the address range r.
func withCIDR(base cloud.SecurityGroupRule, r cloud.IPRange, v6 bool) (cloud.SecurityGroupRule, error) {
	p, err := netip.ParsePrefix(r.CIDR)
	if err != nil || p.Addr().Is6() != v6 || p.Addr().Is4In6() {
		return base, cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
			"CIDR block %s is malformed", r.CIDR)
	}
	if err := checkRuleDescription(r.Description); err != nil {
		return base, err
	}
	if v6 {
		base.CIDRIPv6 = p.String()
	} else {
		base.CIDRIPv4 = p.String()
	}
	base.Description = r.Description
	return base, nil
}

// withGroup returns base allowing the members of a peer group, which must
// exist and be in g's VPC.
func (s *Service) withGroup(account string, g *cloud.SecurityGroup, base cloud.SecurityGroupRule,
	pair cloud.GroupPair,
) (cloud.SecurityGroupRule, error) {
	if err := checkRuleDescription(pair.Description); err != nil {
		return base, err
	}
	owner := account
	if pair.UserID != "" {
		owner = pair.UserID
	}
	peer, err := s.group(owner, pair.GroupID, pair.GroupName)
	if err != nil {
		var ce *cloud.Error
		if errors.As(err, &ce) && ce.Code == cloud.ErrCodeMissingParameter {
			return base, cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
				"A group pair must name a group by GroupId or GroupName")
		}
		return base, err
	}
	if peer.VPCID != g.VPCID {
		return base, cloud.Errorf("InvalidParameter",
			"You have specified two resources that belong to different networks.")
	}
	base.GroupID, base.GroupOwnerID = peer.ID, peer.OwnerID
	base.Description = pair.Description
	return base, nil
}

// checkRuleDescription applies EC2's limit on a rule's description.
func checkRuleDescription(d string) error {
	if len(d) > maxRuleDescLength {
		return cloud.InvalidValue("Description", d, "Length must be at most 255 characters.")
	}
	return checkGroupTextOrEmpty(d)
}

// checkGroupTextOrEmpty is checkGroupText for an optional value.
func checkGroupTextOrEmpty(d string) error {
	if d == "" {
		return nil
	}
	return checkGroupText("Description", d)
}

// describeRule words a rule as EC2's InvalidPermission.Duplicate does:
// "peer: 0.0.0.0/0, TCP, from port: 22, to port: 22, ALLOW".
func describeRule(r cloud.SecurityGroupRule) string {
	peer := r.CIDRIPv4 + r.CIDRIPv6 + r.GroupID
	proto := strings.ToUpper(r.Protocol)
	if r.Protocol == cloud.ProtocolAll {
		proto = "ALL"
	}
	if !r.HasPorts() {
		return fmt.Sprintf("\"peer: %s, %s, ALLOW\"", peer, proto)
	}
	return fmt.Sprintf("\"peer: %s, %s, from port: %d, to port: %d, ALLOW\"",
		peer, proto, r.FromPort, r.ToPort)
}

// permissionOf returns one rule in EC2's permission form.
func permissionOf(r cloud.SecurityGroupRule) cloud.IPPermission {
	g := &cloud.SecurityGroup{Rules: []cloud.SecurityGroupRule{r}}
	return g.Permissions(r.Egress, nil)[0]
}
