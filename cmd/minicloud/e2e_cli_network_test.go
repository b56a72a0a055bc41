package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// TestE2E_CLI_NetworkAndImages drives the default VPC, a security group
// and images with each aws CLI on the machine: two independent parsers of
// the answers, and the CLI's own shortcuts (--protocol, --port, --cidr).
func TestE2E_CLI_NetworkAndImages(t *testing.T) {
	for name, bin := range awsCLIs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts := openServer(t, serverOptions{})
			c := cli{t: t, bin: bin, endpoint: ts.Endpoint(), home: t.TempDir()}
			testCLINetwork(t, ts, c)
		})
	}
}

// get walks v along keys: strings index maps, ints index lists.
func get(t *testing.T, v any, keys ...any) any {
	t.Helper()
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v is not an object, looking for %s", v, k)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("%v has no item %d", v, k)
			}
			v = l[k]
		}
	}
	return v
}

// fails runs the CLI and checks that it fails with code.
func (c cli) fails(code string, args ...string) {
	c.t.Helper()
	out, err := c.exec(args...)
	if err == nil || !strings.Contains(string(out), "("+code+")") {
		c.t.Errorf("aws ec2 %s: %v\n%s\nwant an error %s", strings.Join(args, " "), err, out, code)
	}
}

// testCLINetwork runs the session with one CLI. Each run of the CLI costs
// a Python start, so it runs the calls whose answers it parses and
// leaves the rest to the SDK; and the CLI's waiters sleep fifteen seconds
// between polls, so the SDK's wait instead.
func testCLINetwork(t *testing.T, ts *testServer, c cli) {
	// The default network.
	if got := get(t, c.run("describe-vpcs"), "Vpcs", 0, "IsDefault"); got != true {
		t.Errorf("describe-vpcs: IsDefault = %v", got)
	}
	sn := c.run("describe-subnets", "--filters", "Name=availability-zone,Values=us-east-1b")
	subnet := get(t, sn, "Subnets", 0, "SubnetId").(string)
	if cidr := get(t, sn, "Subnets", 0, "CidrBlock"); cidr != "172.31.16.0/20" {
		t.Errorf("us-east-1b's subnet is %v", cidr)
	}

	// A group, with rules in the CLI's shorthand and in full.
	sg := get(t, c.run("create-security-group", "--group-name", "web", "--description", "web servers"),
		"GroupId").(string)
	c.run("authorize-security-group-ingress", "--group-name", "web", "--protocol", "tcp",
		"--port", "22", "--cidr", "0.0.0.0/0")
	c.run("authorize-security-group-ingress", "--group-id", sg, "--ip-permissions",
		"IpProtocol=udp,FromPort=53,ToPort=53,IpRanges=[{CidrIp=10.0.0.0/8,Description=dns}]")
	perms := get(t, c.run("describe-security-groups", "--group-names", "web"),
		"SecurityGroups", 0, "IpPermissions").([]any)
	if len(perms) != 2 || get(t, perms[1], "IpRanges", 0, "Description") != "dns" {
		t.Errorf("web's ingress = %v", perms)
	}
	c.run("revoke-security-group-ingress", "--group-id", sg, "--protocol", "tcp", "--port", "22",
		"--cidr", "0.0.0.0/0")

	// An instance in the subnet and the group.
	res := c.run("run-instances", "--image-id", ts.imageID("debian-12"), "--instance-type", "t3.micro",
		"--subnet-id", subnet, "--security-group-ids", sg)
	id := get(t, res, "Instances", 0, "InstanceId").(string)
	if z := get(t, res, "Instances", 0, "Placement", "AvailabilityZone"); z != "us-east-1b" {
		t.Errorf("the subnet's instance is in %v", z)
	}
	ts.waitRunning(id)
	inst := get(t, c.run("describe-instances", "--instance-ids", id), "Reservations", 0, "Instances", 0)
	if get(t, inst, "SubnetId") != subnet || get(t, inst, "SecurityGroups", 0, "GroupName") != "web" ||
		!strings.HasPrefix(get(t, inst, "NetworkInterfaces", 0, "NetworkInterfaceId").(string), "eni-") {
		t.Errorf("the instance's network: %v", inst)
	}
	c.fails("DependencyViolation", "delete-security-group", "--group-id", sg)

	// An image of it, without a reboot, then one registered, then gone.
	img := get(t, c.run("create-image", "--instance-id", id, "--name", "cli-image", "--no-reboot"),
		"ImageId").(string)
	reg := get(t, c.run("register-image", "--name", "cli-registered",
		"--image-location", "[datastore1] templates/alpine-3.20/alpine-3.20.vmdk"), "ImageId").(string)
	ts.waitImage(img, reg)
	mine := get(t, c.run("describe-images", "--owners", "self"), "Images").([]any)
	if len(mine) != 2 {
		t.Errorf("describe-images --owners self lists %d images, want 2", len(mine))
	}
	c.run("deregister-image", "--image-id", img)
	if _, err := ts.client.DescribeImages(context.Background(), &ec2.DescribeImagesInput{
		ImageIds: []string{img}}); err == nil {
		t.Errorf("image %s is still there after deregister-image", img)
	}
}
