package ec2

import (
	"context"

	"github.com/minicloud/minicloud/internal/cloud"
)

// action runs one EC2 action: it decodes the parameters, calls the
// service and, on success, returns the function that writes the
// response's elements. Nothing is written before the service has
// answered, so a failure can still become an error response.
type action func(ctx context.Context, svc cloud.Service, p *params) (func(*encoder), error)

// actions maps each Action parameter to its implementation. Adding an
// action is one entry here, a decode function and an encode function.
var actions = map[string]action{
	"RunInstances": bind(decodeRunInstances,
		cloud.Service.RunInstances, encodeReservation),
	"DescribeInstances": bind(decodeDescribeInstances,
		cloud.Service.DescribeInstances, encodeDescribeInstances),
	"StartInstances": bind(decodeInstanceIDs,
		cloud.Service.StartInstances, encodeStateChanges),
	"StopInstances": bind(decodeStopInstances,
		cloud.Service.StopInstances, encodeStateChanges),
	"RebootInstances": bind(decodeInstanceIDs,
		noOutput(cloud.Service.RebootInstances), encodeReturn),
	"TerminateInstances": bind(decodeInstanceIDs,
		cloud.Service.TerminateInstances, encodeStateChanges),
	"DescribeInstanceStatus": bind(decodeDescribeInstanceStatus,
		cloud.Service.DescribeInstanceStatus, encodeDescribeInstanceStatus),
	"CreateTags": bind(decodeCreateTags,
		noOutput(cloud.Service.CreateTags), encodeReturn),
	"DeleteTags": bind(decodeDeleteTags,
		noOutput(cloud.Service.DeleteTags), encodeReturn),
	"DescribeTags": bind(decodeDescribeTags,
		cloud.Service.DescribeTags, encodeDescribeTags),
	"DescribeImages": bind(decodeDescribeImages,
		cloud.Service.DescribeImages, encodeDescribeImages),
	"DescribeInstanceTypes": bind(decodeDescribeInstanceTypes,
		cloud.Service.DescribeInstanceTypes, encodeDescribeInstanceTypes),
	"DescribeRegions": bind(decodeDescribeRegions,
		cloud.Service.DescribeRegions, encodeDescribeRegions),
	"DescribeAvailabilityZones": bind(decodeDescribeAvailabilityZones,
		cloud.Service.DescribeAvailabilityZones, encodeDescribeAvailabilityZones),
	"GetConsoleOutput": bind(decodeGetConsoleOutput,
		cloud.Service.GetConsoleOutput, encodeConsoleOutput),

	"CreateKeyPair": bind(decodeCreateKeyPair,
		cloud.Service.CreateKeyPair, encodeCreateKeyPair),
	"ImportKeyPair": bind(decodeImportKeyPair,
		cloud.Service.ImportKeyPair, encodeImportKeyPair),
	"DescribeKeyPairs": bind(decodeDescribeKeyPairs,
		cloud.Service.DescribeKeyPairs, encodeDescribeKeyPairs),
	"DeleteKeyPair": bind(decodeDeleteKeyPair,
		cloud.Service.DeleteKeyPair, encodeDeleteKeyPair),
	"DescribeInstanceAttribute": bind(decodeDescribeInstanceAttribute,
		cloud.Service.DescribeInstanceAttribute, encodeInstanceAttribute),
	"ModifyInstanceAttribute": bind(decodeModifyInstanceAttribute,
		noOutput(cloud.Service.ModifyInstanceAttribute), encodeReturn),

	"RegisterImage": bind(decodeRegisterImage,
		cloud.Service.RegisterImage, encodeImageID),
	"CreateImage": bind(decodeCreateImage,
		cloud.Service.CreateImage, encodeImageID),
	"CopyImage": bind(decodeCopyImage,
		cloud.Service.CopyImage, encodeImageID),
	"DeregisterImage": bind(decodeDeregisterImage,
		noOutput(cloud.Service.DeregisterImage), encodeReturn),

	"DescribeVpcs": bind(decodeDescribeVpcs,
		cloud.Service.DescribeVpcs, encodeDescribeVpcs),
	"DescribeSubnets": bind(decodeDescribeSubnets,
		cloud.Service.DescribeSubnets, encodeDescribeSubnets),
	"DescribeSecurityGroups": bind(decodeDescribeSecurityGroups,
		cloud.Service.DescribeSecurityGroups, encodeDescribeSecurityGroups),
	"DescribeSecurityGroupRules": bind(decodeDescribeSecurityGroupRules,
		cloud.Service.DescribeSecurityGroupRules, encodeDescribeSecurityGroupRules),
	"CreateSecurityGroup": bind(decodeCreateSecurityGroup,
		cloud.Service.CreateSecurityGroup, encodeCreateSecurityGroup),
	"DeleteSecurityGroup": bind(decodeDeleteSecurityGroup,
		cloud.Service.DeleteSecurityGroup, encodeDeleteSecurityGroup),
	"AuthorizeSecurityGroupIngress": bind(decodeGroupRules(false),
		cloud.Service.AuthorizeSecurityGroupRules, encodeAuthorizeRules),
	"AuthorizeSecurityGroupEgress": bind(decodeGroupRules(true),
		cloud.Service.AuthorizeSecurityGroupRules, encodeAuthorizeRules),
	"RevokeSecurityGroupIngress": bind(decodeGroupRules(false),
		cloud.Service.RevokeSecurityGroupRules, encodeRevokeRules),
	"RevokeSecurityGroupEgress": bind(decodeGroupRules(true),
		cloud.Service.RevokeSecurityGroupRules, encodeRevokeRules),
}

