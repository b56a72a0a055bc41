package esxisim

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// vmkfstoolsArgs is a vmkfstools command line.
type vmkfstoolsArgs struct {
	clone   string // -i SRC
	create  string // -c SIZE
	extend  string // -X SIZE
	rename  string // -E SRC
	delete  bool   // -U
	format  string // -d FORMAT
	adapter string // -a TYPE
	target  string // the disk the command is about (its last argument)
}

// DiskLib error texts, with their numbers, as vmkfstools prints them.
const (
	errTextNotFound  = "The system cannot find the file specified (25)"
	errTextExists    = "The file already exists (39)"
	errTextNotDisk   = "The file specified is not a virtual disk (15)"
	errTextNoSpace   = "No space left on device (1835017)"
	errTextLocked    = "Failed to lock the file (16392)"
	errTextBadParams = "One of the parameters supplied is invalid (1)"
)

// vmkfstools manages virtual disks: -i clones, -c creates, -X grows, -U
// deletes and -E renames. Failures exit with 255.
func vmkfstools(p *proc, args []string) int {
	o, err := parseVmkfstools(args)
	if err != nil {
		p.errf("%v\n", err)
		p.errf("Usage: vmkfstools [-i SRC | -c SIZE | -X SIZE | -E SRC | -U] [-d FORMAT] DISK\n")
		return 255
	}
	if err := pause(p.ctx, p.e.latency()); err != nil {
		return 255
	}

	// Each operation runs under the inventory lock, so that two clones
	// cannot both take the last free space, and no disk is deleted while
	// a VM powers on with it. What it prints waits until the lock is
	// released, so a slow reader holds up no other command.
	var out, errOut bytes.Buffer
	q := *p
	q.stdout, q.stderr = &out, &errOut
	status := 0
	err = p.e.update(func(st *hostState, now time.Time) error {
		switch {
		case o.clone != "":
			status = q.vmkClone(st, o)
		case o.create != "":
			status = q.vmkCreate(o)
		case o.extend != "":
			status = q.vmkExtend(st, o)
		case o.delete:
			status = q.vmkDelete(st, o)
		case o.rename != "":
			status = q.vmkRename(st, o)
		}
		return nil
	})
	p.stdout.Write(out.Bytes())
	p.stderr.Write(errOut.Bytes())
	if err != nil {
		p.errf("vmkfstools: %v\n", err)
		return 255
	}
	return status
}

// parseVmkfstools reads a vmkfstools command line.
func parseVmkfstools(args []string) (vmkfstoolsArgs, error) {
	var o vmkfstoolsArgs
	var positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		var dst *string
		switch a {
		case "-i", "--clonevirtualdisk":
			dst = &o.clone
		case "-c", "--createvirtualdisk":
			dst = &o.create
		case "-X", "--extendvirtualdisk":
			dst = &o.extend
		case "-E", "--renamevirtualdisk":
			dst = &o.rename
		case "-d", "--diskformat":
			dst = &o.format
		case "-a", "--adaptertype":
			dst = &o.adapter
		case "-U", "--deletevirtualdisk":
			o.delete = true
			continue
		default:
			if strings.HasPrefix(a, "-") && len(a) > 1 {
				return o, errors.New("Unknown option: " + a)
			}
			positional = append(positional, a)
			continue
		}
		if i+1 >= len(args) {
			return o, errors.New("Option " + a + " requires an argument")
		}
		i++
		*dst = args[i]
	}

	switch o.format {
	case "":
		o.format = zeroedThick
	case thin, zeroedThick, eagerZeroedThick:
	default:
		return o, errors.New("Invalid disk format: " + o.format)
	}
	if len(positional) == 0 {
		return o, errors.New("No disk specified")
	}
	o.target = positional[len(positional)-1]
	if o.clone == "" && o.create == "" && o.extend == "" && o.rename == "" && !o.delete {
		return o, errors.New("No operation specified")
	}
	return o, nil
}

