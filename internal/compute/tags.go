package compute

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/store"
)

// taggableTypes are the resource types a TagSpecification may name. Only
// instance tags are kept; the others are accepted, as EC2 accepts them, for
// resources minicloud does not model.
var taggableTypes = map[string]bool{
	"instance": true, "volume": true, "network-interface": true,
	"spot-instances-request": true, "elastic-gpu": true,
}

// specTags returns the tags that specs give resources of type want.
func specTags(specs []cloud.TagSpecification, want string) (cloud.Tags, error) {
	var tags cloud.Tags
	for _, spec := range specs {
		if spec.ResourceType == "" {
			return nil, cloud.MissingParameter("TagSpecification.ResourceType")
		}
		if !taggableTypes[spec.ResourceType] {
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

// resourceType names the kind of resource an id refers to, for tagging.
func resourceType(id string) string {
	switch {
	case strings.HasPrefix(id, cloud.PrefixInstance):
		return "instance"
	case strings.HasPrefix(id, cloud.PrefixImage):
		return "image"
	}
	return ""
}

// splitResources sorts resource ids into instances and images, or returns
// InvalidID for an id of any other kind.
func splitResources(ids []string) (instances, images []string, err error) {
	for _, id := range dedupe(ids) {
		switch {
		case resourceType(id) == "instance" && cloud.ValidID(cloud.PrefixInstance, id):
			instances = append(instances, id)
		case resourceType(id) == "image" && cloud.ValidID(cloud.PrefixImage, id):
			images = append(images, id)
		default:
			return nil, nil, cloud.Errorf(cloud.ErrCodeInvalidID,
				"The ID '%s' is not valid", id)
		}
	}
	return instances, images, nil
}

// CreateTags adds or overwrites tags on instances and images. Nothing is
// changed unless every resource exists.
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

// DeleteTags removes tags from instances and images: a tag named without a
// value goes whatever its value; with a value, only when it matches. No
// tags named means every tag.
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
		return tags, nil
	})
}

// changeTags validates resources and applies edit to the tags of each, in
// one transaction per kind of resource.
func (s *Service) changeTags(ctx context.Context, dryRun bool, ids []string,
	edit func(cloud.Tags) (cloud.Tags, error),
) error {
	if len(ids) == 0 {
		return cloud.MissingParameter("ResourceId")
	}
	instances, images, err := splitResources(ids)
	if err != nil {
		return err
	}
	who := caller(ctx)

	// Every resource must exist before anything changes.
	found, missing, err := s.store.InstancesByID(instances)
	if err != nil {
		return err
	}
	for _, inst := range found {
		if inst.OwnerID != who.AccountID {
			missing = append(missing, inst.ID)
		}
	}
	if len(missing) > 0 {
		return cloud.InstancesNotFound(missing)
	}
	for _, id := range images {
		if _, err := s.image(id); err != nil {
			return err
		}
	}
	if dryRun {
		return cloud.ErrDryRun
	}

	// Apply the edit.
	if len(instances) > 0 {
		_, err := s.store.UpdateInstances(instances, func(inst *cloud.Instance) error {
			tags, err := edit(inst.Tags)
			inst.Tags = tags
			return err
		})
		if err != nil {
			return storeError(err)
		}
	}
	for _, id := range images {
		_, err := s.store.UpdateImage(id, func(img *cloud.Image) error {
			tags, err := edit(img.Tags)
			img.Tags = tags
			return err
		})
		if errors.Is(err, store.ErrNotFound) {
			return cloud.Errorf(cloud.ErrCodeInvalidAMIIDNotFound,
				"The image id '[%s]' does not exist", id)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// tagFilters are the DescribeTags filter names.
var tagFilters = map[string]func(cloud.TagDescription) []string{
	"key":           func(t cloud.TagDescription) []string { return []string{t.Key} },
	"value":         func(t cloud.TagDescription) []string { return []string{t.Value} },
	"resource-id":   func(t cloud.TagDescription) []string { return []string{t.ResourceID} },
	"resource-type": func(t cloud.TagDescription) []string { return []string{t.ResourceType} },
}

// DescribeTags lists the tags of the caller's instances and of images,
// ordered by resource id and key.
func (s *Service) DescribeTags(ctx context.Context, in *cloud.DescribeTagsInput) (*cloud.DescribeTagsOutput, error) {
	match, err := compileFilters(in.Filters, tagFilters, nil)
	if err != nil {
		return nil, err
	}
	if err := checkMaxResults(in.MaxResults, 5, 1000); err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, cloud.ErrDryRun
	}
	who := caller(ctx)

	// Gather every tag, in a stable order.
	var all []cloud.TagDescription
	add := func(id, kind string, tags cloud.Tags) {
		for _, t := range tags.Sorted() {
			d := cloud.TagDescription{ResourceID: id, ResourceType: kind, Key: t.Key, Value: t.Value}
			if match(d) {
				all = append(all, d)
			}
		}
	}
	err = s.store.ScanInstances("", func(inst *cloud.Instance) bool {
		if inst.OwnerID == who.AccountID {
			add(inst.ID, "instance", inst.Tags)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	imgs, err := s.store.Images()
	if err != nil {
		return nil, err
	}
	for _, img := range imgs {
		add(img.ID, "image", img.Tags)
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
