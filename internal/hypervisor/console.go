package hypervisor

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"
)

// ConsoleFile is the file in a VM's folder that its first serial port
// writes to: VMXFor points serial0 at it, and the guest's kernel and
// cloud-init print their boot messages there (console=ttyS0).
const ConsoleFile = "console.log"

// MaxConsoleBytes is how much of the end of a console log ReadConsole
// returns: the 64 KiB that EC2's GetConsoleOutput returns at most.
const MaxConsoleBytes = 64 << 10

// ReadConsole returns the last MaxConsoleBytes of the serial console log
// of VM name on datastore ds, and when the log was last written, in one
// exec (stat -c %Y and tail -c, which busybox has). A VM that has no log
// yet, as before its first power-on, gives no output and the zero time.
// It returns an *Error if the host cannot be reached or the log cannot be
// read.
func (d *ESXi) ReadConsole(ctx context.Context, ds, name string) ([]byte, time.Time, error) {
	const op = "read console"
	if err := checkName("datastore", ds); err != nil {
		return nil, time.Time{}, err
	}
	if err := checkName("vm", name); err != nil {
		return nil, time.Time{}, err
	}

	// The first line is the time, the rest the log's end, byte for byte;
	// the log's text is never taken for a vim fault.
	path := d.vmDir(ds, name) + "/" + ConsoleFile
	cmd := fmt.Sprintf(`set -- %s && if [ -f "$1" ]; then stat -c %%Y "$1" && tail -c %d "$1"; fi`,
		Quote(path), MaxConsoleBytes)
	res, err := d.exec(ctx, op, cmd, nil)
	if err != nil {
		return nil, time.Time{}, err
	}
	if res.ExitStatus != 0 {
		return nil, time.Time{}, newCmdError(d.host, op, cmd, res)
	}
	if len(res.Stdout) == 0 {
		return nil, time.Time{}, nil
	}
	stamp, out, _ := bytes.Cut(res.Stdout, []byte("\n"))
	secs, perr := strconv.ParseInt(string(bytes.TrimSpace(stamp)), 10, 64)
	if perr != nil {
		return nil, time.Time{}, &Error{Host: d.host, Op: op, Cmd: cmd,
			Err: fmt.Errorf("read the console's time: %w", perr)}
	}
	return out, time.Unix(secs, 0).UTC(), nil
}
