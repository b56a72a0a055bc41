package compute

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/store"
)

// taggableTypes are the resource types a RunInstances tag specification
// may name. Instance tags are kept; the others are accepted, as EC2
// accepts them, for resources minicloud does not keep apart from the
// instance.
var taggableTypes = map[string]bool{
	"instance": true, "volume": true, "network-interface": true,
	"spot-instances-request": true, "elastic-gpu": true,
}

// specTags returns the tags that a RunInstances call's specs give
// resources of type want.
func specTags(specs []cloud.TagSpecification, want string) (cloud.Tags, error) {
	return specTagsFor(specs, taggableTypes, want)
}

// specTagsFor returns the tags that specs give resources of type want,
// refusing a spec for a type not in allowed, as EC2 refuses a type the
// call does not create.
func specTagsFor(specs []cloud.TagSpecification, allowed map[string]bool, want string) (cloud.Tags, error) {
	var tags cloud.Tags
	for _, spec := range specs {
		if spec.ResourceType == "" {
			return nil, cloud.MissingParameter("TagSpecification.ResourceType")
		}
		if !allowed[spec.ResourceType] {
			return nil, cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
				"'%s' is not a valid taggable resource type for this operation.", spec.ResourceType)
		}
		if err := checkTags(spec.Tags); err != nil {
			return nil, err
		}
		if spec.ResourceType != want {
			continue
		}
		if tags == nil {
			tags = cloud.Tags{}
		}
		for _, t := range spec.Tags {
			tags[t.Key] = t.Value
		}
	}
	return tags, nil
}

// checkTags applies EC2's rules for tag keys and values.
func checkTags(tags []cloud.Tag) error {
	if len(tags) > maxTags {
		return cloud.Errorf(cloud.ErrCodeTagLimitExceeded,
			"The maximum number of Tags for a resource is %d.", maxTags)
	}
	for _, t := range tags {
		switch {
		case t.Key == "":
			return cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
				"Tag key must not be empty.")
		case len(t.Key) > maxTagKeyLen:
			return cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
				"Tag key exceeds the maximum length of %d characters", maxTagKeyLen)
		case len(t.Value) > maxTagValueLen:
			return cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
				"Tag value exceeds the maximum length of %d characters", maxTagValueLen)
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
				"Tag keys starting with 'aws:' are reserved for internal use")
		}
	}
	return nil
}

// tagKind is a kind of resource that keeps tags: its id prefix, the
// resource type DescribeTags names it by, and what EC2 says when an id
// of that kind is not found.
type tagKind struct {
	prefix   string
	typ      string
	notFound func(ids []string) error
}

// tagKinds lists every kind of resource CreateTags, DeleteTags and
// DescribeTags work on.
var tagKinds = []tagKind{
	{cloud.PrefixInstance, "instance", func(ids []string) error { return cloud.InstancesNotFound(ids) }},
	{cloud.PrefixImage, "image", func(ids []string) error {
		return cloud.Errorf(cloud.ErrCodeInvalidAMIIDNotFound,
			"The image id '[%s]' does not exist", strings.Join(ids, ", "))
	}},
	{cloud.PrefixVPC, "vpc", func(ids []string) error {
		return cloud.Errorf(cloud.ErrCodeInvalidVPCIDNotFound, "The vpc ID '%s' does not exist", ids[0])
	}},
	{cloud.PrefixSubnet, "subnet", func(ids []string) error { return subnetNotFound(ids[0]) }},
	{cloud.PrefixSecurityGroup, "security-group", func(ids []string) error { return groupNotFound(ids[0]) }},
	{cloud.PrefixKeyPair, "key-pair", func(ids []string) error {
		return cloud.Errorf(cloud.ErrCodeInvalidKeyPairNotFound,
			"The key pair '%s' does not exist", ids[0])
	}},
}

// kindOf returns the kind of resource id names, if it is a well-formed id
// of a kind that keeps tags.
func kindOf(id string) (tagKind, bool) {
	for _, k := range tagKinds {
		if cloud.ValidID(k.prefix, id) {
			return k, true
		}
	}
	return tagKind{}, false
}

