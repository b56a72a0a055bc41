package main

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// TestE2E_GetConsoleOutput reads a booted instance's serial console
// through minicloud with aws-sdk-go-v2 and with each aws CLI, which
// decodes the output itself.
func TestE2E_GetConsoleOutput(t *testing.T) {
	ts := openServer(t, serverOptions{})
	id := ts.run(1, nil)[0]
	ts.waitRunning(id)

	// The guest writes its boot log a moment after power-on.
	var text string
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(text, "login: ") {
		if time.Now().After(deadline) {
			t.Fatalf("no boot log; console holds %q", text)
		}
		time.Sleep(50 * time.Millisecond)
		out, err := ts.client.GetConsoleOutput(context.Background(), &ec2.GetConsoleOutputInput{
			InstanceId: aws.String(id), Latest: aws.Bool(true),
		})
		if err != nil {
			t.Fatal(err)
		}
		b, err := base64.StdEncoding.DecodeString(aws.ToString(out.Output))
		if err != nil {
			t.Fatalf("output is not base64: %v", err)
		}
		text = string(b)
		if aws.ToString(out.InstanceId) != id || out.Timestamp == nil {
			t.Fatalf("answer: instance %q, timestamp %v", aws.ToString(out.InstanceId), out.Timestamp)
		}
	}
	if !strings.Contains(text, "Linux version") || !strings.Contains(text, "cloud-init") {
		t.Errorf("console: %q", text)
	}

	for name, bin := range awsCLIs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(bin, "--endpoint-url", ts.Endpoint(), "ec2", "get-console-output",
				"--instance-id", id, "--output", "text")
			cmd.Env = []string{
				"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LANG=C.UTF-8",
				"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
				"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null",
				"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
				"AWS_PAGER=",
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("aws ec2 get-console-output: %v\n%s", err, out)
			}
			for _, want := range []string{id, "Linux version", "login: "} {
				if !strings.Contains(string(out), want) {
					t.Errorf("aws printed %q, want it to hold %q", out, want)
				}
			}
		})
	}
}
