package esxisim

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenStep is one command line whose output is kept in
// testdata/NAME.golden.
type goldenStep struct {
	name    string
	cmd     string
	stdin   string
	advance time.Duration // how far the clock moves before the command
	faults  *Faults       // injected before the command, if set
}

// storageNumbers are the byte counts of a VM's files, which depend on how
// this machine's filesystem allocates blocks.
var storageNumbers = regexp.MustCompile(`(?m)^(\s+(?:committed|uncommitted|unshared) = )\d+,$`)

// TestHost_Golden runs one VM's life on a host over SSH and compares what
// every command prints, on both streams, and its exit status with the
// files in testdata. Run with -update to rewrite them after checking the
// change against shared/esxi-reference.md.
func TestHost_Golden(t *testing.T) {
	cfg := templateConfig()
	cfg.BootDelay = 30 * time.Second
	cfg.Datastores = []Datastore{{Name: "datastore1", CapacityBytes: 100 << 30}}
	th := mustStartHost(t, cfg)

	const (
		ds   = "/vmfs/volumes/datastore1"
		tmpl = ds + "/templates/tmpl/tmpl.vmdk"
		web  = ds + "/web"
	)
	steps := []goldenStep{
		{name: "getallvms_empty", cmd: "vim-cmd vmsvc/getallvms"},
		{name: "vmkfstools_clone_thin",
			cmd: "mkdir -p " + web + " && vmkfstools -i " + tmpl + " " + web + "/web.vmdk -d thin"},
		{name: "vmkfstools_clone_thick", cmd: "vmkfstools -i " + tmpl + " " + web + "/data.vmdk"},
		{name: "vmkfstools_clone_exists", cmd: "vmkfstools -i " + tmpl + " " + web + "/data.vmdk -d thin"},
		{name: "vmkfstools_create_eager", cmd: "vmkfstools -c 1G -d eagerzeroedthick " + web + "/swap.vmdk"},
		{name: "vmkfstools_extend", cmd: "vmkfstools -X 2G " + web + "/swap.vmdk"},
		{name: "vmkfstools_delete_missing", cmd: "vmkfstools -U " + web + "/nothing.vmdk"},
		{name: "registervm", stdin: testVMX("web", 1),
			cmd: "cat > " + web + "/web.vmx && vim-cmd solo/registervm " + web + "/web.vmx"},
		{name: "registervm_again", cmd: "vim-cmd solo/registervm " + web + "/web.vmx"},
		{name: "registervm_missing", cmd: "vim-cmd solo/registervm " + ds + "/nothing/nothing.vmx"},
		{name: "vmkfstools_not_a_disk", cmd: "vmkfstools -i " + web + "/web.vmx " + web + "/copy.vmdk"},
		{name: "registervm_named", stdin: testVMX("db", 2),
			cmd: "mkdir " + ds + "/db && cat > " + ds + "/db/db.vmx && " +
				"vim-cmd solo/registervm " + ds + "/db/db.vmx 'db server 2'"},
		{name: "getallvms", cmd: "vim-cmd vmsvc/getallvms"},
		{name: "power_getstate_off", cmd: "vim-cmd vmsvc/power.getstate 1"},
		{name: "power_off_off", cmd: "vim-cmd vmsvc/power.off 1"},
		{name: "get_guest_off", cmd: "vim-cmd vmsvc/get.guest 1"},
		{name: "power_on", cmd: "vim-cmd vmsvc/power.on 1"},
		{name: "power_on_on", cmd: "vim-cmd vmsvc/power.on 1"},
		{name: "power_getstate_on", cmd: "vim-cmd vmsvc/power.getstate 1"},
		{name: "get_guest_booting", cmd: "vim-cmd vmsvc/get.guest 1"},
		{name: "power_shutdown_no_tools", cmd: "vim-cmd vmsvc/power.shutdown 1"},
		{name: "get_guest_running", cmd: "vim-cmd vmsvc/get.guest 1", advance: 30 * time.Second},
		{name: "get_summary", cmd: "vim-cmd vmsvc/get.summary 1"},
		{name: "get_config", cmd: "vim-cmd vmsvc/get.config 1"},
		{name: "hostsummary", cmd: "vim-cmd hostsvc/hostsummary"},
		{name: "message_none", cmd: "vim-cmd vmsvc/message 1"},
		{name: "esxcli_vm_process_list", cmd: "esxcli vm process list"},
		{name: "esxcli_storage_filesystem_list", cmd: "esxcli storage filesystem list"},
		{name: "esxcli_storage_filesystem_list_csv", cmd: "esxcli --formatter=csv storage filesystem list"},
		{name: "esxcli_network_ipv4_get", cmd: "esxcli network ip interface ipv4 get"},
		{name: "esxcli_system_version_get", cmd: "esxcli system version get"},
		{name: "vmware_v", cmd: "vmware -v"},
		{name: "snapshot_get_none", cmd: "vim-cmd vmsvc/snapshot.get 1"},
		{name: "snapshot_create", cmd: "vim-cmd vmsvc/snapshot.create 1 before 'before the upgrade' && " +
			"vim-cmd vmsvc/snapshot.create 1 after"},
		{name: "snapshot_get", cmd: "vim-cmd vmsvc/snapshot.get 1", advance: time.Minute},
		{name: "console", cmd: "cat " + web + "/console.log"},
		{name: "disk_in_use", cmd: "vmkfstools -U " + web + "/web.vmdk"},
		{name: "power_suspend", cmd: "vim-cmd vmsvc/power.suspend 1 && vim-cmd vmsvc/power.getstate 1"},
		{name: "power_off", cmd: "vim-cmd vmsvc/power.on 1 && vim-cmd vmsvc/power.off 1"},
		{name: "unknown_vmid", cmd: "vim-cmd vmsvc/power.getstate 42"},
		{name: "destroy", cmd: "vim-cmd vmsvc/destroy 1 && ls " + ds + " && vim-cmd vmsvc/getallvms"},
		{name: "not_found", cmd: "id -u"},
		{name: "registervm_after_destroy", stdin: testVMX("web", 1),
			cmd: "mkdir " + web + " && vmkfstools -i " + tmpl + " " + web + "/web.vmdk -d thin " +
				">/dev/null && cat > " + web + "/web.vmx && vim-cmd solo/registervm " + web + "/web.vmx"},
		{name: "getallvms_vmids_not_reused", cmd: "vim-cmd vmsvc/getallvms"},
		{name: "power_on_reports_failure", faults: &Faults{PowerOnReportsFailure: 1},
			cmd: "vim-cmd vmsvc/power.on 3; echo \"exit $?\"; vim-cmd vmsvc/power.getstate 3"},
		{name: "vmkfstools_create_thin", cmd: "vmkfstools -c 2G -d thin " + web + "/data2.vmdk"},
		{name: "script_without_shebang",
			cmd: "printf 'echo hi\\n' > /tmp/a.sh && /tmp/a.sh; " +
				"printf '#!/bin/sh\\necho hi\\n' > /tmp/b.sh && /tmp/b.sh"},
		{name: "getallvms_skipping", cmd: "vim-cmd vmsvc/power.off 3 >/dev/null && " +
			"rm " + web + "/web.vmx && vim-cmd vmsvc/getallvms"},
	}
	for _, s := range steps {
		th.clock.Advance(s.advance)
		if s.faults != nil {
			if err := th.Inject(*s.faults); err != nil {
				t.Fatal(err)
			}
		}
		var stdin *strings.Reader
		if s.stdin != "" {
			stdin = strings.NewReader(s.stdin)
		}
		r := runOn(t, th.client, s.cmd, readerOrNil(stdin))
		got := fmt.Sprintf("$ %s\n--- stdout\n%s--- stderr\n%s--- exit %d\n", s.cmd, r.stdout, r.stderr, r.status)
		got = storageNumbers.ReplaceAllString(got, "${1}N,")
		checkGolden(t, s.name, got)
	}
}

