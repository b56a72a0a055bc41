package esxisim

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// vimOp is one vim-cmd command, as "vmsvc/power.on".
type vimOp func(p *proc, args []string) int

// vimOps are the vim-cmd commands the host knows.
var vimOps = map[string]vimOp{
	"vmsvc/getallvms":              vmsvcGetAllVMs,
	"vmsvc/power.getstate":         vmsvcPowerGetState,
	"vmsvc/power.on":               vmsvcPowerOn,
	"vmsvc/power.off":              vmsvcPowerOff,
	"vmsvc/power.shutdown":         vmsvcPowerShutdown,
	"vmsvc/power.reboot":           vmsvcPowerReboot,
	"vmsvc/power.reset":            vmsvcPowerReset,
	"vmsvc/power.suspend":          vmsvcPowerSuspend,
	"vmsvc/get.guest":              vmsvcGetGuest,
	"vmsvc/get.summary":            vmsvcGetSummary,
	"vmsvc/get.config":             vmsvcGetConfig,
	"vmsvc/unregister":             vmsvcUnregister,
	"vmsvc/destroy":                vmsvcDestroy,
	"vmsvc/reload":                 vmsvcReload,
	"vmsvc/message":                vmsvcMessage,
	"vmsvc/snapshot.get":           vmsvcSnapshotGet,
	"vmsvc/snapshot.create":        vmsvcSnapshotCreate,
	"vmsvc/snapshot.remove":        vmsvcSnapshotRemove,
	"vmsvc/snapshot.removeall":     vmsvcSnapshotRemoveAll,
	"vmsvc/snapshot.revert":        vmsvcSnapshotRevert,
	"vmsvc/device.diskaddexisting": vmsvcDiskAddExisting,
	"solo/registervm":              soloRegisterVM,
	"hostsvc/hostsummary":          hostsvcHostSummary,
}

// vimCmd is vim-cmd, the command-line client of the host's management
// agent (hostd): `vim-cmd vmsvc/power.on 7`.
func vimCmd(p *proc, args []string) int {
	if len(args) == 0 {
		p.outf("Commands available under /:\n")
		for _, ns := range []string{"hbrsvc/", "hostsvc/", "internalsvc/", "proxysvc/",
			"solo/", "vimsvc/", "vmsvc/", "help"} {
			p.outf("%s\n", ns)
		}
		return 0
	}
	name := strings.TrimPrefix(args[0], "/")
	op, ok := vimOps[name]
	if !ok {
		p.outf("Unknown command: '%s'\n", args[0])
		return 1
	}
	if err := pause(p.ctx, p.e.latency()); err != nil {
		return 1
	}

	// hostd may be restarting or busy, as it is now and then.
	if k, ok := p.e.hostdFault(name); ok {
		return p.writeHostdFault(k, args[1:])
	}
	return op(p, args[1:])
}

// errInsufficient is what vim-cmd says when a command lacks an argument.
// Its text is printed as it is, so it keeps vim-cmd's capital and stop.
var errInsufficient = errors.New("Insufficient arguments.")

// finish prints how a vim-cmd command ended and returns its exit status: a
// fault is printed as vim-cmd prints it, on standard output.
func (p *proc) finish(err error) int {
	var f *vimFault
	switch {
	case err == nil:
		return 0
	case errors.As(err, &f):
		f.write(p.stdout)
	case errors.Is(err, errInsufficient):
		p.outf("%v\n", err)
	default:
		p.errf("%v\n", err)
	}
	return 1
}

// vmidArg reads the vmid a vmsvc command starts with. A vmid that is not a
// number names no VM.
func vmidArg(args []string) (int, error) {
	if len(args) == 0 {
		return 0, errInsufficient
	}
	id, err := strconv.Atoi(args[0])
	if err != nil || id <= 0 {
		return 0, notFoundVM(args[0])
	}
	return id, nil
}

// update changes the inventory under its lock, after bringing it up to the
// time: guests that finished shutting down are off, guests that booted have
// written their console.
func (e *engine) update(fn func(st *hostState, now time.Time) error) error {
	return e.store.update(func(st *hostState) error {
		now := e.clock()
		e.settle(st, now)
		return fn(st, now)
	})
}

// settle brings the VMs up to now.
func (e *engine) settle(st *hostState, now time.Time) {
	if st.BootTime.IsZero() {
		st.BootTime = now
	}
	for _, vm := range st.VMs {
		if vm.Power == poweredOn && !vm.ShutdownAt.IsZero() &&
			now.Sub(vm.ShutdownAt) >= e.set.ShutdownDelay {
			powerOff(vm)
		}
		if e.booted(vm, now) && !vm.Booted {
			vm.Booted = true
			// The console is the guest's own business: a VM whose
			// folder is gone still runs, it only writes nowhere.
			if c, err := e.loadVMX(vm); err == nil {
				_ = e.writeBootLog(vm, c, e.guest(vm, c, now))
			}
		}
	}
}

