package esxisim

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The host's small programs, as busybox on a real host provides them: they
// print busybox's messages and work on the host's own files only.

// splitFlags separates single-letter options ("-rf", "-p") from operands.
// It returns the options set, the operands, and an option not in allowed.
func splitFlags(args []string, allowed string) (map[byte]bool, []string, byte) {
	flags := map[byte]bool{}
	var operands []string
	for i, a := range args {
		if a == "--" {
			return flags, append(operands, args[i+1:]...), 0
		}
		if len(a) < 2 || a[0] != '-' {
			operands = append(operands, a)
			continue
		}
		for j := 1; j < len(a); j++ {
			if !strings.ContainsRune(allowed, rune(a[j])) {
				return flags, operands, a[j]
			}
			flags[a[j]] = true
		}
	}
	return flags, operands, 0
}

// errnoText returns the C library's words for the error behind err.
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "No such file or directory"
	case errors.Is(err, fs.ErrExist):
		return "File exists"
	}
	return err.Error()
}

// badOption reports an option a program does not know.
func (p *proc) badOption(prog string, c byte) int {
	p.errf("%s: invalid option -- '%c'\n", prog, c)
	return 1
}

// protected reports whether a host path may not be removed or moved: the
// root, /dev/null (which is this machine's), the volumes folder, and the
// datastores' mount points, which a real host keeps busy.
func (p *proc) protected(hostPath string) bool {
	switch hostPath {
	case "/", "/dev", "/dev/null", p.e.fs.volumes, path.Dir(p.e.fs.volumes):
		return true
	}
	for _, v := range p.e.vols {
		if hostPath == v.mount || hostPath == path.Join(p.e.fs.volumes, v.name) {
			return true
		}
	}
	return false
}

// mkdirCmd is mkdir [-p] DIR...
func mkdirCmd(p *proc, args []string) int {
	flags, dirs, bad := splitFlags(args, "p")
	if bad != 0 {
		return p.badOption("mkdir", bad)
	}
	status := 0
	for _, d := range dirs {
		var err error
		if flags['p'] {
			err = os.MkdirAll(p.real(d), 0o755)
		} else {
			err = os.Mkdir(p.real(d), 0o755)
		}
		if err != nil {
			p.errf("mkdir: can't create directory '%s': %s\n", d, errnoText(err))
			status = 1
		}
	}
	return status
}

// rmdirCmd is rmdir DIR...
func rmdirCmd(p *proc, args []string) int {
	status := 0
	for _, d := range args {
		info, err := os.Lstat(p.real(d))
		if err == nil && !info.IsDir() {
			err = syscall.ENOTDIR
		}
		if err == nil && p.protected(p.path(d)) {
			err = syscall.EBUSY
		}
		if err == nil {
			err = os.Remove(p.real(d))
		}
		if err != nil {
			p.errf("rmdir: '%s': %s\n", d, errnoText(err))
			status = 1
		}
	}
	return status
}

// rmCmd is rm [-rf] FILE...
func rmCmd(p *proc, args []string) int {
	flags, files, bad := splitFlags(args, "rRfi")
	if bad != 0 {
		return p.badOption("rm", bad)
	}
	recursive, force := flags['r'] || flags['R'], flags['f']
	status := 0
	for _, f := range files {
		real := p.real(f)
		info, err := os.Lstat(real)
		switch {
		case err != nil:
			if force && errors.Is(err, fs.ErrNotExist) {
				continue
			}
		case p.protected(p.path(f)):
			err = syscall.EBUSY
		case info.IsDir() && !recursive:
			p.errf("rm: '%s' is a directory\n", f)
			status = 1
			continue
		case info.IsDir():
			err = os.RemoveAll(real)
		default:
			err = os.Remove(real)
		}
		if err != nil {
			p.errf("rm: can't remove '%s': %s\n", f, errnoText(err))
			status = 1
		}
	}
	return status
}

// catCmd is cat [FILE...]; "-" or no file reads standard input.
func catCmd(p *proc, args []string) int {
	if len(args) == 0 {
		args = []string{"-"}
	}
	status := 0
	for _, name := range args {
		if name == "-" {
			if p.stdin != nil && p.copyOut(p.stdin) != nil {
				status = 1
			}
			continue
		}
		f, err := os.Open(p.real(name))
		if err != nil {
			p.errf("cat: can't open '%s': %s\n", name, errnoText(err))
			status = 1
			continue
		}
		err = p.copyOut(f)
		f.Close()
		if err != nil {
			status = 1
		}
	}
	return status
}

