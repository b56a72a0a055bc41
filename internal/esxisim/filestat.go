package esxisim

import (
	"io"
	"os"
	"strconv"
	"strings"
)

// statCmd is busybox's stat -c FORMAT FILE...: it prints each file's
// FORMAT with %n (name), %s (size in bytes), %Y (modification time in
// seconds since the epoch), %F (file type) and %% expanded. Clients read a
// VM's serial console log's time and size this way.
func statCmd(p *proc, args []string) int {
	if len(args) < 3 || args[0] != "-c" {
		p.errf("Usage: stat -c FORMAT FILE...\n")
		return 1
	}
	format, files := args[1], args[2:]
	status := 0
	for _, name := range files {
		info, err := os.Stat(p.real(name))
		if err != nil {
			p.errf("stat: can't stat '%s': %s\n", name, errnoText(err))
			status = 1
			continue
		}
		p.outf("%s\n", expandStat(format, name, info))
	}
	return status
}

// expandStat expands stat's format directives for one file.
func expandStat(format, name string, info os.FileInfo) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 == len(format) {
			b.WriteByte(format[i])
			continue
		}
		i++
		switch format[i] {
		case 'n':
			b.WriteString(name)
		case 's':
			b.WriteString(strconv.FormatInt(info.Size(), 10))
		case 'Y':
			b.WriteString(strconv.FormatInt(info.ModTime().Unix(), 10))
		case 'F':
			if info.IsDir() {
				b.WriteString("directory")
			} else {
				b.WriteString("regular file")
			}
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// tailBytes is tail -c N [FILE...]: the last N bytes of each file.
func tailBytes(p *proc, args []string) int {
	var n int64 = -1
	var files []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-c" && i+1 < len(args):
			v, err := strconv.ParseInt(args[i+1], 10, 64)
			if err != nil || v < 0 {
				p.errf("tail: invalid number '%s'\n", args[i+1])
				return 1
			}
			n = v
			i++
		default:
			files = append(files, a)
		}
	}
	ok := p.inputs("tail", files, func(name string, r io.Reader) {
		if len(files) > 1 {
			p.outf("==> %s <==\n", name)
		}
		// A file is read from its end; a pipe to its end.
		if f, isFile := r.(*os.File); isFile {
			if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
				if info.Size() > n {
					f.Seek(info.Size()-n, io.SeekStart)
				}
				io.Copy(p.stdout, f)
				return
			}
		}
		data, _ := io.ReadAll(r)
		if int64(len(data)) > n {
			data = data[int64(len(data))-n:]
		}
		p.stdout.Write(data)
	})
	return exitFor(ok)
}

// hasByteCount reports whether tail's arguments ask for bytes (-c N).
func hasByteCount(args []string) bool {
	for i, a := range args {
		if a == "-c" && i+1 < len(args) {
			return true
		}
	}
	return false
}
