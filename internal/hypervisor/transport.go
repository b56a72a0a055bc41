package hypervisor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// Transport runs shell commands on one ESXi host.
//
// Run returns a Go error only when the command could not be run or its end
// could not be observed (dial, authentication, session, context, a lost
// connection). A command that ran and exited non-zero is not an error: its
// status is in Result.ExitStatus and the caller interprets it.
type Transport interface {
	// Run runs cmd with /bin/sh -c semantics on the host, feeding it stdin
	// (nil for none), and returns what it printed and its exit status.
	Run(ctx context.Context, cmd string, stdin io.Reader) (Result, error)

	// Close releases the transport's connections. Run fails after Close.
	Close() error
}

// Result is what a command printed and how it exited.
type Result struct {
	Stdout     []byte
	Stderr     []byte
	ExitStatus int
}

// Quote returns s single-quoted for busybox ash and other POSIX shells, so
// that the shell passes it through as exactly one word with no expansion.
// An embedded single quote ends the quoted run, is escaped with a
// backslash, and a new run starts:
//
//	it's  ->  'it'\''s'
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// LocalTransport runs commands on this machine with /bin/sh -c. It is used
// when minicloud runs on the ESXi host itself. The zero value is ready to use.
type LocalTransport struct {
	// Shell is the shell to run commands with; empty means /bin/sh.
	Shell string
}

// Run implements Transport. It returns an error if the shell cannot be
// started or ctx ends before the command does.
func (l *LocalTransport) Run(ctx context.Context, cmd string, stdin io.Reader) (Result, error) {
	shell := l.Shell
	if shell == "" {
		shell = "/bin/sh"
	}

	// Run the command; WaitDelay stops a background child that keeps the
	// output pipes open from holding Run forever.
	c := exec.CommandContext(ctx, shell, "-c", cmd)
	killGroupOnCancel(c)
	c.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	c.Stdin, c.Stdout, c.Stderr = stdin, &stdout, &stderr
	err := c.Run()

	// A non-zero exit is a result, not an error, unless ctx ended it.
	res := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if ctx.Err() != nil {
		return res, fmt.Errorf("local exec: %w", ctx.Err())
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.ExitCode() >= 0:
		res.ExitStatus = exitErr.ExitCode()
	default:
		return res, fmt.Errorf("local exec: %w", err)
	}
	return res, nil
}

// Close implements Transport; a local transport holds nothing.
func (l *LocalTransport) Close() error { return nil }
