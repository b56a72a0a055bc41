package hypervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The fuzz targets below feed whatever a host might print to the parsers of
// vim-cmd, esxcli and vmware output. A host is not an adversary, but a VM's
// name, annotation or guest host name is typed by people and guests, and it
// reaches these parsers verbatim. Each target checks that a parser never
// panics and that what it returns keeps the parser's own promises; most
// also print a well-formed value the way the host does and check that it
// reads back unchanged.

// addFixtures seeds f with every captured output in the testdata folders
// named, so the fuzzer starts from what real hosts print.
func addFixtures(f *testing.F, dirs ...string) {
	f.Helper()
	for _, dir := range dirs {
		names, err := filepath.Glob(filepath.Join("testdata", dir, "*.txt"))
		if err != nil || len(names) == 0 {
			f.Fatalf("no fixtures in testdata/%s: %v", dir, err)
		}
		for _, name := range names {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(string(b))
		}
	}
}

// plainRE matches what the round trips put in a name or a free-text
// column: printable ASCII on one line, without the leading or trailing
// blanks that every parser trims.
var plainRE = regexp.MustCompile(`^[!-~](?:[ -~]*[!-~])?$`)

// plain reports whether s is plain, as plainRE says, and not too long to
// be a name.
func plain(s string) bool { return len(s) <= 200 && plainRE.MatchString(s) }

// wordRE matches a column that holds no blanks.
var wordRE = regexp.MustCompile(`^[!-~]{1,80}$`)

// The columns a parsed value must look like.
var (
	versionColRE     = regexp.MustCompile(`^vmx-\d+$`)
	digitsRE         = regexp.MustCompile(`^\d+$`)
	productVersionRE = regexp.MustCompile(`^\d+(\.\d+)+$`)
)

// FuzzParseGetAllVMs reads `vim-cmd vmsvc/getallvms` output, and a row
// for a VM named as minicloud names its VMs, with any datastore and
// annotation.
func FuzzParseGetAllVMs(f *testing.F) {
	addFixtures(f, "getallvms")
	f.Fuzz(func(t *testing.T, out string) {
		vms := parseGetAllVMs(out)
		if n := strings.Count(out, "\n") + 1; len(vms) > n {
			t.Fatalf("%d vms from %d lines", len(vms), n)
		}
		for _, vm := range vms {
			if !digitsRE.MatchString(vm.ID) {
				t.Errorf("vmid %q is not a number", vm.ID)
			}
			if !strings.HasPrefix(vm.VMXPath, "["+vm.Datastore+"] ") ||
				!strings.HasSuffix(vm.VMXPath, ".vmx") {
				t.Errorf("path %q is not a .vmx on datastore %q", vm.VMXPath, vm.Datastore)
			}
			if !versionColRE.MatchString(vm.Version) {
				t.Errorf("version %q", vm.Version)
			}
			if vm.Name != strings.TrimSpace(vm.Name) ||
				vm.Annotation != strings.TrimRight(vm.Annotation, " \t\r\n") {
				t.Errorf("untrimmed name %q or annotation %q", vm.Name, vm.Annotation)
			}
		}
	})
}

// FuzzGetAllVMsRow prints one getallvms row as hostd does, for a VM in a
// folder of its own name, and checks that it reads back whole: the name is
// how minicloud finds an instance's VM.
func FuzzGetAllVMsRow(f *testing.F) {
	f.Add("i-0123456789abcdef0", "datastore1", "otherLinux64Guest", uint8(14), "")
	f.Add("web server [prod]", "My Datastore", "ubuntu64Guest", uint8(19), "Front end; owner: ops")
	f.Add("a.vmx", "[x] y.vmx", "vmx-1", uint8(7), "notes vmx-15 [ds] z.vmx vmx-3")
	f.Fuzz(func(t *testing.T, name, ds, guest string, hw uint8, annotation string) {
		if !plain(name) || !plain(ds) || strings.Contains(ds, "]") || !wordRE.MatchString(guest) ||
			annotation != "" && !plain(annotation) || strings.Contains(name, "/") {
			return
		}
		path := name + "/" + name + ".vmx"
		version := "vmx-" + strconv.Itoa(int(hw))
		row := fmt.Sprintf("%-6d %-20s [%s] %-40s %-18s %-9s %s", 42, name, ds, path,
			guest, version, annotation)
		out := "Vmid   Name   File   Guest OS   Version   Annotation\n" + row + "\n"

		got := parseGetAllVMs(out)
		want := []VM{{ID: "42", Name: name, Datastore: ds, VMXPath: "[" + ds + "] " + path,
			GuestOS: guest, Version: version, Annotation: annotation}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("row %q\ngot  %+v\nwant %+v", row, got, want)
		}
	})
}

