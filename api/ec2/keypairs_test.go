package ec2

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/minicloud/minicloud/internal/cloud"
)

// The requests TestEncode_MatchesModel sends for the key pair and
// instance attribute actions.
func init() {
	for op, form := range map[string]url.Values{
		"CreateKeyPair": {"KeyName": {"lab"}},
		"ImportKeyPair": {"KeyName": {"lab"},
			"PublicKeyMaterial": {base64.StdEncoding.EncodeToString([]byte(testPublicKey))}},
		"DescribeKeyPairs":          {"IncludePublicKey": {"true"}},
		"DeleteKeyPair":             {"KeyName": {"lab"}},
		"DescribeInstanceAttribute": {"InstanceId": {"i-0123456789abc0001"}, "Attribute": {"instanceType"}},
		"ModifyInstanceAttribute": {"InstanceId": {"i-0123456789abc0001"},
			"InstanceType.Value": {"t3.large"}},
	} {
		actionForms[op] = form
	}
}

const testPublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIILWSUbvTgSlI8BnpkbrOplm97iuYVCoBJxloieLmkbd lab"

// testKeyPair returns a key pair with every field set.
func testKeyPair() *cloud.KeyPair {
	return &cloud.KeyPair{
		ID: "key-0123456789abcdef0", Name: "lab", OwnerID: testAccount, Type: cloud.KeyTypeED25519,
		Fingerprint: "4Wik4c7o2UqKEv0WRMslnc/KKb2IrjdaRyKWkBOcmYc=", PublicKey: testPublicKey,
		CreateTime: testLaunch, Tags: cloud.Tags{"team": "lab"},
	}
}

