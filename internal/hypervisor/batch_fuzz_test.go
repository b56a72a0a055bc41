package hypervisor

import (
	"strconv"
	"strings"
	"testing"
)

// fuzzNonce is the nonce of the batches the fuzz target splits. A real
// batch's nonce is random, so no command output holds it; the target
// skips outputs that do.
const fuzzNonce = "0123456789abcdef"

// fuzzBatch returns a batch of the sections Observe and Probe run, with
// the fixed nonce.
func fuzzBatch() *batch {
	b := &batch{nonce: fuzzNonce}
	b.add("vms", "vim-cmd vmsvc/getallvms")
	b.add("guest i-0123456789abcdef0", "vim-cmd vmsvc/get.guest 6")
	return b
}

// printSection writes one section as the batch script's printf lines do.
func printSection(b *strings.Builder, nonce, name, out string, status uint8) {
	b.WriteString("===MC " + nonce + " begin " + name + "===\n")
	b.WriteString(out)
	b.WriteString("\n===MC " + nonce + " end " + name + " " + strconv.Itoa(int(status)) + "===\n")
}

// FuzzBatchSplit cuts any output into a batch's sections without
// panicking, and gets back exactly what each command printed, whatever
// that was, as long as it does not hold the batch's nonce.
func FuzzBatchSplit(f *testing.F) {
	f.Add("6 i-0 [datastore1] i-0/i-0.vmx otherGuest vmx-14\n", "(vim.vm.GuestInfo) {\n}", uint8(0), uint8(1))
	f.Add("===MC x begin vms===\n", "\n===MC 0000 end vms 0===\n", uint8(255), uint8(0))
	f.Add("", "no newline", uint8(3), uint8(0))
	f.Fuzz(func(t *testing.T, out1, out2 string, status1, status2 uint8) {
		b := fuzzBatch()

		// Anything at all, as when the shell died midway.
		for _, junk := range []string{out1, out1 + out2} {
			secs, err := b.split(junk)
			if err != nil {
				continue
			}
			for name, s := range secs {
				if !strings.Contains(junk, s.out) {
					t.Fatalf("section %q: output %q is not in what was printed", name, s.out)
				}
			}
		}

		// What the commands printed, framed by the markers.
		if strings.Contains(out1+out2, fuzzNonce) {
			return
		}
		var sb strings.Builder
		sb.WriteString("banner the shell printed first\n")
		printSection(&sb, fuzzNonce, "vms", out1, status1)
		printSection(&sb, fuzzNonce, "guest i-0123456789abcdef0", out2, status2)
		secs, err := b.split(sb.String())
		if err != nil {
			t.Fatalf("split: %v\n%q", err, sb.String())
		}
		want := map[string]section{
			"vms":                       {out: out1, status: int(status1)},
			"guest i-0123456789abcdef0": {out: out2, status: int(status2)},
		}
		for name, w := range want {
			if got := secs[name]; got != w {
				t.Fatalf("section %q: got %+v, want %+v", name, got, w)
			}
		}
	})
}
