package compute_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/compute"
	"github.com/minicloud/minicloud/internal/esxisim"
	"github.com/minicloud/minicloud/internal/hypervisor"
	"github.com/minicloud/minicloud/internal/store"
)

// crashEnv names the variable that makes TestCrash_Child run as the
// minicloud process TestCrash kills.
const crashEnv = "MINICLOUD_TEST_CRASH"

// crash tells the child process what to do and where to die.
type crash struct {
	Dir      string        // the data folder: the state file
	Addr     string        // the simulated host's SSH address
	HostKey  string        // its key, as an authorized_keys line
	Action   string        // "launch" or "terminate"
	Instance string        // the instance to terminate
	Point    string        // the failpoint to die at
	During   time.Duration // if set, die this long after Point, mid-call
}

// TestCrash kills minicloud at every point of a launch and of a
// termination: before a driver call's outcome is recorded, after it is,
// and while a call is running on the host. It then starts minicloud again
// on the same state file and checks that the instance ends where it was
// meant to be, and that the host holds no VM, folder or disk that no
// instance owns.
func TestCrash(t *testing.T) {
	// Each vim-cmd and vmkfstools takes 500ms while a call is to be cut
	// short: creating files dies in vmkfstools' clone, destroying in
	// vim-cmd vmsvc/destroy, after power.getstate and power.off.
	tests := []struct {
		point  string
		during time.Duration
	}{
		{"launch/create-files/begin", 200 * time.Millisecond},
		{"launch/create-files", 0},
		{"launch/create-files/recorded", 0},
		{"launch/register", 0},
		{"launch/register/recorded", 0},
		{"launch/power-on", 0},
		{"launch/power-on/recorded", 0},
		{"terminate/destroy/begin", 1200 * time.Millisecond},
		{"terminate/destroy", 0},
		{"terminate/remove-files", 0},
		{"terminate/remove-files/recorded", 0},
	}
	for _, tt := range tests {
		name := strings.ReplaceAll(tt.point, "/", "_")
		if tt.during > 0 {
			name += "_during"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			terminate := strings.HasPrefix(tt.point, "terminate/")
			e := newEnv(t, envOptions{hosts: 1})

			// A termination needs a running instance first.
			c := crash{
				Dir: e.dir, Addr: e.addrs[0], Point: tt.point, During: tt.during,
				HostKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(e.sims[0].HostKey()))),
				Action:  "launch",
			}
			if terminate {
				c.Action, c.Instance = "terminate", e.runInstances(1, nil)[0]
				e.waitState(cloud.StateRunning, c.Instance)
			}

			// Run minicloud as a process of its own until it dies. A
			// slow host keeps a call running while it dies.
			if tt.during > 0 {
				if err := e.sims[0].Inject(esxisim.Faults{Latency: 500 * time.Millisecond}); err != nil {
					t.Fatal(err)
				}
			}
			e.shutdown()
			runCrashChild(t, c)
			t.Logf("after the crash at %s:\n%s%s", tt.point, e.sh(0, "vim-cmd vmsvc/getallvms"),
				e.sh(0, "cd /vmfs/volumes/datastore1 && for d in i-*; do echo $d: $(ls $d); done"))
			if err := e.sims[0].Inject(esxisim.Faults{}); err != nil {
				t.Fatal(err)
			}

			// Start again, and let it finish.
			e.open(envOptions{hosts: 1})
			id := c.Instance
			if !terminate {
				id = onlyInstance(t, e)
			}
			want := cloud.StateRunning
			if terminate {
				want = cloud.StateTerminated
			}
			e.waitState(want, id)
			checkHost(t, e, id, want)
		})
	}
}

// runCrashChild runs TestCrash_Child in a new process with c and fails
// unless the process killed itself.
func runCrashChild(t *testing.T, c crash) {
	t.Helper()
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash_Child$")
	cmd.Env = append(os.Environ(), crashEnv+"="+string(raw))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the child was not killed: %v\n%s", err, out)
	}
	status, ok := exit.Sys().(syscall.WaitStatus)
	if !ok || !status.Signaled() || status.Signal() != syscall.SIGKILL {
		t.Fatalf("the child ended with %v, not SIGKILL at %s:\n%s", err, c.Point, out)
	}
}

