package esxisim

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A virtual disk is two files: x.vmdk, a small text descriptor, and
// x-flat.vmdk, the data. The host keeps data files sparse, so a 20 GB disk
// takes no room on this machine; datastore space is counted from what the
// descriptor says instead (see used).

// Disk provisioning formats, as vmkfstools -d names them.
const (
	thin             = "thin"
	zeroedThick      = "zeroedthick"
	eagerZeroedThick = "eagerzeroedthick"
)

// descriptor is what a .vmdk descriptor says about its disk.
type descriptor struct {
	createType string
	extents    []extent
	thin       bool
	adapter    string
}

// extent is one data file of a disk.
type extent struct {
	access  string // "RW"
	sectors int64  // 512-byte sectors
	kind    string // "VMFS"
	file    string // relative to the descriptor's folder
}

// errNotDisk is the error for a file that is not a disk descriptor.
var errNotDisk = errors.New("not a virtual disk descriptor")

// readDescriptor reads the descriptor at path on this machine.
func readDescriptor(path string) (*descriptor, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() || info.Size() > 64<<10 {
		return nil, errNotDisk
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(bytes.TrimSpace(data), []byte("# Disk DescriptorFile")) {
		return nil, errNotDisk
	}

	d := &descriptor{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			k, v = strings.TrimSpace(k), unquote(strings.TrimSpace(v))
			switch k {
			case "createType":
				d.createType = v
			case "ddb.thinProvisioned":
				d.thin = v == "1"
			case "ddb.adapterType":
				d.adapter = v
			}
			continue
		}
		if e, ok := parseExtent(line); ok {
			d.extents = append(d.extents, e)
		}
	}
	if len(d.extents) == 0 {
		return nil, errNotDisk
	}
	return d, nil
}

// parseExtent reads an extent line: RW 41943040 VMFS "x-flat.vmdk".
func parseExtent(line string) (extent, bool) {
	fields := strings.Fields(line)
	if len(fields) < 4 {
		return extent{}, false
	}
	switch fields[0] {
	case "RW", "RDONLY", "NOACCESS":
	default:
		return extent{}, false
	}
	n, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil || n < 0 {
		return extent{}, false
	}
	file := fields[3]
	if i := strings.Index(line, `"`); i >= 0 {
		file, _, _ = strings.Cut(line[i+1:], `"`)
	}
	return extent{access: fields[0], sectors: n, kind: fields[2], file: file}, true
}

// capacity returns the disk's size in bytes.
func (d *descriptor) capacity() int64 {
	var n int64
	for _, e := range d.extents {
		n += e.sectors * 512
	}
	return n
}

// diskSpec is a disk to write a descriptor for.
type diskSpec struct {
	size    int64
	format  string // thin, zeroedthick or eagerzeroedthick
	adapter string
	guestOS string // a hint kept in ddb.guestOS, for templates
}

