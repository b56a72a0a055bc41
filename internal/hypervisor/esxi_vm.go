package hypervisor

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// vmDir returns the absolute path of the VM folder name on datastore ds.
func (d *ESXi) vmDir(ds, name string) string { return d.root + "/" + ds + "/" + name }

// vmxDatastorePath returns "[ds] name/name.vmx", as getallvms prints it.
func vmxDatastorePath(ds, name string) string {
	return "[" + ds + "] " + name + "/" + name + ".vmx"
}

// catTo returns a command that writes its stdin to path.
func catTo(path string) string {
	return "cat > " + Quote(path)
}

// CreateFiles lays out a VM's folder in one exec: it removes any folder
// left by an earlier attempt, clones the source disk thin, and writes the
// .vmx from stdin. The VM must not be registered yet. It returns an error
// for an invalid spec, and an *Error carrying vmkfstools' message (such as
// "No space left on device") if the host fails.
func (d *ESXi) CreateFiles(ctx context.Context, spec VMSpec) error {
	vmx, err := VMXFor(spec)
	if err != nil {
		return err
	}
	src, err := d.DatastorePath(spec.SourceDisk)
	if err != nil {
		return err
	}
	dir := d.vmDir(spec.Datastore, spec.Name)
	disk := dir + "/" + spec.Name + ".vmdk"
	cmd := fmt.Sprintf("rm -rf %s && mkdir -p %s && "+
		"vmkfstools -i %s %s -d thin </dev/null && %s",
		Quote(dir), Quote(dir), Quote(src), Quote(disk), catTo(dir+"/"+spec.Name+".vmx"))
	_, err = d.execOK(ctx, "create files", cmd, strings.NewReader(vmx))
	return err
}

// Register adds the VM created by CreateFiles to the host's inventory
// under spec.Name and returns its vmid. A VM that is already registered
// is found and its vmid returned, so Register is safe to repeat.
func (d *ESXi) Register(ctx context.Context, spec VMSpec) (string, error) {
	if err := checkName("vm", spec.Name); err != nil {
		return "", err
	}
	if err := checkName("datastore", spec.Datastore); err != nil {
		return "", err
	}
	vmx := d.vmDir(spec.Datastore, spec.Name) + "/" + spec.Name + ".vmx"
	cmd := "vim-cmd solo/registervm " + Quote(vmx) + " " + Quote(spec.Name)
	res, err := d.execOK(ctx, "register", cmd, nil)

	// Current hosts print the new vmid.
	if err == nil {
		if id := lastLine(string(res.Stdout)); isVMID(id) {
			return id, nil
		}
	}
	if err != nil && !IsAlreadyExists(err) {
		return "", err
	}

	// Old hosts print nothing, and a repeat says AlreadyExists: look it up.
	vms, lerr := d.List(ctx)
	if lerr != nil {
		return "", lerr
	}
	want := vmxDatastorePath(spec.Datastore, spec.Name)
	for _, vm := range vms {
		if vm.VMXPath == want {
			return vm.ID, nil
		}
	}
	if err != nil {
		return "", err
	}
	return "", &Error{Host: d.host, Op: "register", Cmd: cmd,
		Err: fmt.Errorf("registered %s but it is not in the inventory", want)}
}

var vmidRegexp = regexp.MustCompile(`^\d+$`)

// isVMID reports whether s looks like a vmid.
func isVMID(s string) bool { return vmidRegexp.MatchString(s) }

// List returns every VM in the host's inventory (vim-cmd vmsvc/getallvms).
// PoweredOn and Guest are not set; see Observe.
func (d *ESXi) List(ctx context.Context) ([]VM, error) {
	const cmd = "vim-cmd vmsvc/getallvms"
	res, err := d.exec(ctx, "list vms", cmd, nil)
	if err != nil {
		return nil, err
	}
	if res.ExitStatus != 0 || listingFault(string(res.Stdout)) {
		return nil, newCmdError(d.host, "list vms", cmd, res)
	}
	return parseGetAllVMs(string(res.Stdout)), nil
}

// FindVM looks a VM up by name in the inventory. If several VMs share the
// name, the one whose files follow minicloud's layout (name/name.vmx) wins;
// it returns an error if that still leaves more than one.
func (d *ESXi) FindVM(ctx context.Context, name string) (VM, bool, error) {
	vms, err := d.List(ctx)
	if err != nil {
		return VM{}, false, err
	}
	var named, laidOut []VM
	for _, vm := range vms {
		if vm.Name != name {
			continue
		}
		named = append(named, vm)
		if vm.VMXPath == vmxDatastorePath(vm.Datastore, name) {
			laidOut = append(laidOut, vm)
		}
	}
	switch {
	case len(named) == 0:
		return VM{}, false, nil
	case len(named) == 1:
		return named[0], true, nil
	case len(laidOut) == 1:
		return laidOut[0], true, nil
	}
	return VM{}, false, fmt.Errorf("%s: %d vms are named %q", d.host, len(named), name)
}

// PowerState returns the VM's power state (vim-cmd vmsvc/power.getstate).
func (d *ESXi) PowerState(ctx context.Context, vmid string) (PowerState, error) {
	const op = "get power state"
	cmd := "vim-cmd vmsvc/power.getstate " + Quote(vmid)
	res, err := d.execOK(ctx, op, cmd, nil)
	if err != nil {
		return "", err
	}
	st, perr := parsePowerState(string(res.Stdout))
	if perr != nil {
		return "", &Error{Host: d.host, Op: op, Cmd: cmd, Err: perr}
	}
	return st, nil
}

// failedLineRE matches the one-line failures of power operations, such as
// "Power on failed", which some hosts print instead of a fault.
var failedLineRE = regexp.MustCompile(`(?im)^\s*power \w+ failed\s*$`)