// bind joins a decoder, a service method (as a method expression) and an
// encoder into an action.
func bind[In, Out any](
	decode func(*params) (*In, error),
	call func(cloud.Service, context.Context, *In) (Out, error),
	encode func(*encoder, Out),
) action {
	return func(ctx context.Context, svc cloud.Service, p *params) (func(*encoder), error) {
		in, err := decode(p)
		if err != nil {
			return nil, err
		}
		out, err := call(svc, ctx, in)
		if err != nil {
			return nil, err
		}
		return func(e *encoder) { encode(e, out) }, nil
	}
}

// noOutput adapts a service method that returns only an error to bind.
func noOutput[In any](
	call func(cloud.Service, context.Context, *In) error,
) func(cloud.Service, context.Context, *In) (struct{}, error) {
	return func(svc cloud.Service, ctx context.Context, in *In) (struct{}, error) {
		return struct{}{}, call(svc, ctx, in)
	}
}

// The MaxResults bounds EC2 documents for each paginated action.
const (
	minResults          = 5
	maxResults          = 1000
	maxInstanceTypesRes = 100
)

func decodeRunInstances(p *params) (*cloud.RunInstancesInput, error) {
	in := &cloud.RunInstancesInput{
		DryRun:            p.boolean("DryRun"),
		ImageID:           p.str("ImageId"),
		InstanceType:      p.str("InstanceType"),
		MinCount:          p.required("MinCount"),
		MaxCount:          p.required("MaxCount"),
		KeyName:           p.str("KeyName"),
		ClientToken:       p.str("ClientToken"),
		AvailabilityZone:  p.str("Placement.AvailabilityZone"),
		TagSpecifications: decodeTagSpecifications(p),
		UserData:          p.userData(),
		Network:           decodeRunNetwork(p),

		DisableAPITermination: p.boolean("DisableApiTermination"),
		DisableAPIStop:        p.boolean("DisableApiStop"),
		ShutdownBehavior:      p.str("InstanceInitiatedShutdownBehavior"),
	}

	// EC2 can take the image and much else from a launch template.
	// minicloud has none, so it says so rather than launch something the
	// template did not describe.
	if p.has("LaunchTemplate.LaunchTemplateId") || p.has("LaunchTemplate.LaunchTemplateName") {
		p.fail(cloud.Errorf(cloud.ErrCodeUnsupported,
			"The parameter LaunchTemplate is not supported by minicloud."))
	}
	if in.ImageID == "" {
		p.fail(cloud.MissingParameter("ImageId"))
	}
	return in, p.err
}

// decodeTagSpecifications reads TagSpecification.N.ResourceType and its
// TagSpecification.N.Tag.M pairs.
func decodeTagSpecifications(p *params) []cloud.TagSpecification {
	var out []cloud.TagSpecification
	for _, n := range p.indexes("TagSpecification") {
		prefix := member("TagSpecification", n)
		out = append(out, cloud.TagSpecification{
			ResourceType: p.str(prefix + ".ResourceType"),
			Tags:         p.tags(prefix + ".Tag"),
		})
	}
	return out
}

func decodeDescribeInstances(p *params) (*cloud.DescribeInstancesInput, error) {
	in := &cloud.DescribeInstancesInput{
		DryRun:      p.boolean("DryRun"),
		InstanceIDs: p.list("InstanceId"),
		Filters:     p.filters(),
		NextToken:   p.str("NextToken"),
	}
	in.MaxResults = pageSize(p, len(in.InstanceIDs) > 0, maxResults)
	return in, p.err
}

// pageSize reads MaxResults for an action that lists instances, where
// EC2 refuses a page size together with explicit instance ids.
func pageSize(p *params, withIDs bool, hi int) int {
	if withIDs && p.has("MaxResults") {
		p.fail(cloud.Errorf(cloud.ErrCodeInvalidParameterCombination,
			"The parameter instancesSet cannot be used with the parameter maxResults"))
		return 0
	}
	return p.maxResults(minResults, hi)
}

