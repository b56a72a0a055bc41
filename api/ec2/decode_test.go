package ec2

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/minicloud/minicloud/internal/cloud"
)

// decodeWith runs the decoder of action on form.
func decodeWith(t *testing.T, action string, form url.Values) (any, error) {
	t.Helper()
	p := &params{values: form}
	switch action {
	case "RunInstances":
		return decodeRunInstances(p)
	case "DescribeInstances":
		return decodeDescribeInstances(p)
	case "StartInstances", "RebootInstances", "TerminateInstances":
		return decodeInstanceIDs(p)
	case "StopInstances":
		return decodeStopInstances(p)
	case "DescribeInstanceStatus":
		return decodeDescribeInstanceStatus(p)
	case "CreateTags":
		return decodeCreateTags(p)
	case "DeleteTags":
		return decodeDeleteTags(p)
	case "DescribeTags":
		return decodeDescribeTags(p)
	case "DescribeImages":
		return decodeDescribeImages(p)
	case "DescribeInstanceTypes":
		return decodeDescribeInstanceTypes(p)
	case "DescribeRegions":
		return decodeDescribeRegions(p)
	case "DescribeAvailabilityZones":
		return decodeDescribeAvailabilityZones(p)
	}
	t.Fatalf("no decoder for %s", action)
	return nil, nil
}