// power runs vim-cmd vmsvc/power.VERB on the VM.
func (d *ESXi) power(ctx context.Context, op, verb, vmid string) error {
	cmd := "vim-cmd vmsvc/power." + verb + " " + Quote(vmid)
	res, err := d.execOK(ctx, op, cmd, nil)
	if err == nil && failedLineRE.Match(res.Stdout) {
		err = newCmdError(d.host, op, cmd, res)
	}
	return err
}

// confirmState returns nil if the VM turns out to be in state want after
// its power operation reported err, and err otherwise. Power operations are
// hostd tasks, and a failure report is not always the truth.
func (d *ESXi) confirmState(ctx context.Context, vmid string, want PowerState, err error) error {
	if e := asError(err); e == nil || e.Err != nil || IsNotFound(err) {
		return err
	}
	if st, serr := d.PowerState(ctx, vmid); serr == nil && st == want {
		return nil
	}
	return err
}

// PowerOn powers the VM on. A VM that is already on, or that came up
// although power.on reported a failure, counts as success.
func (d *ESXi) PowerOn(ctx context.Context, vmid string) error {
	err := d.power(ctx, "power on", "on", vmid)
	if err == nil {
		return nil
	}
	return d.confirmState(ctx, vmid, PoweredOn, err)
}

// PowerOff powers the VM off at once, like pulling the plug. A VM that is
// already off counts as success.
func (d *ESXi) PowerOff(ctx context.Context, vmid string) error {
	err := d.power(ctx, "power off", "off", vmid)
	if err == nil {
		return nil
	}
	return d.confirmState(ctx, vmid, PoweredOff, err)
}

// Shutdown asks the guest to shut down through VMware Tools and returns
// without waiting for it. Without Tools it returns an error for which
// IsToolsUnavailable is true; the caller decides whether to PowerOff. A
// VM that is already off counts as success.
func (d *ESXi) Shutdown(ctx context.Context, vmid string) error {
	err := d.power(ctx, "shutdown", "shutdown", vmid)
	if err == nil || IsToolsUnavailable(err) {
		return err
	}
	return d.confirmState(ctx, vmid, PoweredOff, err)
}

// Reboot asks the guest to restart through VMware Tools, and resets the VM
// (a hard restart) when Tools are not running.
func (d *ESXi) Reboot(ctx context.Context, vmid string) error {
	err := d.power(ctx, "reboot", "reboot", vmid)
	if IsToolsUnavailable(err) {
		return d.Reset(ctx, vmid)
	}
	return err
}

// Reset restarts the VM at once, like pressing the reset button.
func (d *ESXi) Reset(ctx context.Context, vmid string) error {
	return d.power(ctx, "reset", "reset", vmid)
}

// Destroy powers the VM off if needed and deletes it with its disks
// (vim-cmd vmsvc/destroy). A VM that is not there counts as success; the
// folder may remain (see RemoveFiles).
func (d *ESXi) Destroy(ctx context.Context, vmid string) error {
	st, err := d.PowerState(ctx, vmid)
	if IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if st != PoweredOff {
		if err := d.PowerOff(ctx, vmid); err != nil {
			return err
		}
	}
	_, err = d.execOK(ctx, "destroy", "vim-cmd vmsvc/destroy "+Quote(vmid), nil)
	if IsNotFound(err) {
		return nil
	}
	return err
}

// Unregister removes the VM from the inventory and keeps its files. A VM
// that is not there counts as success.
func (d *ESXi) Unregister(ctx context.Context, vmid string) error {
	_, err := d.execOK(ctx, "unregister", "vim-cmd vmsvc/unregister "+Quote(vmid), nil)
	if IsNotFound(err) {
		return nil
	}
	return err
}

// RemoveFiles deletes the folder of VM name on datastore ds, and nothing
// else: both must be plain path elements.
func (d *ESXi) RemoveFiles(ctx context.Context, ds, name string) error {
	if err := checkName("datastore", ds); err != nil {
		return err
	}
	if err := checkName("vm", name); err != nil {
		return err
	}
	_, err := d.execOK(ctx, "remove files", "rm -rf "+Quote(d.vmDir(ds, name)), nil)
	return err
}

// ReadVMX reads the .vmx of VM name on datastore ds.
func (d *ESXi) ReadVMX(ctx context.Context, ds, name string) (*VMX, error) {
	if err := checkName("datastore", ds); err != nil {
		return nil, err
	}
	if err := checkName("vm", name); err != nil {
		return nil, err
	}
	cmd := "cat " + Quote(d.vmDir(ds, name)+"/"+name+".vmx")
	res, err := d.execOK(ctx, "read vmx", cmd, nil)
	if err != nil {
		return nil, err
	}
	return ParseVMX(string(res.Stdout))
}

// UpdateVMX replaces the .vmx of VM name on datastore ds and has hostd
// reload it (vim-cmd vmsvc/reload), in one exec. Edit a .vmx only while
// the VM is powered off.
func (d *ESXi) UpdateVMX(ctx context.Context, vmid, ds, name string, v *VMX) error {
	if err := checkName("datastore", ds); err != nil {
		return err
	}
	if err := checkName("vm", name); err != nil {
		return err
	}
	vmx := d.vmDir(ds, name) + "/" + name + ".vmx"
	cmd := fmt.Sprintf("%s && mv %s %s && vim-cmd vmsvc/reload %s",
		catTo(vmx+".new"), Quote(vmx+".new"), Quote(vmx), Quote(vmid))
	_, err := d.execOK(ctx, "update vmx", cmd, strings.NewReader(v.String()))
	return err
}