// TestHost_GoldenFullDatastore keeps what vmkfstools prints when a
// datastore has no room left.
func TestHost_GoldenFullDatastore(t *testing.T) {
	cfg := templateConfig()
	cfg.Datastores = []Datastore{{Name: "small", CapacityBytes: 15 << 30}}
	th := mustStartHost(t, cfg)
	const (
		ds   = "/vmfs/volumes/small"
		tmpl = ds + "/templates/tmpl/tmpl.vmdk"
	)
	th.mustRun(t, "mkdir "+ds+"/a "+ds+"/b && vmkfstools -i "+tmpl+" "+ds+"/a/a.vmdk")
	for _, s := range []goldenStep{
		{name: "vmkfstools_no_space",
			cmd: "vmkfstools -i " + tmpl + " " + ds + "/b/b.vmdk -d eagerzeroedthick"},
		{name: "vmkfstools_create_no_space", cmd: "vmkfstools -c 10G " + ds + "/b/c.vmdk"},
	} {
		r := th.run(t, s.cmd)
		got := fmt.Sprintf("$ %s\n--- stdout\n%s--- stderr\n%s--- exit %d\n",
			s.cmd, r.stdout, r.stderr, r.status)
		checkGolden(t, s.name, got)
	}
}

// readerOrNil avoids handing a session a nil *strings.Reader as a reader.
func readerOrNil(r *strings.Reader) interface{ Read([]byte) (int, error) } {
	if r == nil {
		return nil
	}
	return r
}

// checkGolden compares got with testdata/NAME.golden, or writes it there
// with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v (run with -update to create it)", name, err)
	}
	if got != string(want) {
		t.Errorf("%s: output differs from %s\ngot:\n%s\nwant:\n%s", name, path, got, want)
	}
}
