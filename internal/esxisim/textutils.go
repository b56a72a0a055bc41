package esxisim

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// The filters people pipe vim-cmd's output through, as busybox provides
// them: grep, head, tail and wc.

// inputs opens the files a filter reads, standard input for none or "-".
// Each is passed to fn with its name; files that cannot be opened are
// reported and make the result false.
func (p *proc) inputs(prog string, files []string, fn func(name string, r io.Reader)) bool {
	if len(files) == 0 {
		files = []string{"-"}
	}
	ok := true
	for _, name := range files {
		if name == "-" {
			fn(name, readerOrEmpty(p.stdin))
			continue
		}
		f, err := os.Open(p.real(name))
		if err != nil {
			p.errf("%s: %s: %s\n", prog, name, errnoText(err))
			ok = false
			continue
		}
		fn(name, f)
		f.Close()
	}
	return ok
}

// readerOrEmpty returns r, or an empty reader for none.
func readerOrEmpty(r io.Reader) io.Reader {
	if r == nil {
		return strings.NewReader("")
	}
	return r
}

// lines calls fn with each line of r, without its newline, until fn
// returns false.
func lines(r io.Reader, fn func(line string) bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if !fn(sc.Text()) {
			return
		}
	}
}

// grepCmd is grep [-ivcqnEFwx] [-e PATTERN | PATTERN] [FILE...]. It exits
// 0 when a line matched, 1 when none did, 2 on trouble.
func grepCmd(p *proc, args []string) int {
	var patterns []string
	var rest []string
	for i := 0; i < len(args); i++ {
		if args[i] == "-e" && i+1 < len(args) {
			patterns = append(patterns, args[i+1])
			i++
			continue
		}
		rest = append(rest, args[i])
	}
	flags, ops, bad := splitFlags(rest, "ivcqnEFwxsh")
	if bad != 0 {
		p.badOption("grep", bad)
		return 2
	}
	if len(patterns) == 0 {
		if len(ops) == 0 {
			p.errf("Usage: grep [-ivcqnEFwx] PATTERN [FILE]...\n")
			return 2
		}
		patterns, ops = []string{ops[0]}, ops[1:]
	}
	re, err := grepRegexp(patterns, flags)
	if err != nil {
		p.errf("grep: bad regex '%s': %v\n", patterns[0], err)
		return 2
	}

	matched := false
	readOK := p.inputs("grep", ops, func(name string, r io.Reader) {
		count, n := 0, 0
		lines(r, func(line string) bool {
			n++
			if re.MatchString(line) == flags['v'] {
				return true
			}
			matched, count = true, count+1
			if flags['q'] || flags['c'] {
				return !flags['q']
			}
			prefix := ""
			if len(ops) > 1 && !flags['h'] {
				prefix = name + ":"
			}
			if flags['n'] {
				prefix += strconv.Itoa(n) + ":"
			}
			p.outf("%s%s\n", prefix, line)
			return true
		})
		if flags['c'] {
			if len(ops) > 1 {
				p.outf("%s:", name)
			}
			p.outf("%d\n", count)
		}
	})
	switch {
	case matched:
		return 0
	case !readOK && !flags['s']:
		return 2
	}
	return 1
}

// grepRegexp compiles grep's patterns. Without -E they are basic regular
// expressions, where ( ) { } + ? | are plain characters unless escaped.
func grepRegexp(patterns []string, flags map[byte]bool) (*regexp.Regexp, error) {
	parts := make([]string, len(patterns))
	for i, pat := range patterns {
		switch {
		case flags['F']:
			pat = regexp.QuoteMeta(pat)
		case !flags['E']:
			pat = basicToExtended(pat)
		}
		if flags['w'] {
			pat = `\b(?:` + pat + `)\b`
		}
		if flags['x'] {
			pat = `^(?:` + pat + `)$`
		}
		parts[i] = "(?:" + pat + ")"
	}
	expr := strings.Join(parts, "|")
	if flags['i'] {
		expr = "(?i)" + expr
	}
	return regexp.Compile(expr)
}

