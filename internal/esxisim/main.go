package esxisim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// standalonePrograms are the programs Main provides; a real host's busybox
// provides the rest.
var standalonePrograms = map[string]bool{
	"vim-cmd": true, "vmkfstools": true, "esxcli": true, "vmware": true,
}

// Main runs one of the host's programs as a standalone command, for a host
// made of OpenSSH's sshd and busybox ash, as a real host is: a multi-call
// executable installed as vim-cmd, vmkfstools, esxcli and vmware, chosen by
// the base name of args[0] (or, when that is another name, by args[1]).
// The host's folder is $ESXISIM_DIR from env (as os.Environ gives it);
// paths are this machine's, with the datastores in $ESXISIM_DIR/vmfs/volumes.
// It returns the exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, env []string) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "esxisim: no program name")
		return 2
	}
	name, rest := path.Base(args[0]), args[1:]
	if !standalonePrograms[name] && len(rest) > 0 {
		name, rest = path.Base(rest[0]), rest[1:]
	}
	if !standalonePrograms[name] {
		fmt.Fprintf(stderr, "esxisim: unknown program %q "+
			"(want vim-cmd, vmkfstools, esxcli or vmware)\n", name)
		return 127
	}

	// Find the host: its folder, its settings, its datastores.
	dir := lookupEnv(env, "ESXISIM_DIR")
	if dir == "" {
		fmt.Fprintf(stderr, "%s: ESXISIM_DIR is not set\n", name)
		return 1
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	s, err := loadSettings(dir)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	e, err := newEngine(dir, identityMap(dir), s, time.Now)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	e.counted = func(name string, args []string) { logCommand(dir, name, args) }

	cwd, err := os.Getwd()
	if err != nil {
		cwd = "/"
	}
	p := &proc{ctx: context.Background(), e: e, cwd: cwd, stdin: stdin, stdout: stdout, stderr: stderr}
	status, _ := e.run(p, append([]string{name}, rest...))
	return status
}

// lookupEnv returns the value of key in env, a list of KEY=value.
func lookupEnv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}

// commandLogPath is where the standalone commands note each run, for
// StandaloneStats.
func commandLogPath(dir string) string {
	return filepath.Join(dir, "etc", "esxisim", "commands.log")
}

// logCommand notes one run of a program in the host's command log: its
// name and, for vim-cmd, its command, one line per run. A line is written
// with one append, so runs in several processes do not mix their lines.
// A log that cannot be written loses the line; the command still runs.
func logCommand(dir, name string, args []string) {
	line := name
	if name == "vim-cmd" && len(args) > 0 {
		line += "\t" + strings.TrimPrefix(args[0], "/")
	}
	f, err := os.OpenFile(commandLogPath(dir), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	f.WriteString(strings.NewReplacer("\n", " ").Replace(line) + "\n")
}

// StandaloneStats counts the programs that the standalone commands of Main
// have run on the host whose folder is dir: Commands, VimCmds and
// VimCmdCalls are filled in; the counts of connections and sessions belong
// to whatever sshd runs the commands. It returns an error if the log
// exists but cannot be read; a host no standalone command has run on has
// none.
func StandaloneStats(dir string) (Stats, error) {
	st := Stats{Commands: map[string]int{}, VimCmds: map[string]int{}}
	data, err := os.ReadFile(commandLogPath(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("esxisim: read command log: %w", err)
	}
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if line == "" {
			continue
		}
		name, cmd, ok := strings.Cut(line, "\t")
		st.Commands[name]++
		if name == "vim-cmd" {
			st.VimCmdCalls++
			if ok {
				st.VimCmds[cmd]++
			}
		}
	}
	return st, nil
}
