package esxisim

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// guestView is what VMware Tools in a guest reports, as far as the host
// knows it now.
type guestView struct {
	running  bool // Tools is running: the guest has booted
	hostName string
	ip       string // of the first adapter, "" if none
	nics     []guestNIC
}

// guestNIC is one network adapter as the guest reports it.
type guestNIC struct {
	device  int // N of ethernetN
	network string
	mac     string
	ips     []string
}

// booted reports whether the VM's guest is up at now: powered on for at
// least BootDelay and not shutting down.
func (e *engine) booted(vm *vmState, now time.Time) bool {
	return vm.Power == poweredOn && vm.ShutdownAt.IsZero() &&
		now.Sub(vm.PoweredOnAt) >= e.set.BootDelay
}

// guest returns what the VM's guest reports at now.
func (e *engine) guest(vm *vmState, c *vmConfig, now time.Time) guestView {
	if !e.booted(vm, now) {
		return guestView{}
	}
	meta := parseMetadata(c.vmx)
	g := guestView{running: true, hostName: hostNameFor(vm.Name)}
	if meta.hostName != "" {
		g.hostName = meta.hostName
	}
	for i, n := range c.nics() {
		nic := guestNIC{
			device:  n,
			network: c.vmx.value(fmt.Sprintf("ethernet%d.networkName", n)),
			mac:     c.mac(n),
		}
		if nic.network == "" {
			nic.network = "VM Network"
		}
		if i == 0 {
			ip := meta.address
			if ip == "" {
				ip = e.leaseFor(vm.ID)
			}
			nic.ips = append(nic.ips, ip)
			g.ip = ip
		}
		if ll := linkLocal(nic.mac); ll != "" {
			nic.ips = append(nic.ips, ll)
		}
		g.nics = append(g.nics, nic)
	}
	return g
}

// hostNameFor returns the host name a guest takes from its VM's name: the
// characters a host name may not hold become dashes.
func hostNameFor(name string) string {
	b := []byte(name)
	for i, c := range b {
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !(letter || '0' <= c && c <= '9' || c == '-' || c == '.') {
			b[i] = '-'
		}
	}
	if len(b) == 0 {
		return "localhost"
	}
	return string(b)
}

// leaseFor returns the address the VM Network's DHCP server hands the VM:
// the network's first address is its own, the second is the gateway, the
// third the host's; guests follow, one per vmid, wrapping around.
func (e *engine) leaseFor(vmid int) string {
	size := 1 << (32 - e.net.Bits())
	slots := size - 4 // all but the network, gateway, host and broadcast
	offset := 3 + (vmid-1)%slots
	return addrAt(e.net, offset).String()
}

// hostAddress is the host's management address (vmk0) on the guests'
// network, and gateway the network's router.
func (e *engine) hostAddress() netip.Addr { return addrAt(e.net, 2) }
func (e *engine) gateway() netip.Addr     { return addrAt(e.net, 1) }

// addrAt returns the address offset places into the network p.
func addrAt(p netip.Prefix, offset int) netip.Addr {
	b := p.Addr().As4()
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n += uint32(offset)
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// linkLocal returns the IPv6 link-local address a guest derives from its
// MAC address, or "" for no MAC.
func linkLocal(mac string) string {
	var m [6]byte
	_, err := fmt.Sscanf(mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5])
	if err != nil {
		return ""
	}
	var a [16]byte
	a[0], a[1] = 0xfe, 0x80
	a[8], a[9], a[10], a[11] = m[0]^0x02, m[1], m[2], 0xff
	a[12], a[13], a[14], a[15] = 0xfe, m[3], m[4], m[5]
	return netip.AddrFrom16(a).String()
}

// guestMetadata is what a guest's cloud-init takes from the VMware
// datasource's guestinfo.metadata.
type guestMetadata struct {
	hostName string // local-hostname
	address  string // the first static IPv4 address of its network config
}

var (
	metaHostName = regexp.MustCompile(`"?local-hostname"?\s*:\s*"?([A-Za-z0-9.-]+)"?`)
	metaAddress  = regexp.MustCompile(`\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})/\d{1,2}\b`)
)

// parseMetadata reads guestinfo.metadata (JSON or YAML, plain, base64 or
// gzip+base64) for the guest's host name and static address, as
// cloud-init would apply them. What it cannot read it leaves out.
func parseMetadata(vmx *vmxFile) guestMetadata {
	raw := vmx.value("guestinfo.metadata")
	if raw == "" {
		return guestMetadata{}
	}
	text := decodeGuestinfo(raw, vmx.value("guestinfo.metadata.encoding"))

	var md guestMetadata
	if m := metaHostName.FindStringSubmatch(text); m != nil {
		md.hostName = m[1]
	}
	if i := strings.Index(text, "addresses"); i >= 0 {
		if m := metaAddress.FindStringSubmatch(text[i:]); m != nil {
			if a, err := netip.ParseAddr(m[1]); err == nil && a.Is4() {
				md.address = a.String()
			}
		}
	}
	return md
}