// copyOut copies r to standard output, as cat does: a read error is
// reported; a reader that went away (a broken pipe) ends it quietly.
func (p *proc) copyOut(r io.Reader) error {
	buf := make([]byte, 32<<10)
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, err := p.stdout.Write(buf[:n]); err != nil {
				if !errors.Is(err, syscall.EPIPE) {
					p.errf("cat: write error: %s\n", errnoText(err))
				}
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			p.errf("cat: read error: %s\n", errnoText(rerr))
			return rerr
		}
	}
}

// lsCmd is ls [-1adlh] [PATH...]: one name a line, or the long format.
func lsCmd(p *proc, args []string) int {
	flags, paths, bad := splitFlags(args, "1adlhAFR")
	if bad != 0 {
		return p.badOption("ls", bad)
	}
	if len(paths) == 0 {
		paths = []string{"."}
	}
	status := 0
	var files []string
	var dirs []string
	for _, name := range paths {
		info, err := os.Stat(p.real(name))
		if err != nil {
			if _, lerr := os.Lstat(p.real(name)); lerr == nil {
				files = append(files, name) // a dangling link
				continue
			}
			p.errf("ls: %s: %s\n", name, errnoText(err))
			status = 1
			continue
		}
		if info.IsDir() && !flags['d'] {
			dirs = append(dirs, name)
		} else {
			files = append(files, name)
		}
	}

	for _, name := range files {
		p.lsEntry(flags['l'], p.real(name), name)
	}
	for i, d := range dirs {
		if len(paths) > 1 {
			if i > 0 || len(files) > 0 {
				p.outf("\n")
			}
			p.outf("%s:\n", d)
		}
		entries, err := os.ReadDir(p.real(d))
		if err != nil {
			p.errf("ls: %s: %s\n", d, errnoText(err))
			status = 1
			continue
		}
		sort.Slice(entries, func(a, b int) bool { return entries[a].Name() < entries[b].Name() })
		for _, ent := range entries {
			if strings.HasPrefix(ent.Name(), ".") && !flags['a'] && !flags['A'] {
				continue
			}
			p.lsEntry(flags['l'], filepath.Join(p.real(d), ent.Name()), ent.Name())
		}
	}
	return status
}

// lsEntry prints one name, in the long format if long is set.
func (p *proc) lsEntry(long bool, real, name string) {
	if !long {
		p.outf("%s\n", name)
		return
	}
	info, err := os.Lstat(real)
	if err != nil {
		return
	}
	mode := info.Mode().String()
	switch {
	case info.Mode()&fs.ModeSymlink != 0:
		mode = "l" + mode[1:]
	case info.IsDir():
		mode = "d" + mode[1:]
	}
	when := info.ModTime().Format("Jan _2 15:04")
	if time.Since(info.ModTime()) > 180*24*time.Hour {
		when = info.ModTime().Format("Jan _2  2006")
	}
	line := fmt.Sprintf("%-10s %4d %-8s %-8s %10d %s %s",
		mode, 1, "root", "root", info.Size(), when, name)
	if info.Mode()&fs.ModeSymlink != 0 {
		if target, err := os.Readlink(real); err == nil {
			line += " -> " + target
		}
	}
	p.outf("%s\n", line)
}

// target returns where SRC goes for mv and cp: into DST if DST is a
// folder, else DST itself.
func (p *proc) target(src, dst string, intoDir bool) string {
	if intoDir {
		return filepath.Join(p.real(dst), path.Base(p.path(src)))
	}
	return p.real(dst)
}

// isDir reports whether the host path arg is a folder.
func (p *proc) isDir(arg string) bool {
	info, err := os.Stat(p.real(arg))
	return err == nil && info.IsDir()
}

// mvCmd is mv SRC DST, or mv SRC... DIR.
func mvCmd(p *proc, args []string) int {
	_, ops, bad := splitFlags(args, "fin")
	if bad != 0 {
		return p.badOption("mv", bad)
	}
	if len(ops) < 2 {
		p.errf("mv: missing file operand\n")
		return 1
	}
	dst := ops[len(ops)-1]
	intoDir := p.isDir(dst)
	if len(ops) > 2 && !intoDir {
		p.errf("mv: '%s' is not a directory\n", dst)
		return 1
	}
	status := 0
	for _, src := range ops[:len(ops)-1] {
		var err error
		to := p.target(src, dst, intoDir)
		if p.protected(p.path(src)) || to == os.DevNull {
			err = syscall.EBUSY
		} else {
			err = os.Rename(p.real(src), to)
		}
		if err != nil {
			p.errf("mv: can't rename '%s': %s\n", src, errnoText(err))
			status = 1
		}
	}
	return status
}

