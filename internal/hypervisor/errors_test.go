package hypervisor

import (
	"errors"
	"fmt"
	"testing"
)

// faultError builds the *Error the driver returns for fixture file.
func faultError(t *testing.T, file string) *Error {
	t.Helper()
	return newCmdError("esxi01", "test", "vim-cmd x",
		Result{Stdout: []byte(fixture(t, file)), ExitStatus: 1})
}

func TestNewCmdError_Faults(t *testing.T) {
	tests := []struct {
		file      string
		fault     string
		msg       string
		notFound  bool
		exists    bool
		power     bool
		tools     bool
		transient bool
	}{
		{file: "fault/notfound-vmid.txt", fault: "vim.fault.NotFound",
			msg: `Unable to find a VM corresponding to "2"`, notFound: true},
		{file: "fault/old-host-dynamic-type.txt", fault: "vim.fault.NotFound",
			msg: `Unable to find a VM corresponding to "42"`, notFound: true},
		{file: "fault/notfound-vmx.txt", fault: "vim.fault.NotFound",
			msg: "The object or item referred to could not be found.", notFound: true},
		{file: "fault/already-exists.txt", fault: "vim.fault.AlreadyExists",
			msg: "The specified key, name, or identifier '51' already exists.", exists: true},
		{file: "power/on-invalid-state.txt", fault: "vim.fault.InvalidPowerState",
			msg:   "The attempted operation cannot be performed in the current state (Powered On).",
			power: true},
		{file: "fault/tools-unavailable.txt", fault: "vim.fault.ToolsUnavailable",
			msg:   "Cannot complete operation because VMware Tools is not running in this virtual machine.",
			tools: true},
		{file: "fault/managed-object-not-found.txt", fault: "vmodl.fault.ManagedObjectNotFound",
			msg:       "The object has already been deleted or has not been completely created",
			transient: true},
		{file: "fault/task-in-progress.txt", fault: "vim.fault.TaskInProgress",
			msg: "Operation failed since another task is in progress.", transient: true},
		{file: "fault/login-reset.txt", msg: "Failed to login: Connection reset by peer",
			transient: true},
		{file: "fault/connect-localhost.txt",
			msg: "Connect to localhost failed: Connection failure", transient: true},
		{file: "fault/another-task.txt", msg: "Operation failed since another task is in progress.",
			transient: true},
		{file: "power/on-failed-old.txt", msg: "Power on failed"},
		{file: "storage/vmkfstools-no-space.txt",
			msg: "Failed to clone disk : No space left on device (1835017)."},
		{file: "storage/vmkfstools-not-a-disk.txt",
			msg: "DiskLib_Check() failed for source disk The file specified is not a virtual disk (15)."},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			e := faultError(t, tt.file)
			if e.Fault != tt.fault || e.Msg != tt.msg {
				t.Errorf("got fault %q msg %q\nwant fault %q msg %q", e.Fault, e.Msg, tt.fault, tt.msg)
			}
			var err error = fmt.Errorf("wrapped: %w", e)
			checks := []struct {
				name string
				got  bool
				want bool
			}{
				{"IsNotFound", IsNotFound(err), tt.notFound},
				{"IsAlreadyExists", IsAlreadyExists(err), tt.exists},
				{"IsInvalidPowerState", IsInvalidPowerState(err), tt.power},
				{"IsToolsUnavailable", IsToolsUnavailable(err), tt.tools},
				{"IsTransient", IsTransient(err), tt.transient},
				{"IsAuth", IsAuth(err), false},
				{"IsHostKey", IsHostKey(err), false},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
				}
			}
		})
	}
}

func TestError_Error(t *testing.T) {
	t.Run("Fault", func(t *testing.T) {
		e := faultError(t, "fault/notfound-vmid.txt")
		want := `esxi01: test: vim.fault.NotFound: Unable to find a VM corresponding to "2"`
		if got := e.Error(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("Transport", func(t *testing.T) {
		cause := fmt.Errorf("%w: esxi01: EOF", ErrConnectionLost)
		e := &Error{Host: "esxi01", Op: "power on", Cmd: "vim-cmd vmsvc/power.on '6'", Err: cause}
		if !errors.Is(e, ErrConnectionLost) || !IsTransient(e) {
			t.Errorf("a lost connection is not transient: %v", e)
		}
		if IsNotFound(e) {
			t.Error("a transport error read as NotFound")
		}
	})
}

func TestIsTransient_Permanent(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("%w: bad password", ErrAuthFailed),
		fmt.Errorf("%w: wrong key", ErrHostKeyMismatch),
		&Error{Host: "h", Op: "o", Err: fmt.Errorf("%w: x", ErrAuthFailed)},
	} {
		if IsTransient(err) {
			t.Errorf("%v: read as transient", err)
		}
	}
	if !IsAuth(&Error{Err: fmt.Errorf("%w: x", ErrAuthFailed)}) {
		t.Error("IsAuth does not see through *Error")
	}
}

func TestParseFault_NoFault(t *testing.T) {
	for _, file := range []string{"guest/tools-running.txt", "host/hostsummary-7.0.3.txt",
		"summary/summary-7.0.txt", "power/on.txt", "power/off.txt", "power/registervm-7.txt",
		"power/registervm-old.txt", "storage/vmkfstools-clone.txt",
		"storage/vmkfstools-clone-zeroedthick.txt", "storage/vmkfstools-clone-progress.txt",
		"storage/vmkfstools-create.txt", "storage/vmkfstools-create-eager.txt",
		"question/uuid-altered-reference.txt"} {
		if f, _ := parseFault(fixture(t, file)); f != "" {
			t.Errorf("%s: found fault %q in normal output", file, f)
		}
	}
}