// decodeGuestinfo decodes a guestinfo value by its .encoding key.
func decodeGuestinfo(value, encoding string) string {
	switch strings.ToLower(encoding) {
	case "base64", "b64":
		data, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			return ""
		}
		return string(data)
	case "gzip+base64", "gz+b64":
		data, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			return ""
		}
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return ""
		}
		out, err := io.ReadAll(io.LimitReader(zr, 1<<20))
		if err != nil {
			return ""
		}
		return string(out)
	}
	return value
}

// consoleFile returns where the VM's first serial port writes, on this
// machine, or "" if it has no serial port backed by a file.
func (e *engine) consoleFile(c *vmConfig) string {
	if !c.vmx.isTrue("serial0.present") {
		return ""
	}
	if t := strings.ToLower(c.vmx.value("serial0.fileType")); t != "" && t != "file" {
		return ""
	}
	name := c.vmx.value("serial0.fileName")
	if name == "" {
		return ""
	}
	if strings.HasPrefix(name, "/") {
		return e.fs.real(name)
	}
	return filepath.Join(filepath.Dir(c.path.realPath(e.fs)), filepath.FromSlash(name))
}

// startConsole empties the console file at power-on, as the VM opens its
// serial port afresh.
func (e *engine) startConsole(c *vmConfig) error {
	f := e.consoleFile(c)
	if f == "" {
		return nil
	}
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		return fmt.Errorf("open serial console of %s: %w", c.path, err)
	}
	return nil
}

// writeBootLog appends to the VM's console what a Linux guest prints while
// it boots and cloud-init configures it.
func (e *engine) writeBootLog(vm *vmState, c *vmConfig, g guestView) error {
	file := e.consoleFile(c)
	if file == "" {
		return nil
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("write serial console of %s: %w", c.path, err)
	}
	defer f.Close()
	_, err = io.WriteString(f, bootLog(vm, c, g, vm.PoweredOnAt.Add(e.set.BootDelay)))
	return err
}

// bootLog is the console text of one boot.
func bootLog(vm *vmState, c *vmConfig, g guestView, at time.Time) string {
	var b strings.Builder
	line := func(micros int, format string, args ...any) {
		fmt.Fprintf(&b, "[%5d.%06d] ", micros/1e6, micros%1e6)
		fmt.Fprintf(&b, format, args...)
		b.WriteString("\n")
	}
	nic := "no network"
	if len(g.nics) > 0 {
		nic = fmt.Sprintf("ens%d %s", 192+32*g.nics[0].device, g.nics[0].mac)
	}
	stamp := at.UTC().Format("Mon, 02 Jan 2006 15:04:05 +0000")

	line(0, "Linux version 6.1.0-28-amd64 #1 SMP PREEMPT_DYNAMIC")
	line(0, "Command line: BOOT_IMAGE=/boot/vmlinuz root=LABEL=cloudimg-rootfs ro console=ttyS0")
	line(0, "DMI: VMware, Inc. VMware Virtual Platform/440BX Desktop Reference Platform")
	line(0, "Hypervisor detected: VMware")
	line(21000, "Memory: %dK available", c.memoryMB()*1024)
	line(214000, "smp: Brought up 1 node, %d CPUs", c.numCPU())
	line(1337000, "vmxnet3: %s link up, 10000 Mbps", nic)
	line(2113000, "EXT4-fs (sda1): mounted filesystem with ordered data mode")
	line(3402000, "cloud-init[431]: Cloud-init running 'init' at %s", stamp)
	if g.ip != "" {
		line(3488000, "cloud-init[431]: ci-info: %s address %s", nic, g.ip)
	}
	b.WriteString("-----BEGIN SSH HOST KEY FINGERPRINTS-----\n")
	sum := sha256.Sum256([]byte(c.vmx.value("uuid.bios") + "/" + vm.Name))
	fp := base64.RawStdEncoding.EncodeToString(sum[:])
	fmt.Fprintf(&b, "256 SHA256:%s root@%s (ED25519)\n", fp, g.hostName)
	b.WriteString("-----END SSH HOST KEY FINGERPRINTS-----\n")
	line(5006000, "cloud-init[702]: Cloud-init finished, datasource DataSourceVMware")
	fmt.Fprintf(&b, "\n%s login: ", g.hostName)
	return b.String()
}
