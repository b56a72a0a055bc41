package hypervisor

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Transport errors. They are wrapped, so test for them with errors.Is or the
// Is* predicates.
var (
	// ErrAuthFailed means the host rejected the credentials. It is
	// permanent: the SSH transport does not dial again until Reset, because
	// ESXi locks the account after five failed logins.
	ErrAuthFailed = errors.New("ssh authentication failed")

	// ErrHostKeyMismatch means the host presented a key other than the one
	// configured. It is permanent until Reset.
	ErrHostKeyMismatch = errors.New("ssh host key mismatch")

	// ErrUnreachable means the host could not be dialled, or a recent dial
	// failed and the transport is backing off. It is transient.
	ErrUnreachable = errors.New("host unreachable")

	// ErrConnectionLost means the connection broke before a command's end
	// was seen; the command may or may not have run. It is transient.
	ErrConnectionLost = errors.New("ssh connection lost")

	// ErrSessionRefused means the host refused to open a session on a
	// working connection, as sshd does past its MaxSessions. It is transient.
	ErrSessionRefused = errors.New("ssh session refused")

	// ErrClosed means Run was called after Close.
	ErrClosed = errors.New("transport closed")
)

// Error is a failed command on an ESXi host: either the transport could not
// run it (Err is set) or it ran and failed (ExitStatus, Fault, Msg).
type Error struct {
	Host       string // the host's name, as given in Options.Host
	Op         string // what the driver was doing, e.g. "power on"
	Cmd        string // the shell command line; never holds secrets
	ExitStatus int    // the command's exit status
	Fault      string // the vim fault type, e.g. vim.fault.NotFound
	Msg        string // the fault's msg, or the last line printed
	Output     string // stdout then stderr, trimmed
	Err        error  // the transport's error, if the command did not run
}

// Error returns "host: op: cause".
func (e *Error) Error() string {
	var cause string
	switch {
	case e.Err != nil:
		cause = e.Err.Error()
	case e.Fault != "" && e.Msg != "":
		cause = e.Fault + ": " + e.Msg
	case e.Fault != "":
		cause = e.Fault
	case e.Msg != "":
		cause = fmt.Sprintf("%s (exit status %d)", e.Msg, e.ExitStatus)
	default:
		cause = fmt.Sprintf("exit status %d", e.ExitStatus)
	}
	return fmt.Sprintf("%s: %s: %s", e.Host, e.Op, cause)
}

// Unwrap returns the transport's error, if any.
func (e *Error) Unwrap() error { return e.Err }

// maxOutput bounds the output an Error keeps.
const maxOutput = 4096

// newCmdError describes a command that ran and failed, reading the vim
// fault and its message from what the command printed.
func newCmdError(host, op, cmd string, res Result) *Error {
	out := strings.TrimSpace(string(res.Stdout) + "\n" + string(res.Stderr))
	e := &Error{Host: host, Op: op, Cmd: cmd, ExitStatus: res.ExitStatus, Output: out}
	if len(e.Output) > maxOutput {
		e.Output = e.Output[:maxOutput]
	}
	e.Fault, e.Msg = parseFault(out)
	if e.Msg == "" {
		e.Msg = lastLine(out)
	}
	return e
}

// faultTypeRE matches fault types: vim.fault.X, vmodl.fault.X, vmodl.MethodFault.
var faultTypeRE = regexp.MustCompile(`(^|\.)fault\.|Fault$`)

// parseFault finds the first fault block in out, such as
//
//	(vim.fault.NotFound) {
//	   msg = "Unable to find a VM corresponding to "2"",
//	}
//
// and returns its type and msg; both are empty when out has no fault.
func parseFault(out string) (fault, msg string) {
	lines := strings.Split(out, "\n")
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "(") || !strings.HasSuffix(line, "{") {
			continue
		}
		// The type must be a fault's and open a block: "(x.fault.Y) 0{"
		// is neither.
		end := strings.Index(line, ")")
		if end < 0 || !faultTypeRE.MatchString(line[1:end]) ||
			strings.TrimSpace(line[end+1:]) != "{" {
			continue
		}
		root := parseVmodl(strings.Join(lines[i:], "\n"))
		return root.typ, root.get("msg").str()
	}
	return "", ""
}

// lastLine returns the last non-empty line of s, trimmed.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// asError returns err's *Error, or nil.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// IsNotFound reports whether err says the VM or object does not exist
// (vim.fault.NotFound).
func IsNotFound(err error) bool {
	e := asError(err)
	return e != nil && e.Err == nil && e.Fault == "vim.fault.NotFound"
}

// IsAlreadyExists reports whether err says the object is already there, as
// registervm does for a .vmx that is already registered.
func IsAlreadyExists(err error) bool {
	e := asError(err)
	return e != nil && e.Err == nil &&
		(e.Fault == "vim.fault.AlreadyExists" || e.Fault == "vim.fault.DuplicateName")
}

// IsInvalidPowerState reports whether err says the VM is not in a state
// that allows the operation (for example powering on a running VM).
func IsInvalidPowerState(err error) bool {
	e := asError(err)
	return e != nil && e.Err == nil && e.Fault == "vim.fault.InvalidPowerState"
}

// IsToolsUnavailable reports whether err says the operation needs VMware
// Tools running in the guest (guest shutdown and reboot).
func IsToolsUnavailable(err error) bool {
	e := asError(err)
	return e != nil && e.Err == nil && (e.Fault == "vim.fault.ToolsUnavailable" ||
		strings.Contains(e.Msg, "VMware Tools is not running"))
}

// transientFaults are vim faults that go away when the call is repeated.
var transientFaults = map[string]bool{
	"vmodl.fault.ManagedObjectNotFound": true, // added or removed under our feet
	"vim.fault.TaskInProgress":          true,
	"vmodl.fault.HostCommunication":     true,
}

// transientMessages are what hosts print when hostd is busy or restarting.
var transientMessages = []string{
	"has already been deleted or has not been completely created",
	"Failed to login: Connection reset by peer",
	"Connect to localhost failed: Connection failure",
	"Operation failed since another task is in progress.",
}

// IsTransient reports whether err is likely to go away if the same call is
// made again a little later: hostd busy or restarting, an object seen while
// being created or deleted, a lost or refused connection. The driver never
// retries by itself; callers retry with their own policy. Authentication
// and host-key failures are never transient.
func IsTransient(err error) bool {
	if err == nil || IsAuth(err) || IsHostKey(err) {
		return false
	}
	if errors.Is(err, ErrConnectionLost) || errors.Is(err, ErrUnreachable) ||
		errors.Is(err, ErrSessionRefused) {
		return true
	}
	e := asError(err)
	if e == nil || e.Err != nil {
		return false
	}
	if transientFaults[e.Fault] {
		return true
	}
	for _, m := range transientMessages {
		if strings.Contains(e.Output, m) || strings.Contains(e.Msg, m) {
			return true
		}
	}
	return false
}

// IsAuth reports whether err is a rejected login. Such an error is
// permanent: retrying could lock the ESXi account.
func IsAuth(err error) bool { return errors.Is(err, ErrAuthFailed) }

// IsHostKey reports whether err is a host-key mismatch, which is permanent.
func IsHostKey(err error) bool { return errors.Is(err, ErrHostKeyMismatch) }