// onlyInstance returns the id of the one instance in the store.
func onlyInstance(t *testing.T, e *env) string {
	t.Helper()
	var ids []string
	err := e.db.ScanInstances("", func(inst *cloud.Instance) bool {
		ids = append(ids, inst.ID)
		return true
	})
	if err != nil || len(ids) != 1 {
		t.Fatalf("instances after the crash: %v, %v", ids, err)
	}
	return ids[0]
}

// checkHost checks the host's inventory and datastore: a running
// instance's VM and folder are there, once, and nothing else is.
func checkHost(t *testing.T, e *env, id string, state cloud.InstanceState) {
	t.Helper()
	var vms []string
	for _, line := range strings.Split(e.sh(0, "vim-cmd vmsvc/getallvms"), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 1 {
			vms = append(vms, f[0]+" "+f[1])
		}
	}
	folders := strings.Fields(e.sh(0, "ls /vmfs/volumes/datastore1"))

	if state == cloud.StateTerminated {
		if len(vms) != 0 || !slices.Equal(folders, []string{"templates"}) {
			t.Errorf("after terminating: VMs %v, datastore %v", vms, folders)
		}
		return
	}
	inst := e.instance(id)
	if want := []string{inst.VMID + " " + id}; !slices.Equal(vms, want) {
		t.Errorf("VMs = %v, want %v", vms, want)
	}
	if want := []string{id, "templates"}; !slices.Equal(folders, want) {
		t.Errorf("datastore holds %v, want %v", folders, want)
	}
	files := strings.Fields(e.sh(0, "ls /vmfs/volumes/datastore1/"+id))
	for _, f := range files {
		if !strings.HasPrefix(f, id) && f != "console.log" && f != "vmware.log" {
			t.Errorf("VM folder holds %s: %v", f, files)
		}
	}
	for _, want := range []string{id + ".vmx", id + ".vmdk"} {
		if !slices.Contains(files, want) {
			t.Errorf("VM folder lacks %s: %v", want, files)
		}
	}
}

// TestCrash_Child is the minicloud process TestCrash kills. It drives the
// simulated host TestCrash runs, and kills itself with SIGKILL at the
// failpoint it is given.
func TestCrash_Child(t *testing.T) {
	raw := os.Getenv(crashEnv)
	if raw == "" {
		t.Skip("runs only as the child of TestCrash")
	}
	var c crash
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatal(err)
	}
	kill := func() { syscall.Kill(os.Getpid(), syscall.SIGKILL) }
	compute.SetFailpoint(func(name string) {
		switch {
		case name != c.Point:
		case c.During > 0:
			time.AfterFunc(c.During, kill)
		default:
			kill()
		}
	})

	// Open the state file and the host as minicloud does.
	tr, err := hypervisor.NewSSH(hypervisor.SSHConfig{
		Host: "esxi-1", Addr: c.Addr, Password: "secret", KnownHost: c.HostKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(c.Dir, "minicloud.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := compute.New(db, []compute.HostConfig{{
		Name: "esxi-1", Address: c.Addr, Zone: "us-east-1a", Datastore: "datastore1",
		Network: "VM Network", Driver: hypervisor.NewESXi(tr, hypervisor.Options{Host: "esxi-1"}),
	}}, compute.Options{
		ObserveInterval: 100 * time.Millisecond, RetryBase: 20 * time.Millisecond,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	go svc.Run(ctx)
	if err := svc.WaitProbed(ctx); err != nil {
		t.Fatal(err)
	}

	// Ask for the work, and wait to die doing it.
	switch c.Action {
	case "launch":
		imgs, err := db.Images()
		if err != nil || len(imgs) == 0 {
			t.Fatalf("images: %v, %v", imgs, err)
		}
		_, err = svc.RunInstances(ctx, &cloud.RunInstancesInput{
			ImageID: imgs[0].ID, InstanceType: "t3.micro", MinCount: 1, MaxCount: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
	case "terminate":
		_, err := svc.TerminateInstances(ctx, &cloud.InstanceIDsInput{InstanceIDs: []string{c.Instance}})
		if err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(15 * time.Second)
	fmt.Printf("failpoint %s was never reached\n", c.Point)
}