// cpCmd is cp [-rRafp] SRC DST, or cp SRC... DIR. Sparse files stay
// sparse, so copying a disk's data file takes no room it did not take.
func cpCmd(p *proc, args []string) int {
	flags, ops, bad := splitFlags(args, "rRafpdP")
	if bad != 0 {
		return p.badOption("cp", bad)
	}
	if len(ops) < 2 {
		p.errf("cp: missing file operand\n")
		return 1
	}
	recursive := flags['r'] || flags['R'] || flags['a']
	dst := ops[len(ops)-1]
	intoDir := p.isDir(dst)
	if len(ops) > 2 && !intoDir {
		p.errf("cp: '%s' is not a directory\n", dst)
		return 1
	}
	status := 0
	for _, src := range ops[:len(ops)-1] {
		info, err := os.Stat(p.real(src))
		switch {
		case err != nil:
			p.errf("cp: can't stat '%s': %s\n", src, errnoText(err))
			status = 1
		case info.IsDir() && !recursive:
			p.errf("cp: omitting directory '%s'\n", src)
			status = 1
		default:
			if err := copyTree(p.real(src), p.target(src, dst, intoDir)); err != nil {
				p.errf("cp: can't create '%s': %s\n", dst, errnoText(err))
				status = 1
			}
		}
	}
	return status
}

// copyTree copies the file or folder src to dst.
func copyTree(src, dst string) error {
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return copyFile(src, dst, info.Mode().Perm())
	}
	if err := os.MkdirAll(dst, info.Mode().Perm()); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, ent := range entries {
		if err := copyTree(filepath.Join(src, ent.Name()), filepath.Join(dst, ent.Name())); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies one file, keeping holes.
func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if err := copyData(out, in, 0); err != nil {
		out.Close()
		return err
	}
	if err := out.Truncate(info.Size()); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// touchCmd is touch FILE...: it makes empty files and updates times.
func touchCmd(p *proc, args []string) int {
	_, files, bad := splitFlags(args, "c")
	if bad != 0 {
		return p.badOption("touch", bad)
	}
	status := 0
	now := time.Now()
	for _, name := range files {
		real := p.real(name)
		if real == os.DevNull {
			continue
		}
		f, err := os.OpenFile(real, os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			f.Close()
			err = os.Chtimes(real, now, now)
		}
		if err != nil {
			p.errf("touch: %s: %s\n", name, errnoText(err))
			status = 1
		}
	}
	return status
}

// sleepCmd is sleep N[smhd]...
func sleepCmd(p *proc, args []string) int {
	if len(args) == 0 {
		p.errf("sleep: missing operand\n")
		return 1
	}
	var total time.Duration
	for _, a := range args {
		unit := time.Second
		switch {
		case strings.HasSuffix(a, "s"):
			a = strings.TrimSuffix(a, "s")
		case strings.HasSuffix(a, "m"):
			a, unit = strings.TrimSuffix(a, "m"), time.Minute
		case strings.HasSuffix(a, "h"):
			a, unit = strings.TrimSuffix(a, "h"), time.Hour
		case strings.HasSuffix(a, "d"):
			a, unit = strings.TrimSuffix(a, "d"), 24*time.Hour
		}
		n, err := strconv.ParseFloat(a, 64)
		if err != nil || n < 0 {
			p.errf("sleep: invalid number '%s'\n", a)
			return 1
		}
		total += time.Duration(n * float64(unit))
	}
	if err := pause(p.ctx, total); err != nil {
		return 1
	}
	return 0
}

// hostnameCmd prints the host's name.
func hostnameCmd(p *proc, args []string) int {
	p.outf("%s\n", p.e.set.Name)
	return 0
}

// vmwareCmd is vmware -v (version) and -l (release level).
func vmwareCmd(p *proc, args []string) int {
	flags, _, bad := splitFlags(args, "vl")
	if bad != 0 || len(flags) == 0 {
		p.errf("usage: vmware [-v] [-l]\n")
		return 1
	}
	s := p.e.set
	if flags['v'] {
		p.outf("VMware ESXi %s build-%s\n", s.Version, s.Build)
	}
	if flags['l'] {
		major := s.Version
		update := "0"
		if parts := strings.Split(s.Version, "."); len(parts) > 2 {
			major, update = parts[0]+"."+parts[1], parts[2]
		}
		p.outf("VMware ESXi %s Update %s\n", major, update)
	}
	return 0
}
