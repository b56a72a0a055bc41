package hypervisor_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/esxisim"
	"github.com/minicloud/minicloud/internal/hypervisor"
)

// simHost is a simulated ESXi host reached through the real SSH transport.
type simHost struct {
	addr string
	host *esxisim.Host
	tr   *hypervisor.SSHTransport
	d    *hypervisor.ESXi
}

// startSim starts a simulated host with one template disk and a driver
// connected to it over SSH on 127.0.0.1; both stop with t.
func startSim(t *testing.T, edit ...func(*esxisim.Config)) simHost {
	t.Helper()
	cfg := esxisim.Config{
		Dir:       t.TempDir(),
		Name:      "esxi-sim",
		Password:  "s3cret",
		Templates: []esxisim.Template{{Name: "debian12", SizeGB: 1, GuestOS: "debian12_64Guest"}},
	}
	for _, e := range edit {
		e(&cfg)
	}
	host, err := esxisim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close() })
	addr, err := host.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := hypervisor.NewSSH(hypervisor.SSHConfig{
		Host: "esxi-sim", Addr: addr.String(), Password: "s3cret", HostKey: host.HostKey(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	d := hypervisor.NewESXi(tr, hypervisor.Options{Host: "esxi-sim"})
	return simHost{addr: addr.String(), host: host, tr: tr, d: d}
}

// simSpec returns a spec for VM name cloned from the template.
func simSpec(name string) hypervisor.VMSpec {
	return hypervisor.VMSpec{
		Name: name, Datastore: "datastore1",
		SourceDisk: "[datastore1] templates/debian12/debian12.vmdk",
		NumCPUs:    1, MemoryMB: 512, GuestOS: "debian12-64",
		ExtraConfig: map[string]string{
			"guestinfo.metadata":          `{"instance-id": "` + name + `"}`,
			"guestinfo.metadata.encoding": "",
		},
	}
}

// waitFor polls cond until it holds or a few seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// observeOne returns the VM vmid as Observe sees it, with its guest info.
func observeOne(t *testing.T, d *hypervisor.ESXi, vmid string) (hypervisor.VM, bool) {
	t.Helper()
	inv, err := d.Observe(context.Background(), []string{vmid})
	if err != nil {
		t.Fatal(err)
	}
	for _, vm := range inv.VMs {
		if vm.ID == vmid {
			return vm, true
		}
	}
	return hypervisor.VM{}, false
}

func TestESXi_Simulated_Lifecycle(t *testing.T) {
	sim := startSim(t)
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
	if st := sim.tr.Stats(); st.Dials != 1 || sim.host.Stats().Connections != 1 {
		t.Errorf("dials: %d, host connections: %d", st.Dials, sim.host.Stats().Connections)
	}
}

func TestESXi_Simulated_ObserveOneExec(t *testing.T) {
	sim := startSim(t)
	d, ctx := sim.d, context.Background()
	var ids []string
	for _, name := range []string{"i-00000000000000001", "i-00000000000000002", "i-00000000000000003"} {
		spec := simSpec(name)
		if err := d.CreateFiles(ctx, spec); err != nil {
			t.Fatal(err)
		}
		id, err := d.Register(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := d.PowerOn(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}

	before, execsBefore := sim.host.Stats(), sim.tr.Stats().Execs
	inv, err := d.Observe(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	after := sim.host.Stats()
	if got := after.Sessions - before.Sessions; got != 1 {
		t.Errorf("sessions per Observe: got %d, want 1", got)
	}
	if got := sim.tr.Stats().Execs - execsBefore; got != 1 {
		t.Errorf("execs per Observe: got %d, want 1", got)
	}
	if got := after.VimCmds["vmsvc/get.guest"] - before.VimCmds["vmsvc/get.guest"]; got != 3 {
		t.Errorf("get.guest calls: got %d, want 3", got)
	}
	if got := after.VimCmds["vmsvc/power.getstate"] - before.VimCmds["vmsvc/power.getstate"]; got != 0 {
		t.Errorf("power.getstate calls: got %d, want none (esxcli lists running VMs)", got)
	}
	if len(inv.VMs) != 3 {
		t.Fatalf("got %d vms, want 3", len(inv.VMs))
	}
	for i, vm := range inv.VMs {
		if vm.ID != ids[i] || vm.PoweredOn != (i == 1) || vm.Guest == nil {
			t.Errorf("vm %d: got %+v", i, vm)
		}
	}
}

func TestESXi_Simulated_HostileValues(t *testing.T) {
	sim := startSim(t)
	d, ctx := sim.d, context.Background()
	canary := filepath.Join(t.TempDir(), "pwned")
	names := []string{
		"web server's $(touch pwned)",
		"`touch pwned` \"quoted\" | pipe; semi & amp > out",
		"* ? [glob] ~ # \\ %s $HOME",
	}
	hostile := "'; touch " + canary + "; echo '\n$(touch " + canary + ") `touch " + canary +
		"` \"|22|7C\" | \\"
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			spec := simSpec(name)
			spec.ExtraConfig["guestinfo.userdata"] = hostile
			if err := d.CreateFiles(ctx, spec); err != nil {
				t.Fatal(err)
			}
			vmid, err := d.Register(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}

			// The name and the values come back as they went in.
			vm, ok, err := d.FindVM(ctx, name)
			if err != nil || !ok || vm.ID != vmid || vm.Name != name {
				t.Fatalf("FindVM: got %+v, %v, %v", vm, ok, err)
			}
			v, err := d.ReadVMX(ctx, "datastore1", name)
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range map[string]string{"displayName": name, "guestinfo.userdata": hostile} {
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

func TestESXi_Simulated_Faults(t *testing.T) {
	sim := startSim(t)
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

func TestESXi_Simulated_WithoutTools(t *testing.T) {
	// The guest never finishes booting, so VMware Tools never run.
	sim := startSim(t, func(c *esxisim.Config) { c.BootDelay = time.Hour })
	d, ctx := sim.d, context.Background()
	spec := simSpec("i-0000000000000000a")
	if err := d.CreateFiles(ctx, spec); err != nil {
		t.Fatal(err)
	}
	vmid, err := d.Register(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.PowerOn(ctx, vmid); err != nil {
		t.Fatal(err)
	}

	// A guest shutdown needs Tools; the caller decides what to do.
	if err := d.Shutdown(ctx, vmid); !hypervisor.IsToolsUnavailable(err) {
		t.Errorf("shutdown: got %v, want ToolsUnavailable", err)
	}

	// A reboot falls back to a reset.
	before := sim.host.Stats().VimCmds["vmsvc/power.reset"]
	if err := d.Reboot(ctx, vmid); err != nil {
		t.Fatalf("reboot: %v", err)
	}
	if got := sim.host.Stats().VimCmds["vmsvc/power.reset"] - before; got != 1 {
		t.Errorf("resets: got %d, want 1", got)
	}
	if vm, _ := observeOne(t, d, vmid); !vm.PoweredOn || vm.Guest == nil || vm.Guest.ToolsRunning {
		t.Errorf("after reset: got %+v", vm)
	}
}

func TestESXi_Simulated_Question(t *testing.T) {
	sim := startSim(t, func(c *esxisim.Config) { c.AskUUIDQuestion = true })
	d, ctx := sim.d, context.Background()
	spec := simSpec("i-0000000000000000c")
	if err := d.CreateFiles(ctx, spec); err != nil {
		t.Fatal(err)
	}
	vmid, err := d.Register(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}

	// A VM made by CreateFiles does not ask: its .vmx answers up front.
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
	if err := d.CreateFiles(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if vmid, err = d.Register(ctx, spec); err != nil {
		t.Fatal(err)
	}
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
