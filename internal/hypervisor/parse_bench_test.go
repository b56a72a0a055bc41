package hypervisor

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// getAllVMsOutput returns what getallvms prints on a host with n VMs
// named as minicloud names them.
func getAllVMsOutput(n int) string {
	var b strings.Builder
	b.WriteString("Vmid          Name                                    File" +
		"                                    Guest OS       Version   Annotation\n")
	for i := range n {
		name := fmt.Sprintf("i-0%016x", i)
		fmt.Fprintf(&b, "%-6d %s   [datastore1] %s/%s.vmx   debian12_64Guest   vmx-19\n",
			i+1, name, name, name)
	}
	return b.String()
}

// BenchmarkParseGetAllVMs reads the inventory of a host with 1,000 VMs,
// what the observer reads from each host on every tick.
func BenchmarkParseGetAllVMs(b *testing.B) {
	out := getAllVMsOutput(1000)
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if vms := parseGetAllVMs(out); len(vms) != 1000 {
			b.Fatalf("%d VMs, want 1000", len(vms))
		}
	}
}

// BenchmarkParseGuest reads the guest information of a VM whose VMware
// Tools run, as the observer does for each booting guest.
func BenchmarkParseGuest(b *testing.B) {
	data, err := os.ReadFile("testdata/guest/tools-running.txt")
	if err != nil {
		b.Fatal(err)
	}
	out := string(data)
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if g := parseGuest(out); g.IPAddress == "" {
			b.Fatal("no address parsed")
		}
	}
}