// form builds url.Values from name, value pairs.
func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// TestDecode_OK decodes a full request of every action. Every parameter
// name sent must be one the EC2 model declares, so a decoder reading a
// misspelt name would fail here twice: on the model and on the value.
func TestDecode_OK(t *testing.T) {
	m := ec2Model(t)
	tests := []struct {
		action string
		form   url.Values
		want   any
	}{
		{"RunInstances", form(
			"ImageId", "ami-0abcdef1234567890", "InstanceType", "t3.micro",
			"MinCount", "1", "MaxCount", "3", "KeyName", "lab", "ClientToken", "tok",
			"Placement.AvailabilityZone", "us-east-1b", "UserData", "aGVsbG8=",
			"DryRun", "true",
			"TagSpecification.1.ResourceType", "instance",
			"TagSpecification.1.Tag.1.Key", "Name", "TagSpecification.1.Tag.1.Value", "web",
			"TagSpecification.1.Tag.2.Key", "env", "TagSpecification.1.Tag.2.Value", "lab",
			"TagSpecification.2.ResourceType", "volume",
			"TagSpecification.2.Tag.1.Key", "backup",
			// What real clients send too, and minicloud ignores.
			"Monitoring.Enabled", "false", "EbsOptimized", "false",
		), &cloud.RunInstancesInput{
			DryRun: true, ImageID: "ami-0abcdef1234567890", InstanceType: "t3.micro",
			MinCount: 1, MaxCount: 3, KeyName: "lab", ClientToken: "tok",
			AvailabilityZone: "us-east-1b", UserData: "aGVsbG8=",
			TagSpecifications: []cloud.TagSpecification{
				{ResourceType: "instance", Tags: []cloud.Tag{{Key: "Name", Value: "web"}, {Key: "env", Value: "lab"}}},
				{ResourceType: "volume", Tags: []cloud.Tag{{Key: "backup"}}},
			},
		}},
		{"DescribeInstances", form(
			"InstanceId.1", "i-1", "InstanceId.2", "i-2", "NextToken", "t",
			"Filter.1.Name", "instance-state-name", "Filter.1.Value.1", "running",
			"Filter.1.Value.2", "pending", "Filter.2.Name", "tag:Name", "Filter.2.Value.1", "web-*",
		), &cloud.DescribeInstancesInput{
			InstanceIDs: []string{"i-1", "i-2"}, NextToken: "t",
			Filters: []cloud.Filter{
				{Name: "instance-state-name", Values: []string{"running", "pending"}},
				{Name: "tag:Name", Values: []string{"web-*"}},
			},
		}},
		{"DescribeInstances", form("MaxResults", "5"), &cloud.DescribeInstancesInput{MaxResults: 5}},
		{"DescribeInstances", form("MaxResults", "1000"), &cloud.DescribeInstancesInput{MaxResults: 1000}},
		{"StartInstances", form("InstanceId.1", "i-1", "DryRun", "FALSE"),
			&cloud.InstanceIDsInput{InstanceIDs: []string{"i-1"}}},
		{"StopInstances", form("InstanceId.1", "i-1", "Force", "true", "Hibernate", "true"),
			&cloud.StopInstancesInput{InstanceIDs: []string{"i-1"}, Force: true, Hibernate: true}},
		{"TerminateInstances", form("InstanceId.1", "i-1", "InstanceId.2", "i-2"),
			&cloud.InstanceIDsInput{InstanceIDs: []string{"i-1", "i-2"}}},
		{"DescribeInstanceStatus", form("IncludeAllInstances", "true", "MaxResults", "50",
			"NextToken", "n", "Filter.1.Name", "availability-zone", "Filter.1.Value.1", "us-east-1a"),
			&cloud.DescribeInstanceStatusInput{IncludeAllInstances: true, MaxResults: 50, NextToken: "n",
				Filters: []cloud.Filter{{Name: "availability-zone", Values: []string{"us-east-1a"}}}}},
		{"CreateTags", form("ResourceId.1", "i-1", "ResourceId.2", "ami-1",
			"Tag.1.Key", "Name", "Tag.1.Value", "web", "Tag.2.Key", "blank"),
			&cloud.CreateTagsInput{ResourceIDs: []string{"i-1", "ami-1"},
				Tags: []cloud.Tag{{Key: "Name", Value: "web"}, {Key: "blank"}}}},
		{"DeleteTags", form("ResourceId.1", "i-1", "Tag.1.Key", "any",
			"Tag.2.Key", "only-empty", "Tag.2.Value", "", "Tag.3.Key", "only-x", "Tag.3.Value", "x"),
			&cloud.DeleteTagsInput{ResourceIDs: []string{"i-1"}, Tags: []cloud.DeleteTag{
				{Key: "any"}, {Key: "only-empty", ValueSet: true}, {Key: "only-x", Value: "x", ValueSet: true}}}},
		{"DescribeTags", form("MaxResults", "10", "Filter.1.Name", "resource-id", "Filter.1.Value.1", "i-1"),
			&cloud.DescribeTagsInput{MaxResults: 10,
				Filters: []cloud.Filter{{Name: "resource-id", Values: []string{"i-1"}}}}},
		{"DescribeImages", form("ImageId.1", "ami-1", "Owner.1", "self", "Owner.2", "amazon",
			"ExecutableBy.1", "all"),
			&cloud.DescribeImagesInput{ImageIDs: []string{"ami-1"}, Owners: []string{"self", "amazon"},
				ExecutableUsers: []string{"all"}}},
		{"DescribeInstanceTypes", form("InstanceType.1", "t3.micro", "MaxResults", "100"),
			&cloud.DescribeInstanceTypesInput{InstanceTypes: []string{"t3.micro"}, MaxResults: 100}},
		{"DescribeRegions", form("RegionName.1", "us-east-1", "AllRegions", "true"),
			&cloud.DescribeRegionsInput{RegionNames: []string{"us-east-1"}, AllRegions: true}},
		{"DescribeAvailabilityZones", form("ZoneName.1", "us-east-1a", "ZoneId.1", "use1-az2",
			"AllAvailabilityZones", "true"),
			&cloud.DescribeAvailabilityZonesInput{ZoneNames: []string{"us-east-1a"},
				ZoneIDs: []string{"use1-az2"}, AllZones: true}},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			for name := range tt.form {
				if !m.hasParam(tt.action, name) {
					t.Errorf("%s is not a parameter of %s in the EC2 model", name, tt.action)
				}
			}
			got, err := decodeWith(t, tt.action, tt.form)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestDecode_ListOrder checks that numbered lists are read in index
// order whatever their numbering: gaps, a start other than 1, numbers
// past 9, and names that are not list members.
func TestDecode_ListOrder(t *testing.T) {
	p := &params{values: form(
		"InstanceId.10", "i-10", "InstanceId.2", "i-2", "InstanceId.7", "i-7",
		"InstanceId.x", "ignored", "InstanceId", "ignored", "InstanceIdX.1", "ignored",
		"InstanceId.3.Extra", "ignored",
	)}
	got := p.list("InstanceId")
	want := []string{"i-2", "i-7", "i-10"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if p.err != nil {
		t.Errorf("unexpected error %v", p.err)
	}

	p = &params{values: form("Filter.3.Name", "b", "Filter.3.Value.2", "y", "Filter.3.Value.1", "x",
		"Filter.1.Name", "a")}
	gotF := p.filters()
	wantF := []cloud.Filter{{Name: "a"}, {Name: "b", Values: []string{"x", "y"}}}
	if !reflect.DeepEqual(gotF, wantF) {
		t.Errorf("filters %+v, want %+v", gotF, wantF)
	}
}

// TestDecode_Errors checks every way a request's parameters can be
// wrong, and the code and message each gets.
func TestDecode_Errors(t *testing.T) {
	run := func(kv ...string) url.Values {
		return form(append([]string{"ImageId", "ami-1", "MinCount", "1", "MaxCount", "1"}, kv...)...)
	}
	tests := []struct {
		name    string
		action  string
		form    url.Values
		code    string
		message string // a part of the message
	}{
		{"MaxCountNotInteger", "RunInstances", form("ImageId", "ami-1", "MinCount", "1", "MaxCount", "abc"),
			cloud.ErrCodeInvalidParameterValue, "Value (abc) for parameter MaxCount is invalid"},
		{"MinCountTooBig", "RunInstances", form("ImageId", "ami-1", "MinCount", "99999999999", "MaxCount", "1"),
			cloud.ErrCodeInvalidParameterValue, "MinCount"},
		{"DryRunNotBoolean", "RunInstances", run("DryRun", "maybe"),
			cloud.ErrCodeInvalidParameterValue, "Value (maybe) for parameter DryRun is invalid"},
		{"NoImageID", "RunInstances", form("MinCount", "1", "MaxCount", "1"),
			cloud.ErrCodeMissingParameter, "The request must contain the parameter ImageId"},
		{"NoMinCount", "RunInstances", form("ImageId", "ami-1", "MaxCount", "1"),
			cloud.ErrCodeMissingParameter, "parameter MinCount"},
		{"NoMaxCount", "RunInstances", form("ImageId", "ami-1", "MinCount", "1"),
			cloud.ErrCodeMissingParameter, "parameter MaxCount"},
		{"LaunchTemplate", "RunInstances", form("LaunchTemplate.LaunchTemplateId", "lt-1",
			"MinCount", "1", "MaxCount", "1"), cloud.ErrCodeUnsupported, "LaunchTemplate"},
		{"UserDataNotBase64", "RunInstances", run("UserData", "#!/bin/sh\necho hi"),
			"InvalidUserData.Malformed", "BASE64"},
		{"StartNoIDs", "StartInstances", form("DryRun", "true"),
			cloud.ErrCodeMissingParameter, "parameter InstanceId"},
		{"StopNoIDs", "StopInstances", form(),
			cloud.ErrCodeMissingParameter, "parameter InstanceId"},
		{"StopForceNotBoolean", "StopInstances", form("InstanceId.1", "i-1", "Force", "yes"),
			cloud.ErrCodeInvalidParameterValue, "Force"},
		{"TerminateNoIDs", "TerminateInstances", form(),
			cloud.ErrCodeMissingParameter, "parameter InstanceId"},
		{"RebootNoIDs", "RebootInstances", form(),
			cloud.ErrCodeMissingParameter, "parameter InstanceId"},
		{"CreateTagsNoResource", "CreateTags", form("Tag.1.Key", "k"),
			cloud.ErrCodeMissingParameter, "parameter ResourceId"},
		{"CreateTagsNoTag", "CreateTags", form("ResourceId.1", "i-1"),
			cloud.ErrCodeMissingParameter, "parameter Tag"},
		{"DeleteTagsNoResource", "DeleteTags", form("Tag.1.Key", "k"),
			cloud.ErrCodeMissingParameter, "parameter ResourceId"},
		{"MaxResultsWithIDs", "DescribeInstances", form("InstanceId.1", "i-1", "MaxResults", "10"),
			cloud.ErrCodeInvalidParameterCombination,
			"The parameter instancesSet cannot be used with the parameter maxResults"},
		{"MaxResultsTooSmall", "DescribeInstances", form("MaxResults", "4"),
			cloud.ErrCodeInvalidParameterValue, "between 5 and 1000"},
		{"MaxResultsTooBig", "DescribeInstances", form("MaxResults", "1001"),
			cloud.ErrCodeInvalidParameterValue, "between 5 and 1000"},
		{"MaxResultsNotInteger", "DescribeInstances", form("MaxResults", "ten"),
			cloud.ErrCodeInvalidParameterValue, "MaxResults"},
		{"StatusMaxResultsWithIDs", "DescribeInstanceStatus", form("InstanceId.1", "i-1", "MaxResults", "10"),
			cloud.ErrCodeInvalidParameterCombination, "instancesSet"},
		{"InstanceTypesMaxResults", "DescribeInstanceTypes", form("MaxResults", "101"),
			cloud.ErrCodeInvalidParameterValue, "between 5 and 100"},
		{"TagsMaxResults", "DescribeTags", form("MaxResults", "2"),
			cloud.ErrCodeInvalidParameterValue, "between 5 and 1000"},
		{"FilterWithoutName", "DescribeImages", form("Filter.1.Value.1", "x"),
			cloud.ErrCodeMissingParameter, "Filter.1.Name"},
		{"AllRegionsNotBoolean", "DescribeRegions", form("AllRegions", "1"),
			cloud.ErrCodeInvalidParameterValue, "AllRegions"},
		{"AllZonesNotBoolean", "DescribeAvailabilityZones", form("AllAvailabilityZones", "no"),
			cloud.ErrCodeInvalidParameterValue, "AllAvailabilityZones"},
		{"IncludeAllNotBoolean", "DescribeInstanceStatus", form("IncludeAllInstances", "all"),
			cloud.ErrCodeInvalidParameterValue, "IncludeAllInstances"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeWith(t, tt.action, tt.form)
			var e *cloud.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want a %s", err, tt.code)
			}
			if e.Code != tt.code || !strings.Contains(e.Message, tt.message) {
				t.Errorf("got %s %q, want %s containing %q", e.Code, e.Message, tt.code, tt.message)
			}
		})
	}
}

// TestDecode_OverHTTP checks that decoding errors reach the client as
// 400s with their code, and that the service is not called.
func TestDecode_OverHTTP(t *testing.T) {
	fake := newFake()
	h := newTestHandler(t, fake)

	rec := call(t, h, "RunInstances", form("ImageId", "ami-1", "MinCount", "1", "MaxCount", "abc"))
	wantError(t, rec, 400, cloud.ErrCodeInvalidParameterValue)
	if fake.input("RunInstances") != nil {
		t.Error("the service was called with an undecodable request")
	}

	rec = call(t, h, "DescribeInstances", form("InstanceId.1", "i-1", "MaxResults", "5"))
	wantError(t, rec, 400, cloud.ErrCodeInvalidParameterCombination)
}
