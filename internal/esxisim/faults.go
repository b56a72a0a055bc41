package esxisim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"strings"
	"time"
)

// Faults is hostile behaviour a host shows on demand, as real hosts show
// it now and then: slow answers, hostd restarting or busy, a power-on that
// reports failure although the VM came up, a question that blocks
// power.on, an sshd that turns sessions away. The zero value is a well
// behaved host.
//
// Faults are kept in the host's folder (etc/esxisim/faults.json), so the
// standalone commands of Main obey them too; MaxStartups and MaxSessions
// concern the simulated SSH server only, as OpenSSH's sshd has its own.
type Faults struct {
	// Latency is added to Config.Latency at the start of every vim-cmd,
	// vmkfstools and esxcli call.
	Latency time.Duration `json:"latency,omitempty"`

	// Hostd are transient hostd faults that vim-cmd calls fail with
	// before they do anything. A call is checked against each in turn;
	// the first that strikes is printed.
	Hostd []HostdFault `json:"hostd,omitempty"`

	// PowerOnReportsFailure is how many of the next power.on calls power
	// the VM on and then report failure ("Power on failed", exit 1), as
	// hostd's power-on task has been seen to do.
	PowerOnReportsFailure int `json:"powerOnReportsFailure,omitempty"`

	// AskUUIDQuestion makes power.on ask msg.uuid.altered as
	// Config.AskUUIDQuestion does, from now on.
	AskUUIDQuestion bool `json:"askUUIDQuestion,omitempty"`

	// MaxStartups is how many connections may be in their SSH handshake
	// at once; past it, new connections are closed as soon as they are
	// accepted, as sshd's MaxStartups does. Zero means no limit.
	MaxStartups int `json:"maxStartups,omitempty"`

	// MaxSessions is how many sessions one connection may have open at
	// once; past it, opening a session is refused, as sshd's MaxSessions
	// does. Zero means no limit.
	MaxSessions int `json:"maxSessions,omitempty"`
}

// HostdFault makes vim-cmd calls fail with one of the transient faults
// real hosts print when hostd is busy or restarting: the next Count
// matching calls fail, and after them (or from the start, with Count
// zero) each matching call fails with probability Probability, drawn from
// a source seeded with Seed. The same seed gives the same sequence of
// failures, in one process or across the processes of Main.
type HostdFault struct {
	// Fault is what the call prints.
	Fault HostdFaultKind `json:"fault"`

	// Command limits the fault to one vim-cmd command, as
	// "vmsvc/power.on"; empty means every command.
	Command string `json:"command,omitempty"`

	// Count is how many of the next matching calls fail. Once they have,
	// the fault is spent and removed.
	Count int `json:"count,omitempty"`

	// Probability is the chance that a matching call fails when Count is
	// zero, between 0 and 1.
	Probability float64 `json:"probability,omitempty"`

	// Seed seeds the draws of Probability.
	Seed uint64 `json:"seed,omitempty"`
}

// HostdFaultKind names a transient fault of hostd.
type HostdFaultKind string

// The transient faults real hosts print [recorded in the ESXi reference].
const (
	// FaultObjectGone is vmodl.fault.ManagedObjectNotFound, "The object
	// has already been deleted or has not been completely created": a VM
	// seen while another client adds or removes VMs.
	FaultObjectGone HostdFaultKind = "ManagedObjectNotFound"

	// FaultLoginReset is "Failed to login: Connection reset by peer":
	// vim-cmd could not log in to hostd.
	FaultLoginReset HostdFaultKind = "LoginReset"

	// FaultHostdDown is "Connect to localhost failed: Connection
	// failure": hostd is down or restarting.
	FaultHostdDown HostdFaultKind = "HostdDown"

	// FaultTaskInProgress is vim.fault.TaskInProgress, "Operation failed
	// since another task is in progress.".
	FaultTaskInProgress HostdFaultKind = "TaskInProgress"
)

// validate reports a fault that cannot be injected.
func (f Faults) validate() error {
	if f.Latency < 0 || f.PowerOnReportsFailure < 0 || f.MaxStartups < 0 || f.MaxSessions < 0 {
		return errors.New("esxisim: faults: negative latency, count or limit")
	}
	for _, h := range f.Hostd {
		switch h.Fault {
		case FaultObjectGone, FaultLoginReset, FaultHostdDown, FaultTaskInProgress:
		default:
			return fmt.Errorf("esxisim: faults: unknown hostd fault %q", h.Fault)
		}
		if h.Count < 0 || h.Probability < 0 || h.Probability > 1 {
			return fmt.Errorf("esxisim: faults: %s: count or probability out of range", h.Fault)
		}
		if h.Count == 0 && h.Probability == 0 {
			return fmt.Errorf("esxisim: faults: %s: neither a count nor a probability", h.Fault)
		}
	}
	return nil
}

// faultFile is what faults.json holds: the faults, and how many draws
// each hostd fault has made, so that its seeded sequence goes on where
// the last process left it.
type faultFile struct {
	Faults
	Draws []uint64 `json:"draws,omitempty"`
}

// saveFaults records f for every command the host runs, in this process
// or another; no faults removes the file.
func (s *store) saveFaults(f Faults) error {
	return s.locked(func() error {
		path := s.faultsFile()
		if isZeroFaults(f) {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("clear faults: %w", err)
			}
			return nil
		}
		return writeFaultFile(path, faultFile{Faults: f, Draws: make([]uint64, len(f.Hostd))})
	})
}

