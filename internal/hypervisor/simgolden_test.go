package hypervisor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// simGolden returns the standard output that the simulated host's golden
// file name (in internal/esxisim/testdata) records: what the simulated
// host prints, which must be what the driver reads.
func simGolden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "esxisim", "testdata", name+".golden"))
	if err != nil {
		t.Fatal(err)
	}
	_, out, ok := strings.Cut(string(b), "--- stdout\n")
	out, _, ok2 := strings.Cut(out, "--- stderr\n")
	if !ok || !ok2 {
		t.Fatalf("%s.golden: no stdout section", name)
	}
	return out
}

// TestParsers_SimulatedHostOutput reads what the simulated host prints
// with the driver's parsers, so the two cannot drift apart.
func TestParsers_SimulatedHostOutput(t *testing.T) {
	t.Run("getallvms", func(t *testing.T) {
		vms := parseGetAllVMs(simGolden(t, "getallvms"))
		if len(vms) != 2 || vms[0].ID != "1" || vms[0].Name != "web" ||
			vms[1].Name != "db server 2" || vms[1].VMXPath != "[datastore1] db/db.vmx" {
			t.Errorf("got %+v", vms)
		}
		if vms := parseGetAllVMs(simGolden(t, "getallvms_empty")); len(vms) != 0 {
			t.Errorf("empty host: got %+v", vms)
		}
	})
	t.Run("power.getstate", func(t *testing.T) {
		for name, want := range map[string]PowerState{
			"power_getstate_on": PoweredOn, "power_getstate_off": PoweredOff,
		} {
			if got, err := parsePowerState(simGolden(t, name)); err != nil || got != want {
				t.Errorf("%s: got %q, %v", name, got, err)
			}
		}
	})
	t.Run("get.guest", func(t *testing.T) {
		g := parseGuest(simGolden(t, "get_guest_running"))
		if !g.ToolsRunning || g.IPAddress != "172.31.0.3" || g.HostName != "web" {
			t.Errorf("running: got %+v", g)
		}
		for _, name := range []string{"get_guest_off", "get_guest_booting"} {
			if g := parseGuest(simGolden(t, name)); g.ToolsRunning || g.IPAddress != "" {
				t.Errorf("%s: got %+v", name, g)
			}
		}
	})
	t.Run("get.summary", func(t *testing.T) {
		s := parseSummary(simGolden(t, "get_summary"))
		if s.PowerState != PoweredOn || s.VMXPath != "[datastore1] web/web.vmx" || s.NumCPU != 2 {
			t.Errorf("got %+v", s)
		}
	})
	t.Run("hostsummary", func(t *testing.T) {
		h := parseHostSummary(simGolden(t, "hostsummary"))
		if h.MemoryBytes != 64<<30 || h.CPUCores != 8 || h.CPUThreads != 16 || h.CPUMhz != 2200 {
			t.Errorf("got %+v", h)
		}
	})
	t.Run("faults", func(t *testing.T) {
		for name, want := range map[string]string{
			"unknown_vmid": "vim.fault.NotFound", "registervm_missing": "vim.fault.NotFound",
			"registervm_again": "vim.fault.AlreadyExists", "power_on_on": "vim.fault.InvalidPowerState",
			"power_shutdown_no_tools":  "vim.fault.ToolsUnavailable",
			"fault_object_gone":        "vmodl.fault.ManagedObjectNotFound",
			"fault_task_in_progress":   "vim.fault.TaskInProgress",
			"power_on":                 "",
			"registervm":               "",
			"vmkfstools_create_eager":  "",
			"vmkfstools_clone_thin":    "",
			"power_on_reports_failure": "",
		} {
			if got, _ := parseFault(simGolden(t, name)); got != want {
				t.Errorf("%s: got fault %q, want %q", name, got, want)
			}
		}
	})
	t.Run("snapshot.get", func(t *testing.T) {
		snaps := parseSnapshots(simGolden(t, "snapshot_get"))
		if len(snaps) != 1 || snaps[0].Name != "before" || len(snaps[0].Children) != 1 {
			t.Errorf("got %+v", snaps)
		}
		if snaps := parseSnapshots(simGolden(t, "snapshot_get_none")); len(snaps) != 0 {
			t.Errorf("none: got %+v", snaps)
		}
	})
	t.Run("message", func(t *testing.T) {
		// This golden file holds the bare output.
		b, err := os.ReadFile(filepath.Join("..", "esxisim", "testdata", "message_question.golden"))
		if err != nil {
			t.Fatal(err)
		}
		q, ok := parseQuestion(string(b))
		if !ok || q.Key != "msg.uuid.altered" || len(q.Choices) != 3 || !q.Choices[2].Default {
			t.Errorf("got %+v, %v", q, ok)
		}
		if _, ok := parseQuestion(simGolden(t, "message_none")); ok {
			t.Error("found a question in No message.")
		}
	})
	t.Run("esxcli", func(t *testing.T) {
		fss, err := parseFilesystems(simGolden(t, "esxcli_storage_filesystem_list"))
		if err != nil || len(fss) != 1 || fss[0].VolumeName != "datastore1" ||
			fss[0].Size != 100<<30 {
			t.Errorf("filesystems: got %+v, %v", fss, err)
		}
		procs := parseProcessList(simGolden(t, "esxcli_vm_process_list"))
		if len(procs) != 1 || procs[0].DisplayName != "web" ||
			!strings.HasSuffix(procs[0].ConfigFile, "/web/web.vmx") {
			t.Errorf("processes: got %+v", procs)
		}
		v, err := parseVersion(simGolden(t, "vmware_v"))
		if err != nil || v.Version != "8.0.3" || v.Build != "24022510" {
			t.Errorf("version: got %+v, %v", v, err)
		}
	})
}
