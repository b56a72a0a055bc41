package esxisim

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// toolsVersion is the version of open-vm-tools the guests run.
const toolsVersion = "12352"

// moref formats a managed object reference: 'vim.VirtualMachine:7'.
func moref(s string) string { return "'" + s + "'" }

// apiTime formats a time as the vSphere API does.
func apiTime(t time.Time) string {
	return str(t.UTC().Format("2006-01-02T15:04:05.000000Z"))
}

// vmsvcGetGuest prints what VMware Tools in a VM's guest reports.
func vmsvcGetGuest(p *proc, args []string) int {
	var o *vobj
	err := p.withVM(args, func(st *hostState, vm *vmState, c *vmConfig, now time.Time) error {
		o = guestInfo(c, p.e.guest(vm, c, now))
		return nil
	})
	if err != nil {
		return p.finish(err)
	}
	p.outf("Guest information:\n\n")
	o.write(p.stdout, 0)
	p.outf("\n")
	return 0
}

// guestInfo builds the VM's vim.vm.GuestInfo.
func guestInfo(c *vmConfig, g guestView) *vobj {
	id := c.guestID()
	if !g.running {
		return obj("vim.vm.GuestInfo").
			f("toolsStatus", str("toolsNotRunning")).
			f("toolsVersionStatus", str("guestToolsUnmanaged")).
			f("toolsVersionStatus2", str("guestToolsUnmanaged")).
			f("toolsRunningStatus", str("guestToolsNotRunning")).
			f("toolsVersion", str(toolsVersion)).
			f("toolsInstallType", str("guestToolsTypeOpenVMTools")).
			f("guestId", unset).
			f("guestFamily", unset).
			f("guestFullName", unset).
			f("hostName", unset).
			f("ipAddress", unset).
			f("net", varr{typ: "vim.vm.GuestInfo.NicInfo"}).
			f("guestState", str("notRunning")).
			f("appHeartbeatStatus", str("appStatusGray")).
			f("guestKernelCrashed", boolean(false)).
			f("appState", str("none")).
			f("guestOperationsReady", boolean(false)).
			f("interactiveGuestOperationsReady", boolean(false)).
			f("guestStateChangeSupported", boolean(false)).
			f("hwVersion", str(c.hwVersion()))
	}

	nets := varr{typ: "vim.vm.GuestInfo.NicInfo"}
	for _, n := range g.nics {
		ips := varr{typ: "string"}
		for _, ip := range n.ips {
			ips.items = append(ips.items, str(ip))
		}
		nets.items = append(nets.items, obj("vim.vm.GuestInfo.NicInfo").
			f("network", str(n.network)).
			f("ipAddress", ips).
			f("macAddress", str(n.mac)).
			f("connected", boolean(true)).
			f("deviceConfigId", num(4000+n.device)))
	}
	ip := unset
	if g.ip != "" {
		ip = str(g.ip)
	}
	return obj("vim.vm.GuestInfo").
		f("toolsStatus", str("toolsOk")).
		f("toolsVersionStatus", str("guestToolsUnmanaged")).
		f("toolsVersionStatus2", str("guestToolsUnmanaged")).
		f("toolsRunningStatus", str("guestToolsRunning")).
		f("toolsVersion", str(toolsVersion)).
		f("toolsInstallType", str("guestToolsTypeOpenVMTools")).
		f("guestId", str(id)).
		f("guestFamily", str(guestFamily(id))).
		f("guestFullName", str(guestFullName(id))).
		f("hostName", str(g.hostName)).
		f("ipAddress", ip).
		f("net", nets).
		f("guestState", str("running")).
		f("appHeartbeatStatus", str("appStatusGray")).
		f("guestKernelCrashed", boolean(false)).
		f("appState", str("none")).
		f("guestOperationsReady", boolean(true)).
		f("interactiveGuestOperationsReady", boolean(false)).
		f("guestStateChangeSupported", boolean(true)).
		f("hwVersion", str(c.hwVersion()))
}