// FuzzParseDataObject reads vSphere data objects as get.guest, get.summary
// and hostsummary print them, and a guest whose host name is any one line:
// the guest chooses its name, and it must not change what minicloud reads
// as the guest's address.
func FuzzParseDataObject(f *testing.F) {
	addFixtures(f, "guest", "summary", "host")
	f.Fuzz(func(t *testing.T, out string) {
		g := parseGuest(out)
		seen := map[string]bool{}
		for _, ip := range g.IPs {
			if ip == "" || seen[ip] {
				t.Fatalf("addresses %q hold an empty or repeated one", g.IPs)
			}
			seen[ip] = true
		}
		_ = parseSummary(out)
		_ = parseHostSummary(out)

		// A guest host name of one line reads back as it was, and leaves
		// the address alone.
		name := strings.TrimSpace(out)
		if strings.ContainsAny(name, "\r\n") || len(name) > 255 {
			return
		}
		doc := "Guest information:\n\n(vim.vm.GuestInfo) {\n" +
			"   toolsRunningStatus = \"guestToolsRunning\",\n" +
			"   hostName = \"" + name + "\",\n" +
			"   ipAddress = \"192.168.200.9\",\n" +
			"   net = (vim.vm.GuestInfo.NicInfo) [\n" +
			"      (vim.vm.GuestInfo.NicInfo) {\n" +
			"         ipAddress = (string) [\n" +
			"            \"192.168.200.9\"\n" +
			"         ],\n" +
			"      }\n" +
			"   ],\n" +
			"}\n"
		got := parseGuest(doc)
		want := GuestInfo{ToolsRunning: true, IPAddress: "192.168.200.9", HostName: name,
			IPs: []string{"192.168.200.9"}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("host name %q\ngot  %+v\nwant %+v", name, got, want)
		}
	})
}

// FuzzParseFault reads the fault blocks vim-cmd prints when a call fails,
// and a NotFound fault around any one-line message.
func FuzzParseFault(f *testing.F) {
	addFixtures(f, "fault", "power")
	f.Fuzz(func(t *testing.T, out string) {
		fault, msg := parseFault(out)
		if fault == "" && msg != "" {
			t.Fatalf("message %q without a fault", msg)
		}
		if fault != "" && !faultTypeRE.MatchString(fault) {
			t.Fatalf("fault type %q is not a fault", fault)
		}
		e := newCmdError("esxi-1", "power on", "vim-cmd vmsvc/power.on 1",
			Result{Stdout: []byte(out), ExitStatus: 1})
		if len(e.Output) > maxOutput || e.Error() == "" {
			t.Fatalf("error keeps %d bytes of output, says %q", len(e.Output), e.Error())
		}

		// A message of one line reads back as it was: vim-cmd prints
		// quotes inside it bare.
		line := strings.TrimSpace(out)
		if strings.ContainsAny(line, "\r\n") {
			return
		}
		block := "(vim.fault.NotFound) {\n   faultCause = (vmodl.MethodFault) null,\n" +
			"   faultMessage = <unset>,\n   msg = \"" + line + "\"\n}\n"
		gotFault, gotMsg := parseFault("some preamble\n" + block)
		if gotFault != "vim.fault.NotFound" || gotMsg != line {
			t.Fatalf("message %q: got %q, %q", line, gotFault, gotMsg)
		}
	})
}

// FuzzParseFilesystems reads `esxcli storage filesystem list`, and a row
// for a datastore of any name, which may hold spaces.
func FuzzParseFilesystems(f *testing.F) {
	addFixtures(f, "storage")
	f.Add("/vmfs/volumes/x  nas  backups (old)  x  true  NFS  100  5")
	f.Fuzz(func(t *testing.T, out string) {
		fss, err := parseFilesystems(out)
		if err != nil {
			return
		}
		for _, fs := range fss {
			// Columns are split at spaces and tabs; a stray carriage
			// return inside a row is text like any other.
			if fs.MountPoint != strings.Trim(fs.MountPoint, " \t") ||
				fs.VolumeName != strings.Trim(fs.VolumeName, " \t") {
				t.Fatalf("untrimmed mount point %q or name %q", fs.MountPoint, fs.VolumeName)
			}
		}

		// A datastore name of one line, spaces and all, reads back.
		name := strings.TrimSpace(out)
		if name != "" && !plain(name) {
			return
		}
		row := fmt.Sprintf("%-50s %-42s %-36s %5v  %-6s %13d %13d",
			"/vmfs/volumes/61a0b1c2-7d3e4f50", name, "61a0b1c2-7d3e4f50", true, "VMFS-6",
			int64(1)<<40, int64(123))
		got, err := parseFilesystems(fmt.Sprintf("%-50s %-42s %-36s %s  %-6s %13s %13s\n",
			"Mount Point", "Volume Name", "UUID", "Mounted", "Type", "Size", "Free") +
			strings.Join([]string{strings.Repeat("-", 50), strings.Repeat("-", 42),
				strings.Repeat("-", 36), "-------", "------", strings.Repeat("-", 13),
				strings.Repeat("-", 13)}, " ") + "\n" + row + "\n")
		want := []Filesystem{{MountPoint: "/vmfs/volumes/61a0b1c2-7d3e4f50", VolumeName: name,
			UUID: "61a0b1c2-7d3e4f50", Mounted: true, Type: "VMFS-6", Size: 1 << 40, Free: 123}}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("row %q\ngot  %+v, %v\nwant %+v", row, got, err, want)
		}
	})
}

