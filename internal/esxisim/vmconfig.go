package esxisim

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// vmConfig is a VM's .vmx as the host reads it.
type vmConfig struct {
	vmx  *vmxFile
	path dsPath // of the .vmx
}

// loadVMX reads the VM's .vmx.
func (e *engine) loadVMX(vm *vmState) (*vmConfig, error) {
	p, ok := e.vmxPath(vm)
	if !ok {
		return nil, fmt.Errorf("datastore %q is not mounted", vm.Datastore)
	}
	data, err := os.ReadFile(p.realPath(e.fs))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return &vmConfig{vmx: parseVMX(data), path: p}, nil
}

// save writes the .vmx back, as hostd does when it records a VM's UUID or
// MAC address.
func (c *vmConfig) save(m fsMap) error {
	return writeFileAtomic(c.path.realPath(m), c.vmx.bytes(), 0o644)
}

// displayName is the name the .vmx gives the VM, or the file's base name.
func (c *vmConfig) displayName() string {
	if n := c.vmx.value("displayName"); n != "" {
		return n
	}
	return strings.TrimSuffix(path.Base(c.path.rel), ".vmx")
}

// guestID returns the VM's guest OS as a vSphere guest id.
func (c *vmConfig) guestID() string { return guestID(c.vmx.value("guestOS")) }

// numCPU returns the number of virtual CPUs; a .vmx without numvcpus has
// one.
func (c *vmConfig) numCPU() int { return max(1, c.vmx.intValue("numvcpus", 1)) }

// memoryMB returns the memory size in MB; VMware's default is 32.
func (c *vmConfig) memoryMB() int { return max(4, c.vmx.intValue("memSize", 32)) }

// hwVersion returns the virtual hardware version as "vmx-19".
func (c *vmConfig) hwVersion() string {
	return fmt.Sprintf("vmx-%02d", c.vmx.intValue("virtualHW.version", 4))
}

// folder returns the VM's folder as a datastore path.
func (c *vmConfig) folder() dsPath {
	return dsPath{vol: c.path.vol, rel: path.Dir(c.path.rel)}
}

// fileIn resolves a file name from the .vmx: relative names are in the
// VM's folder, absolute ones are host paths.
func (c *vmConfig) fileIn(m fsMap, vols []*volume, name string) (dsPath, bool) {
	if strings.HasPrefix(name, "/") {
		return locate(m, vols, name)
	}
	dir := path.Dir(c.path.rel)
	return dsPath{vol: c.path.vol, rel: path.Clean(path.Join(dir, name))}, true
}

// vmxDisk is a virtual disk the .vmx attaches.
type vmxDisk struct {
	device string // as "scsi0:0"
	file   string // the fileName value
}

var diskKey = regexp.MustCompile(`^(?i)((?:scsi|sata|ide|nvme)\d+:\d+)\.fileName$`)

// disks returns the .vmdk disks the .vmx attaches, in device order.
func (c *vmConfig) disks() []vmxDisk {
	var out []vmxDisk
	for _, k := range c.vmx.keys() {
		m := diskKey.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		dev := strings.ToLower(m[1])
		file := c.vmx.value(k)
		if !strings.HasSuffix(strings.ToLower(file), ".vmdk") {
			continue
		}
		if present, ok := c.vmx.get(dev + ".present"); ok && !isTrueString(present) {
			continue
		}
		out = append(out, vmxDisk{device: dev, file: file})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].device < out[j].device })
	return out
}

// nics returns the indexes N of the ethernetN adapters present.
func (c *vmConfig) nics() []int {
	var out []int
	for i := 0; i < 10; i++ {
		if c.vmx.isTrue(fmt.Sprintf("ethernet%d.present", i)) {
			out = append(out, i)
		}
	}
	return out
}

// mac returns the MAC address of ethernetN, or "" if it has none yet.
func (c *vmConfig) mac(n int) string {
	pre := fmt.Sprintf("ethernet%d.", n)
	if strings.EqualFold(c.vmx.value(pre+"addressType"), "static") {
		return strings.ToLower(c.vmx.value(pre + "address"))
	}
	return strings.ToLower(c.vmx.value(pre + "generatedAddress"))
}

// isTrueString reports whether a .vmx value means true.
func isTrueString(s string) bool {
	switch strings.ToLower(s) {
	case "true", "yes", "1":
		return true
	}
	return false
}

// assignIdentity gives the VM the identifiers hostd writes into a .vmx at
// power-on when they are missing: uuid.bios, vc.uuid and a generated MAC
// address for each adapter. It reports whether it changed the file.
func (c *vmConfig) assignIdentity() bool {
	changed := false
	if c.vmx.value("uuid.bios") == "" {
		c.vmx.set("uuid.bios", newVMUUID())
		changed = true
	}
	if c.vmx.value("vc.uuid") == "" {
		c.vmx.set("vc.uuid", "52"+newVMUUID()[2:])
		changed = true
	}
	uuid := uuidBytes(c.vmx.value("uuid.bios"))
	for i, n := range c.nics() {
		pre := fmt.Sprintf("ethernet%d.", n)
		if strings.EqualFold(c.vmx.value(pre+"addressType"), "static") ||
			c.vmx.value(pre+"generatedAddress") != "" {
			continue
		}
		mac := fmt.Sprintf("00:0c:29:%02x:%02x:%02x", uuid[13], uuid[14], (int(uuid[15])+i)%256)
		c.vmx.set(pre+"addressType", "generated")
		c.vmx.set(pre+"generatedAddress", mac)
		c.vmx.set(pre+"generatedAddressOffset", strconv.Itoa(10*i))
		changed = true
	}
	return changed
}

