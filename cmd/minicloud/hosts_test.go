package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/minicloud/minicloud/internal/esxisim"
)

// heldHostConfig is a configuration with one ESXi host at addr, logged
// into with password.
func heldHostConfig(addr, password string, key ssh.PublicKey) string {
	return fmt.Sprintf(`observe_interval = "100ms"
[[hosts]]
name = "esxi-1"
address = %q
password = %q
host_key = %q
availability_zone = "us-east-1a"
`, addr, password, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))))
}

// runHostsCmd runs `minicloud hosts ARGS` and returns what it printed.
func runHostsCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := Main(context.Background(), append([]string{"hosts"}, args...), &out, &errOut)
	return out.String() + errOut.String(), err
}

// TestHosts_HeldHost runs minicloud as its own process with a wrong
// password for its one host, and checks that it logs in once, says why
// through `minicloud hosts`, logs in once more when an operator retries,
// and connects when SIGHUP brings the corrected password.
func TestHosts_HeldHost(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")

	// A host that locks its account after five failed logins.
	sim, err := esxisim.New(esxisim.Config{Dir: t.TempDir(), Name: "esxi-1", Password: "right"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	addr, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	failedLogins := func() int { return sim.Stats().FailedLogins }

	// minicloud with the wrong password.
	cfgPath := filepath.Join(t.TempDir(), "minicloud.toml")
	write := func(password string) {
		t.Helper()
		cfg := heldHostConfig(addr.String(), password, sim.HostKey())
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("wrong")
	proc := startChild(t, "serve", "--config", cfgPath, "--data", t.TempDir(),
		"--listen", "127.0.0.1:0")
	ep := "--endpoint=" + proc.endpoint

	// hosts says the host is held, and why; one login was tried.
	waitHosts := func(want string) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			out, err := runHostsCmd(t, ep)
			if err == nil && strings.Contains(out, want) {
				return out
			}
			if time.Now().After(deadline) {
				t.Fatalf("minicloud hosts never showed %q: %v\n%s", want, err, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	out := waitHosts("auth-failed")
	for _, want := range []string{"esxi-1", "us-east-1a", "authentication failed",
		"will not try again"} {
		if !strings.Contains(out, want) {
			t.Errorf("minicloud hosts does not say %q:\n%s", want, out)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if got := failedLogins(); got != 1 {
		t.Fatalf("failed logins = %d, want 1", got)
	}

	// A retry costs one more login.
	out, err = runHostsCmd(t, ep, "retry", "esxi-1")
	if err != nil || !strings.Contains(out, "esxi-1") {
		t.Fatalf("hosts retry: %v\n%s", err, out)
	}
	deadline := time.Now().Add(5 * time.Second)
	for failedLogins() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if got := failedLogins(); got != 2 {
		t.Fatalf("failed logins after a retry = %d, want 2", got)
	}
	if out, err := runHostsCmd(t, ep, "retry", "esxi-9"); err == nil ||
		!strings.Contains(err.Error(), "HostNotFound") {
		t.Errorf("retry of an unknown host: %v\n%s", err, out)
	}

	// SIGHUP with an unchanged file contacts nobody.
	proc.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(300 * time.Millisecond)
	if got := failedLogins(); got != 2 {
		t.Fatalf("failed logins after SIGHUP with the same password = %d, want 2", got)
	}

	// SIGHUP with the right password connects.
	write("right")
	proc.cmd.Process.Signal(syscall.SIGHUP)
	out = waitHosts("ready")
	if strings.Contains(out, "authentication failed") {
		t.Errorf("a ready host still shows its old failure:\n%s", out)
	}
	if got := failedLogins(); got != 2 {
		t.Errorf("failed logins = %d, want still 2", got)
	}

	// The admin API wants the same keys as EC2.
	t.Setenv("AWS_SECRET_ACCESS_KEY", "nottest")
	_, err = runHostsCmd(t, ep)
	if err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Errorf("hosts with a wrong secret: %v", err)
	}
}