// vmLoad is the load a VM puts on the host: MHz of CPU and MB of memory.
func (e *engine) vmLoad(vm *vmState, c *vmConfig, now time.Time) (cpuMhz, memMB int) {
	if vm.Power != poweredOn {
		return 0, 0
	}
	full := c.numCPU() * e.set.CPUMhz
	if !e.booted(vm, now) {
		return full / 2, c.memoryMB()
	}
	return max(1, full/50), c.memoryMB()
}

// vmsvcGetSummary prints a VM's vim.vm.Summary.
func vmsvcGetSummary(p *proc, args []string) int {
	var o *vobj
	err := p.withVM(args, func(st *hostState, vm *vmState, c *vmConfig, now time.Time) error {
		o = p.e.vmSummary(vm, c, now)
		return nil
	})
	if err != nil {
		return p.finish(err)
	}
	p.outf("Listsummary:\n\n")
	o.write(p.stdout, 0)
	p.outf("\n")
	return 0
}

// vmSummary builds the VM's vim.vm.Summary.
func (e *engine) vmSummary(vm *vmState, c *vmConfig, now time.Time) *vobj {
	g := e.guest(vm, c, now)
	id := c.guestID()
	cpu, mem := e.vmLoad(vm, c, now)

	boot, uptime := unset, unset
	if vm.Power == poweredOn {
		boot = apiTime(vm.PoweredOnAt)
		uptime = num(int64(now.Sub(vm.PoweredOnAt).Seconds()))
	}
	var q any = "(vim.vm.QuestionInfo) null"
	if vm.Question != nil {
		q = questionInfo(vm.Question)
	}
	runtime := obj("vim.vm.RuntimeInfo").
		f("host", moref("vim.HostSystem:ha-host")).
		f("connectionState", str("connected")).
		f("powerState", str(vm.Power)).
		f("faultToleranceState", str("notConfigured")).
		f("toolsInstallerMounted", boolean(false)).
		f("suspendTime", unset).
		f("bootTime", boot).
		f("suspendInterval", "0").
		f("question", q).
		f("maxCpuUsage", num(c.numCPU()*e.set.CPUMhz)).
		f("maxMemoryUsage", num(c.memoryMB())).
		f("numMksConnections", "0").
		f("recordReplayState", str("inactive")).
		f("consolidationNeeded", boolean(false)).
		f("paused", boolean(false))

	toolsStatus, running, hostName, ip := "toolsNotRunning", "guestToolsNotRunning", unset, unset
	if g.running {
		toolsStatus, running, hostName = "toolsOk", "guestToolsRunning", str(g.hostName)
		if g.ip != "" {
			ip = str(g.ip)
		}
	}
	guest := obj("vim.vm.Summary.GuestSummary").
		f("guestId", str(id)).
		f("guestFullName", str(guestFullName(id))).
		f("toolsStatus", str(toolsStatus)).
		f("toolsVersionStatus", str("guestToolsUnmanaged")).
		f("toolsVersionStatus2", str("guestToolsUnmanaged")).
		f("toolsRunningStatus", str(running)).
		f("hostName", hostName).
		f("ipAddress", ip).
		f("hwVersion", str(c.hwVersion()))

	committed, provisioned := e.vmStorage(c)
	heartbeat := "gray"
	if g.running {
		heartbeat = "green"
	}
	return obj("vim.vm.Summary").
		f("vm", moref(fmt.Sprintf("vim.VirtualMachine:%d", vm.ID))).
		f("runtime", runtime).
		f("guest", guest).
		f("config", e.configSummary(vm, c)).
		f("storage", obj("vim.vm.Summary.StorageSummary").
			f("committed", num(committed)).
			f("uncommitted", num(max(0, provisioned-committed))).
			f("unshared", num(committed)).
			f("timestamp", apiTime(now))).
		f("quickStats", obj("vim.vm.Summary.QuickStats").
			f("overallCpuUsage", num(cpu)).
			f("overallCpuDemand", num(cpu)).
			f("guestMemoryUsage", num(mem/10)).
			f("hostMemoryUsage", num(mem)).
			f("guestHeartbeatStatus", str(heartbeat)).
			f("uptimeSeconds", uptime)).
		f("overallStatus", str("green")).
		f("customValue", varr{typ: "vim.CustomFieldsManager.Value"})
}

