package hypervisor_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/esxisim"
	"github.com/minicloud/minicloud/internal/hypervisor"
)

// runDriverSuite runs every driver test against hosts that start makes.
func runDriverSuite(t *testing.T, start simStarter) {
	tests := []struct {
		name string
		run  func(t *testing.T, start simStarter)
	}{
		{"Lifecycle", testDriverLifecycle},
		{"ObserveOneExec", testDriverObserveOneExec},
		{"HostileValues", testDriverHostileValues},
		{"Faults", testDriverFaults},
		{"TransientFaults", testDriverTransientFaults},
		{"PowerOnReportsFailure", testDriverPowerOnReportsFailure},
		{"VMIDsNeverReused", testDriverVMIDsNeverReused},
		{"WithoutTools", testDriverWithoutTools},
		{"Question", testDriverQuestion},
		{"SlowHost", testDriverSlowHost},
		{"HostDownAndBack", testDriverHostDownAndBack},
		{"Console", testDriverConsole},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each test has a host of its own
			tt.run(t, start)
		})
	}
}

func testDriverLifecycle(t *testing.T, start simStarter) {
	sim := start(t)
	d, ctx := sim.d, context.Background()

	// Probe.
	info, err := d.Probe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Version == "" || info.CPUCores == 0 || info.MemoryBytes == 0 {
		t.Errorf("probe: got %+v", info)
	}
	if len(info.Datastores) != 1 || info.Datastores[0].Name != "datastore1" ||
		info.Datastores[0].CapacityBytes != 500e9 || info.Datastores[0].FreeBytes <= 0 {
		t.Fatalf("datastores: got %+v", info.Datastores)
	}

	// Create the files and register the VM, twice.
	spec := simSpec("i-0123456789abcdef0")
	if err := d.CreateFiles(ctx, spec); err != nil {
		t.Fatal(err)
	}
	vmx, _ := d.DatastorePath("[datastore1] i-0123456789abcdef0/i-0123456789abcdef0.vmx")
	disk := strings.TrimSuffix(vmx, ".vmx") + ".vmdk"
	if ok, err := d.FilesExist(ctx, []string{vmx, disk}); err != nil || !ok[0] || !ok[1] {
		t.Fatalf("files after CreateFiles: %v, %v", ok, err)
	}
	vmid, err := d.Register(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	again, err := d.Register(ctx, spec)
	if err != nil || again != vmid {
		t.Errorf("second Register: got %q, %v; want %q", again, err, vmid)
	}
	vm, ok, err := d.FindVM(ctx, spec.Name)
	if err != nil || !ok || vm.ID != vmid || vm.Datastore != "datastore1" {
		t.Fatalf("FindVM: got %+v, %v, %v", vm, ok, err)
	}

	// Power on, and on again; the guest comes up with an address.
	if err := d.PowerOn(ctx, vmid); err != nil {
		t.Fatal(err)
	}
	if err := d.PowerOn(ctx, vmid); err != nil {
		t.Errorf("power on a running VM: %v", err)
	}
	waitFor(t, "the guest's address", func() bool {
		vm, _ := observeOne(t, d, vmid)
		return vm.PoweredOn && vm.Guest != nil && vm.Guest.ToolsRunning && vm.Guest.IPAddress != ""
	})

	// Reboot through the guest, then power off, twice.
	if err := d.Reboot(ctx, vmid); err != nil {
		t.Errorf("reboot: %v", err)
	}
	if err := d.PowerOff(ctx, vmid); err != nil {
		t.Fatal(err)
	}
	if err := d.PowerOff(ctx, vmid); err != nil {
		t.Errorf("power off a stopped VM: %v", err)
	}
	if vm, _ := observeOne(t, d, vmid); vm.PoweredOn {
		t.Error("still powered on after PowerOff")
	}
	if err := d.Shutdown(ctx, vmid); err != nil {
		t.Errorf("shutdown of a stopped VM: %v", err)
	}

	// Destroy, twice, and remove the folder.
	if err := d.PowerOn(ctx, vmid); err != nil {
		t.Fatal(err)
	}
	if err := d.Destroy(ctx, vmid); err != nil {
		t.Fatal(err)
	}
	if err := d.Destroy(ctx, vmid); err != nil {
		t.Errorf("destroy a destroyed VM: %v", err)
	}
	if _, ok, err := d.FindVM(ctx, spec.Name); ok || err != nil {
		t.Errorf("FindVM after Destroy: %v, %v", ok, err)
	}
	if err := d.RemoveFiles(ctx, "datastore1", spec.Name); err != nil {
		t.Fatal(err)
	}
	dir, _ := d.DatastorePath("[datastore1] " + spec.Name)
	tmpl, _ := d.DatastorePath(spec.SourceDisk)
	if ok, err := d.FilesExist(ctx, []string{dir, tmpl}); err != nil || ok[0] || !ok[1] {
		t.Errorf("after RemoveFiles: folder, template exist = %v, %v", ok, err)
	}

	// All of it on one SSH connection.
	if st := sim.tr.Stats(); st.Dials != 1 {
		t.Errorf("dials: got %d, want 1", st.Dials)
	}
	if sim.inProcess && sim.host.Stats().Connections != 1 {
		t.Errorf("host connections: got %d, want 1", sim.host.Stats().Connections)
	}
}

func testDriverObserveOneExec(t *testing.T, start simStarter) {
	sim := start(t)
	d, ctx := sim.d, context.Background()

	// Fifty VMs, every third one running. Over OpenSSH every command
	// forks a handful of processes, so there a dozen make the point.
	n := 50
	if !sim.inProcess {
		n = 12
	}
	ids, errs := make([]string, n), make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			spec := simSpec(fmt.Sprintf("i-%017x", i+1))
			if errs[i] = d.CreateFiles(ctx, spec); errs[i] == nil {
				ids[i], errs[i] = d.Register(ctx, spec)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(ids, func(a, b string) int { return cmp.Compare(atoi(a), atoi(b)) })
	for i := 0; i < len(ids); i += 3 {
		if err := d.PowerOn(ctx, ids[i]); err != nil {
			t.Fatal(err)
		}
	}

	// Each Observe of all of them is one exec, one session on the host.
	for round := range 3 {
		before, execsBefore := sim.stats(), sim.tr.Stats().Execs
		inv, err := d.Observe(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		after := sim.stats()
		if got := sim.tr.Stats().Execs - execsBefore; got != 1 {
			t.Errorf("round %d: execs per Observe: got %d, want 1", round, got)
		}
		if got := after.Sessions - before.Sessions; sim.inProcess && got != 1 {
			t.Errorf("round %d: sessions per Observe: got %d, want 1", round, got)
		}
		if got := after.VimCmds["vmsvc/get.guest"] - before.VimCmds["vmsvc/get.guest"]; got != n {
			t.Errorf("round %d: get.guest calls: got %d, want %d", round, got, n)
		}
		if got := after.VimCmds["vmsvc/getallvms"] - before.VimCmds["vmsvc/getallvms"]; got != 1 {
			t.Errorf("round %d: getallvms calls: got %d, want 1", round, got)
		}
		getstate := "vmsvc/power.getstate"
		if got := after.VimCmds[getstate] - before.VimCmds[getstate]; got != 0 {
			t.Errorf("round %d: power.getstate calls: got %d, want none (esxcli lists running VMs)",
				round, got)
		}
		if len(inv.VMs) != n {
			t.Fatalf("got %d vms, want %d", len(inv.VMs), n)
		}
		for i, vm := range inv.VMs {
			if vm.ID != ids[i] || vm.PoweredOn != (i%3 == 0) || vm.Guest == nil {
				t.Errorf("vm %d: got %+v", i, vm)
			}
		}
	}
}

func testDriverFaults(t *testing.T, start simStarter) {
	sim := start(t)
	d, ctx := sim.d, context.Background()

	t.Run("UnknownVMID", func(t *testing.T) {
		if err := d.PowerOn(ctx, "4242"); !hypervisor.IsNotFound(err) {
			t.Errorf("got %v, want NotFound", err)
		}
		if _, err := d.PowerState(ctx, "4242"); !hypervisor.IsNotFound(err) {
			t.Errorf("got %v, want NotFound", err)
		}
	})

	t.Run("MissingSourceDisk", func(t *testing.T) {
		spec := simSpec("i-0000000000000000b")
		spec.SourceDisk = "[datastore1] templates/none/none.vmdk"
		err := d.CreateFiles(ctx, spec)
		var e *hypervisor.Error
		if err == nil || !errors.As(err, &e) || e.Msg == "" {
			t.Errorf("got %v, want the host's message", err)
		}
	})

	t.Run("WrongPassword", func(t *testing.T) {
		if !sim.inProcess {
			t.Skip("the OpenSSH run logs in with a key; sshd's password handling is its own")
		}
		tr, err := hypervisor.NewSSH(hypervisor.SSHConfig{
			Addr: sim.addr, Password: "wrong", HostKey: sim.host.HostKey(),
		})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		before := sim.host.Stats().FailedLogins
		bad := hypervisor.NewESXi(tr, hypervisor.Options{Host: "esxi-sim"})
		for range 10 {
			if _, err := bad.Probe(ctx); !hypervisor.IsAuth(err) {
				t.Fatalf("got %v, want an auth error", err)
			}
		}
		if got := sim.host.Stats().FailedLogins - before; got != 1 {
			t.Errorf("failed logins on the host: got %d, want 1", got)
		}
		if _, err := d.Probe(ctx); err != nil {
			t.Errorf("the right password stopped working: %v", err)
		}
	})
}

func testDriverTransientFaults(t *testing.T, start simStarter) {
	sim := start(t)
	d, ctx := sim.d, context.Background()
	vmid := mustCreate(t, d, simSpec("i-0000000000000000d"))

	for _, kind := range []esxisim.HostdFaultKind{esxisim.FaultObjectGone,
		esxisim.FaultLoginReset, esxisim.FaultHostdDown, esxisim.FaultTaskInProgress} {
		t.Run(string(kind), func(t *testing.T) {
			mustInject(t, sim.host, esxisim.Faults{Hostd: []esxisim.HostdFault{
				{Fault: kind, Command: "vmsvc/power.getstate", Count: 1},
			}})

			// The fault is transient, and is no NotFound: the VM is there.
			_, err := d.PowerState(ctx, vmid)
			if !hypervisor.IsTransient(err) || hypervisor.IsNotFound(err) {
				t.Fatalf("got %v, want a transient error", err)
			}
			if st, err := d.PowerState(ctx, vmid); err != nil || st != hypervisor.PoweredOff {
				t.Errorf("the call after: got %q, %v", st, err)
			}
		})
	}

	// An inventory read that hostd refuses fails the whole Observe.
	mustInject(t, sim.host, esxisim.Faults{Hostd: []esxisim.HostdFault{
		{Fault: esxisim.FaultHostdDown, Command: "vmsvc/getallvms", Count: 1},
	}})
	if _, err := d.Observe(ctx, []string{vmid}); !hypervisor.IsTransient(err) {
		t.Errorf("observe while hostd is down: got %v, want a transient error", err)
	}
}

func testDriverPowerOnReportsFailure(t *testing.T, start simStarter) {
	sim := start(t)
	d, ctx := sim.d, context.Background()
	vmid := mustCreate(t, d, simSpec("i-0000000000000000e"))
	mustInject(t, sim.host, esxisim.Faults{PowerOnReportsFailure: 1})

	// The driver reads the state again before believing the failure.
	if err := d.PowerOn(ctx, vmid); err != nil {
		t.Fatalf("power on that came up: got %v", err)
	}
	if st, err := d.PowerState(ctx, vmid); err != nil || st != hypervisor.PoweredOn {
		t.Errorf("state: got %q, %v", st, err)
	}
	if got := sim.stats().VimCmds["vmsvc/power.on"]; got != 1 {
		t.Errorf("power.on calls: got %d, want 1 (no retry)", got)
	}
}

func testDriverVMIDsNeverReused(t *testing.T, start simStarter) {
	sim := start(t)
	d, ctx := sim.d, context.Background()
	spec := simSpec("i-0000000000000000f")
	first := mustCreate(t, d, spec)
	if err := d.Destroy(ctx, first); err != nil {
		t.Fatal(err)
	}

	// The same VM made again gets a vmid it never had.
	second := mustCreate(t, d, spec)
	if atoi(second) <= atoi(first) {
		t.Errorf("vmid after destroying %s: got %s, want a larger one", first, second)
	}
	if err := d.PowerOn(ctx, first); !hypervisor.IsNotFound(err) {
		t.Errorf("power on the old vmid: got %v, want NotFound", err)
	}
}

func testDriverWithoutTools(t *testing.T, start simStarter) {
	// The guest never finishes booting, so VMware Tools never run.
	sim := start(t, func(c *esxisim.Config) { c.BootDelay = time.Hour })
	d, ctx := sim.d, context.Background()
	vmid := mustCreate(t, d, simSpec("i-0000000000000000a"))
	if err := d.PowerOn(ctx, vmid); err != nil {
		t.Fatal(err)
	}

	// A guest shutdown needs Tools; the caller decides what to do.
	if err := d.Shutdown(ctx, vmid); !hypervisor.IsToolsUnavailable(err) {
		t.Errorf("shutdown: got %v, want ToolsUnavailable", err)
	}

	// A reboot falls back to a reset.
	before := sim.stats().VimCmds["vmsvc/power.reset"]
	if err := d.Reboot(ctx, vmid); err != nil {
		t.Fatalf("reboot: %v", err)
	}
	if got := sim.stats().VimCmds["vmsvc/power.reset"] - before; got != 1 {
		t.Errorf("resets: got %d, want 1", got)
	}
	if vm, _ := observeOne(t, d, vmid); !vm.PoweredOn || vm.Guest == nil || vm.Guest.ToolsRunning {
		t.Errorf("after reset: got %+v", vm)
	}
}

func testDriverQuestion(t *testing.T, start simStarter) {
	sim := start(t, func(c *esxisim.Config) { c.AskUUIDQuestion = true })
	d, ctx := sim.d, context.Background()
	spec := simSpec("i-0000000000000000c")

	// A VM made by CreateFiles does not ask: its .vmx answers up front.
	vmid := mustCreate(t, d, spec)
	if err := d.PowerOn(ctx, vmid); err != nil {
		t.Fatal(err)
	}
	if q, err := d.Question(ctx, vmid); err != nil || q != nil {
		t.Fatalf("question: got %+v, %v", q, err)
	}
	if err := d.Destroy(ctx, vmid); err != nil {
		t.Fatal(err)
	}

	// Without the answer, power.on waits until the question is answered.
	vmid = mustCreate(t, d, spec)
	v, err := d.ReadVMX(ctx, spec.Datastore, spec.Name)
	if err != nil {
		t.Fatal(err)
	}
	v.Delete("answer.msg.uuid.altered")
	if err := d.UpdateVMX(ctx, vmid, spec.Datastore, spec.Name, v); err != nil {
		t.Fatal(err)
	}
	powered := make(chan error, 1)
	go func() { powered <- d.PowerOn(ctx, vmid) }()
	var q *hypervisor.Question
	waitFor(t, "the question", func() bool {
		q, err = d.Question(ctx, vmid)
		return err == nil && q != nil
	})
	if q.Key != "msg.uuid.altered" || len(q.Choices) != 3 || !q.Choices[2].Default {
		t.Errorf("question: got %+v", q)
	}
	if err := d.Answer(ctx, vmid, q.ID, 2); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-powered:
		if err != nil {
			t.Errorf("power on after the answer: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("power on still waiting after the answer")
	}
}

func testDriverSlowHost(t *testing.T, start simStarter) {
	sim := start(t)
	d := sim.d
	mustInject(t, sim.host, esxisim.Faults{Latency: 2 * time.Second})

	// The caller's deadline bounds a call to a slow host.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := d.List(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the deadline", err)
	}
	if took := time.Since(began); took > 1500*time.Millisecond {
		t.Errorf("a call past its deadline took %v", took)
	}

	// Once the host is quick again, so is the driver.
	mustInject(t, sim.host, esxisim.Faults{})
	if _, err := d.List(context.Background()); err != nil {
		t.Errorf("list after the latency went: %v", err)
	}
}

func testDriverHostDownAndBack(t *testing.T, start simStarter) {
	sim := start(t)
	d, ctx := sim.d, context.Background()
	vmid := mustCreate(t, d, simSpec("i-00000000000000010"))

	// Down, the host is unreachable, and that is transient.
	sim.down(t)
	_, err := d.PowerState(ctx, vmid)
	if !hypervisor.IsTransient(err) || hypervisor.IsAuth(err) || hypervisor.IsHostKey(err) {
		t.Fatalf("while down: got %v, want a transient error", err)
	}

	// Back, with the same key and the same VMs.
	sim.up(t)
	waitFor(t, "the host to answer again", func() bool {
		_, err := d.PowerState(ctx, vmid)
		return err == nil
	})
	if vm, ok, err := d.FindVM(ctx, "i-00000000000000010"); err != nil || !ok || vm.ID != vmid {
		t.Errorf("after the host came back: got %+v, %v, %v", vm, ok, err)
	}
	if st := sim.tr.State(); st.Status != hypervisor.StatusConnected {
		t.Errorf("connection state: got %+v", st)
	}
}

// hostileNames are VM names that would run commands, split or expand if
// the driver quoted them wrong; a name cannot hold a slash or a newline.
var hostileNames = []string{
	"web server's $(touch pwned)",
	"`touch pwned` \"quoted\" | pipe; semi & amp > out",
	"* ? [glob] ~ # \\ %s $HOME",
	"it''s '\\'' \\'' ${IFS} $((1+1)) !! {a,b}",
}

func testDriverHostileValues(t *testing.T, start simStarter) {
	sim := start(t)
	d, ctx := sim.d, context.Background()
	canary := filepath.Join(t.TempDir(), "pwned")
	touch := "touch " + canary
	values := map[string]string{
		"guestinfo.userdata": "'; " + touch + "; echo '\n$(" + touch + ") `" + touch +
			"` \"|22|7C\" | \\",
		"guestinfo.metadata":    "line one\nline two\r\n\ttabbed \"quoted\" 'single' \\n |0A\n",
		"guestinfo.tag.Name":    "web; " + touch + " #",
		"guestinfo.tag.Owner":   "$(" + touch + ")${HOME}$$`" + touch + "`",
		"guestinfo.tag.Glob":    "* /* ?? [a-z]* ~root",
		"guestinfo.tag.Escapes": `|22|7C||7 "" \" \\ %s %n`,
		"guestinfo.tag.Spaces":  "  leading and trailing  ",
	}
	for _, name := range hostileNames {
		t.Run(name, func(t *testing.T) {
			spec := simSpec(name)
			for k, v := range values {
				spec.ExtraConfig[k] = v
			}
			vmid := mustCreate(t, d, spec)

			// The name and the values come back as they went in.
			vm, ok, err := d.FindVM(ctx, name)
			if err != nil || !ok || vm.ID != vmid || vm.Name != name {
				t.Fatalf("FindVM: got %+v, %v, %v", vm, ok, err)
			}
			v, err := d.ReadVMX(ctx, "datastore1", name)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := v.Get("displayName"); got != name {
				t.Errorf("displayName: got %q, want %q", got, name)
			}
			for k, want := range values {
				if got, _ := v.Get(k); got != want {
					t.Errorf("%s: got %q, want %q", k, got, want)
				}
			}

			// Power it on and off, destroy it, remove its folder.
			if err := d.PowerOn(ctx, vmid); err != nil {
				t.Fatal(err)
			}
			if vm, _ := observeOne(t, d, vmid); !vm.PoweredOn || vm.Name != name {
				t.Errorf("observed %+v", vm)
			}
			if err := d.Destroy(ctx, vmid); err != nil {
				t.Fatal(err)
			}
			if err := d.RemoveFiles(ctx, "datastore1", name); err != nil {
				t.Fatal(err)
			}
			dir, _ := d.DatastorePath("[datastore1] " + name)
			if ok, err := d.FilesExist(ctx, []string{dir}); err != nil || ok[0] {
				t.Errorf("folder left behind: %v, %v", ok, err)
			}
		})
	}

	// Nothing ran: not here, and not inside the host's folder.
	if _, err := os.Stat(canary); err == nil {
		t.Error("a hostile value ran a command on this machine")
	}
	_ = filepath.WalkDir(sim.host.Dir(), func(p string, e os.DirEntry, err error) error {
		if err == nil && (e.Name() == "pwned" || e.Name() == "out") {
			t.Errorf("a hostile value ran a command on the host: %s", p)
		}
		return nil
	})
	vms, err := d.List(ctx)
	if err != nil || len(vms) != 0 {
		t.Errorf("inventory after cleanup: %+v, %v", vms, err)
	}
}

// atoi reads a vmid as a number; anything else is -1.
func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}