// vmFunc is a change to one VM, made with its .vmx at the time now.
type vmFunc func(st *hostState, vm *vmState, c *vmConfig, now time.Time) error

// withVM runs fn on the VM args[0] names, with its .vmx, under the
// inventory lock.
func (p *proc) withVM(args []string, fn vmFunc) error {
	id, err := vmidArg(args)
	if err != nil {
		return err
	}
	return p.e.update(func(st *hostState, now time.Time) error {
		vm := st.vm(id)
		if vm == nil {
			return notFoundVM(args[0])
		}
		c, err := p.e.loadVMX(vm)
		if err != nil {
			return invalidState()
		}
		return fn(st, vm, c, now)
	})
}

// vmsvcGetAllVMs lists the registered VMs, one row each under a header.
// A VM whose .vmx cannot be read is skipped with a word on standard error.
func vmsvcGetAllVMs(p *proc, args []string) int {
	rows := [][]string{{"Vmid", "Name", "File", "Guest OS", "Version", "Annotation"}}
	var skipped []int
	err := p.e.update(func(st *hostState, now time.Time) error {
		for _, vm := range st.VMs {
			c, err := p.e.loadVMX(vm)
			if err != nil {
				skipped = append(skipped, vm.ID)
				continue
			}
			rows = append(rows, []string{strconv.Itoa(vm.ID), vm.Name, c.path.String(),
				c.guestID(), c.hwVersion(), c.vmx.value("annotation")})
		}
		return nil
	})
	if err != nil {
		return p.finish(err)
	}

	for _, id := range skipped {
		p.errf("Skipping invalid VM '%d'\n", id)
	}
	widths := make([]int, 5)
	for _, r := range rows {
		for i := range widths {
			widths[i] = max(widths[i], len(r[i]))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i := range widths {
			b.WriteString(r[i] + strings.Repeat(" ", widths[i]-len(r[i])) + "   ")
		}
		b.WriteString(r[5])
		p.outf("%s\n", strings.TrimRight(b.String(), " "))
	}
	return 0
}

// soloRegisterVM adds a .vmx to the inventory and prints its new vmid:
// `vim-cmd solo/registervm PATH [NAME] [POOL]`.
func soloRegisterVM(p *proc, args []string) int {
	if len(args) == 0 {
		return p.finish(errInsufficient)
	}
	loc, ok := p.e.locate(p.path(args[0]))
	if !ok {
		return p.finish(notFoundObject())
	}
	if info, err := os.Stat(loc.realPath(p.e.fs)); err != nil || !info.Mode().IsRegular() {
		return p.finish(notFoundObject())
	}

	var id int
	err := p.e.update(func(st *hostState, now time.Time) error {
		for _, vm := range st.VMs {
			if vm.Datastore == loc.vol.name && vm.Path == loc.rel {
				return alreadyExists(strconv.Itoa(vm.ID))
			}
		}
		vm := &vmState{ID: st.NextVMID, Datastore: loc.vol.name, Path: loc.rel, Power: poweredOff}
		c, err := p.e.loadVMX(vm)
		if err != nil {
			return notFoundObject()
		}
		if len(args) > 1 && args[1] != "" && args[1] != c.displayName() {
			c.vmx.set("displayName", args[1])
			if err := c.save(p.e.fs); err != nil {
				return err
			}
		}
		vm.Name = c.displayName()
		id = vm.ID
		st.NextVMID++
		st.VMs = append(st.VMs, vm)
		return nil
	})
	if err != nil {
		return p.finish(err)
	}
	p.outf("%d\n", id)
	return 0
}

// vmsvcUnregister takes a VM out of the inventory and leaves its files.
func vmsvcUnregister(p *proc, args []string) int {
	return p.finish(p.withVMOrBroken(args, func(st *hostState, vm *vmState) error {
		if vm.Power == poweredOn {
			return invalidPowerState("", poweredOn)
		}
		st.remove(vm.ID)
		return nil
	}))
}

// vmsvcDestroy takes a VM out of the inventory and deletes its files: its
// folder and every disk its .vmx attaches, wherever it is.
func vmsvcDestroy(p *proc, args []string) int {
	return p.finish(p.withVMOrBroken(args, func(st *hostState, vm *vmState) error {
		if vm.Power == poweredOn {
			return invalidPowerState("", poweredOn)
		}
		if err := p.e.deleteVMFiles(st, vm); err != nil {
			return err
		}
		st.remove(vm.ID)
		return nil
	}))
}

// withVMOrBroken is withVM for commands that also work on a VM whose .vmx
// is gone.
func (p *proc) withVMOrBroken(args []string, fn func(st *hostState, vm *vmState) error) error {
	id, err := vmidArg(args)
	if err != nil {
		return err
	}
	return p.e.update(func(st *hostState, now time.Time) error {
		vm := st.vm(id)
		if vm == nil {
			return notFoundVM(args[0])
		}
		return fn(st, vm)
	})
}

// deleteVMFiles deletes the disks the VM's .vmx attaches and the VM's
// folder. A folder shared with another registered VM, or the datastore's
// top, keeps the files that are not this VM's.
func (e *engine) deleteVMFiles(st *hostState, vm *vmState) error {
	vmxLoc, ok := e.vmxPath(vm)
	if !ok {
		return nil
	}
	if c, err := e.loadVMX(vm); err == nil {
		for _, d := range c.disks() {
			if loc, ok := c.fileIn(e.fs, e.vols, d.file); ok {
				if err := deleteDisk(loc.realPath(e.fs)); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("delete disk %s: %w", loc, err)
				}
			}
		}
	}

	dir := path.Dir(vmxLoc.rel)
	shared := dir == "."
	for _, other := range st.VMs {
		if other.ID != vm.ID && other.Datastore == vm.Datastore && path.Dir(other.Path) == dir {
			shared = true
		}
	}
	realDir := filepath.Dir(vmxLoc.realPath(e.fs))
	if !shared {
		if err := os.RemoveAll(realDir); err != nil {
			return fmt.Errorf("delete %s: %w", dsPath{vol: vmxLoc.vol, rel: dir}, err)
		}
		return nil
	}
	stem := strings.TrimSuffix(path.Base(vmxLoc.rel), ".vmx")
	entries, _ := os.ReadDir(realDir)
	for _, ent := range entries {
		if strings.HasPrefix(ent.Name(), stem+".") || strings.HasPrefix(ent.Name(), stem+"-") {
			os.RemoveAll(filepath.Join(realDir, ent.Name()))
		}
	}
	return nil
}