// questionInfo builds the vim.vm.QuestionInfo of a pending question.
func questionInfo(q *question) *vobj {
	choice := func(key, label string) *vobj {
		return obj("vim.ElementDescription").
			f("label", str(label)).f("summary", str(label)).f("key", str(key))
	}
	return obj("vim.vm.QuestionInfo").
		f("id", str(fmt.Sprint(q.ID))).
		f("text", str(q.Key+":This virtual machine might have been moved or copied.")).
		f("choice", obj("vim.option.ChoiceOption").
			f("choiceInfo", varr{typ: "vim.ElementDescription", items: []any{
				choice("0", "Cancel"), choice("1", "I _moved it"), choice("2", "I _copied it"),
			}}).
			f("defaultIndex", "2"))
}

// configSummary builds the VM's vim.vm.Summary.ConfigSummary.
func (e *engine) configSummary(vm *vmState, c *vmConfig) *vobj {
	id := c.guestID()
	return obj("vim.vm.Summary.ConfigSummary").
		f("name", str(vm.Name)).
		f("template", boolean(false)).
		f("vmPathName", str(c.path.String())).
		f("memorySizeMB", num(c.memoryMB())).
		f("cpuReservation", "0").
		f("memoryReservation", "0").
		f("numCpu", num(c.numCPU())).
		f("numEthernetCards", num(len(c.nics()))).
		f("numVirtualDisks", num(len(c.disks()))).
		f("uuid", str(apiUUID(c.vmx.value("uuid.bios")))).
		f("instanceUuid", str(apiUUID(c.vmx.value("vc.uuid")))).
		f("guestId", str(id)).
		f("guestFullName", str(guestFullName(id))).
		f("annotation", str(c.vmx.value("annotation"))).
		f("installBootRequired", boolean(false)).
		f("tpmPresent", boolean(false)).
		f("hwVersion", str(c.hwVersion()))
}

// vmStorage returns the bytes the VM's files take and the bytes its disks
// could grow to.
func (e *engine) vmStorage(c *vmConfig) (committed, provisioned int64) {
	dir := filepath.Dir(c.path.realPath(e.fs))
	entries, _ := os.ReadDir(dir)
	for _, ent := range entries {
		if info, err := ent.Info(); err == nil && info.Mode().IsRegular() {
			committed += allocatedBytes(info)
		}
	}
	for _, d := range c.disks() {
		if loc, ok := c.fileIn(e.fs, e.vols, d.file); ok {
			if desc, err := readDescriptor(loc.realPath(e.fs)); err == nil {
				provisioned += desc.capacity()
			}
		}
	}
	return committed, provisioned
}

// vmsvcGetConfig prints a VM's vim.vm.ConfigInfo.
func vmsvcGetConfig(p *proc, args []string) int {
	var o *vobj
	err := p.withVM(args, func(st *hostState, vm *vmState, c *vmConfig, now time.Time) error {
		o = p.e.configInfo(vm, c)
		return nil
	})
	if err != nil {
		return p.finish(err)
	}
	p.outf("Configuration:\n\n")
	o.write(p.stdout, 0)
	p.outf("\n")
	return 0
}

