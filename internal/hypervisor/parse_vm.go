package hypervisor

import (
	"fmt"
	"regexp"
	"strings"
)

// VM is one virtual machine in a host's inventory.
type VM struct {
	ID         string     // the vmid, e.g. "6"; never reused on a host
	Name       string     // the display name; minicloud uses the instance id
	Datastore  string     // the datastore holding the .vmx
	VMXPath    string     // the .vmx as a datastore path: "[ds] i-0abc/i-0abc.vmx"
	GuestOS    string     // the guest id, e.g. "debian11_64Guest"
	Version    string     // the virtual hardware version, e.g. "vmx-19"
	Annotation string     // the free-text notes, possibly several lines
	PoweredOn  bool       // set by Observe from the running VM processes
	Guest      *GuestInfo // set by Observe for the VMs it was asked about
}

// getallvmsRowRE matches the part of a getallvms row after the name:
// "[datastore] path.vmx  guestId  vmx-NN  annotation". Its path is the
// shortest that lets the row parse.
var getallvmsRowRE = regexp.MustCompile(
	`^\[([^\]]+)\] ?(.*?\.vmx)\s+(?:(\S+)\s+)?(vmx-\d+)(?:\s+(.*))?$`)

// getallvmsTailRE matches what follows the path: "  guestId  vmx-NN
// annotation".
var getallvmsTailRE = regexp.MustCompile(`^\s+(?:(\S+)\s+)?(vmx-\d+)(?:\s+(.*))?$`)

// vmidRE matches the leading vmid and the rest of a getallvms row.
var vmidRE = regexp.MustCompile(`^(\d+)\s+(.*)$`)

// parseGetAllVMs reads the stdout of `vim-cmd vmsvc/getallvms`. Lines that
// are not rows continue the previous row's annotation; the header and
// "Skipping invalid VM" lines are ignored.
func parseGetAllVMs(out string) []VM {
	var vms []VM
	cont := false // whether the last row's annotation may continue
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, "\r")
		trimmed := strings.TrimSpace(line)

		// Skip the header and the complaints about broken VMs.
		if strings.HasPrefix(trimmed, "Vmid") && len(vms) == 0 ||
			strings.HasPrefix(trimmed, "Skipping invalid VM") {
			continue
		}

		// A line that reads as a whole row starts a VM.
		if vm, ok := parseGetAllVMsRow(trimmed); ok {
			vms = append(vms, vm)
			cont = true
			continue
		}

		// Anything else continues the annotation of the row above.
		if cont {
			a := &vms[len(vms)-1].Annotation
			*a += "\n" + line
		}
	}

	// Drop the blank lines that trail a multi-line annotation.
	for i := range vms {
		vms[i].Annotation = strings.TrimRight(vms[i].Annotation, " \t\r\n")
	}
	return vms
}

// parseGetAllVMsRow reads one row. Names may hold spaces and brackets, and
// even ".vmx vmx-1", so every "[" is tried as the start of the File
// column, and a path whose file is named after the VM (as hostd names the
// files of the VMs it makes, and minicloud its instances') wins; else the
// first split that parses, with the shortest path.
func parseGetAllVMsRow(line string) (VM, bool) {
	m := vmidRE.FindStringSubmatch(line)
	if m == nil {
		return VM{}, false
	}
	id, rest := m[1], m[2]

	var first VM
	found := false
	for i := 0; i < len(rest); i++ {
		if rest[i] != '[' {
			continue
		}
		f := getallvmsRowRE.FindStringSubmatchIndex(rest[i:])
		if f == nil {
			continue
		}
		name := strings.TrimSpace(rest[:i])
		ds, files := rest[i+f[2]:i+f[3]], rest[i+f[4]:]
		if vm, ok := getAllVMsRowAt(id, name, ds, files, name+".vmx"); ok {
			return vm, true
		}
		if !found {
			first, found = getAllVMsRowAt(id, name, ds, files, "")
		}
	}
	return first, found
}