// parseSize reads a disk size: bytes, or a number with k, m, g or t.
func parseSize(s string) (int64, bool) {
	mult := int64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		case 't', 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			s = s[:n-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n * mult, true
}

// diskFormatWords is how vmkfstools names a format when it reports one.
func diskFormatWords(format string) string {
	if format == thin {
		return "VMFS thin-provisioned"
	}
	return "VMFS " + format
}

// vmkClone clones the disk o.clone into o.target. A disk a running VM
// writes to is locked, as on ESXi; see diskWriteLocked.
func (p *proc) vmkClone(st *hostState, o vmkfstoolsArgs) int {
	src := p.real(o.clone)
	d, err := readDescriptor(src)
	if err != nil {
		p.errf("DiskLib_Check() failed for source disk %s.\n", diskErrText(err))
		return 255
	}
	if p.e.diskWriteLocked(st, src) {
		p.errf("Failed to clone disk : %s.\n", errTextLocked)
		return 255
	}
	p.outf("Destination disk format: %s\n", diskFormatWords(o.format))
	p.outf("Cloning disk '%s'...\n", o.clone)

	// The new disk needs room for all of its data if thick, and for what
	// the source has written if thin.
	dstHost := p.path(o.target)
	dst := p.e.fs.real(dstHost)
	if text := p.checkNewDisk(dst); text != "" {
		p.errf("Failed to clone disk : %s.\n", text)
		return 255
	}
	need := d.capacity()
	if o.format == thin {
		need = writtenBytes(src, d)
	}
	if !p.hasRoom(dstHost, need) {
		p.errf("Failed to clone disk : %s.\n", errTextNoSpace)
		return 255
	}
	if err := cloneDisk(src, d, dst, o.format); err != nil {
		p.errf("Failed to clone disk : %s.\n", diskErrText(err))
		return 255
	}
	p.outf("Clone: 100%% done.\n")
	return 0
}

// vmkCreate creates the disk o.target of size o.create.
func (p *proc) vmkCreate(o vmkfstoolsArgs) int {
	size, ok := parseSize(o.create)
	if !ok {
		p.errf("Failed to create virtual disk: %s.\n", errTextBadParams)
		return 255
	}
	dstHost := p.path(o.target)
	dst := p.e.fs.real(dstHost)
	if o.format == eagerZeroedThick {
		p.outf("Creating disk '%s' and zeroing it out...\n", o.target)
	}
	if text := p.checkNewDisk(dst); text != "" {
		p.errf("Failed to create virtual disk: %s.\n", text)
		return 255
	}
	need := size
	if o.format == thin {
		need = 0
	}
	if !p.hasRoom(dstHost, need) {
		p.errf("Failed to create virtual disk: %s.\n", errTextNoSpace)
		return 255
	}
	spec := diskSpec{size: size, format: o.format, adapter: o.adapter}
	if err := createDisk(dst, spec); err != nil {
		p.errf("Failed to create virtual disk: %s.\n", diskErrText(err))
		return 255
	}
	p.outf("Create: 100%% done.\n")
	return 0
}

// vmkExtend grows the disk o.target to o.extend.
func (p *proc) vmkExtend(st *hostState, o vmkfstoolsArgs) int {
	path := p.real(o.target)
	d, err := readDescriptor(path)
	if err != nil {
		p.errf("Failed to extend disk : %s.\n", diskErrText(err))
		return 255
	}
	size, ok := parseSize(o.extend)
	if !ok || size <= d.capacity() {
		p.errf("Failed to extend disk : %s.\n", errTextBadParams)
		return 255
	}
	need := size - d.capacity()
	if d.thin {
		need = 0
	}
	if !p.hasRoom(p.path(o.target), need) {
		p.errf("Failed to extend disk : %s.\n", errTextNoSpace)
		return 255
	}
	if err := extendDisk(path, d, size); err != nil {
		p.errf("Failed to extend disk : %s.\n", diskErrText(err))
		return 255
	}
	p.outf("Grow: 100%% done.\n")
	return 0
}

// vmkDelete deletes the disk o.target, unless a running VM uses it.
func (p *proc) vmkDelete(st *hostState, o vmkfstoolsArgs) int {
	path := p.real(o.target)
	if _, err := readDescriptor(path); err != nil {
		p.errf("Failed to delete virtual disk: %s.\n", diskErrText(err))
		return 255
	}
	if p.e.diskInUse(st, path) {
		p.errf("Failed to delete virtual disk: %s.\n", errTextLocked)
		return 255
	}
	if err := deleteDisk(path); err != nil {
		p.errf("Failed to delete virtual disk: %s.\n", diskErrText(err))
		return 255
	}
	return 0
}

// vmkRename renames the disk o.rename to o.target.
func (p *proc) vmkRename(st *hostState, o vmkfstoolsArgs) int {
	src := p.real(o.rename)
	d, err := readDescriptor(src)
	if err != nil {
		p.errf("Failed to rename virtual disk: %s.\n", diskErrText(err))
		return 255
	}
	if p.e.diskInUse(st, src) {
		p.errf("Failed to rename virtual disk: %s.\n", errTextLocked)
		return 255
	}
	dst := p.real(o.target)
	if text := p.checkNewDisk(dst); text != "" {
		p.errf("Failed to rename virtual disk: %s.\n", text)
		return 255
	}
	if err := renameDisk(src, d, dst); err != nil {
		p.errf("Failed to rename virtual disk: %s.\n", diskErrText(err))
		return 255
	}
	return 0
}

// checkNewDisk returns why a new disk cannot be made at dst, or "".
func (p *proc) checkNewDisk(dst string) string {
	if info, err := os.Stat(filepath.Dir(dst)); err != nil || !info.IsDir() {
		return errTextNotFound
	}
	for _, f := range []string{dst, filepath.Join(filepath.Dir(dst), flatName(dst))} {
		if _, err := os.Lstat(f); err == nil {
			return errTextExists
		}
	}
	return ""
}

// hasRoom reports whether the datastore holding the host path p has need
// bytes free. A path on no datastore (the host's ramdisk) always has room.
func (p *proc) hasRoom(hostPath string, need int64) bool {
	loc, ok := p.e.locate(hostPath)
	if !ok || need <= 0 {
		return true
	}
	return p.e.free(loc.vol) >= roundUp(need, 1<<20)
}

// writtenBytes returns how much data the disk's extents hold.
func writtenBytes(path string, d *descriptor) int64 {
	var n int64
	for _, e := range d.extents {
		if info, err := os.Stat(filepath.Join(filepath.Dir(path), e.file)); err == nil {
			n += allocatedBytes(info)
		}
	}
	return n
}

// diskInUse reports whether a powered-on VM has the disk whose descriptor
// is at path (on this machine) attached.
func (e *engine) diskInUse(st *hostState, path string) bool {
	for _, vm := range st.VMs {
		if vm.Power == poweredOn && e.vmHasDisk(vm, path) {
			return true
		}
	}
	return false
}

// diskWriteLocked reports whether a powered-on VM holds the write lock of
// the disk whose descriptor is at path: it writes to its disk unless it
// has a snapshot, which on ESXi moves its writes to a delta disk and
// leaves the base disk open for reading. The simulated host writes no
// delta disks, so a snapshot only marks the base disk readable.
func (e *engine) diskWriteLocked(st *hostState, path string) bool {
	for _, vm := range st.VMs {
		if vm.Power == poweredOn && vm.CurrentSnapshot == 0 && e.vmHasDisk(vm, path) {
			return true
		}
	}
	return false
}

// vmHasDisk reports whether the disk whose descriptor is at path is one
// of the VM's.
func (e *engine) vmHasDisk(vm *vmState, path string) bool {
	c, err := e.loadVMX(vm)
	if err != nil {
		return false
	}
	for _, d := range c.disks() {
		if loc, ok := c.fileIn(e.fs, e.vols, d.file); ok && sameFile(loc.realPath(e.fs), path) {
			return true
		}
	}
	return false
}

// sameFile reports whether two paths name one file, through links.
func sameFile(a, b string) bool {
	ia, err1 := os.Stat(a)
	ib, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(ia, ib)
}

// diskErrText turns an error into DiskLib's words for it.
func diskErrText(err error) string {
	switch {
	case errors.Is(err, errNotDisk):
		return errTextNotDisk
	case errors.Is(err, fs.ErrNotExist):
		return errTextNotFound
	case errors.Is(err, fs.ErrExist):
		return errTextExists
	}
	return errTextBadParams
}