// resourceType names the kind of resource an id refers to, for tagging,
// or "" when minicloud keeps no tags for it.
func resourceType(id string) string {
	k, _ := kindOf(id)
	return k.typ
}

// CreateTags adds or overwrites tags on instances, images, VPCs, subnets,
// security groups and key pairs. Nothing changes unless every resource
// exists and is the caller's.
func (s *Service) CreateTags(ctx context.Context, in *cloud.CreateTagsInput) error {
	if len(in.Tags) == 0 {
		return cloud.MissingParameter("Tag")
	}
	if err := checkTags(in.Tags); err != nil {
		return err
	}
	return s.changeTags(ctx, in.DryRun, in.ResourceIDs, func(tags cloud.Tags) (cloud.Tags, error) {
		if tags == nil {
			tags = cloud.Tags{}
		}
		for _, t := range in.Tags {
			tags[t.Key] = t.Value
		}
		if len(tags) > maxTags {
			return nil, cloud.Errorf(cloud.ErrCodeTagLimitExceeded,
				"The maximum number of Tags for a resource is %d.", maxTags)
		}
		return tags, nil
	})
}

// DeleteTags removes tags from resources: a tag named without a value
// goes whatever its value; with a value, only when it matches. No tags
// named means every tag.
func (s *Service) DeleteTags(ctx context.Context, in *cloud.DeleteTagsInput) error {
	return s.changeTags(ctx, in.DryRun, in.ResourceIDs, func(tags cloud.Tags) (cloud.Tags, error) {
		if len(in.Tags) == 0 {
			return nil, nil
		}
		for _, t := range in.Tags {
			if v, ok := tags[t.Key]; ok && (!t.ValueSet || v == t.Value) {
				delete(tags, t.Key)
			}
		}
		if len(tags) == 0 {
			return nil, nil
		}
		return tags, nil
	})
}

// changeTags applies edit to the tags of every resource in ids in one
// transaction. A dry run checks that they all exist first.
func (s *Service) changeTags(ctx context.Context, dryRun bool, ids []string,
	edit func(cloud.Tags) (cloud.Tags, error),
) error {
	if len(ids) == 0 {
		return cloud.MissingParameter("ResourceId")
	}
	ids = dedupe(ids)
	for _, id := range ids {
		if _, ok := kindOf(id); !ok {
			return cloud.Errorf(cloud.ErrCodeInvalidID, "The ID '%s' is not valid", id)
		}
	}
	who, err := s.networkCaller(ctx)
	if err != nil {
		return err
	}
	slot := func(v any) (store.TagSlot, bool) { return s.tagSlot(who.AccountID, v) }

	// A dry run stops after the existence check, by failing the edit.
	if dryRun {
		edit = func(cloud.Tags) (cloud.Tags, error) { return nil, cloud.ErrDryRun }
	}
	err = s.store.UpdateTags(ids, slot, edit)
	var missing *store.MissingError
	if errors.As(err, &missing) {
		k, _ := kindOf(missing.IDs[0])
		var same []string
		for _, id := range missing.IDs {
			if strings.HasPrefix(id, k.prefix) {
				same = append(same, id)
			}
		}
		return k.notFound(same)
	}
	return err
}

