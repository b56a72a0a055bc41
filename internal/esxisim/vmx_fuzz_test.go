package esxisim

import (
	"regexp"
	"strings"
	"testing"

	"github.com/minicloud/minicloud/internal/hypervisor"
)

// The simulated host reads the .vmx files that minicloud's driver writes,
// with a reader of its own, as hostd reads them on a real host. The fuzz
// targets here check that reader alone, and that it and the driver's
// reader agree on every file the driver's writer can produce.

// simKeyRE is the set of keys the driver's writer accepts, and so the
// keys a .vmx written by minicloud can hold.
var simKeyRE = regexp.MustCompile(`^[A-Za-z0-9_.][A-Za-z0-9_.:\-]*$`)

// FuzzSimVMX checks that the simulated host's reader takes any file
// without panicking, that a file it writes back reads the same, and that
// a value it sets, whatever it holds, reads back unchanged without
// touching the other keys.
func FuzzSimVMX(f *testing.F) {
	f.Add([]byte(testVMX("web", 1)), "guestinfo.userdata", "#cloud-config\nruncmd: [\"a|b\"]\n")
	f.Add([]byte("# c\r\nnumvcpus=4\r\nNumVCPUs = \"8\"\r\nodd = \"a|zz\"\r\n"), "NUMVCPUS", "2")
	f.Add([]byte("a = \"1\"\nno equals here\n\n b = '2' \n"), "b", "")
	f.Fuzz(func(t *testing.T, data []byte, key, value string) {
		// Keys are kept as first spelled: case folding is the reader's
		// to do, and some letters (İ) do not survive a round through
		// strings.ToLower.
		v := parseVMX(data)
		before := map[string]string{}
		for _, k := range v.keys() {
			got, ok := v.get(k)
			if !ok {
				t.Fatalf("key %q listed but not set", k)
			}
			before[k] = got
		}

		// What it writes back reads the same.
		again := parseVMX(v.bytes())
		for k, want := range before {
			if got := again.value(k); got != want {
				t.Fatalf("key %q: %q after writing back, want %q\n%q", k, got, want, v.bytes())
			}
		}

		// A value set under a key the driver could write reads back, and
		// the other keys keep theirs.
		if !simKeyRE.MatchString(key) {
			return
		}
		v.set(key, value)
		back := parseVMX(v.bytes())
		if got, ok := back.get(key); !ok || got != value {
			t.Fatalf("key %q: got %q, %v; want %q\n%q", key, got, ok, value, v.bytes())
		}
		for k, want := range before {
			if strings.EqualFold(k, key) {
				continue
			}
			if got := back.value(k); got != want {
				t.Fatalf("key %q: %q after setting %q, want %q", k, got, key, want)
			}
		}
	})
}

// FuzzVMXReadersAgree checks the driver's writer against the simulated
// host's reader, and the other way round: a file the driver writes, with
// any value under any key it accepts, reads the same on the simulated
// host; a file the simulated host writes reads the same in the driver;
// and any file both readers take reads the same in both.
func FuzzVMXReadersAgree(f *testing.F) {
	f.Add(testVMX("web", 1), "guestinfo.metadata", "{\"instance-id\": \"i-0abc\"}\n")
	f.Add("displayName = \"a|7Cb\"\n# x\r\n", "annotation", "line one\nline two | \"quoted\" #3")
	f.Add("a=1\nA = \"2\"\n", "a", "|22")
	f.Fuzz(func(t *testing.T, text, key, value string) {
		// Any file both take reads the same in both.
		drv, err := hypervisor.ParseVMX(text)
		if err == nil {
			sim := parseVMX([]byte(text))
			agree(t, "as written by hand", drv, sim)
		}

		if !simKeyRE.MatchString(key) {
			return
		}

		// The driver's writer, read on the simulated host.
		if drv == nil {
			drv, _ = hypervisor.ParseVMX(testVMX("web", 1))
		}
		if err := drv.Set(key, value); err != nil {
			t.Fatalf("driver refused key %q: %v", key, err)
		}
		written := drv.String()
		sim := parseVMX([]byte(written))
		if got := sim.value(key); got != value {
			t.Fatalf("driver wrote %q = %q; simulated host read %q\n%q", key, value, got, written)
		}
		agree(t, "as the driver wrote it", drv, sim)

		// The simulated host's writer, read by the driver.
		sim.set(key, value+"|#\"")
		back, err := hypervisor.ParseVMX(string(sim.bytes()))
		if err != nil {
			t.Fatalf("the driver cannot read what the simulated host wrote: %v\n%q",
				err, sim.bytes())
		}
		if got, _ := back.Get(key); got != value+"|#\"" {
			t.Fatalf("simulated host wrote %q = %q; driver read %q", key, value+"|#\"", got)
		}
		agree(t, "as the simulated host wrote it", back, sim)
	})
}

// agree fails t unless both readers see the same keys with the same
// values.
func agree(t *testing.T, what string, drv *hypervisor.VMX, sim *vmxFile) {
	t.Helper()
	drvKeys, simKeys := drv.Keys(), sim.keys()
	if strings.ToLower(strings.Join(drvKeys, "\n")) != strings.ToLower(strings.Join(simKeys, "\n")) {
		t.Fatalf("%s: the driver reads keys %q, the simulated host %q\n%q",
			what, drvKeys, simKeys, drv.String())
	}
	for _, k := range drvKeys {
		d, _ := drv.Get(k)
		if s := sim.value(k); s != d {
			t.Fatalf("%s: key %q is %q to the driver, %q to the simulated host\n%q",
				what, k, d, s, drv.String())
		}
	}
}
