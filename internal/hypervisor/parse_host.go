package hypervisor

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// HostSummary is the part of `vim-cmd hostsvc/hostsummary` that minicloud
// uses to place instances.
type HostSummary struct {
	MemoryBytes   int64  // hardware.memorySize, bytes
	CPUModel      string // hardware.cpuModel
	CPUMhz        int    // hardware.cpuMhz, per core
	CPUPackages   int    // hardware.numCpuPkgs
	CPUCores      int    // hardware.numCpuCores
	CPUThreads    int    // hardware.numCpuThreads
	CPUUsageMhz   int    // quickStats.overallCpuUsage, MHz
	MemoryUsageMB int    // quickStats.overallMemoryUsage, MB
}

// parseHostSummary reads `vim-cmd hostsvc/hostsummary`.
func parseHostSummary(out string) HostSummary {
	root := parseVmodl(out)
	hw, qs := root.get("hardware"), root.get("quickStats")
	return HostSummary{
		MemoryBytes:   hw.get("memorySize").int64(),
		CPUModel:      hw.get("cpuModel").str(),
		CPUMhz:        hw.get("cpuMhz").int(),
		CPUPackages:   hw.get("numCpuPkgs").int(),
		CPUCores:      hw.get("numCpuCores").int(),
		CPUThreads:    hw.get("numCpuThreads").int(),
		CPUUsageMhz:   qs.get("overallCpuUsage").int(),
		MemoryUsageMB: qs.get("overallMemoryUsage").int(),
	}
}

// Filesystem is one row of `esxcli storage filesystem list`.
type Filesystem struct {
	MountPoint string // e.g. /vmfs/volumes/5f1e2d3c-...
	VolumeName string // the datastore name; may hold spaces, may be empty
	UUID       string
	Mounted    bool
	Type       string // VMFS-6, NFS, vfat, ...
	Size       int64  // bytes
	Free       int64  // bytes
}

// parseFilesystems reads `esxcli storage filesystem list`. The volume name
// may hold spaces, so each row is read from both ends: the mount point is
// the first column and the last five words are UUID, Mounted, Type, Size
// and Free; what lies between is the name.
func parseFilesystems(out string) ([]Filesystem, error) {
	var fss []Filesystem
	mountWidth := 0 // the mount point column's width, from the dashes under it
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, " \t\r")
		switch trimmed := strings.TrimSpace(line); {
		case strings.HasPrefix(trimmed, "---"):
			mountWidth = strings.IndexAny(line, " \t")
			continue
		case trimmed == "" || strings.HasPrefix(trimmed, "Mount Point"):
			continue
		}

		// Peel the five right-hand columns off, then the mount point.
		rest := line
		var right [5]string
		for i := 4; i >= 0; i-- {
			cut := strings.LastIndexAny(rest, " \t")
			if cut < 0 {
				return nil, fmt.Errorf("filesystem row %q: too few columns", line)
			}
			right[i] = rest[cut+1:]
			rest = strings.TrimRight(rest[:cut], " \t")
		}
		mount, name := splitMountPoint(rest, mountWidth)

		// Convert the numbers.
		size, err1 := strconv.ParseInt(right[3], 10, 64)
		free, err2 := strconv.ParseInt(right[4], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("filesystem row %q: size or free is not a number", line)
		}
		fss = append(fss, Filesystem{
			MountPoint: mount,
			VolumeName: name,
			UUID:       right[0],
			Mounted:    right[1] == "true",
			Type:       right[2],
			Size:       size,
			Free:       free,
		})
	}
	return fss, nil
}

// splitMountPoint splits the mount point from the volume name at the
// column's width, as the dashes under the header give it, so that a mount
// point holding a space (a host folder on a test machine) or an empty one
// (an unmounted volume) reads right. Without a width it splits at the
// first space: real mount points are /vmfs/volumes/UUID.
func splitMountPoint(rest string, width int) (mount, name string) {
	if width > 0 && len(rest) >= width && (len(rest) == width || rest[width] == ' ') {
		return strings.TrimSpace(rest[:width]), strings.TrimSpace(rest[width:])
	}
	// Split at a tab as at a space, as the right-hand columns are.
	rest = strings.TrimSpace(rest)
	if i := strings.IndexAny(rest, " \t"); i >= 0 {
		return rest[:i], strings.TrimSpace(rest[i+1:])
	}
	return rest, ""
}

// VMProcess is one running VM in `esxcli vm process list`.
type VMProcess struct {
	DisplayName string
	WorldID     string
	ProcessID   string
	CartelID    string // VMX Cartel ID
	UUID        string
	ConfigFile  string // absolute path; the datastore may appear by UUID
}

// parseProcessList reads `esxcli vm process list`: one block per running
// VM, a name line followed by indented "Key: value" lines.
func parseProcessList(out string) []VMProcess {
	var procs []VMProcess
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, " \t\r")
		if strings.TrimSpace(line) == "" {
			continue
		}

		// An unindented line starts a block with the VM's name.
		if line[0] != ' ' && line[0] != '\t' {
			procs = append(procs, VMProcess{DisplayName: line})
			continue
		}
		if len(procs) == 0 {
			continue
		}
		key, val, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		p, val := &procs[len(procs)-1], strings.TrimSpace(val)
		switch key {
		case "World ID":
			p.WorldID = val
		case "Process ID":
			p.ProcessID = val
		case "VMX Cartel ID":
			p.CartelID = val
		case "UUID":
			p.UUID = val
		case "Display Name":
			p.DisplayName = val
		case "Config File":
			p.ConfigFile = val
		}
	}
	return procs
}

// ProductVersion is what `vmware -v` prints.
type ProductVersion struct {
	Product string // "VMware ESXi"
	Version string // "7.0.3"
	Build   string // "24784741"
	Update  string // "3" when `vmware -vl` adds an "Update 3" line
}

var (
	versionRE = regexp.MustCompile(`^(.*?)\s+(\d+(?:\.\d+)+)\s+build-(\d+)`)
	updateRE  = regexp.MustCompile(`\d+(?:\.\d+)+\s+Update\s+(\d+)`)
)

// parseVersion reads `vmware -v` ("VMware ESXi 7.0.3 build-24784741"), and
// the second line `vmware -vl` adds ("VMware ESXi 7.0 Update 3").
func parseVersion(out string) (ProductVersion, error) {
	var v ProductVersion
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if m := versionRE.FindStringSubmatch(line); m != nil && v.Version == "" {
			v.Product, v.Version, v.Build = m[1], m[2], m[3]
		}
		if m := updateRE.FindStringSubmatch(line); m != nil {
			v.Update = m[1]
		}
	}
	if v.Version == "" {
		return v, fmt.Errorf("no version in %q", strings.TrimSpace(out))
	}
	return v, nil
}