// FuzzParseProcessList reads `esxcli vm process list`, and a block for a
// running VM of any name: a running VM is matched to its instance by it.
func FuzzParseProcessList(f *testing.F) {
	addFixtures(f, "process")
	f.Fuzz(func(t *testing.T, out string) {
		procs := parseProcessList(out)
		if n := strings.Count(out, "\n") + 1; len(procs) > n {
			t.Fatalf("%d processes from %d lines", len(procs), n)
		}

		name := strings.TrimSpace(out)
		if !plain(name) {
			return
		}
		block := name + "\n   World ID: 1049532\n   Process ID: 0\n   VMX Cartel ID: 1049531\n" +
			"   UUID: 56 4d 8b 22\n   Display Name: " + name + "\n" +
			"   Config File: /vmfs/volumes/ds/" + name + "/" + name + ".vmx\n\n"
		got := parseProcessList(block + block)
		want := VMProcess{DisplayName: name, WorldID: "1049532", ProcessID: "0",
			CartelID: "1049531", UUID: "56 4d 8b 22",
			ConfigFile: "/vmfs/volumes/ds/" + name + "/" + name + ".vmx"}
		if len(got) != 2 || got[0] != want || got[1] != want {
			t.Fatalf("name %q\ngot  %+v\nwant twice %+v", name, got, want)
		}
	})
}

// FuzzParseStatusLines reads the short answers: power.getstate, vmware -v
// and -vl, and vmsvc/message.
func FuzzParseStatusLines(f *testing.F) {
	addFixtures(f, "power", "version", "question")
	f.Fuzz(func(t *testing.T, out string) {
		if st, err := parsePowerState(out); err == nil {
			switch st {
			case PoweredOn, PoweredOff, Suspended:
			default:
				t.Fatalf("power state %q", st)
			}
		} else if st != "" {
			t.Fatalf("power state %q with error %v", st, err)
		}

		if v, err := parseVersion(out); err == nil {
			if !productVersionRE.MatchString(v.Version) || !digitsRE.MatchString(v.Build) {
				t.Fatalf("version %+v", v)
			}
		}

		q, ok := parseQuestion(out)
		if !ok && (q.ID != "" || len(q.Choices) > 0) {
			t.Fatalf("no question, yet %+v", q)
		}
		if ok && q.ID == "" {
			t.Fatalf("question without an id: %+v", q)
		}
	})
}

// FuzzParseSnapshots reads `vim-cmd vmsvc/snapshot.get`. Whatever tree it
// reads, printing that tree as hostd does and reading it again gives the
// same tree.
func FuzzParseSnapshots(f *testing.F) {
	addFixtures(f, "snapshot")
	f.Add("Get Snapshot:\n|-ROOT\n--Snapshot Name : a\n--|-CHILD\n----|-CHILD\n--|-CHILD\n|-ROOT\n")
	f.Fuzz(func(t *testing.T, out string) {
		tree := parseSnapshots(out)
		var b strings.Builder
		b.WriteString("Get Snapshot:\n")
		printSnapshots(&b, tree, 0)
		again := parseSnapshots(b.String())
		if !reflect.DeepEqual(again, tree) {
			t.Fatalf("tree changed when printed and read again\nfirst  %+v\nsecond %+v\n%s",
				tree, again, b.String())
		}
	})
}

// printSnapshots writes snapshots at depth as snapshot.get prints them.
func printSnapshots(b *strings.Builder, snaps []Snapshot, depth int) {
	dashes := strings.Repeat("--", depth)
	for _, s := range snaps {
		node := "CHILD"
		if depth == 0 {
			node = "ROOT"
		}
		attr := dashes + "--Snapshot "
		fmt.Fprintf(b, "%s|-%s\n", dashes, node)
		fmt.Fprintf(b, "%sName        : %s\n", attr, s.Name)
		fmt.Fprintf(b, "%sId        : %d\n", attr, s.ID)
		fmt.Fprintf(b, "%sDesciption  : %s\n", attr, s.Description)
		fmt.Fprintf(b, "%sCreated On  : %s\n", attr, s.CreatedRaw)
		fmt.Fprintf(b, "%sState       : %s\n", attr, s.State)
		printSnapshots(b, s.Children, depth+1)
	}
}
