package esxisim

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"sort"
	"time"
)

// engine is what the simulated host and the standalone commands share: the
// host's settings, its filesystem and datastores, and its inventory. Every
// command is implemented over it.
type engine struct {
	set   settings
	fs    fsMap
	vols  []*volume
	store *store
	clock func() time.Time
	net   netip.Prefix // the guests' network

	// counted, if set, is told the name and arguments of every command
	// run, for the host's statistics.
	counted func(name string, args []string)
}

// newEngine makes the engine of the host whose folder is dir, mounting its
// datastores.
func newEngine(dir string, m fsMap, s settings, clock func() time.Time) (*engine, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	vols, err := mountVolumes(m, s.Name, s.Datastores)
	if err != nil {
		return nil, err
	}
	st, err := newStore(filepath.Join(dir, "etc", "esxisim"))
	if err != nil {
		return nil, err
	}
	return &engine{
		set:   s,
		fs:    m,
		vols:  vols,
		store: st,
		clock: clock,
		net:   netip.MustParsePrefix(s.GuestNetwork).Masked(),
	}, nil
}

// proc is one run of a command: its arguments' context and its streams.
type proc struct {
	ctx    context.Context
	e      *engine
	cwd    string // the host path of the working folder
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// path turns a path argument into an absolute host path.
func (p *proc) path(arg string) string { return hostAbs(p.cwd, arg) }

// real turns a path argument into a path on this machine.
func (p *proc) real(arg string) string { return p.e.fs.real(p.path(arg)) }

// errf prints a message on standard error.
func (p *proc) errf(format string, args ...any) {
	fmt.Fprintf(p.stderr, format, args...)
}

// outf prints on standard output.
func (p *proc) outf(format string, args ...any) {
	fmt.Fprintf(p.stdout, format, args...)
}

// command is one of the host's programs. It returns its exit status.
type command func(p *proc, args []string) int

// commandTable holds the host's programs by name. It is filled in init, as
// some programs look themselves up.
var commandTable map[string]command

func init() {
	commandTable = map[string]command{
		"vim-cmd":    vimCmd,
		"vmkfstools": vmkfstools,
		"esxcli":     esxcli,
		"vmware":     vmwareCmd,
		"mkdir":      mkdirCmd,
		"rmdir":      rmdirCmd,
		"rm":         rmCmd,
		"cat":        catCmd,
		"ls":         lsCmd,
		"mv":         mvCmd,
		"cp":         cpCmd,
		"touch":      touchCmd,
		"grep":       grepCmd,
		"head":       headCmd,
		"tail":       tailCmd,
		"stat":       statCmd,
		"wc":         wcCmd,
		"sleep":      sleepCmd,
		"hostname":   hostnameCmd,
	}
}

// commandNames returns the names of the host's programs, sorted.
func commandNames() []string {
	names := make([]string, 0, len(commandTable))
	for n := range commandTable {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// run runs the program args[0]; found is false if the host has no such
// program.
func (e *engine) run(p *proc, args []string) (status int, found bool) {
	cmd, ok := commandTable[args[0]]
	if !ok {
		return 127, false
	}
	if e.counted != nil {
		e.counted(args[0], args[1:])
	}
	return cmd(p, args[1:]), true
}

// pause sleeps for d, as a real host's management agent takes its time, or
// until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// volume returns the datastore named name, or nil.
func (e *engine) volume(name string) *volume {
	for _, v := range e.vols {
		if v.name == name {
			return v
		}
	}
	return nil
}

// locate finds the datastore holding the host path p.
func (e *engine) locate(p string) (dsPath, bool) {
	return locate(e.fs, e.vols, p)
}

// vmxPath returns where the VM's .vmx is.
func (e *engine) vmxPath(vm *vmState) (dsPath, bool) {
	v := e.volume(vm.Datastore)
	if v == nil {
		return dsPath{}, false
	}
	return dsPath{vol: v, rel: vm.Path}, true
}