// vmsvcReload reads a VM's .vmx again, as after it was edited.
func vmsvcReload(p *proc, args []string) int {
	return p.finish(p.withVM(args, func(st *hostState, vm *vmState, c *vmConfig, now time.Time) error {
		vm.Name = c.displayName()
		return nil
	}))
}

// vmsvcDiskAddExisting attaches an existing disk to a VM:
// `vim-cmd vmsvc/device.diskaddexisting VMID PATH CONTROLLER UNIT`.
func vmsvcDiskAddExisting(p *proc, args []string) int {
	if len(args) < 4 {
		return p.finish(errInsufficient)
	}
	ctrl, err1 := strconv.Atoi(args[2])
	unit, err2 := strconv.Atoi(args[3])
	if err1 != nil || err2 != nil || ctrl < 0 || ctrl > 3 || unit < 0 || unit > 15 || unit == 7 {
		return p.finish(invalidArgument("unitNumber"))
	}
	diskLoc, ok := p.e.locate(p.path(args[1]))
	if !ok {
		return p.finish(notFoundObject())
	}
	if _, err := readDescriptor(diskLoc.realPath(p.e.fs)); err != nil {
		return p.finish(notFoundObject())
	}

	return p.finish(p.withVM(args, func(st *hostState, vm *vmState, c *vmConfig, now time.Time) error {
		dev := fmt.Sprintf("scsi%d:%d", ctrl, unit)
		if slices.ContainsFunc(c.disks(), func(d vmxDisk) bool { return d.device == dev }) {
			return invalidArgument("unitNumber")
		}
		if !c.vmx.isTrue(fmt.Sprintf("scsi%d.present", ctrl)) {
			c.vmx.set(fmt.Sprintf("scsi%d.present", ctrl), "TRUE")
			c.vmx.set(fmt.Sprintf("scsi%d.virtualDev", ctrl), "pvscsi")
		}
		name := diskLoc.mountPath()
		if diskLoc.vol == c.path.vol && path.Dir(diskLoc.rel) == path.Dir(c.path.rel) {
			name = path.Base(diskLoc.rel)
		}
		c.vmx.set(dev+".deviceType", "scsi-hardDisk")
		c.vmx.set(dev+".fileName", name)
		c.vmx.set(dev+".present", "TRUE")
		return c.save(p.e.fs)
	}))
}
