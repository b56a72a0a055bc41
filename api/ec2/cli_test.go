package ec2

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/minicloud/minicloud/internal/cloud"
)

// runCLI runs the aws CLI against url with the test credentials and no
// configuration from the machine, and returns its output.
func runCLI(t *testing.T, url string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command("aws", append([]string{"--endpoint-url", url}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env,
		"AWS_ACCESS_KEY_ID="+testKey,
		"AWS_SECRET_ACCESS_KEY="+testSecret,
		"AWS_DEFAULT_REGION="+testRegion,
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
		"AWS_PAGER=",
	)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// TestCLI runs the real aws CLI, a second, independent parser of EC2's
// XML, against the handler.
func TestCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the aws CLI is not on PATH")
	}
	fake := newFake()
	srv := httptest.NewServer(newTestHandler(t, fake))
	t.Cleanup(srv.Close)

	// Each run starts a Python interpreter; they run side by side.
	t.Run("DescribeInstances", func(t *testing.T) {
		t.Parallel()
		stdout, stderr, err := runCLI(t, srv.URL, "ec2", "describe-instances", "--output", "json")
		if err != nil {
			t.Fatalf("aws: %v\n%s", err, stderr)
		}
		var out struct {
			Reservations []struct {
				ReservationId string
				Instances     []struct {
					InstanceId     string
					PrivateDnsName string
					LaunchTime     string
					State          struct {
						Code int
						Name string
					}
					Placement   struct{ AvailabilityZone string }
					CpuOptions  struct{ CoreCount, ThreadsPerCore int }
					Tags        []struct{ Key, Value string }
					StateReason *struct{ Code, Message string }
				}
			}
		}
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("aws printed %s: %v", stdout, err)
		}
		if len(out.Reservations) != 2 {
			t.Fatalf("%d reservations, want 2:\n%s", len(out.Reservations), stdout)
		}
		i := out.Reservations[0].Instances[0]
		if i.InstanceId != "i-0123456789abc0001" || i.State.Name != "running" || i.State.Code != 16 ||
			i.PrivateDnsName != "ip-172-31-1-2.ec2.internal" ||
			!strings.HasPrefix(i.LaunchTime, "2024-05-20T19:42:41.250") ||
			i.Placement.AvailabilityZone != "us-east-1a" || i.CpuOptions.ThreadsPerCore != 2 ||
			len(i.Tags) != 2 || i.Tags[1].Value != `a & b < c > "d"` {
			t.Errorf("instance as the CLI read it: %+v", i)
		}
		if r := out.Reservations[1].Instances[0].StateReason; r == nil || r.Code != "Client.UserInitiatedShutdown" {
			t.Errorf("stopped instance's StateReason %+v", r)
		}
	})

	t.Run("RunInstances", func(t *testing.T) {
		t.Parallel()
		_, stderr, err := runCLI(t, srv.URL, "ec2", "run-instances", "--output", "json",
			"--image-id", "ami-0abcdef1234567890", "--count", "2", "--instance-type", "t3.micro",
			"--user-data", "#!/bin/sh\necho hello",
			"--tag-specifications", "ResourceType=instance,Tags=[{Key=Name,Value=web}]")
		if err != nil {
			t.Fatalf("aws: %v\n%s", err, stderr)
		}
		in, _ := fake.input("RunInstances").(*cloud.RunInstancesInput)
		if in == nil {
			t.Fatal("the service was not called")
		}
		data, _ := base64.StdEncoding.DecodeString(in.UserData)
		if in.MinCount != 2 || in.MaxCount != 2 || in.ClientToken == "" ||
			string(data) != "#!/bin/sh\necho hello" ||
			len(in.TagSpecifications) != 1 || in.TagSpecifications[0].Tags[0].Value != "web" {
			t.Errorf("service got %+v (user data %q)", in, data)
		}
	})

	t.Run("Error", func(t *testing.T) {
		t.Parallel()
		errFake := newFake()
		errFake.err = cloud.InstancesNotFound([]string{"i-0000000000000dead"})
		errSrv := httptest.NewServer(newTestHandler(t, errFake))
		defer errSrv.Close()
		_, stderr, err := runCLI(t, errSrv.URL, "ec2", "describe-instances",
			"--instance-ids", "i-0000000000000dead", "--output", "json")
		if err == nil {
			t.Fatal("aws succeeded, want a failure")
		}
		want := "(InvalidInstanceID.NotFound) when calling the DescribeInstances operation: " +
			"The instance ID 'i-0000000000000dead' does not exist"
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q, want it to contain %q", stderr, want)
		}
	})
}
