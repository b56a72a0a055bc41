package hypervisor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// stubHost stands in for an ESXi host's commands in unit tests. Commands
// run through a real shell (busybox ash if installed, else /bin/sh), with vim-cmd, esxcli, vmware and vmkfstools
// replaced by one stub script that logs its exact argv and prints the
// answer registered for that argv. rm, mkdir and cat are the real ones,
// working under a temporary VolumesRoot.
type stubHost struct {
	t     *testing.T
	dir   string // the stub's bin, log and answers
	root  string // the VolumesRoot
	shell string // busybox's ash when this machine has it, as on ESXi
	execs atomic.Int64
}

// stubScript logs "argc\0argv...\0" and answers from resp/SHA256(argv).
const stubScript = `#!/bin/sh
name=$(basename "$0")
printf '%d\0' "$(($# + 1))" >> "$STUB_DIR/calls"
printf '%s\0' "$name" "$@" >> "$STUB_DIR/calls"
key=$(printf '%s\0' "$name" "$@" | sha256sum | cut -c1-64)
if [ -f "$STUB_DIR/resp/$key.out" ]; then
	cat "$STUB_DIR/resp/$key.out"
	exit "$(cat "$STUB_DIR/resp/$key.rc")"
fi
echo "stub: no answer for $name $*" >&2
exit 99
`

// newStubHost sets up the stub commands in a temporary directory.
func newStubHost(t *testing.T) *stubHost {
	t.Helper()
	h := &stubHost{t: t, dir: t.TempDir(), root: t.TempDir()}
	for _, d := range []string{"bin", "resp"} {
		if err := os.Mkdir(filepath.Join(h.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	stub := filepath.Join(h.dir, "bin", "stub")
	if err := os.WriteFile(stub, []byte(stubScript), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"vim-cmd", "esxcli", "vmware", "vmkfstools"} {
		if err := os.Symlink(stub, filepath.Join(h.dir, "bin", name)); err != nil {
			t.Fatal(err)
		}
	}

	// Run commands with busybox's ash, ESXi's shell, when it is here:
	// busybox picks the applet from the name it is called by.
	if bb, err := exec.LookPath("busybox"); err == nil {
		h.shell = filepath.Join(h.dir, "sh")
		if err := os.Symlink(bb, h.shell); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// on registers what the host prints, and its exit status, for argv.
func (h *stubHost) on(out string, status int, argv ...string) {
	h.t.Helper()
	sum := sha256.Sum256([]byte(strings.Join(argv, "\x00") + "\x00"))
	base := filepath.Join(h.dir, "resp", hex.EncodeToString(sum[:]))
	if err := os.WriteFile(base+".out", []byte(out), 0o644); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(base+".rc", []byte(strconv.Itoa(status)), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// onFixture registers a fixture file as the answer for argv.
func (h *stubHost) onFixture(file string, status int, argv ...string) {
	h.t.Helper()
	h.on(fixture(h.t, file), status, argv...)
}

// calls returns the argv of every stub command run so far, in order.
func (h *stubHost) calls() [][]string {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.dir, "calls"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		h.t.Fatal(err)
	}
	var calls [][]string
	fields := strings.Split(string(b), "\x00")
	for i := 0; i+1 < len(fields); {
		n, err := strconv.Atoi(fields[i])
		if err != nil || i+1+n > len(fields) {
			h.t.Fatalf("bad call log at field %d: %q", i, fields[i])
		}
		calls = append(calls, fields[i+1:i+1+n])
		i += 1 + n
	}
	return calls
}

// callLines returns the calls as space-joined lines, for readable checks.
func (h *stubHost) callLines() []string {
	var lines []string
	for _, c := range h.calls() {
		lines = append(lines, strings.Join(c, " "))
	}
	return lines
}

// Run implements Transport: it runs cmd with the stubs first on PATH.
func (h *stubHost) Run(ctx context.Context, cmd string, stdin io.Reader) (Result, error) {
	h.execs.Add(1)
	env := "STUB_DIR=" + Quote(h.dir) + "; export STUB_DIR; PATH=" +
		Quote(filepath.Join(h.dir, "bin")) + ":$PATH\n"
	lt := LocalTransport{Shell: h.shell}
	return lt.Run(ctx, env+cmd, stdin)
}

// Close implements Transport.
func (h *stubHost) Close() error { return nil }

// driver returns an ESXi driver on the stub host.
func (h *stubHost) driver() *ESXi {
	return NewESXi(h, Options{Host: "esxi-stub", VolumesRoot: h.root})
}

// mkfile creates a file under the VolumesRoot.
func (h *stubHost) mkfile(rel, content string) {
	h.t.Helper()
	p := filepath.Join(h.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// exists reports whether rel exists under the VolumesRoot.
func (h *stubHost) exists(rel string) bool {
	_, err := os.Stat(filepath.Join(h.root, rel))
	return err == nil
}

// read returns the content of rel under the VolumesRoot.
func (h *stubHost) read(rel string) string {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.root, rel))
	if err != nil {
		h.t.Fatal(err)
	}
	return string(bytes.Clone(b))
}