// tagSlot returns where the account's tags on the stored resource v are,
// or false when the account may not tag it. An account tags its own
// resources, and images it can see: on an image it does not own, its tags
// are its own, seen by no one else, as on EC2.
func (s *Service) tagSlot(account string, v any) (store.TagSlot, bool) {
	field := func(t *cloud.Tags, ok bool) (store.TagSlot, bool) {
		return store.TagSlot{
			Get: func() cloud.Tags { return *t },
			Set: func(tags cloud.Tags) { *t = tags },
		}, ok
	}
	switch r := v.(type) {
	case *cloud.Instance:
		return field(&r.Tags, r.OwnerID == account && s.visible(r))
	case *cloud.Image:
		if r.State == cloud.ImageDeregistered || !r.Public && !r.OwnedBy(account) {
			return store.TagSlot{}, false
		}
		if r.OwnedBy(account) {
			return field(&r.Tags, true)
		}
		return store.TagSlot{
			Get: func() cloud.Tags { return r.AccountTags[account] },
			Set: func(tags cloud.Tags) {
				if r.AccountTags == nil {
					r.AccountTags = map[string]cloud.Tags{}
				}
				r.AccountTags[account] = tags
				if len(tags) == 0 {
					delete(r.AccountTags, account)
				}
			},
		}, true
	case *cloud.VPC:
		return field(&r.Tags, r.OwnerID == account)
	case *cloud.Subnet:
		return field(&r.Tags, r.OwnerID == account)
	case *cloud.SecurityGroup:
		return field(&r.Tags, r.OwnerID == account)
	case *cloud.KeyPair:
		return field(&r.Tags, r.OwnerID == account)
	}
	return store.TagSlot{}, false
}

// tagFilters are the DescribeTags filter names.
var tagFilters = map[string]func(cloud.TagDescription) []string{
	"key":           func(t cloud.TagDescription) []string { return []string{t.Key} },
	"value":         func(t cloud.TagDescription) []string { return []string{t.Value} },
	"resource-id":   func(t cloud.TagDescription) []string { return []string{t.ResourceID} },
	"resource-type": func(t cloud.TagDescription) []string { return []string{t.ResourceType} },
}

// DescribeTags lists the tags of every resource the caller may tag,
// ordered by resource id and key.
func (s *Service) DescribeTags(ctx context.Context,
	in *cloud.DescribeTagsInput,
) (*cloud.DescribeTagsOutput, error) {
	match, after, err := startListing(in.Filters, tagFilters, nil,
		in.MaxResults, in.NextToken, in.DryRun)
	if err != nil {
		return nil, err
	}
	who, err := s.networkCaller(ctx)
	if err != nil {
		return nil, err
	}

	// Gather every tag, in a stable order.
	var all []cloud.TagDescription
	add := func(v any, id, kind string) {
		slot, ok := s.tagSlot(who.AccountID, v)
		if !ok {
			return
		}
		for _, t := range slot.Get().Sorted() {
			d := cloud.TagDescription{ResourceID: id, ResourceType: kind, Key: t.Key, Value: t.Value}
			if match(d) {
				all = append(all, d)
			}
		}
	}
	if err := s.eachTagged(add); err != nil {
		return nil, err
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].ResourceID != all[j].ResourceID {
			return all[i].ResourceID < all[j].ResourceID
		}
		return all[i].Key < all[j].Key
	})

	page, next := paginate(all, after, in.MaxResults, func(d cloud.TagDescription) string {
		return d.ResourceID + "\x00" + d.Key
	})
	return &cloud.DescribeTagsOutput{Tags: page, NextToken: next}, nil
}

// eachTagged calls add with every stored resource that can carry tags.
func (s *Service) eachTagged(add func(v any, id, kind string)) error {
	err := s.store.ScanInstances("", func(inst *cloud.Instance) bool {
		add(inst, inst.ID, "instance")
		return true
	})
	if err != nil {
		return err
	}
	imgs, err := s.store.Images()
	if err != nil {
		return err
	}
	for _, r := range imgs {
		add(r, r.ID, "image")
	}
	vpcs, err := s.store.VPCs()
	if err != nil {
		return err
	}
	for _, r := range vpcs {
		add(r, r.ID, "vpc")
	}
	subnets, err := s.store.Subnets()
	if err != nil {
		return err
	}
	for _, r := range subnets {
		add(r, r.ID, "subnet")
	}
	groups, err := s.store.SecurityGroups()
	if err != nil {
		return err
	}
	for _, r := range groups {
		add(r, r.ID, "security-group")
	}
	keys, err := s.store.KeyPairs()
	if err != nil {
		return err
	}
	for _, r := range keys {
		add(r, r.ID, "key-pair")
	}
	return nil
}