// getAllVMsRowAt reads a row whose File column, after its datastore ds,
// starts files. With file set, the path must end in that file name;
// without, the shortest path that lets the row parse is taken.
func getAllVMsRowAt(id, name, ds, files, file string) (VM, bool) {
	for from := 0; from < len(files); {
		var end int
		if file == "" {
			k := strings.Index(files[from:], ".vmx")
			if k < 0 {
				break
			}
			end = from + k + len(".vmx")
		} else {
			k := strings.Index(files[from:], file)
			if k < 0 {
				break
			}
			end = from + k + len(file)
			if at := end - len(file); at > 0 && files[at-1] != '/' {
				from = at + 1
				continue
			}
		}
		from = end - len(".vmx") + 1

		t := getallvmsTailRE.FindStringSubmatch(files[end:])
		if t == nil {
			continue
		}
		return VM{
			ID:         id,
			Name:       name,
			Datastore:  ds,
			VMXPath:    "[" + ds + "] " + files[:end],
			GuestOS:    t[1],
			Version:    t[2],
			Annotation: strings.TrimSpace(t[3]),
		}, true
	}
	return VM{}, false
}

// PowerState is a VM's power state as hostd reports it.
type PowerState string

// Power states.
const (
	PoweredOn  PowerState = "poweredOn"
	PoweredOff PowerState = "poweredOff"
	Suspended  PowerState = "suspended"
)

// parsePowerState reads `vim-cmd vmsvc/power.getstate`: "Retrieved runtime
// info" followed by "Powered on", "Powered off" or "Suspended".
func parsePowerState(out string) (PowerState, error) {
	for _, line := range strings.Split(out, "\n") {
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "powered on", "poweredon":
			return PoweredOn, nil
		case "powered off", "poweredoff":
			return PoweredOff, nil
		case "suspended":
			return Suspended, nil
		}
	}
	return "", fmt.Errorf("no power state in %q", strings.TrimSpace(out))
}

// GuestInfo is what VMware Tools in a guest report.
type GuestInfo struct {
	ToolsRunning bool     // toolsRunningStatus is guestToolsRunning
	IPAddress    string   // the primary address, "" when unset
	HostName     string   // the guest's host name, "" when unset
	IPs          []string // every address of every NIC, in printed order
}

// parseGuest reads `vim-cmd vmsvc/get.guest`.
func parseGuest(out string) GuestInfo {
	root := parseVmodl(out)
	g := GuestInfo{
		ToolsRunning: root.get("toolsRunningStatus").str() == "guestToolsRunning",
		IPAddress:    root.get("ipAddress").str(),
		HostName:     root.get("hostName").str(),
	}
	seen := map[string]bool{}
	if nets := root.get("net"); nets != nil {
		for _, nic := range nets.items {
			for _, ip := range nic.get("ipAddress").strs() {
				if ip != "" && !seen[ip] {
					seen[ip] = true
					g.IPs = append(g.IPs, ip)
				}
			}
		}
	}
	return g
}

// VMSummary is the part of `vim-cmd vmsvc/get.summary` that minicloud uses.
type VMSummary struct {
	Name          string
	VMXPath       string // "[ds] x/x.vmx"
	PowerState    PowerState
	IPAddress     string
	ToolsRunning  bool
	MemoryMB      int
	NumCPU        int
	UptimeSeconds int64
}

// parseSummary reads `vim-cmd vmsvc/get.summary`.
func parseSummary(out string) VMSummary {
	root := parseVmodl(out)
	return VMSummary{
		Name:          root.get("config", "name").str(),
		VMXPath:       root.get("config", "vmPathName").str(),
		PowerState:    PowerState(root.get("runtime", "powerState").str()),
		IPAddress:     root.get("guest", "ipAddress").str(),
		ToolsRunning:  root.get("guest", "toolsRunningStatus").str() == "guestToolsRunning",
		MemoryMB:      root.get("config", "memorySizeMB").int(),
		NumCPU:        root.get("config", "numCpu").int(),
		UptimeSeconds: root.get("quickStats", "uptimeSeconds").int64(),
	}
}
