package esxisim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// shell runs command lines as the host's busybox ash would: a POSIX shell
// whose programs are the host's own (this package's commands) and whose
// files are the host's folder. It never runs a program of this machine and
// never touches a file outside the host's folder.
type shell struct {
	e    *engine
	user string
}

// binDirs are the folders the host's programs are found in by path, as
// /bin/vim-cmd.
var binDirs = map[string]bool{"/bin": true, "/sbin": true, "/usr/bin": true, "/usr/sbin": true}

// lookupProg is the name the shell gives its own `command -v` and `type`,
// which look programs up among the host's: no command line can name it.
const lookupProg = "\x00lookup"

// noTempDir is the interpreter's folder for temporary FIFOs. The
// interpreter opens paths in it directly, bypassing the host's files, so
// it is a path no file can have.
const noTempDir = "/\x00"

// environ is the environment a login on the host starts with.
func (s *shell) environ() []string {
	return []string{
		"HOME=/", "PATH=/bin:/sbin", "SHELL=/bin/sh", "TERM=xterm",
		"USER=" + s.user, "LOGNAME=" + s.user, "UID=0", "EUID=0", "GID=0",
	}
}

// newRunner makes an interpreter for the host, in the host folder dir,
// with the streams given. stdin may be nil.
func (s *shell) newRunner(dir string, stdin *os.File,
	stdout, stderr io.Writer) (*interp.Runner, error) {
	var in io.Reader
	if stdin != nil {
		in = stdin
	}
	r, err := interp.New(
		interp.Env(expand.ListEnviron("TMPDIR="+noTempDir)),
		func(r *interp.Runner) error { r.Dir = dir; return nil },
		interp.StdIO(in, stdout, stderr),
		interp.ExecHandlers(func(interp.ExecHandlerFunc) interp.ExecHandlerFunc { return s.exec }),
		interp.CallHandler(s.call),
		interp.OpenHandler(s.open),
		interp.ReadDirHandler2(s.readDir),
		interp.StatHandler(s.stat),
		interp.AccessHandler(s.access),
	)
	if err != nil {
		return nil, fmt.Errorf("start shell: %w", err)
	}

	// The first reset fixes the temporary folder; the second gives the
	// shell its real environment.
	r.Reset()
	if err := interp.Env(expand.ListEnviron(s.environ()...))(r); err != nil {
		return nil, fmt.Errorf("start shell: %w", err)
	}
	r.Reset()
	return r, nil
}

// parse reads a command line as busybox ash would: POSIX shell, no bash.
func parse(line string) (*syntax.File, error) {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(line), "")
	if err != nil {
		return nil, err
	}
	quoteEscapes(f)
	return f, nil
}

// quoteEscapes makes the interpreter remove the backslash of an escaped
// character, as every POSIX shell does, in the words it expands as one
// string: redirection targets, assignment values and case subjects. The
// interpreter (mvdan.cc/sh v3.14.1) removes it only from command
// arguments, so this line would write to a file named it\'s, not it's:
//
//	cat > 'it'\''s'
//
// Each escape \c becomes the quoted character 'c', which is what it means.
func quoteEscapes(f *syntax.File) {
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Redirect:
			if n.Op != syntax.Hdoc && n.Op != syntax.DashHdoc {
				quoteWordEscapes(n.Word)
			}
		case *syntax.Assign:
			quoteWordEscapes(n.Value)
		case *syntax.CaseClause:
			quoteWordEscapes(n.Word)
		}
		return true
	})
}

