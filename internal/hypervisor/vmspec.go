package hypervisor

import (
	"fmt"
	"sort"
	"strconv"
)

// VMSpec describes a VM for CreateFiles and Register.
type VMSpec struct {
	// Name is the instance id (i-0123456789abcdef0). It names the VM, its
	// folder on the datastore and its files, and must be a plain path element.
	Name string

	// Datastore is the datastore to create the VM on, e.g. "datastore1".
	Datastore string

	// SourceDisk is the template disk to clone, as a datastore path:
	// "[datastore1] templates/debian12/debian12.vmdk".
	SourceDisk string

	NumCPUs  int
	MemoryMB int

	// GuestOS is the .vmx guest id, e.g. "debian12-64"; empty means
	// "otherlinux-64".
	GuestOS string

	// Network is the port group of the VM's one NIC; empty means "VM Network".
	Network string

	// HardwareVersion is virtualHW.version; 0 means 14 (ESXi 6.7 and later).
	HardwareVersion int

	// Firmware is "efi" or "bios"; empty leaves ESXi's default (BIOS).
	Firmware string

	// ExtraConfig holds further .vmx keys, such as guestinfo.userdata for
	// cloud-init. Values may hold anything; keys must be plain .vmx keys.
	// A key that the base configuration also sets overrides it.
	ExtraConfig map[string]string
}

// Default values for a VMSpec's empty fields.
const (
	DefaultGuestOS         = "otherlinux-64"
	DefaultNetwork         = "VM Network"
	DefaultHardwareVersion = 14
)

// validate checks what the host's paths and the .vmx depend on.
func (s VMSpec) validate() error {
	if err := checkName("vm", s.Name); err != nil {
		return err
	}
	if err := checkName("datastore", s.Datastore); err != nil {
		return err
	}
	if _, _, err := SplitDatastorePath(s.SourceDisk); err != nil {
		return fmt.Errorf("source disk: %w", err)
	}
	if s.NumCPUs < 1 || s.MemoryMB < 4 {
		return fmt.Errorf("vm %s: needs at least 1 cpu and 4 MB, got %d and %d MB",
			s.Name, s.NumCPUs, s.MemoryMB)
	}
	return nil
}

// VMXFor returns the .vmx file for spec: the settings a VM needs to boot
// on ESXi without vCenter, then ExtraConfig in key order. It returns an
// error for an invalid spec or an ExtraConfig key that is not a .vmx key.
func VMXFor(spec VMSpec) (string, error) {
	if err := spec.validate(); err != nil {
		return "", err
	}
	guestOS, network, hw := spec.GuestOS, spec.Network, spec.HardwareVersion
	if guestOS == "" {
		guestOS = DefaultGuestOS
	}
	if network == "" {
		network = DefaultNetwork
	}
	if hw == 0 {
		hw = DefaultHardwareVersion
	}

	// The machine itself.
	v := &VMX{}
	set := func(k, val string) { _ = v.Set(k, val) }
	set(".encoding", "UTF-8")
	set("config.version", "8")
	set("virtualHW.version", strconv.Itoa(hw))
	set("displayName", spec.Name)
	set("guestOS", guestOS)
	set("numvcpus", strconv.Itoa(spec.NumCPUs))
	set("memSize", strconv.Itoa(spec.MemoryMB))
	if spec.Firmware != "" {
		set("firmware", spec.Firmware)
	}
	set("nvram", spec.Name+".nvram")

	// The boot disk, cloned next to the .vmx.
	set("scsi0.present", "TRUE")
	set("scsi0.virtualDev", "pvscsi")
	set("scsi0:0.present", "TRUE")
	set("scsi0:0.deviceType", "scsi-hardDisk")
	set("scsi0:0.fileName", spec.Name+".vmdk")

	// PCI Express root ports: without them newer hardware versions fail to
	// power on with msg.pci.noslotavail.
	set("pciBridge0.present", "TRUE")
	for i := 4; i <= 7; i++ {
		p := "pciBridge" + strconv.Itoa(i)
		set(p+".present", "TRUE")
		set(p+".virtualDev", "pcieRootPort")
		set(p+".functions", "8")
	}

	// One NIC with a MAC address that ESXi generates.
	set("ethernet0.present", "TRUE")
	set("ethernet0.virtualDev", "vmxnet3")
	set("ethernet0.networkName", network)
	set("ethernet0.addressType", "generated")

	// Answer the moved-or-copied question up front: the disk is a clone,
	// and an open question would block power.on.
	set("answer.msg.uuid.altered", "I copied it")
	set("uuid.action", "create")

	// The guest's serial console goes to a file in the VM's folder.
	set("serial0.present", "TRUE")
	set("serial0.fileType", "file")
	set("serial0.fileName", ConsoleFile)

	// VMware Tools.
	set("tools.syncTime", "TRUE")
	set("tools.upgrade.policy", "manual")
	set("vmci0.present", "TRUE")
	set("floppy0.present", "FALSE")

	// Caller's keys, in a stable order.
	keys := make([]string, 0, len(spec.ExtraConfig))
	for k := range spec.ExtraConfig {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := v.Set(k, spec.ExtraConfig[k]); err != nil {
			return "", fmt.Errorf("vm %s extra config: %w", spec.Name, err)
		}
	}
	return v.String(), nil
}
