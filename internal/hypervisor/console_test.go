package hypervisor_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/hypervisor"
)

// testDriverConsole reads a VM's serial console log: nothing before the
// VM first runs, the guest's boot messages once it has, and only the last
// 64 KiB of a long log, byte for byte, whatever it holds.
func testDriverConsole(t *testing.T, start simStarter) {
	sim := start(t)
	d, ctx := sim.d, context.Background()
	spec := simSpec("i-0c0c0c0c0c0c0c0c0")
	vmid := mustCreate(t, d, spec)

	t.Run("NotYet", func(t *testing.T) {
		out, at, err := d.ReadConsole(ctx, "datastore1", spec.Name)
		if err != nil || len(out) != 0 || !at.IsZero() {
			t.Errorf("before power-on: %q, %v, %v", out, at, err)
		}
	})

	t.Run("Boot", func(t *testing.T) {
		if err := d.PowerOn(ctx, vmid); err != nil {
			t.Fatal(err)
		}
		var out []byte
		var at time.Time
		waitFor(t, "the boot log", func() bool {
			// The simulated guest boots when the host's own commands
			// run; under OpenSSH, stat and tail are busybox's.
			if _, err := d.PowerState(ctx, vmid); err != nil {
				t.Fatal(err)
			}
			var err error
			out, at, err = d.ReadConsole(ctx, "datastore1", spec.Name)
			if err != nil {
				t.Fatal(err)
			}
			return bytes.Contains(out, []byte("login: "))
		})
		if !bytes.Contains(out, []byte("Linux version")) {
			t.Errorf("console: %q", out)
		}
		if since := time.Since(at); since < -time.Minute || since > time.Minute {
			t.Errorf("console written at %v, %s ago", at, since)
		}
	})

	t.Run("Last64KiB", func(t *testing.T) {
		// A long log whose lines look like vim faults and shell syntax.
		var b strings.Builder
		for b.Len() < 100<<10 {
			b.WriteString("(vim.fault.NotFound) {\n   msg = \"$(reboot)\",\n}\n'\\''\n")
		}
		b.WriteString("\x00\xff the end, without a newline")
		long := b.String()
		path, _ := d.DatastorePath("[datastore1] " + spec.Name + "/" + hypervisor.ConsoleFile)
		res, err := sim.tr.Run(ctx, "cat > "+hypervisor.Quote(path), strings.NewReader(long))
		if err != nil || res.ExitStatus != 0 {
			t.Fatalf("write the log: %v %+v", err, res)
		}
		out, _, err := d.ReadConsole(ctx, "datastore1", spec.Name)
		if err != nil {
			t.Fatal(err)
		}
		if want := long[len(long)-hypervisor.MaxConsoleBytes:]; string(out) != want {
			t.Errorf("got %d bytes ending %q, want the last %d ending %q",
				len(out), tail(out), len(want), tail([]byte(want)))
		}
	})
}

// tail returns the last few bytes of b, to show in a failure.
func tail(b []byte) []byte { return b[max(0, len(b)-24):] }