// quoteWordEscapes rewrites the unquoted parts of w: each backslash and
// the character after it become that character, single-quoted. A
// trailing backslash stays, as it means itself.
func quoteWordEscapes(w *syntax.Word) {
	if w == nil {
		return
	}
	var parts []syntax.WordPart
	for _, part := range w.Parts {
		lit, ok := part.(*syntax.Lit)
		if !ok || !strings.Contains(lit.Value, `\`) {
			parts = append(parts, part)
			continue
		}
		s := lit.Value
		for {
			i := strings.IndexByte(s, '\\')
			if i < 0 || i == len(s)-1 {
				break
			}
			_, size := utf8.DecodeRuneInString(s[i+1:])
			if i > 0 {
				parts = append(parts, &syntax.Lit{ValuePos: lit.ValuePos, ValueEnd: lit.ValueEnd, Value: s[:i]})
			}
			parts = append(parts, &syntax.SglQuoted{Left: lit.ValuePos, Right: lit.ValueEnd,
				Value: s[i+1 : i+1+size]})
			s = s[i+1+size:]
		}
		if s != "" {
			parts = append(parts, &syntax.Lit{ValuePos: lit.ValuePos, ValueEnd: lit.ValueEnd, Value: s})
		}
	}
	w.Parts = parts
}

// run runs one command line and returns its exit status, as `sh -c LINE`.
func (s *shell) run(ctx context.Context, line string, stdin io.Reader,
	stdout, stderr io.Writer) int {
	stdout, stderr = lockedWriter(stdout), lockedWriter(stderr)
	file, err := parse(line)
	if err != nil {
		fmt.Fprintf(stderr, "sh: syntax error: %s\n", syntaxMessage(err))
		return 2
	}

	// Guests that booted since the last command have written their
	// consoles by now.
	s.e.update(func(*hostState, time.Time) error { return nil })

	in, done, err := stdinFile(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "sh: %v\n", err)
		return 1
	}
	defer done()
	r, err := s.newRunner("/", in, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "sh: %v\n", err)
		return 1
	}
	return exitStatus(r.Run(ctx, file), stderr)
}

// exitStatus turns what the interpreter returned into an exit status.
func exitStatus(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	if code, ok := interp.IsExitStatus(err); ok {
		return int(code)
	}
	if !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "sh: %v\n", err)
	}
	return 1
}

// syntaxMessage strips the position from a parse error, as ash prints none
// for a one-line command.
func syntaxMessage(err error) string {
	var pe syntax.ParseError
	if errors.As(err, &pe) {
		return pe.Text
	}
	return err.Error()
}

// stdinFile gives the interpreter a file to read standard input from: the
// interpreter needs an *os.File, so anything else is copied through a
// pipe. done closes what stdinFile opened.
func stdinFile(r io.Reader) (f *os.File, done func(), err error) {
	switch r := r.(type) {
	case nil:
		return nil, func() {}, nil
	case *os.File:
		return r, func() {}, nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("open standard input: %w", err)
	}
	go func() {
		io.Copy(pw, r)
		pw.Close()
	}()
	return pr, func() { pr.Close() }, nil
}

// lockedWriter makes w safe for the stages of a pipeline to write at once.
func lockedWriter(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return &syncWriter{w: w}
}

// syncWriter serialises writes to w.
type syncWriter struct {
	mu sync.Mutex // serialises writes to w
	w  io.Writer
}

func (sw *syncWriter) Write(b []byte) (int, error) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return sw.w.Write(b)
}

// exec runs a program: one of the host's, found by name or in /bin, or a
// script on the host's filesystem. Anything else is not found.
func (s *shell) exec(ctx context.Context, args []string) error {
	hc := interp.HandlerCtx(ctx)
	name := args[0]
	if name == lookupProg {
		return s.lookup(hc, args[1], args[2:])
	}

	prog := name
	if strings.Contains(name, "/") {
		full := hostAbs(hc.Dir, name)
		if dir, base := path.Split(full); binDirs[path.Clean(dir)] && isProgram(base) {
			prog = base
		} else {
			return s.script(ctx, hc, full, args)
		}
	}
	if prog == "sh" || prog == "ash" {
		return s.sh(ctx, hc, args[1:])
	}

	p := &proc{ctx: ctx, e: s.e, cwd: hc.Dir, stdin: hc.Stdin, stdout: hc.Stdout, stderr: hc.Stderr}
	status, found := s.e.run(p, append([]string{prog}, args[1:]...))
	if !found {
		fmt.Fprintf(hc.Stderr, "sh: %s: not found\n", name)
		return interp.ExitStatus(127)
	}
	if status != 0 {
		return interp.ExitStatus(uint8(status))
	}
	return nil
}

// isProgram reports whether the host has a program called name.
func isProgram(name string) bool {
	_, ok := commandTable[name]
	return ok || name == "sh" || name == "ash"
}

// script runs the file at the host path full as a shell script. Like
// ESXi 8, the host runs only scripts that start with a #! line naming sh.
func (s *shell) script(ctx context.Context, hc interp.HandlerContext,
	full string, args []string) error {
	data, err := os.ReadFile(s.e.fs.real(full))
	if err != nil {
		fmt.Fprintf(hc.Stderr, "sh: %s: not found\n", args[0])
		return interp.ExitStatus(127)
	}
	first, _, _ := strings.Cut(string(data), "\n")
	interpreter := strings.Fields(strings.TrimPrefix(first, "#!"))
	if !strings.HasPrefix(first, "#!") || len(interpreter) == 0 ||
		!(strings.HasSuffix(interpreter[0], "/sh") || strings.HasSuffix(interpreter[0], "/ash")) {
		fmt.Fprintf(hc.Stderr, "sh: %s: Permission denied\n", args[0])
		return interp.ExitStatus(126)
	}
	return s.sh(ctx, hc, append([]string{full}, args[1:]...))
}

// sh is the host's sh: `sh -c LINE [NAME [ARG...]]`, `sh FILE [ARG...]`,
// or a script on standard input.
func (s *shell) sh(ctx context.Context, hc interp.HandlerContext, args []string) error {
	var src, name string
	var params []string
	switch {
	case len(args) > 0 && args[0] == "-c":
		if len(args) < 2 {
			fmt.Fprintf(hc.Stderr, "sh: -c requires an argument\n")
			return interp.ExitStatus(2)
		}
		src, name = args[1], "sh"
		if len(args) > 2 {
			name, params = args[2], args[3:]
		}
	case len(args) > 0:
		data, err := os.ReadFile(s.e.fs.real(hostAbs(hc.Dir, args[0])))
		if err != nil {
			fmt.Fprintf(hc.Stderr, "sh: can't open '%s': %s\n", args[0], errnoText(err))
			return interp.ExitStatus(2)
		}
		src, name, params = string(data), args[0], args[1:]
	case hc.Stdin != nil:
		data, _ := io.ReadAll(hc.Stdin)
		src, name = string(data), "sh"
	}

	file, err := parse(src)
	if err != nil {
		fmt.Fprintf(hc.Stderr, "%s: syntax error: %s\n", name, syntaxMessage(err))
		return interp.ExitStatus(2)
	}
	in, _ := hc.Stdin.(*os.File)
	r, err := s.newRunner(hc.Dir, in, hc.Stdout, hc.Stderr)
	if err != nil {
		return err
	}
	interp.Params(append([]string{"--"}, params...)...)(r)
	status := exitStatus(r.Run(ctx, file), hc.Stderr)
	if status != 0 {
		return interp.ExitStatus(uint8(status))
	}
	return nil
}

// call rewrites the builtins that would look at this machine's programs or
// files: `command -v`, `command -V` and `type` look among the host's
// programs instead, and `pwd -P` prints the host path.
func (s *shell) call(ctx context.Context, args []string) ([]string, error) {
	switch {
	case args[0] == "command" && len(args) > 2 && (args[1] == "-v" || args[1] == "-V"):
		return append([]string{lookupProg, args[1]}, args[2:]...), nil
	case args[0] == "type":
		return append([]string{lookupProg, "type"}, args[1:]...), nil
	case args[0] == "pwd":
		return []string{"pwd"}, nil
	}
	return args, nil
}

// lookup answers `command -v` (mode "-v"), `command -V` and `type` for
// names, among keywords, builtins and the host's programs.
func (s *shell) lookup(hc interp.HandlerContext, mode string, names []string) error {
	status := uint8(0)
	for _, n := range names {
		var what, where string
		switch {
		case syntax.IsKeyword(n):
			what, where = "a shell keyword", n
		case interp.IsBuiltin(n):
			what, where = "a shell builtin", n
		case isProgram(n):
			what, where = "/bin/"+n, "/bin/"+n
		case strings.Contains(n, "/"):
			if _, err := os.Stat(s.e.fs.real(hostAbs(hc.Dir, n))); err == nil {
				what, where = n, n
			}
		}
		switch {
		case where == "":
			status = 1
			if mode != "-v" {
				fmt.Fprintf(hc.Stderr, "%s: not found\n", n)
			}
		case mode == "-v":
			fmt.Fprintln(hc.Stdout, where)
		default:
			fmt.Fprintf(hc.Stdout, "%s is %s\n", n, what)
		}
	}
	if status != 0 {
		return interp.ExitStatus(status)
	}
	return nil
}

// hostPath resolves a path the interpreter hands a handler into a path on
// this machine.
func (s *shell) hostPath(ctx context.Context, p string) string {
	return s.e.fs.real(hostAbs(interp.HandlerCtx(ctx).Dir, p))
}

// open opens a file for a redirection, with busybox's words when it fails.
func (s *shell) open(ctx context.Context, p string, flag int,
	perm os.FileMode) (io.ReadWriteCloser, error) {
	f, err := os.OpenFile(s.hostPath(ctx, p), flag, perm)
	if err == nil {
		return f, nil
	}
	op := "sh: can't open"
	if flag&(os.O_WRONLY|os.O_RDWR) != 0 {
		op = "sh: can't create"
	}
	text := errnoText(err)
	if errors.Is(err, fs.ErrNotExist) {
		text = "no such file"
		if op == "sh: can't create" {
			text = "nonexistent directory"
		}
	}
	return nil, &os.PathError{Op: op, Path: p, Err: errors.New(text)}
}

// readDir lists a folder for globbing.
func (s *shell) readDir(ctx context.Context, p string) ([]fs.DirEntry, error) {
	entries, err := os.ReadDir(s.hostPath(ctx, p))
	if err != nil {
		return nil, pathErr("readdir", p, err)
	}
	return entries, nil
}

// stat looks at a file for test and cd.
func (s *shell) stat(ctx context.Context, p string, follow bool) (fs.FileInfo, error) {
	var info fs.FileInfo
	var err error
	if follow {
		info, err = os.Stat(s.hostPath(ctx, p))
	} else {
		info, err = os.Lstat(s.hostPath(ctx, p))
	}
	if err != nil {
		return nil, pathErr("stat", p, err)
	}
	return info, nil
}

// access checks a file for test -r, -w, -x and cd. The host's user is
// root: anything that exists can be read and written, and run if it has an
// execute bit.
func (s *shell) access(ctx context.Context, p string, mode interp.AccessMode) error {
	info, err := os.Stat(s.hostPath(ctx, p))
	if err != nil {
		return pathErr("access", p, err)
	}
	if mode&interp.AccessExec != 0 && !info.IsDir() && info.Mode().Perm()&0o111 == 0 {
		return &os.PathError{Op: "access", Path: p, Err: fs.ErrPermission}
	}
	return nil
}

// pathErr reports err about the host path p, never naming the path on this
// machine that err came with.
func pathErr(op, p string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &os.PathError{Op: op, Path: p, Err: err}
}
