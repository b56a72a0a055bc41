package compute

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/store"
)

// Limits EC2 sets on security groups.
const (
	maxGroupNameLen   = 255
	maxRulesPerGroup  = 60 // in each direction
	maxGroupsPerNIC   = 5
	maxRuleDescLength = 255
)

// groupTypes are the resource types a CreateSecurityGroup tag
// specification may name.
var groupTypes = map[string]bool{"security-group": true}

// CreateSecurityGroup creates a security group in a VPC, the default VPC
// when none is named, with EC2's one rule: all traffic out. Its rules are
// kept and reported, not enforced.
func (s *Service) CreateSecurityGroup(ctx context.Context,
	in *cloud.CreateSecurityGroupInput,
) (*cloud.SecurityGroup, error) {
	if err := checkGroupName(in.GroupName); err != nil {
		return nil, err
	}
	if err := checkGroupDescription("GroupDescription", in.Description); err != nil {
		return nil, err
	}
	tags, err := specTagsFor(in.TagSpecifications, groupTypes, "security-group")
	if err != nil {
		return nil, err
	}
	who := caller(ctx)
	vpc, err := s.vpc(who.AccountID, in.VPCID)
	if err != nil {
		return nil, err
	}
	duplicate := cloud.Errorf(cloud.ErrCodeInvalidGroupDuplicate,
		"The security group '%s' already exists for VPC '%s'", in.GroupName, vpc.ID)
	if in.DryRun {
		// A dry run answers what the call would: a taken name is taken.
		groups, err := s.store.SecurityGroups()
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			if g.VPCID == vpc.ID && g.Name == in.GroupName {
				return nil, duplicate
			}
		}
		return nil, cloud.ErrDryRun
	}

	g := newSecurityGroup(who.AccountID, vpc.ID, in.GroupName, in.Description)
	g.Tags = tags
	err = s.store.CreateSecurityGroup(g)
	if errors.Is(err, store.ErrExists) {
		return nil, duplicate
	}
	if err != nil {
		return nil, err
	}
	return g, nil
}

// checkGroupName applies EC2's rules for a new group's name.
func checkGroupName(name string) error {
	switch {
	case name == "":
		return cloud.MissingParameter("GroupName")
	case len(name) > maxGroupNameLen:
		return cloud.InvalidValue("GroupName", name, "Length must be at most 255 characters.")
	case strings.HasPrefix(name, cloud.PrefixSecurityGroup):
		return cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
			"Group names may not be in the format sg-*.")
	case name == cloud.DefaultGroupName:
		return cloud.Errorf(cloud.ErrCodeInvalidGroupReserved,
			"The security group '%s' is reserved", name)
	}
	return checkGroupText("GroupName", name)
}

// checkGroupDescription applies EC2's rules for a group's description.
func checkGroupDescription(param, desc string) error {
	if desc == "" {
		return cloud.MissingParameter(param)
	}
	if len(desc) > maxGroupNameLen {
		return cloud.InvalidValue(param, desc, "Length must be at most 255 characters.")
	}
	return checkGroupText(param, desc)
}

// checkGroupText refuses what EC2 refuses in a VPC group's name or
// description: anything but letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*.
func checkGroupText(param, v string) error {
	for _, r := range v {
		ok := 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' ||
			strings.ContainsRune(" ._-:/()#,@[]+=&;{}!$*", r)
		if !ok {
			return cloud.InvalidValue(param, v,
				"Character sets beyond ASCII are not supported.")
		}
	}
	return nil
}

// vpc returns the account's VPC with id, or its default VPC for "".
func (s *Service) vpc(account, id string) (*cloud.VPC, error) {
	n, err := s.defaultNetwork(account)
	if err != nil {
		return nil, err
	}
	if id == "" {
		return n.VPC, nil
	}
	if !cloud.ValidID(cloud.PrefixVPC, id) {
		return nil, cloud.Errorf(cloud.ErrCodeInvalidVPCIDMalformed, "Invalid id: \"%s\"", id)
	}
	vpcs, err := s.store.VPCs()
	if err != nil {
		return nil, err
	}
	for _, v := range vpcs {
		if v.ID == id && v.OwnerID == account {
			return v, nil
		}
	}
	return nil, cloud.Errorf(cloud.ErrCodeInvalidVPCIDNotFound, "The vpc ID '%s' does not exist", id)
}

