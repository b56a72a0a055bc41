package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// awsCLIs returns the aws CLIs on this machine: the one on PATH (v1 from
// pip) and Debian's /usr/bin/aws (v2) when it is a different program.
func awsCLIs(t *testing.T) map[string]string {
	t.Helper()
	clis := map[string]string{}
	if p, err := exec.LookPath("aws"); err == nil {
		clis["path"] = p
	}
	if _, err := os.Stat("/usr/bin/aws"); err == nil {
		if p, ok := clis["path"]; !ok || !sameFile(p, "/usr/bin/aws") {
			clis["debian"] = "/usr/bin/aws"
		}
	}
	if len(clis) == 0 {
		t.Fatal("no aws CLI: make test installs one (.ci/deps)")
	}
	return clis
}

func sameFile(a, b string) bool {
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}

// cli runs one aws CLI against a server and decodes its JSON answer.
type cli struct {
	t        *testing.T
	bin      string
	endpoint string
	home     string
}

// run runs `aws --endpoint-url URL ec2 ARGS... --output json` and returns
// its decoded output; it fails the test when the command fails.
func (c cli) run(args ...string) map[string]any {
	c.t.Helper()
	out, err := c.exec(args...)
	if err != nil {
		c.t.Fatalf("aws ec2 %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if strings.TrimSpace(string(out)) == "" {
		return nil
	}
	var v map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		c.t.Fatalf("aws ec2 %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return v
}

// exec runs the CLI and returns its combined output.
func (c cli) exec(args ...string) ([]byte, error) {
	full := append([]string{"--endpoint-url", c.endpoint, "ec2"}, args...)
	full = append(full, "--output", "json")
	cmd := exec.Command(c.bin, full...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + c.home, "LANG=C.UTF-8",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=",
	}
	return cmd.CombinedOutput()
}

// TestE2E_AWSCLI runs the README's session with each aws CLI on the
// machine and checks what it prints.
func TestE2E_AWSCLI(t *testing.T) {
	for name, bin := range awsCLIs(t) {
		t.Run(name, func(t *testing.T) {
			ts := openServer(t, serverOptions{})
			c := cli{t: t, bin: bin, endpoint: ts.Endpoint(), home: t.TempDir()}
			testCLISession(t, c)
		})
	}
}

func testCLISession(t *testing.T, c cli) {
	// describe-images lists the templates of the simulated hosts.
	imgs := c.run("describe-images", "--filters", "Name=name,Values=debian-12")["Images"].([]any)
	if len(imgs) != 1 {
		t.Fatalf("describe-images: %d images named debian-12", len(imgs))
	}
	ami := imgs[0].(map[string]any)["ImageId"].(string)

	// run-instances with a count and tags.
	res := c.run("run-instances", "--image-id", ami, "--instance-type", "t3.micro", "--count", "3",
		"--tag-specifications", "ResourceType=instance,Tags=[{Key=Name,Value=web}]")
	var ids []string
	for _, i := range res["Instances"].([]any) {
		inst := i.(map[string]any)
		ids = append(ids, inst["InstanceId"].(string))
		if got := inst["State"].(map[string]any)["Name"]; got != "pending" {
			t.Errorf("run-instances answered %v, want pending", got)
		}
	}
	if len(ids) != 3 {
		t.Fatalf("run-instances made %d instances", len(ids))
	}

	wait := func(what string) {
		t.Helper()
		out, err := c.exec(append([]string{"wait", what, "--instance-ids"}, ids...)...)
		if err != nil {
			t.Fatalf("wait %s: %v\n%s", what, err, out)
		}
	}
	wait("instance-running")

	// describe-instances by tag sees all three, running.
	desc := c.run("describe-instances", "--filters", "Name=tag:Name,Values=web")
	n := 0
	for _, r := range desc["Reservations"].([]any) {
		for _, i := range r.(map[string]any)["Instances"].([]any) {
			inst := i.(map[string]any)
			n++
			if got := inst["State"].(map[string]any)["Name"]; got != "running" {
				t.Errorf("%s is %v, want running", inst["InstanceId"], got)
			}
			if tags := inst["Tags"].([]any); len(tags) != 1 {
				t.Errorf("%s has tags %v", inst["InstanceId"], tags)
			}
		}
	}
	if n != 3 {
		t.Errorf("describe-instances by tag found %d, want 3", n)
	}

	// stop, wait, start, wait, reboot, terminate, wait.
	stop := c.run(append([]string{"stop-instances", "--instance-ids"}, ids...)...)
	if got := len(stop["StoppingInstances"].([]any)); got != 3 {
		t.Errorf("stop-instances listed %d", got)
	}
	wait("instance-stopped")
	start := c.run(append([]string{"start-instances", "--instance-ids"}, ids...)...)
	first := start["StartingInstances"].([]any)[0].(map[string]any)
	if first["PreviousState"].(map[string]any)["Name"] != "stopped" {
		t.Errorf("start-instances: %v", first)
	}
	wait("instance-running")
	c.run(append([]string{"reboot-instances", "--instance-ids"}, ids...)...)
	term := c.run(append([]string{"terminate-instances", "--instance-ids"}, ids...)...)
	first = term["TerminatingInstances"].([]any)[0].(map[string]any)
	if got := first["CurrentState"].(map[string]any)["Name"]; got != "shutting-down" {
		t.Errorf("terminate-instances answered %v", got)
	}
	wait("instance-terminated")

	// A client mistake exits non-zero with EC2's code.
	out, err := c.exec("start-instances", "--instance-ids", "i-0123456789abcdef0")
	if err == nil || !strings.Contains(string(out), "InvalidInstanceID.NotFound") {
		t.Errorf("starting a missing instance: %v\n%s", err, out)
	}
}
