//go:build unix

package hypervisor

import (
	"os/exec"
	"syscall"
)

// killGroupOnCancel runs c in its own process group and makes a cancelled
// context kill the whole group, so that children of the shell (a vim-cmd,
// a sleep) die with it instead of holding the output pipes open.
func killGroupOnCancel(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error {
		return syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
	}
}