// isZeroFaults reports whether f asks for nothing.
func isZeroFaults(f Faults) bool {
	return f.Latency == 0 && len(f.Hostd) == 0 && f.PowerOnReportsFailure == 0 &&
		!f.AskUUIDQuestion && f.MaxStartups == 0 && f.MaxSessions == 0
}

// writeFaultFile writes ff to path.
func writeFaultFile(path string, ff faultFile) error {
	data, err := json.MarshalIndent(ff, "", "  ")
	if err != nil {
		return fmt.Errorf("encode faults: %w", err)
	}
	return writeFileAtomic(path, append(data, '\n'), 0o644)
}

// readFaultFile reads the faults in path; a missing file means none.
func readFaultFile(path string) (faultFile, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return faultFile{}, nil
	}
	if err != nil {
		return faultFile{}, fmt.Errorf("read faults: %w", err)
	}
	var ff faultFile
	if err := json.Unmarshal(data, &ff); err != nil {
		return faultFile{}, fmt.Errorf("decode faults %s: %w", path, err)
	}
	for len(ff.Draws) < len(ff.Hostd) {
		ff.Draws = append(ff.Draws, 0)
	}
	return ff, ff.Faults.validate()
}

// faults returns the host's faults as they stand. A host whose faults
// file cannot be read behaves well.
func (e *engine) faults() Faults {
	ff, err := readFaultFile(e.store.faultsFile())
	if err != nil {
		return Faults{}
	}
	return ff.Faults
}

// consumeFaults changes the host's faults under the inventory lock: fn
// may use up counts and draws, and what it changed is saved. Without a
// faults file it does nothing and takes no lock.
func (e *engine) consumeFaults(fn func(ff *faultFile) bool) {
	if _, err := os.Stat(e.store.faultsFile()); err != nil {
		return
	}
	_ = e.store.locked(func() error {
		ff, err := readFaultFile(e.store.faultsFile())
		if err != nil || !fn(&ff) {
			return err
		}
		if isZeroFaults(ff.Faults) {
			return os.Remove(e.store.faultsFile())
		}
		return writeFaultFile(e.store.faultsFile(), ff)
	})
}

// latency is how long each vim-cmd, vmkfstools and esxcli call takes to
// start: the configured latency and any injected.
func (e *engine) latency() time.Duration {
	return e.set.Latency + e.faults().Latency
}

// hostdFault returns the transient fault the vim-cmd command cmd (as
// "vmsvc/power.on") fails with, if one strikes, using up a count or a
// draw.
func (e *engine) hostdFault(cmd string) (HostdFaultKind, bool) {
	var hit HostdFaultKind
	e.consumeFaults(func(ff *faultFile) bool {
		changed := false
		for i := 0; i < len(ff.Hostd); i++ {
			h := ff.Hostd[i]
			if h.Command != "" && strings.TrimPrefix(h.Command, "/") != cmd {
				continue
			}
			changed = true
			if h.Count > 0 {
				ff.Hostd[i].Count--
				if ff.Hostd[i].Count == 0 && h.Probability == 0 {
					ff.Hostd = append(ff.Hostd[:i], ff.Hostd[i+1:]...)
					ff.Draws = append(ff.Draws[:i], ff.Draws[i+1:]...)
				}
				hit = h.Fault
				return true
			}
			ff.Draws[i]++
			if draw(h.Seed, ff.Draws[i]) < h.Probability {
				hit = h.Fault
				return true
			}
		}
		return changed
	})
	return hit, hit != ""
}

// draw returns the n-th number, in [0, 1), of the sequence seed names.
func draw(seed, n uint64) float64 {
	return rand.New(rand.NewPCG(seed, n)).Float64()
}

// powerOnReportsFailure reports whether this power.on, which powered the
// VM on, is to report failure, using up one of the injected count.
func (e *engine) powerOnReportsFailure() bool {
	hit := false
	e.consumeFaults(func(ff *faultFile) bool {
		if ff.PowerOnReportsFailure == 0 {
			return false
		}
		ff.PowerOnReportsFailure--
		hit = true
		return true
	})
	return hit
}

// writeHostdFault prints fault k as vim-cmd does for a call whose
// arguments (after the command) are args, and returns its exit status.
// Real hosts' exit status for these is not recorded; vim-cmd exits 1 for
// the faults whose status is known. Which stream the two login messages
// go to is not recorded either; they go to standard error here.
func (p *proc) writeHostdFault(k HostdFaultKind, args []string) int {
	switch k {
	case FaultObjectGone:
		obj := "'vim.HostSystem:ha-host'"
		if len(args) > 0 && isDigits(args[0]) {
			obj = "'vim.VirtualMachine:" + args[0] + "'"
		}
		f := &vimFault{
			typ:    "vmodl.fault.ManagedObjectNotFound",
			fields: []vfield{{"obj", obj}},
			msg:    "The object has already been deleted or has not been completely created",
		}
		f.write(p.stdout)
	case FaultTaskInProgress:
		f := &vimFault{
			typ:    "vim.fault.TaskInProgress",
			fields: []vfield{{"task", "'vim.Task:haTask-ha-host-vim.host.TaskManager-12'"}},
			msg:    "Operation failed since another task is in progress.",
		}
		f.write(p.stdout)
	case FaultLoginReset:
		p.errf("Failed to login: Connection reset by peer\n")
	case FaultHostdDown:
		p.errf("Connect to localhost failed: Connection failure\n")
	}
	return 1
}

// isDigits reports whether s is a non-empty run of decimal digits.
func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