// newVMUUID returns a fresh BIOS UUID in .vmx form:
// "56 4d 89 0e 68 65 d4 86-22 78 80 af 60 16 e0 e0".
func newVMUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[0], b[1] = 0x56, 0x4d
	return formatVMXUUID(b[:])
}

// locationUUID is the uuid.location of a .vmx at the given place: it
// changes when the VM's files are moved or copied.
func locationUUID(p dsPath) string {
	sum := sha256.Sum256([]byte(p.vol.uuid + "/" + p.rel))
	return formatVMXUUID(sum[:16])
}

// formatVMXUUID writes 16 bytes the way a .vmx holds a UUID.
func formatVMXUUID(b []byte) string {
	var s strings.Builder
	for i, c := range b {
		switch {
		case i == 8:
			s.WriteByte('-')
		case i > 0:
			s.WriteByte(' ')
		}
		fmt.Fprintf(&s, "%02x", c)
	}
	return s.String()
}

// uuidBytes reads a .vmx UUID back into 16 bytes; what it cannot read is
// zero.
func uuidBytes(s string) [16]byte {
	var b [16]byte
	hexDigits := strings.NewReplacer(" ", "", "-", "").Replace(s)
	for i := 0; i < 16 && 2*i+2 <= len(hexDigits); i++ {
		n, _ := strconv.ParseUint(hexDigits[2*i:2*i+2], 16, 8)
		b[i] = byte(n)
	}
	return b
}

// apiUUID writes a .vmx UUID the way the vSphere API prints it:
// "564d890e-6865-d486-2278-80af6016e0e0".
func apiUUID(s string) string {
	b := uuidBytes(s)
	h := fmt.Sprintf("%x", b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// guestID turns the guestOS value of a .vmx ("ubuntu-64", "debian11-64",
// "otherlinux-64") into the guest id the vSphere API reports
// ("ubuntu64Guest", "debian11_64Guest", "otherLinux64Guest"). A value that
// already is a guest id is kept.
func guestID(vmxOS string) string {
	s := strings.TrimSpace(vmxOS)
	switch {
	case s == "":
		return "otherGuest"
	case strings.HasSuffix(s, "Guest") || strings.HasSuffix(s, "Guest64"):
		return s
	}
	lower := strings.ToLower(s)
	special := map[string]string{
		"other":         "otherGuest",
		"other-64":      "otherGuest64",
		"rockylinux-64": "rockylinux_64Guest",
		"almalinux-64":  "almalinux_64Guest",
	}
	if id, ok := special[lower]; ok {
		return id
	}
	base, is64 := strings.CutSuffix(lower, "-64")
	if strings.HasPrefix(base, "other") {
		base = strings.Replace(base, "linux", "Linux", 1)
	}
	if base == "" {
		return "otherGuest"
	}
	last := base[len(base)-1]
	switch {
	case !is64:
		return base + "Guest"
	case strings.HasSuffix(base, "Linux"):
		return base + "64Guest"
	case '0' <= last && last <= '9' || strings.Contains(base, "srv"):
		return base + "_64Guest"
	default:
		return base + "64Guest"
	}
}

// guestFullNames names the guest ids people use most, as vSphere does.
var guestFullNames = map[string]string{
	"ubuntu64Guest":              "Ubuntu Linux (64-bit)",
	"debian10_64Guest":           "Debian GNU/Linux 10 (64-bit)",
	"debian11_64Guest":           "Debian GNU/Linux 11 (64-bit)",
	"debian12_64Guest":           "Debian GNU/Linux 12 (64-bit)",
	"centos8_64Guest":            "CentOS 8 (64-bit)",
	"centos9_64Guest":            "CentOS 9 (64-bit)",
	"rhel8_64Guest":              "Red Hat Enterprise Linux 8 (64-bit)",
	"rhel9_64Guest":              "Red Hat Enterprise Linux 9 (64-bit)",
	"rockylinux_64Guest":         "Rocky Linux (64-bit)",
	"almalinux_64Guest":          "AlmaLinux (64-bit)",
	"amazonlinux2_64Guest":       "Amazon Linux 2 (64-bit)",
	"amazonlinux3_64Guest":       "Amazon Linux 2023 (64-bit)",
	"otherLinux64Guest":          "Other Linux (64-bit)",
	"other5xLinux64Guest":        "Other 5.x or later Linux (64-bit)",
	"other6xLinux64Guest":        "Other 6.x or later Linux (64-bit)",
	"freebsd13_64Guest":          "FreeBSD 13 (64-bit)",
	"windows2019srv_64Guest":     "Microsoft Windows Server 2019 (64-bit)",
	"windows2022srvNext_64Guest": "Microsoft Windows Server 2022 (64-bit)",
	"otherGuest":                 "Other (32-bit)",
	"otherGuest64":               "Other (64-bit)",
}

// guestFullName returns the long name of a guest id.
func guestFullName(id string) string {
	if n, ok := guestFullNames[id]; ok {
		return n
	}
	return id
}

// guestFamily returns the family of a guest id, as GuestInfo reports it.
func guestFamily(id string) string {
	switch {
	case strings.HasPrefix(id, "win"):
		return "windowsGuest"
	case strings.HasPrefix(id, "other") && !strings.Contains(id, "Linux"):
		return "otherGuestFamily"
	}
	return "linuxGuest"
}