// basicToExtended turns a POSIX basic regular expression into an extended
// one.
func basicToExtended(pat string) string {
	var b strings.Builder
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch {
		case c == '\\' && i+1 < len(pat) && strings.IndexByte("(){}+?|", pat[i+1]) >= 0:
			b.WriteByte(pat[i+1])
			i++
		case c == '\\' && i+1 < len(pat):
			b.WriteByte(c)
			b.WriteByte(pat[i+1])
			i++
		case strings.IndexByte("(){}+?|", c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// lineCount reads the -n N (or -N) option of head and tail.
func lineCount(prog string, args []string) (n int, from bool, files []string, err error) {
	n = 10
	for i := 0; i < len(args); i++ {
		a := args[i]
		var v string
		switch {
		case a == "-n" && i+1 < len(args):
			v = args[i+1]
			i++
		case strings.HasPrefix(a, "-n"):
			v = a[2:]
		case len(a) > 1 && a[0] == '-' && a[1] >= '0' && a[1] <= '9':
			v = a[1:]
		default:
			files = append(files, a)
			continue
		}
		from = strings.HasPrefix(v, "+")
		n, err = strconv.Atoi(strings.TrimPrefix(v, "+"))
		if err != nil || n < 0 {
			return 0, false, nil, fmt.Errorf("%s: invalid number '%s'", prog, v)
		}
	}
	return n, from, files, nil
}

// headCmd is head [-n N] [FILE...].
func headCmd(p *proc, args []string) int {
	n, _, files, err := lineCount("head", args)
	if err != nil {
		p.errf("%v\n", err)
		return 1
	}
	ok := p.inputs("head", files, func(name string, r io.Reader) {
		if len(files) > 1 {
			p.outf("==> %s <==\n", name)
		}
		i := 0
		lines(r, func(line string) bool {
			if i >= n {
				return false
			}
			i++
			p.outf("%s\n", line)
			return true
		})
	})
	return exitFor(ok)
}

// tailCmd is tail [-n N | -n +N | -c N] [FILE...].
func tailCmd(p *proc, args []string) int {
	if hasByteCount(args) {
		return tailBytes(p, args)
	}
	n, from, files, err := lineCount("tail", args)
	if err != nil {
		p.errf("%v\n", err)
		return 1
	}
	ok := p.inputs("tail", files, func(name string, r io.Reader) {
		if len(files) > 1 {
			p.outf("==> %s <==\n", name)
		}
		var kept []string
		i := 0
		lines(r, func(line string) bool {
			i++
			switch {
			case from && i >= n:
				p.outf("%s\n", line)
			case !from:
				kept = append(kept, line)
				if len(kept) > n {
					kept = kept[1:]
				}
			}
			return true
		})
		for _, l := range kept {
			p.outf("%s\n", l)
		}
	})
	return exitFor(ok)
}

// wcCmd is wc [-lwc] [FILE...].
func wcCmd(p *proc, args []string) int {
	flags, files, bad := splitFlags(args, "lwc")
	if bad != 0 {
		return p.badOption("wc", bad)
	}
	all := len(flags) == 0
	ok := p.inputs("wc", files, func(name string, r io.Reader) {
		data, _ := io.ReadAll(r)
		var cols []string
		if all || flags['l'] {
			cols = append(cols, fmt.Sprintf("%7d", strings.Count(string(data), "\n")))
		}
		if all || flags['w'] {
			cols = append(cols, fmt.Sprintf("%7d", len(strings.Fields(string(data)))))
		}
		if all || flags['c'] {
			cols = append(cols, fmt.Sprintf("%7d", len(data)))
		}
		if name != "-" {
			cols = append(cols, name)
		}
		p.outf("%s\n", strings.TrimLeft(strings.Join(cols, " "), " "))
	})
	return exitFor(ok)
}

// exitFor returns 0 for ok and 1 otherwise.
func exitFor(ok bool) int {
	if ok {
		return 0
	}
	return 1
}
