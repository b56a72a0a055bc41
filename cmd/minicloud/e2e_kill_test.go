package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/minicloud/minicloud/internal/esxisim"
)

// childEnv names the variable that makes the test binary run minicloud's
// Main with the arguments it holds, so a test can run minicloud as a real
// process and kill it.
const childEnv = "MINICLOUD_TEST_MAIN"

func TestMain(m *testing.M) {
	if args := os.Getenv(childEnv); args != "" {
		ctx, stop := signalContext()
		err := Main(ctx, strings.Fields(args), os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "minicloud:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child is minicloud running as a separate process.
type child struct {
	cmd      *exec.Cmd
	endpoint string
}

var endpointRE = regexp.MustCompile(`endpoint:\s+(http://\S+)`)

// startChild runs `minicloud ARGS` in a new process and waits until it
// prints its endpoint.
func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+strings.Join(args, " "))
	// Should the test binary die (a timeout, say), take minicloud with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := endpointRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case ep := <-found:
		return &child{cmd: cmd, endpoint: ep}
	case <-time.After(30 * time.Second):
		t.Fatal("minicloud did not print its endpoint")
		return nil
	}
}

// TestE2E_KillDuringBurst kills minicloud with SIGKILL while eight clients
// launch instances, starts it again, and checks that no acknowledged
// instance was lost, none is there twice, every one runs, and every VM on
// the hosts is claimed by exactly one instance.
func TestE2E_KillDuringBurst(t *testing.T) {
	data := t.TempDir()
	cfgPath := filepath.Join(t.TempDir(), "minicloud.toml")
	cfg := "observe_interval = \"100ms\"\n[simulator]\nlatency = \"5ms\"\nboot_delay = \"50ms\"\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"serve", "--config", cfgPath, "--data", data, "--listen", "127.0.0.1:0"}
	proc := startChild(t, args...)
	client := newClient(proc.endpoint, "test", "test")
	ctx := context.Background()
	ami := imageOf(t, client, "debian-12")

	// Eight clients launch two instances a call until minicloud dies.
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				out, err := client.RunInstances(ctx, &ec2.RunInstancesInput{
					ImageId: aws.String(ami), InstanceType: types.InstanceTypeT3Nano,
					MinCount: aws.Int32(2), MaxCount: aws.Int32(2),
				})
				if err != nil {
					return
				}
				mu.Lock()
				for _, inst := range out.Instances {
					acked[*inst.InstanceId] = true
				}
				mu.Unlock()
			}
		}()
	}
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 40 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	proc.cmd.Process.Signal(syscall.SIGKILL)
	proc.cmd.Wait()
	wg.Wait()
	t.Logf("killed minicloud after %d acknowledged instances", len(acked))

	// Start again: every acknowledged instance is there once, and runs.
	proc = startChild(t, args...)
	client = newClient(proc.endpoint, "test", "test")
	listed := map[string]int{}
	p := ec2.NewDescribeInstancesPaginator(client, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Reservations {
			for _, inst := range r.Instances {
				listed[*inst.InstanceId]++
			}
		}
	}
	for id := range acked {
		if listed[id] != 1 {
			t.Errorf("acknowledged %s listed %d times after the restart", id, listed[id])
		}
	}
	var all []string
	for id := range listed {
		all = append(all, id)
	}
	sort.Strings(all)
	w := ec2.NewInstanceRunningWaiter(client, func(o *ec2.InstanceRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 500*time.Millisecond
	})
	for i := 0; i < len(all); i += 100 {
		chunk := all[i:min(i+100, len(all))]
		if err := w.Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: chunk}, time.Minute); err != nil {
			t.Fatalf("after the restart: %v", err)
		}
	}

	// Stop minicloud and read each host's inventory: one VM per instance.
	proc.cmd.Process.Signal(syscall.SIGTERM)
	proc.cmd.Wait()
	vms := map[string]int{}
	for _, dir := range []string{"esxi-1", "esxi-2"} {
		for _, name := range inventory(t, filepath.Join(data, "esxi", dir)) {
			vms[name]++
		}
	}
	for name, n := range vms {
		if listed[name] == 0 || n != 1 {
			t.Errorf("VM %s: %d on the hosts, claimed by %d instances", name, n, listed[name])
		}
	}
	if len(vms) != len(listed) {
		t.Errorf("%d VMs for %d instances", len(vms), len(listed))
	}
}

// imageOf returns the id of the image named name.
func imageOf(t *testing.T, c *ec2.Client, name string) string {
	t.Helper()
	out, err := c.DescribeImages(context.Background(), &ec2.DescribeImagesInput{
		Filters: []types.Filter{{Name: aws.String("name"), Values: []string{name}}},
	})
	if err != nil || len(out.Images) != 1 {
		t.Fatalf("image %s: %v", name, err)
	}
	return *out.Images[0].ImageId
}

// inventory opens the simulated host kept in dir, without serving it, and
// returns the names of its registered VMs.
func inventory(t *testing.T, dir string) []string {
	t.Helper()
	h, err := esxisim.New(esxisim.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var out strings.Builder
	if status := h.Exec(context.Background(), "vim-cmd vmsvc/getallvms", nil, &out, io.Discard); status != 0 {
		t.Fatalf("getallvms in %s: exit %d", dir, status)
	}
	var names []string
	for _, line := range strings.Split(out.String(), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 1 {
			names = append(names, f[1])
		}
	}
	return names
}