// writeDescriptor writes the descriptor of a one-extent VMFS disk at path,
// whose data file is flat (a base name in the same folder).
func writeDescriptor(path, flat string, s diskSpec) error {
	sectors := s.size / 512
	cylinders := min(sectors/(255*63), 65535)
	var id [16]byte
	rand.Read(id[:])
	adapter := s.adapter
	if adapter == "" {
		adapter = "lsilogic"
	}

	var b strings.Builder
	b.WriteString("# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\n")
	fmt.Fprintf(&b, "CID=%08x\nparentCID=ffffffff\ncreateType=\"vmfs\"\n\n", id[:4])
	fmt.Fprintf(&b, "# Extent description\nRW %d VMFS \"%s\"\n\n", sectors, flat)
	b.WriteString("# The Disk Data Base\n#DDB\n\n")
	fmt.Fprintf(&b, "ddb.adapterType = \"%s\"\n", adapter)
	fmt.Fprintf(&b, "ddb.geometry.cylinders = \"%d\"\n", cylinders)
	b.WriteString("ddb.geometry.heads = \"255\"\nddb.geometry.sectors = \"63\"\n")
	if s.guestOS != "" {
		fmt.Fprintf(&b, "ddb.guestOS = \"%s\"\n", s.guestOS)
	}
	fmt.Fprintf(&b, "ddb.longContentID = \"%x\"\n", id[:])
	if s.format == thin {
		b.WriteString("ddb.thinProvisioned = \"1\"\n")
	}
	fmt.Fprintf(&b, "ddb.uuid = \"60 00 C2 9%x %s\"\n", id[4]&0xf, spacedHex(id[5:12]))
	b.WriteString("ddb.virtualHWVersion = \"13\"\n")
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// spacedHex writes bytes as "0a 1b 2c".
func spacedHex(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(parts, " ")
}

// flatName returns the data file name for the descriptor at path.
func flatName(path string) string {
	return strings.TrimSuffix(filepath.Base(path), ".vmdk") + "-flat.vmdk"
}

// createDisk writes a new disk at path: its descriptor and a sparse data
// file of the disk's size.
func createDisk(path string, s diskSpec) error {
	flat := flatName(path)
	f, err := createNew(filepath.Join(filepath.Dir(path), flat))
	if err != nil {
		return err
	}
	if err := f.Truncate(s.size); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return writeDescriptor(path, flat, s)
}

// createNew creates a file that must not exist yet.
func createNew(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
}

// cloneDisk copies the disk src into a new disk dst with the format given,
// keeping the data files sparse.
func cloneDisk(src string, d *descriptor, dst, format string) error {
	flat := flatName(dst)
	out, err := createNew(filepath.Join(filepath.Dir(dst), flat))
	if err != nil {
		return err
	}
	defer out.Close()

	// Copy each extent's data after the one before.
	var at int64
	for _, e := range d.extents {
		in, err := os.Open(filepath.Join(filepath.Dir(src), e.file))
		if err != nil {
			return err
		}
		err = copyData(out, in, at)
		in.Close()
		if err != nil {
			return err
		}
		at += e.sectors * 512
	}
	if err := out.Truncate(at); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return writeDescriptor(dst, flat, diskSpec{size: at, format: format, adapter: d.adapter})
}

// copyAll copies src into dst at offset at a block at a time, skipping
// blocks of zeros.
func copyAll(dst, src *os.File, at int64) error {
	buf := make([]byte, 1<<20)
	var off int64
	for {
		n, err := io.ReadFull(src, buf)
		if n > 0 && !allZero(buf[:n]) {
			if _, werr := dst.WriteAt(buf[:n], at+off); werr != nil {
				return werr
			}
		}
		off += int64(n)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// deleteDisk deletes the disk whose descriptor is at path, with its data
// files.
func deleteDisk(path string) error {
	d, err := readDescriptor(path)
	if err != nil {
		return err
	}
	for _, e := range d.extents {
		if err := os.Remove(filepath.Join(filepath.Dir(path), e.file)); err != nil &&
			!errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return os.Remove(path)
}

// renameDisk renames the disk at src to dst, data files included.
func renameDisk(src string, d *descriptor, dst string) error {
	flat := flatName(dst)
	if len(d.extents) != 1 {
		return errors.New("only one-extent disks can be renamed")
	}
	dstFlat := filepath.Join(filepath.Dir(dst), flat)
	if err := os.Rename(filepath.Join(filepath.Dir(src), d.extents[0].file), dstFlat); err != nil {
		return err
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	text := strings.Replace(string(data), `"`+d.extents[0].file+`"`, `"`+flat+`"`, 1)
	if err := os.WriteFile(dst, []byte(text), 0o600); err != nil {
		return err
	}
	return os.Remove(src)
}

// extendDisk grows the disk at path to size bytes.
func extendDisk(path string, d *descriptor, size int64) error {
	if len(d.extents) != 1 {
		return errors.New("only one-extent disks can be grown")
	}
	if err := os.Truncate(filepath.Join(filepath.Dir(path), d.extents[0].file), size); err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	old := fmt.Sprintf("%s %d %s", d.extents[0].access, d.extents[0].sectors, d.extents[0].kind)
	now := fmt.Sprintf("%s %d %s", d.extents[0].access, size/512, d.extents[0].kind)
	text := strings.Replace(string(data), old, now, 1)
	return os.WriteFile(path, []byte(text), 0o600)
}

// used returns the bytes of the volume's datastore that its files take. A
// thick disk's data file counts its full size, a thin one's what was
// written to it; other files count their size.
func (e *engine) used(v *volume) int64 {
	var total int64
	root := v.realDir(e.fs)
	filepath.WalkDir(root, func(p string, ent fs.DirEntry, err error) error {
		if err != nil || ent.IsDir() {
			return nil
		}
		info, err := ent.Info()
		if err != nil || !info.Mode().IsRegular() {
			return nil
		}
		size := roundUp(info.Size(), 8<<10)
		if name, ok := strings.CutSuffix(ent.Name(), "-flat.vmdk"); ok {
			size = roundUp(info.Size(), 1<<20)
			if d, err := readDescriptor(filepath.Join(filepath.Dir(p), name+".vmdk")); err == nil && d.thin {
				size = roundUp(allocatedBytes(info), 1<<20)
			}
		}
		total += size
		return nil
	})
	return total
}

// free returns the bytes of the volume still free.
func (e *engine) free(v *volume) int64 {
	return max(0, v.capacity-e.used(v))
}

// roundUp rounds n up to a multiple of block.
func roundUp(n, block int64) int64 {
	return (n + block - 1) / block * block
}