func (f *fakeService) CreateKeyPair(
	ctx context.Context, in *cloud.CreateKeyPairInput,
) (*cloud.CreateKeyPairOutput, error) {
	if err := f.record(ctx, "CreateKeyPair", in); err != nil {
		return nil, err
	}
	return &cloud.CreateKeyPairOutput{KeyPair: testKeyPair(),
		KeyMaterial: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----"}, nil
}

func (f *fakeService) ImportKeyPair(ctx context.Context, in *cloud.ImportKeyPairInput) (*cloud.KeyPair, error) {
	if err := f.record(ctx, "ImportKeyPair", in); err != nil {
		return nil, err
	}
	return testKeyPair(), nil
}

func (f *fakeService) DescribeKeyPairs(ctx context.Context, in *cloud.DescribeKeyPairsInput) ([]*cloud.KeyPair, error) {
	if err := f.record(ctx, "DescribeKeyPairs", in); err != nil {
		return nil, err
	}
	bare := testKeyPair()
	bare.ID, bare.Name, bare.Tags, bare.PublicKey = "key-0000000000000000b", "bare", nil, ""
	return []*cloud.KeyPair{testKeyPair(), bare}, nil
}

func (f *fakeService) DeleteKeyPair(
	ctx context.Context, in *cloud.DeleteKeyPairInput,
) (*cloud.DeleteKeyPairOutput, error) {
	if err := f.record(ctx, "DeleteKeyPair", in); err != nil {
		return nil, err
	}
	return &cloud.DeleteKeyPairOutput{KeyPairID: "key-0123456789abcdef0"}, nil
}

// DescribeInstanceAttribute answers for a running instance, with a value
// of the attribute's kind.
func (f *fakeService) DescribeInstanceAttribute(
	ctx context.Context, in *cloud.DescribeInstanceAttributeInput,
) (*cloud.InstanceAttribute, error) {
	if err := f.record(ctx, "DescribeInstanceAttribute", in); err != nil {
		return nil, err
	}
	out := &cloud.InstanceAttribute{InstanceID: in.InstanceID, Attribute: in.Attribute,
		Instance: runningInstance(1), Bool: true}
	out.Instance.SecurityGroups = []cloud.GroupIdentifier{{ID: "sg-0123456789abcdef0", Name: "default"}}
	switch in.Attribute {
	case cloud.AttrInstanceType:
		out.Value = "t3.micro"
	case cloud.AttrUserData:
		out.Value = base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\necho hi\n"))
	case cloud.AttrShutdownBehavior:
		out.Value = cloud.ShutdownTerminate
	case cloud.AttrRootDeviceName:
		out.Value = "/dev/xvda"
	}
	return out, nil
}

func (f *fakeService) ModifyInstanceAttribute(ctx context.Context, in *cloud.ModifyInstanceAttributeInput) error {
	return f.record(ctx, "ModifyInstanceAttribute", in)
}

// TestEncode_InstanceAttribute answers DescribeInstanceAttribute for
// every attribute and checks each answer against the model.
func TestEncode_InstanceAttribute(t *testing.T) {
	m := ec2Model(t)
	h := newTestHandler(t, newFake())
	for _, attr := range cloud.InstanceAttributeNames {
		t.Run(attr, func(t *testing.T) {
			rec := call(t, h, "DescribeInstanceAttribute", url.Values{
				"InstanceId": {"i-0123456789abc0001"}, "Attribute": {attr}})
			body := wantOK(t, rec)
			for _, err := range m.validateResponse("DescribeInstanceAttribute", parseXML(t, body)) {
				t.Error(err)
			}
			if _, ok := element(t, body, attr); !ok && attr != cloud.AttrBlockDeviceMapping {
				t.Errorf("no <%s> in %s", attr, body)
			}
		})
	}
}

// TestDecode_ModifyInstanceAttribute checks both ways of naming the
// attribute to change.
func TestDecode_ModifyInstanceAttribute(t *testing.T) {
	m := ec2Model(t)
	str := func(s string) *string { return &s }
	yes := true
	tests := []struct {
		name string
		form url.Values
		want cloud.ModifyInstanceAttributeInput
	}{
		{"InstanceType", url.Values{"InstanceType.Value": {"t3.large"}},
			cloud.ModifyInstanceAttributeInput{InstanceType: str("t3.large")}},
		{"AttributeValue", url.Values{"Attribute": {"instanceType"}, "Value": {"t3.large"}},
			cloud.ModifyInstanceAttributeInput{InstanceType: str("t3.large")}},
		{"UserData", url.Values{"UserData.Value": {"aGk="}},
			cloud.ModifyInstanceAttributeInput{UserData: []byte("hi")}},
		{"UserDataEmpty", url.Values{"UserData.Value": {""}},
			cloud.ModifyInstanceAttributeInput{UserData: []byte{}}},
		{"DisableApiTermination", url.Values{"DisableApiTermination.Value": {"true"}},
			cloud.ModifyInstanceAttributeInput{DisableAPITermination: &yes}},
		{"DisableApiStopByName", url.Values{"Attribute": {"disableApiStop"}, "Value": {"true"}},
			cloud.ModifyInstanceAttributeInput{DisableAPIStop: &yes}},
		{"ShutdownBehavior", url.Values{"InstanceInitiatedShutdownBehavior.Value": {"terminate"}},
			cloud.ModifyInstanceAttributeInput{ShutdownBehavior: str("terminate")}},
		{"Groups", url.Values{"GroupId.1": {"sg-0123456789abcdef0"}, "GroupId.2": {"sg-0123456789abcdef1"}},
			cloud.ModifyInstanceAttributeInput{Groups: []string{"sg-0123456789abcdef0", "sg-0123456789abcdef1"}}},
		{"BlockDeviceMapping", url.Values{"BlockDeviceMapping.1.DeviceName": {"/dev/xvda"}},
			cloud.ModifyInstanceAttributeInput{Unsupported: "blockDeviceMapping"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name := range tt.form {
				if name != "Attribute" && name != "Value" && !m.hasParam("ModifyInstanceAttribute", name) {
					t.Errorf("%s is not a ModifyInstanceAttribute parameter", name)
				}
			}
			fake := newFake()
			h := newTestHandler(t, fake)
			tt.form.Set("InstanceId", "i-0123456789abc0001")
			wantOK(t, call(t, h, "ModifyInstanceAttribute", tt.form))
			got := *fake.input("ModifyInstanceAttribute").(*cloud.ModifyInstanceAttributeInput)
			tt.want.InstanceID = "i-0123456789abc0001"
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("input = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestDecode_KeyPairErrors checks the client mistakes the adapter itself
// catches in the new actions.
func TestDecode_KeyPairErrors(t *testing.T) {
	tests := []struct {
		name, action string
		form         url.Values
		code         string
	}{
		{"CreateWithoutName", "CreateKeyPair", url.Values{}, cloud.ErrCodeMissingParameter},
		{"ImportWithoutKey", "ImportKeyPair", url.Values{"KeyName": {"k"}}, cloud.ErrCodeMissingParameter},
		{"ImportUnencoded", "ImportKeyPair", url.Values{"KeyName": {"k"},
			"PublicKeyMaterial": {testPublicKey}}, cloud.ErrCodeInvalidKeyFormat},
		{"DeleteWithoutName", "DeleteKeyPair", url.Values{}, cloud.ErrCodeMissingParameter},
		{"AttributeWithoutName", "DescribeInstanceAttribute",
			url.Values{"InstanceId": {"i-0123456789abc0001"}}, cloud.ErrCodeMissingParameter},
		{"ModifyWithoutInstance", "ModifyInstanceAttribute",
			url.Values{"InstanceType.Value": {"t3.large"}}, cloud.ErrCodeMissingParameter},
		{"ModifyUnknownAttribute", "ModifyInstanceAttribute", url.Values{
			"InstanceId": {"i-0123456789abc0001"}, "Attribute": {"colour"}, "Value": {"red"}},
			cloud.ErrCodeInvalidParameterValue},
		{"ModifyUserDataNotBase64", "ModifyInstanceAttribute", url.Values{
			"InstanceId": {"i-0123456789abc0001"}, "UserData.Value": {"#!/bin/sh"}},
			"InvalidUserData.Malformed"},
		{"RunUserDataNotBase64", "RunInstances", url.Values{"ImageId": {"ami-0abcdef1234567890"},
			"MinCount": {"1"}, "MaxCount": {"1"}, "UserData": {"#!/bin/sh"}},
			"InvalidUserData.Malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake()
			wantError(t, call(t, newTestHandler(t, fake), tt.action, tt.form),
				http.StatusBadRequest, tt.code)
			if fake.input(tt.action) != nil {
				t.Error("the service was called")
			}
		})
	}
}

// TestSDK_KeyPairs runs the new actions through aws-sdk-go-v2, whose
// deserializers are strict about shapes.
func TestSDK_KeyPairs(t *testing.T) {
	ctx := context.Background()
	fake := newFake()
	client := newSDKClient(t, fake)

	created, err := client.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{
		KeyName: aws.String("lab"), KeyType: types.KeyTypeEd25519,
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeKeyPair,
			Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("lab")}}}},
	})
	if err != nil {
		t.Fatalf("CreateKeyPair: %v", err)
	}
	if aws.ToString(created.KeyPairId) != "key-0123456789abcdef0" ||
		aws.ToString(created.KeyMaterial)[:10] != "-----BEGIN" || len(created.Tags) != 1 {
		t.Errorf("CreateKeyPair answer %+v", created)
	}
	cin := fake.input("CreateKeyPair").(*cloud.CreateKeyPairInput)
	if cin.KeyType != "ed25519" || cin.TagSpecifications[0].ResourceType != "key-pair" {
		t.Errorf("CreateKeyPair input %+v", cin)
	}

	_, err = client.ImportKeyPair(ctx, &ec2.ImportKeyPairInput{
		KeyName: aws.String("lab"), PublicKeyMaterial: []byte(testPublicKey)})
	if err != nil {
		t.Fatalf("ImportKeyPair: %v", err)
	}
	if got := string(fake.input("ImportKeyPair").(*cloud.ImportKeyPairInput).PublicKeyMaterial); got != testPublicKey {
		t.Errorf("ImportKeyPair material %q", got)
	}

	described, err := client.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{
		KeyNames: []string{"lab"}, IncludePublicKey: aws.Bool(true)})
	if err != nil {
		t.Fatalf("DescribeKeyPairs: %v", err)
	}
	k := described.KeyPairs[0]
	if k.KeyType != types.KeyTypeEd25519 || aws.ToString(k.PublicKey) != testPublicKey ||
		!aws.ToTime(k.CreateTime).Equal(testLaunch) || described.KeyPairs[1].PublicKey != nil {
		t.Errorf("DescribeKeyPairs %+v", described.KeyPairs)
	}

	deleted, err := client.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyPairId: aws.String("key-0123456789abcdef0")})
	if err != nil || !aws.ToBool(deleted.Return) || aws.ToString(deleted.KeyPairId) != "key-0123456789abcdef0" {
		t.Errorf("DeleteKeyPair: %v %+v", err, deleted)
	}

	attr, err := client.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{
		InstanceId: aws.String("i-0123456789abc0001"), Attribute: types.InstanceAttributeNameUserData})
	if err != nil || aws.ToString(attr.UserData.Value) == "" {
		t.Errorf("DescribeInstanceAttribute: %v %+v", err, attr)
	}
	attr, err = client.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{
		InstanceId: aws.String("i-0123456789abc0001"), Attribute: types.InstanceAttributeNameDisableApiStop})
	if err != nil || !aws.ToBool(attr.DisableApiStop.Value) {
		t.Errorf("DescribeInstanceAttribute disableApiStop: %v %+v", err, attr)
	}
	attr, err = client.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{
		InstanceId: aws.String("i-0123456789abc0001"), Attribute: types.InstanceAttributeNameGroupSet})
	if err != nil || len(attr.Groups) != 1 || aws.ToString(attr.Groups[0].GroupName) != "default" {
		t.Errorf("DescribeInstanceAttribute groupSet: %v %+v", err, attr)
	}
	_, err = client.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{
		InstanceId: aws.String("i-0123456789abc0001"), UserData: &types.SecureBlobAttributeValue{Value: []byte("hi")}})
	if err != nil || string(fake.input("ModifyInstanceAttribute").(*cloud.ModifyInstanceAttributeInput).UserData) != "hi" {
		t.Errorf("ModifyInstanceAttribute: %v", err)
	}

	// A service error arrives with its code.
	fake.err = cloud.KeyPairNotFound("gone")
	_, err = client.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{KeyNames: []string{"gone"}})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != cloud.ErrCodeInvalidKeyPairNotFound {
		t.Errorf("DescribeKeyPairs error %v", err)
	}
}
