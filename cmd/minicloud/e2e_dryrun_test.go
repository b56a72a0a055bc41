package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	ec2api "github.com/minicloud/minicloud/api/ec2"
	"github.com/minicloud/minicloud/internal/config"
)

// dryRunFixture is what the DryRun test's requests name: a public image,
// one of the caller's own (where minicloud makes images), a running and a
// stopped instance.
type dryRunFixture struct {
	image, ownImage, running, stopped string
}

// dryRunCase is one mutating action's DryRun requests: ok would succeed
// and must answer DryRunOperation; fail would not, and must answer the
// error code it would have without DryRun.
type dryRunCase struct {
	ok       func(f dryRunFixture) url.Values
	fail     func(f dryRunFixture) url.Values
	failCode string
}

// dryRunCases covers every mutating action minicloud answers. An action
// added without a case here is still walked, with only DryRun=true, and
// must then refuse without acting.
var dryRunCases = map[string]dryRunCase{
	"RunInstances": {
		ok: func(f dryRunFixture) url.Values {
			return url.Values{"ImageId": {f.image}, "MinCount": {"1"}, "MaxCount": {"1"},
				"KeyName": {"lab"}, "UserData": {"IyEvYmluL3NoCg=="}}
		},
		fail: func(f dryRunFixture) url.Values {
			return url.Values{"ImageId": {f.image}, "MinCount": {"1"}, "MaxCount": {"1"},
				"KeyName": {"nobody"}}
		},
		failCode: "InvalidKeyPair.NotFound",
	},
	"StartInstances":  instanceCase(func(f dryRunFixture) string { return f.stopped }, "InvalidInstanceID.NotFound"),
	"StopInstances":   instanceCase(func(f dryRunFixture) string { return f.running }, "InvalidInstanceID.NotFound"),
	"RebootInstances": instanceCase(func(f dryRunFixture) string { return f.running }, "InvalidInstanceID.NotFound"),
	"TerminateInstances": instanceCase(func(f dryRunFixture) string { return f.running },
		"InvalidInstanceID.NotFound"),
	"CreateTags": {
		ok: func(f dryRunFixture) url.Values {
			return url.Values{"ResourceId.1": {f.running}, "Tag.1.Key": {"env"}, "Tag.1.Value": {"dev"}}
		},
		fail: func(f dryRunFixture) url.Values {
			return url.Values{"ResourceId.1": {"i-0000000000000dead"}, "Tag.1.Key": {"env"}}
		},
		failCode: "InvalidInstanceID.NotFound",
	},
	"DeleteTags": {
		ok:       func(f dryRunFixture) url.Values { return url.Values{"ResourceId.1": {f.running}} },
		fail:     func(f dryRunFixture) url.Values { return url.Values{"ResourceId.1": {"i-0000000000000dead"}} },
		failCode: "InvalidInstanceID.NotFound",
	},
	"CreateKeyPair": {
		ok:       func(dryRunFixture) url.Values { return url.Values{"KeyName": {"new"}} },
		fail:     func(dryRunFixture) url.Values { return url.Values{"KeyName": {"lab"}} },
		failCode: "InvalidKeyPair.Duplicate",
	},
	"ImportKeyPair": {
		ok: func(dryRunFixture) url.Values {
			return url.Values{"KeyName": {"new"}, "PublicKeyMaterial": {base64.StdEncoding.EncodeToString(
				[]byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIILWSUbvTgSlI8BnpkbrOplm97iuYVCoBJxloieLmkbd"))}}
		},
		fail: func(dryRunFixture) url.Values {
			return url.Values{"KeyName": {"new"},
				"PublicKeyMaterial": {base64.StdEncoding.EncodeToString([]byte("ssh-ed25519 bm90IGEga2V5"))}}
		},
		failCode: "InvalidKey.Format",
	},
	"DeleteKeyPair": {
		ok:       func(dryRunFixture) url.Values { return url.Values{"KeyName": {"lab"}} },
		fail:     func(dryRunFixture) url.Values { return url.Values{"KeyPairId": {"key-nothex"}} },
		failCode: "InvalidKeyPairId.Malformed",
	},
	"ModifyInstanceAttribute": {
		ok: func(f dryRunFixture) url.Values {
			return url.Values{"InstanceId": {f.running}, "DisableApiTermination.Value": {"true"}}
		},
		fail: func(f dryRunFixture) url.Values {
			return url.Values{"InstanceId": {f.running}, "InstanceType.Value": {"t3.large"}}
		},
		failCode: "IncorrectInstanceState",
	},
	"CreateImage": {
		ok: func(f dryRunFixture) url.Values {
			return url.Values{"InstanceId": {f.running}, "Name": {"snapshot-1"}}
		},
		fail: func(dryRunFixture) url.Values {
			return url.Values{"InstanceId": {"i-0000000000000dead"}, "Name": {"snapshot-1"}}
		},
		failCode: "InvalidInstanceID.NotFound",
	},
	"CopyImage": {
		ok: func(f dryRunFixture) url.Values {
			return url.Values{"SourceImageId": {f.image}, "SourceRegion": {"us-east-1"}, "Name": {"copy"}}
		},
		fail: func(dryRunFixture) url.Values {
			return url.Values{"SourceImageId": {"ami-0000000000000dead"}, "SourceRegion": {"us-east-1"},
				"Name": {"copy"}}
		},
		failCode: "InvalidAMIID.NotFound",
	},
	"DeregisterImage": {
		ok:       func(f dryRunFixture) url.Values { return url.Values{"ImageId": {f.ownImage}} },
		fail:     func(dryRunFixture) url.Values { return url.Values{"ImageId": {"ami-0000000000000dead"}} },
		failCode: "InvalidAMIID.NotFound",
	},
	"CreateSecurityGroup": {
		ok: func(dryRunFixture) url.Values {
			return url.Values{"GroupName": {"new"}, "GroupDescription": {"new"}}
		},
		fail: func(dryRunFixture) url.Values {
			return url.Values{"GroupName": {"web"}, "GroupDescription": {"web"}}
		},
		failCode: "InvalidGroup.Duplicate",
	},
	"DeleteSecurityGroup": {
		ok:       func(dryRunFixture) url.Values { return url.Values{"GroupName": {"web"}} },
		fail:     func(dryRunFixture) url.Values { return url.Values{"GroupId": {"sg-0000000000000dead"}} },
		failCode: "InvalidGroup.NotFound",
	},
	"AuthorizeSecurityGroupIngress": ruleCase("80"),
	"RevokeSecurityGroupIngress":    ruleCase("22"),
}

// ruleCase is the case of an ingress rule change on the group web for a
// TCP port; it fails for a group that does not exist.
func ruleCase(port string) dryRunCase {
	rule := func(group string) url.Values {
		return url.Values{"GroupName": {group}, "IpPermissions.1.IpProtocol": {"tcp"},
			"IpPermissions.1.FromPort": {port}, "IpPermissions.1.ToPort": {port},
			"IpPermissions.1.IpRanges.1.CidrIp": {"10.0.0.0/8"}}
	}
	return dryRunCase{
		ok:       func(dryRunFixture) url.Values { return rule("web") },
		fail:     func(dryRunFixture) url.Values { return rule("nobody") },
		failCode: "InvalidGroup.NotFound",
	}
}

// instanceCase is the case of an action on one instance, which fails for
// an instance that does not exist.
func instanceCase(id func(dryRunFixture) string, code string) dryRunCase {
	return dryRunCase{
		ok:       func(f dryRunFixture) url.Values { return url.Values{"InstanceId.1": {id(f)}} },
		fail:     func(dryRunFixture) url.Values { return url.Values{"InstanceId.1": {"i-0000000000000dead"}} },
		failCode: code,
	}
}

// readOnly reports whether an action only reads, by EC2's naming.
func readOnly(action string) bool {
	for _, p := range []string{"Describe", "Get", "List"} {
		if strings.HasPrefix(action, p) {
			return true
		}
	}
	return false
}

// TestE2E_DryRun walks every mutating action in the adapter's action map
// with DryRun=true: one that would succeed answers DryRunOperation (412),
// one that would not answers its real error, and nothing changes.
func TestE2E_DryRun(t *testing.T) {
	ts := openServer(t, serverOptions{})
	ctx := context.Background()

	// A key pair, a running instance and a stopped one.
	if _, err := ts.client.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("lab")}); err != nil {
		t.Fatal(err)
	}
	ids := ts.run(2, func(in *ec2.RunInstancesInput) {
		in.KeyName = aws.String("lab")
		in.TagSpecifications = []types.TagSpecification{{ResourceType: types.ResourceTypeInstance,
			Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("web")}}}}
	})
	ts.waitRunning(ids...)
	if _, err := ts.client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids[1:]}); err != nil {
		t.Fatal(err)
	}
	waitState(t, ts, types.InstanceStateNameStopped, ids[1])
	f := dryRunFixture{image: ts.imageID("debian-12"), running: ids[0], stopped: ids[1]}

	// Where minicloud has security groups, a group web with SSH open.
	for _, step := range []struct {
		action string
		form   url.Values
	}{
		{"CreateSecurityGroup", url.Values{"GroupName": {"web"}, "GroupDescription": {"web"}}},
		{"AuthorizeSecurityGroupIngress", ruleCase("22").ok(f)},
	} {
		if !slices.Contains(ec2api.Actions(), step.action) {
			continue
		}
		if status, code := ts.post(t, step.action, step.form); status != 200 {
			t.Fatalf("%s: %d %s", step.action, status, code)
		}
	}
	if slices.Contains(ec2api.Actions(), "CreateImage") {
		status, code, body := ts.postBody(t, "CreateImage",
			url.Values{"InstanceId": {f.stopped}, "Name": {"mine"}})
		var out struct {
			ImageID string `xml:"imageId"`
		}
		if status != 200 || xml.Unmarshal(body, &out) != nil || out.ImageID == "" {
			t.Fatalf("CreateImage: %d %s %s", status, code, body)
		}
		f.ownImage = out.ImageID
	}
	before := snapshot(t, ts)

	for _, action := range ec2api.Actions() {
		if readOnly(action) {
			continue
		}
		t.Run(action, func(t *testing.T) {
			c, ok := dryRunCases[action]
			if !ok {
				// An action without a case must at least refuse to act.
				status, code := ts.post(t, action, url.Values{"DryRun": {"true"}})
				if status < 400 || status >= 500 {
					t.Errorf("%s with only DryRun=true answered %d %s, want a client error "+
						"(add a case to dryRunCases)", action, status, code)
				}
				return
			}
			form := c.ok(f)
			form.Set("DryRun", "true")
			if status, code := ts.post(t, action, form); status != 412 || code != "DryRunOperation" {
				t.Errorf("DryRun that would succeed: %d %s, want 412 DryRunOperation", status, code)
			}
			form = c.fail(f)
			form.Set("DryRun", "true")
			if status, code := ts.post(t, action, form); status != 400 || code != c.failCode {
				t.Errorf("DryRun that would fail: %d %s, want 400 %s", status, code, c.failCode)
			}
		})
	}

	// Give a controller kicked by mistake time to act, then compare.
	time.Sleep(300 * time.Millisecond)
	if after := snapshot(t, ts); after != before {
		t.Errorf("dry runs changed something:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// snapshot describes everything the mutating actions could change.
func snapshot(t *testing.T, ts *testServer) string {
	t.Helper()
	ctx := context.Background()
	var lines []string

	insts, err := ts.client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range insts.Reservations {
		for _, i := range r.Instances {
			attr, err := ts.client.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{
				InstanceId: i.InstanceId, Attribute: types.InstanceAttributeNameDisableApiTermination})
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("instance %s %s %s key=%s tags=%s protected=%v",
				aws.ToString(i.InstanceId), i.State.Name, i.InstanceType, aws.ToString(i.KeyName),
				tagString(i.Tags), aws.ToBool(attr.DisableApiTermination.Value)))
		}
	}
	keys, err := ts.client.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys.KeyPairs {
		lines = append(lines, fmt.Sprintf("key %s %s tags=%s", aws.ToString(k.KeyPairId),
			aws.ToString(k.KeyName), tagString(k.Tags)))
	}
	imgs, err := ts.client.DescribeImages(ctx, &ec2.DescribeImagesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range imgs.Images {
		// Not its state: an image being made becomes available meanwhile.
		lines = append(lines, fmt.Sprintf("image %s %s tags=%s", aws.ToString(img.ImageId),
			aws.ToString(img.Name), tagString(img.Tags)))
	}
	if slices.Contains(ec2api.Actions(), "DescribeSecurityGroups") {
		groups, err := ts.client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range groups.SecurityGroups {
			lines = append(lines, fmt.Sprintf("group %s %s in=%d out=%d tags=%s",
				aws.ToString(g.GroupId), aws.ToString(g.GroupName), len(g.IpPermissions),
				len(g.IpPermissionsEgress), tagString(g.Tags)))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// tagString writes tags as k=v pairs in key order.
func tagString(tags []types.Tag) string {
	var out []string
	for _, tag := range tags {
		out = append(out, aws.ToString(tag.Key)+"="+aws.ToString(tag.Value))
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// post sends one signed EC2 Query request and returns the HTTP status and
// the error code of the answer, empty for a success.
func (ts *testServer) post(t *testing.T, action string, form url.Values) (int, string) {
	t.Helper()
	status, code, _ := ts.postBody(t, action, form)
	return status, code
}

// postBody is post that also returns the answer's body.
func (ts *testServer) postBody(t *testing.T, action string, form url.Values) (int, string, []byte) {
	t.Helper()
	form.Set("Action", action)
	form.Set("Version", "2016-11-15")
	body := form.Encode()
	req, err := http.NewRequest(http.MethodPost, ts.Endpoint()+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: config.TestAccessKeyID, SecretAccessKey: config.TestSecretAccessKey}
	err = v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]),
		"ec2", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, "", raw
	}
	var doc struct {
		Code string `xml:"Errors>Error>Code"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s answered %d with %s", action, resp.StatusCode, raw)
	}
	return resp.StatusCode, doc.Code, raw
}
