//go:build !unix

package hypervisor

import "os/exec"

// killGroupOnCancel leaves the default: a cancelled context kills the shell.
func killGroupOnCancel(c *exec.Cmd) {}