func decodeInstanceIDs(p *params) (*cloud.InstanceIDsInput, error) {
	in := &cloud.InstanceIDsInput{
		DryRun:      p.boolean("DryRun"),
		InstanceIDs: requiredList(p, "InstanceId"),
	}
	return in, p.err
}

// requiredList returns the list prefix.N, recording MissingParameter
// when it has no members.
func requiredList(p *params, prefix string) []string {
	ids := p.list(prefix)
	if len(ids) == 0 {
		p.fail(cloud.MissingParameter(prefix))
	}
	return ids
}

func decodeStopInstances(p *params) (*cloud.StopInstancesInput, error) {
	in := &cloud.StopInstancesInput{
		DryRun:      p.boolean("DryRun"),
		InstanceIDs: requiredList(p, "InstanceId"),
		Force:       p.boolean("Force"),
		Hibernate:   p.boolean("Hibernate"),
	}
	return in, p.err
}

func decodeDescribeInstanceStatus(p *params) (*cloud.DescribeInstanceStatusInput, error) {
	in := &cloud.DescribeInstanceStatusInput{
		DryRun:              p.boolean("DryRun"),
		InstanceIDs:         p.list("InstanceId"),
		Filters:             p.filters(),
		IncludeAllInstances: p.boolean("IncludeAllInstances"),
		NextToken:           p.str("NextToken"),
	}
	in.MaxResults = pageSize(p, len(in.InstanceIDs) > 0, maxResults)
	return in, p.err
}

func decodeCreateTags(p *params) (*cloud.CreateTagsInput, error) {
	in := &cloud.CreateTagsInput{
		DryRun:      p.boolean("DryRun"),
		ResourceIDs: requiredList(p, "ResourceId"),
		Tags:        p.tags("Tag"),
	}
	if len(in.Tags) == 0 {
		p.fail(cloud.MissingParameter("Tag"))
	}
	return in, p.err
}

func decodeDeleteTags(p *params) (*cloud.DeleteTagsInput, error) {
	in := &cloud.DeleteTagsInput{
		DryRun:      p.boolean("DryRun"),
		ResourceIDs: requiredList(p, "ResourceId"),
	}

	// A Tag.N.Value that is sent, even empty, limits the deletion to
	// that value; an absent one deletes the key whatever its value.
	for _, n := range p.indexes("Tag") {
		m := member("Tag", n)
		in.Tags = append(in.Tags, cloud.DeleteTag{
			Key:      p.str(m + ".Key"),
			Value:    p.str(m + ".Value"),
			ValueSet: p.has(m + ".Value"),
		})
	}
	return in, p.err
}

func decodeDescribeTags(p *params) (*cloud.DescribeTagsInput, error) {
	in := &cloud.DescribeTagsInput{
		DryRun:     p.boolean("DryRun"),
		Filters:    p.filters(),
		MaxResults: p.maxResults(minResults, maxResults),
		NextToken:  p.str("NextToken"),
	}
	return in, p.err
}

func decodeDescribeImages(p *params) (*cloud.DescribeImagesInput, error) {
	in := &cloud.DescribeImagesInput{
		DryRun:          p.boolean("DryRun"),
		ImageIDs:        p.list("ImageId"),
		Owners:          p.list("Owner"),
		ExecutableUsers: p.list("ExecutableBy"),
		Filters:         p.filters(),
		MaxResults:      p.maxResults(minResults, maxResults),
		NextToken:       p.str("NextToken"),
	}
	return in, p.err
}

func decodeDescribeInstanceTypes(p *params) (*cloud.DescribeInstanceTypesInput, error) {
	in := &cloud.DescribeInstanceTypesInput{
		DryRun:        p.boolean("DryRun"),
		InstanceTypes: p.list("InstanceType"),
		Filters:       p.filters(),
		MaxResults:    p.maxResults(minResults, maxInstanceTypesRes),
		NextToken:     p.str("NextToken"),
	}
	return in, p.err
}

func decodeDescribeRegions(p *params) (*cloud.DescribeRegionsInput, error) {
	in := &cloud.DescribeRegionsInput{
		DryRun:      p.boolean("DryRun"),
		RegionNames: p.list("RegionName"),
		Filters:     p.filters(),
		AllRegions:  p.boolean("AllRegions"),
	}
	return in, p.err
}

func decodeDescribeAvailabilityZones(p *params) (*cloud.DescribeAvailabilityZonesInput, error) {
	in := &cloud.DescribeAvailabilityZonesInput{
		DryRun:    p.boolean("DryRun"),
		ZoneNames: p.list("ZoneName"),
		ZoneIDs:   p.list("ZoneId"),
		Filters:   p.filters(),
		AllZones:  p.boolean("AllAvailabilityZones"),
	}
	return in, p.err
}