// configInfo builds the VM's vim.vm.ConfigInfo.
func (e *engine) configInfo(vm *vmState, c *vmConfig) *vobj {
	id := c.guestID()
	dir := dsPath{vol: c.path.vol, rel: path.Dir(c.path.rel) + "/"}.String()
	return obj("vim.vm.ConfigInfo").
		f("name", str(vm.Name)).
		f("guestFullName", str(guestFullName(id))).
		f("version", str(c.hwVersion())).
		f("uuid", str(apiUUID(c.vmx.value("uuid.bios")))).
		f("instanceUuid", str(apiUUID(c.vmx.value("vc.uuid")))).
		f("locationId", str(c.vmx.value("uuid.location"))).
		f("template", boolean(false)).
		f("guestId", str(id)).
		f("alternateGuestName", str("")).
		f("annotation", str(c.vmx.value("annotation"))).
		f("files", obj("vim.vm.FileInfo").
			f("vmPathName", str(c.path.String())).
			f("snapshotDirectory", str(dir)).
			f("suspendDirectory", str(dir)).
			f("logDirectory", str(dir))).
		f("hardware", obj("vim.vm.VirtualHardware").
			f("numCPU", num(c.numCPU())).
			f("numCoresPerSocket", num(c.vmx.intValue("cpuid.coresPerSocket", 1))).
			f("memoryMB", num(c.memoryMB())).
			f("device", e.devices(c))).
		f("extraConfig", extraConfig(c))
}

// devices lists the VM's disks and network adapters as vim.vm.device
// objects.
func (e *engine) devices(c *vmConfig) varr {
	list := varr{typ: "vim.vm.device.VirtualDevice"}
	for i, d := range c.disks() {
		var capacity int64
		thinDisk := false
		name := d.file
		if loc, ok := c.fileIn(e.fs, e.vols, d.file); ok {
			name = loc.String()
			if desc, err := readDescriptor(loc.realPath(e.fs)); err == nil {
				capacity, thinDisk = desc.capacity(), desc.thin
			}
		}
		var ctrl, unit int
		fmt.Sscanf(d.device[strings.IndexAny(d.device, "0123456789"):], "%d:%d", &ctrl, &unit)
		list.items = append(list.items, obj("vim.vm.device.VirtualDisk").
			f("key", num(2000+i)).
			f("deviceInfo", obj("vim.Description").
				f("label", str(fmt.Sprintf("Hard disk %d", i+1))).
				f("summary", str(fmt.Sprintf("%d KB", capacity/1024)))).
			f("backing", obj("vim.vm.device.VirtualDisk.FlatVer2BackingInfo").
				f("fileName", str(name)).
				f("diskMode", str("persistent")).
				f("thinProvisioned", boolean(thinDisk))).
			f("controllerKey", num(1000+ctrl)).
			f("unitNumber", num(unit)).
			f("capacityInKB", num(capacity/1024)).
			f("capacityInBytes", num(capacity)))
	}
	for i, n := range c.nics() {
		network := c.vmx.value(fmt.Sprintf("ethernet%d.networkName", n))
		dev := c.vmx.value(fmt.Sprintf("ethernet%d.virtualDev", n))
		addressType := c.vmx.value(fmt.Sprintf("ethernet%d.addressType", n))
		list.items = append(list.items, obj(nicType(dev)).
			f("key", num(4000+n)).
			f("deviceInfo", obj("vim.Description").
				f("label", str(fmt.Sprintf("Network adapter %d", i+1))).
				f("summary", str(network))).
			f("addressType", str(strings.ToLower(cmpOr(addressType, "generated")))).
			f("macAddress", str(c.mac(n))))
	}
	return list
}

// nicType returns the device type of an adapter's virtualDev.
func nicType(dev string) string {
	switch strings.ToLower(dev) {
	case "vmxnet3":
		return "vim.vm.device.VirtualVmxnet3"
	case "e1000e":
		return "vim.vm.device.VirtualE1000e"
	}
	return "vim.vm.device.VirtualE1000"
}

// extraConfig lists the .vmx settings that have no field of their own:
// guestinfo.* and the like.
func extraConfig(c *vmConfig) varr {
	list := varr{typ: "vim.option.OptionValue"}
	own := []string{"displayname", "guestos", "numvcpus", "memsize", "virtualhw.version",
		"config.version", "annotation", "uuid.bios", "uuid.location", "vc.uuid"}
	devices := []string{"scsi", "sata", "ide", "nvme", "ethernet", "serial"}
	for _, k := range c.vmx.keys() {
		lower := strings.ToLower(k)
		skip := false
		for _, o := range own {
			skip = skip || lower == o
		}
		for _, d := range devices {
			skip = skip || strings.HasPrefix(lower, d) && len(lower) > len(d) &&
				lower[len(d)] >= '0' && lower[len(d)] <= '9'
		}
		if skip || strings.HasPrefix(k, ".") {
			continue
		}
		list.items = append(list.items, obj("vim.option.OptionValue").
			f("key", str(k)).
			f("value", str(c.vmx.value(k))))
	}
	return list
}