// group finds the account's group by id, or by name in the default VPC,
// with EC2's errors for a malformed id and a group that is not there.
func (s *Service) group(account, id, name string) (*cloud.SecurityGroup, error) {
	switch {
	case id == "" && name == "":
		return nil, cloud.Errorf(cloud.ErrCodeMissingParameter,
			"The request must contain the parameter groupName or groupId")
	case id != "" && !cloud.ValidID(cloud.PrefixSecurityGroup, id):
		return nil, cloud.Errorf(cloud.ErrCodeInvalidGroupIDMalformed, "Invalid id: \"%s\"", id)
	}
	n, err := s.defaultNetwork(account)
	if err != nil {
		return nil, err
	}
	if id != "" {
		g, err := s.store.SecurityGroup(id)
		if isNotFound(err) || err == nil && g.OwnerID != account {
			return nil, groupNotFound(id)
		}
		return g, err
	}
	groups, err := s.store.SecurityGroups()
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		if g.VPCID == n.VPC.ID && g.Name == name {
			return g, nil
		}
	}
	return nil, cloud.Errorf(cloud.ErrCodeInvalidGroupNotFound,
		"The security group '%s' does not exist in default VPC '%s'", name, n.VPC.ID)
}

// groupNotFound is EC2's error for an unknown group id.
func groupNotFound(id string) error {
	return cloud.Errorf(cloud.ErrCodeInvalidGroupNotFound,
		"The security group '%s' does not exist", id)
}

// DeleteSecurityGroup deletes a group that nothing uses: not the default
// group of a VPC, not a group of an instance that is not terminated, and
// not a group another group's rules name. It returns the group's id.
func (s *Service) DeleteSecurityGroup(ctx context.Context,
	in *cloud.DeleteSecurityGroupInput,
) (string, error) {
	who := caller(ctx)
	g, err := s.group(who.AccountID, in.GroupID, in.GroupName)
	if err != nil {
		return "", err
	}
	check := func(g *cloud.SecurityGroup) error {
		if g.Name == cloud.DefaultGroupName {
			return cloud.Errorf(cloud.ErrCodeCannotDelete,
				"the specified group: \"%s\" name: \"default\" cannot be deleted by a user", g.ID)
		}
		if in.DryRun {
			return cloud.ErrDryRun
		}
		return nil
	}
	if err := check(g); err != nil {
		return "", err
	}

	err = s.store.DeleteSecurityGroup(g.ID, check)
	var inUse *store.InUseError
	switch {
	case errors.As(err, &inUse):
		return "", cloud.Errorf(cloud.ErrCodeDependencyViolation,
			"resource %s has a dependent object", g.ID)
	case isNotFound(err):
		return "", groupNotFound(g.ID)
	case err != nil:
		return "", err
	}
	return g.ID, nil
}

// groupFilters are the DescribeSecurityGroups filter names, besides the
// tag filters.
var groupFilters = func() map[string]func(*cloud.SecurityGroup) []string {
	m := map[string]func(*cloud.SecurityGroup) []string{
		"group-id":    func(g *cloud.SecurityGroup) []string { return one(g.ID) },
		"group-name":  func(g *cloud.SecurityGroup) []string { return one(g.Name) },
		"description": func(g *cloud.SecurityGroup) []string { return one(g.Description) },
		"vpc-id":      func(g *cloud.SecurityGroup) []string { return one(g.VPCID) },
		"owner-id":    func(g *cloud.SecurityGroup) []string { return one(g.OwnerID) },
	}
	for prefix, egress := range map[string]bool{"ip-permission.": false, "egress.ip-permission.": true} {
		for name, get := range ruleFields {
			m[prefix+name] = func(g *cloud.SecurityGroup) []string {
				var out []string
				for _, r := range g.Rules {
					if r.Egress == egress {
						out = append(out, get(r)...)
					}
				}
				return out
			}
		}
	}
	return m
}()

// ruleFields are what the ip-permission.* filters test in each rule.
var ruleFields = map[string]func(cloud.SecurityGroupRule) []string{
	"protocol": func(r cloud.SecurityGroupRule) []string { return one(r.Protocol) },
	"from-port": func(r cloud.SecurityGroupRule) []string {
		return one(strconv.Itoa(r.FromPort))
	},
	"to-port":   func(r cloud.SecurityGroupRule) []string { return one(strconv.Itoa(r.ToPort)) },
	"cidr":      func(r cloud.SecurityGroupRule) []string { return nonEmpty(r.CIDRIPv4) },
	"ipv6-cidr": func(r cloud.SecurityGroupRule) []string { return nonEmpty(r.CIDRIPv6) },
	"group-id":  func(r cloud.SecurityGroupRule) []string { return nonEmpty(r.GroupID) },
	"user-id":   func(r cloud.SecurityGroupRule) []string { return nonEmpty(r.GroupOwnerID) },
}

// nonEmpty is one for a value that may be absent.
func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return one(s)
}

// DescribeSecurityGroups lists the caller's security groups, by id, by
// name in the default VPC, or all of them, narrowed by filters.
func (s *Service) DescribeSecurityGroups(ctx context.Context,
	in *cloud.DescribeSecurityGroupsInput,
) (*cloud.DescribeSecurityGroupsOutput, error) {
	err := checkIDs(in.GroupIDs, cloud.PrefixSecurityGroup, cloud.ErrCodeInvalidGroupIDMalformed)
	if err != nil {
		return nil, err
	}
	match, err := compileFilters(in.Filters, groupFilters,
		func(g *cloud.SecurityGroup) cloud.Tags { return g.Tags })
	if err != nil {
		return nil, err
	}
	if in.MaxResults != 0 && (len(in.GroupIDs) > 0 || len(in.GroupNames) > 0) {
		return nil, cloud.Errorf(cloud.ErrCodeInvalidParameterCombination,
			"The parameter groupIds or groupNames cannot be used with the parameter maxResults")
	}
	after, err := pageArgs(in.MaxResults, in.NextToken, in.DryRun)
	if err != nil {
		return nil, err
	}
	who := caller(ctx)

	// Every group named must exist.
	var named []*cloud.SecurityGroup
	for _, id := range in.GroupIDs {
		g, err := s.group(who.AccountID, id, "")
		if err != nil {
			return nil, err
		}
		named = append(named, g)
	}
	for _, name := range in.GroupNames {
		g, err := s.group(who.AccountID, "", name)
		if err != nil {
			return nil, err
		}
		named = append(named, g)
	}

	all, err := s.store.SecurityGroups()
	if err != nil {
		return nil, err
	}
	out := slices.DeleteFunc(slices.Clone(all), func(g *cloud.SecurityGroup) bool {
		wanted := len(named) == 0 ||
			slices.ContainsFunc(named, func(n *cloud.SecurityGroup) bool { return n.ID == g.ID })
		return g.OwnerID != who.AccountID || !wanted || !match(g)
	})
	page, next := paginate(out, after, in.MaxResults, func(g *cloud.SecurityGroup) string { return g.ID })
	return &cloud.DescribeSecurityGroupsOutput{
		Groups: page, GroupNames: groupNames(all), NextToken: next,
	}, nil
}

// groupNames maps each group's id to its name.
func groupNames(groups []*cloud.SecurityGroup) map[string]string {
	out := make(map[string]string, len(groups))
	for _, g := range groups {
		out[g.ID] = g.Name
	}
	return out
}

// ruleFilters are the DescribeSecurityGroupRules filter names.
var ruleFilters = map[string]func(cloud.GroupRule) []string{
	"group-id":               func(r cloud.GroupRule) []string { return one(r.GroupID) },
	"security-group-rule-id": func(r cloud.GroupRule) []string { return one(r.Rule.ID) },
}

// DescribeSecurityGroupRules lists the rules of the caller's groups, one
// per peer, in group and then rule order.
func (s *Service) DescribeSecurityGroupRules(ctx context.Context,
	in *cloud.DescribeSecurityGroupRulesInput,
) (*cloud.DescribeSecurityGroupRulesOutput, error) {
	err := checkIDs(in.RuleIDs, cloud.PrefixSecurityGroupRule, cloud.ErrCodeInvalidRuleIDMalformed)
	if err != nil {
		return nil, err
	}
	match, after, err := startListing(in.Filters, ruleFilters,
		func(r cloud.GroupRule) cloud.Tags { return r.Rule.Tags },
		in.MaxResults, in.NextToken, in.DryRun)
	if err != nil {
		return nil, err
	}
	who, err := s.networkCaller(ctx)
	if err != nil {
		return nil, err
	}

	groups, err := s.store.SecurityGroups()
	if err != nil {
		return nil, err
	}
	var all []cloud.GroupRule
	for _, g := range groups {
		if g.OwnerID != who.AccountID {
			continue
		}
		for _, r := range g.Rules {
			gr := cloud.GroupRule{GroupID: g.ID, GroupOwnerID: g.OwnerID, Rule: r}
			if (len(in.RuleIDs) == 0 || slices.Contains(in.RuleIDs, r.ID)) && match(gr) {
				all = append(all, gr)
			}
		}
	}
	for _, id := range in.RuleIDs {
		if !slices.ContainsFunc(all, func(r cloud.GroupRule) bool { return r.Rule.ID == id }) &&
			len(in.Filters) == 0 {
			return nil, cloud.Errorf(cloud.ErrCodeInvalidRuleIDNotFound,
				"The security group rule ID '%s' does not exist", id)
		}
	}
	page, next := paginate(all, after, in.MaxResults, func(r cloud.GroupRule) string {
		return r.GroupID + "/" + r.Rule.ID
	})
	return &cloud.DescribeSecurityGroupRulesOutput{Rules: page, NextToken: next}, nil
}