// hostUUID is the host's hardware UUID, the same every time for one name.
func hostUUID(name string) string {
	sum := sha256.Sum256([]byte("host:" + name))
	return apiUUID(formatVMXUUID(sum[:16]))
}

// cmpOr returns s, or def if s is empty.
func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// hostsvcHostSummary prints the host's vim.host.Summary: its hardware,
// and the load its powered-on VMs put on it.
func hostsvcHostSummary(p *proc, args []string) int {
	e := p.e
	cpu, mem := 60, 1800 // what the hypervisor itself uses
	var boot time.Time
	var now time.Time
	err := e.update(func(st *hostState, t time.Time) error {
		now, boot = t, st.BootTime
		for _, vm := range st.VMs {
			if c, err := e.loadVMX(vm); err == nil {
				c1, m1 := e.vmLoad(vm, c, t)
				cpu, mem = cpu+c1, mem+m1
			}
		}
		return nil
	})
	if err != nil {
		return p.finish(err)
	}

	s := e.set
	o := obj("vim.host.Summary").
		f("host", moref("vim.HostSystem:ha-host")).
		f("hardware", obj("vim.host.Summary.HardwareSummary").
			f("vendor", str("VMware, Inc.")).
			f("model", str("VMware7,1")).
			f("uuid", str(hostUUID(s.Name))).
			f("memorySize", num(s.MemoryBytes)).
			f("cpuModel", str(s.CPUModel)).
			f("cpuMhz", num(s.CPUMhz)).
			f("numCpuPkgs", num(s.CPUPackages)).
			f("numCpuCores", num(s.CPUCores)).
			f("numCpuThreads", num(s.CPUThreads)).
			f("numNics", "1").
			f("numHBAs", "2")).
		f("runtime", obj("vim.host.RuntimeInfo").
			f("connectionState", str("connected")).
			f("powerState", str("poweredOn")).
			f("standbyMode", unset).
			f("inMaintenanceMode", boolean(false)).
			f("inQuarantineMode", unset).
			f("bootTime", apiTime(boot)).
			f("cpuCapacityForVm", unset).
			f("memoryCapacityForVm", unset).
			f("hostMaxVirtualDiskCapacity", "68169720922112")).
		f("config", obj("vim.host.Summary.ConfigSummary").
			f("name", str(s.Name)).
			f("port", "443").
			f("product", obj("vim.AboutInfo").
				f("name", str("VMware ESXi")).
				f("fullName", str("VMware ESXi "+s.Version+" build-"+s.Build)).
				f("vendor", str("VMware, Inc.")).
				f("version", str(s.Version)).
				f("build", str(s.Build)).
				f("osType", str("vmnix-x86")).
				f("productLineId", str("embeddedEsx")).
				f("apiType", str("HostAgent")).
				f("apiVersion", str(s.Version+".0"))).
			f("vmotionEnabled", boolean(false))).
		f("quickStats", obj("vim.host.Summary.QuickStats").
			f("overallCpuUsage", num(cpu)).
			f("overallMemoryUsage", num(mem)).
			f("distributedCpuFairness", unset).
			f("distributedMemoryFairness", unset).
			f("uptime", num(int64(now.Sub(boot).Seconds())))).
		f("overallStatus", str("green")).
		f("rebootRequired", boolean(false)).
		f("customValue", varr{typ: "vim.CustomFieldsManager.Value"}).
		f("managementServerIp", unset)
	o.write(p.stdout, 0)
	p.outf("\n")
	return 0
}
