package hypervisor

import (
	"reflect"
	"testing"
)

func TestParseGetAllVMs_Golden(t *testing.T) {
	for _, name := range fixtures(t, "getallvms") {
		t.Run(name, func(t *testing.T) {
			checkGolden(t, name, parseGetAllVMs(fixture(t, name)))
		})
	}
}

func TestParseGetAllVMs(t *testing.T) {
	t.Run("EmptyHost", func(t *testing.T) {
		if got := parseGetAllVMs(fixture(t, "getallvms/empty-9.0.txt")); len(got) != 0 {
			t.Errorf("got %d vms, want none: %+v", len(got), got)
		}
	})

	t.Run("Rows", func(t *testing.T) {
		got := parseGetAllVMs(fixture(t, "getallvms/rows-7.0.3.txt"))
		want := []VM{
			{ID: "6", Name: "m2", Datastore: "datastore1", VMXPath: "[datastore1] m2/m2.vmx",
				GuestOS: "centos8_64Guest", Version: "vmx-15"},
			{ID: "130", Name: "fnOS", Datastore: "samsung_4t",
				VMXPath: "[samsung_4t] virtualMachine/fnOS/fnOS.vmx",
				GuestOS: "debian11_64Guest", Version: "vmx-19"},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
	})

	t.Run("NamesWithBracketsAndMultiLineAnnotations", func(t *testing.T) {
		got := parseGetAllVMs(fixture(t, "getallvms/annotations.txt"))
		if len(got) != 3 {
			t.Fatalf("got %d vms, want 3: %+v", len(got), got)
		}
		if got[0].Name != "web server [prod]" || got[0].Datastore != "My Datastore" {
			t.Errorf("vm 1: got name %q on %q", got[0].Name, got[0].Datastore)
		}
		if got, want := got[0].Annotation, "Front end; owner: ops"; got != want {
			t.Errorf("vm 1 annotation: got %q, want %q", got, want)
		}
		want := "first line of the notes\n2 CPUs, 4 GB, do not resize\n[see wiki] for details"
		if got[1].Annotation != want {
			t.Errorf("vm 2 annotation: got %q, want %q", got[1].Annotation, want)
		}
		if got[2].ID != "12345678" || got[2].Name != "db01" || got[2].Annotation != "" {
			t.Errorf("vm 3: got %+v", got[2])
		}
	})

	t.Run("SkippingInvalidVMIgnored", func(t *testing.T) {
		got := parseGetAllVMs(fixture(t, "getallvms/skipping.txt"))
		if len(got) != 2 || got[0].ID != "7" || got[1].ID != "8" {
			t.Fatalf("got %+v, want vms 7 and 8", got)
		}
		if got[0].Annotation != "" {
			t.Errorf("a Skipping line became an annotation: %q", got[0].Annotation)
		}
	})
}

func TestParsePowerState(t *testing.T) {
	tests := []struct {
		file string
		want PowerState
	}{
		{"power/getstate-on.txt", PoweredOn},
		{"power/getstate-off.txt", PoweredOff},
		{"power/getstate-suspended.txt", Suspended},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := parsePowerState(fixture(t, tt.file))
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	t.Run("ErrNoState", func(t *testing.T) {
		if _, err := parsePowerState("Retrieved runtime info\n"); err == nil {
			t.Error("got no error for output without a state")
		}
	})
}

func TestParseGuest_Golden(t *testing.T) {
	for _, name := range fixtures(t, "guest") {
		t.Run(name, func(t *testing.T) {
			checkGolden(t, name, parseGuest(fixture(t, name)))
		})
	}
}

func TestParseGuest(t *testing.T) {
	tests := []struct {
		file string
		want GuestInfo
	}{
		{"guest/tools-running.txt", GuestInfo{ToolsRunning: true, IPAddress: "192.168.200.9",
			HostName: "debian", IPs: []string{"192.168.200.9", "fe80::20c:29ff:fe62:e86d"}}},
		{"guest/no-tools-unset.txt", GuestInfo{}},
		{"guest/no-tools-empty.txt", GuestInfo{}},
		{"guest/old-host-5.5.txt", GuestInfo{ToolsRunning: true, IPAddress: "10.0.0.21",
			HostName: "build01.lab",
			IPs:      []string{"10.0.0.21", "fe80::250:56ff:fe9a:1b2c", "10.0.1.21"}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			if got := parseGuest(fixture(t, tt.file)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseSummary(t *testing.T) {
	for _, name := range fixtures(t, "summary") {
		t.Run(name, func(t *testing.T) {
			checkGolden(t, name, parseSummary(fixture(t, name)))
		})
	}

	t.Run("PoweredOn", func(t *testing.T) {
		got := parseSummary(fixture(t, "summary/summary-7.0.txt"))
		want := VMSummary{Name: "m2", VMXPath: "[datastore1] m2/m2.vmx", PowerState: PoweredOn,
			IPAddress: "192.168.1.50", ToolsRunning: true, MemoryMB: 2048, NumCPU: 2,
			UptimeSeconds: 86432}
		if got != want {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
	})

	t.Run("PoweredOffWithMultiLineAnnotation", func(t *testing.T) {
		got := parseSummary(fixture(t, "summary/summary-off.txt"))
		if got.PowerState != PoweredOff || got.VMXPath != "[My Datastore] i-0abc/i-0abc.vmx" ||
			got.IPAddress != "" || got.MemoryMB != 512 || got.UptimeSeconds != 0 {
			t.Errorf("got %+v", got)
		}
		root := parseVmodl(fixture(t, "summary/summary-off.txt"))
		if got, want := root.get("config", "annotation").str(),
			"first line\nsecond \"quoted\" line"; got != want {
			t.Errorf("annotation: got %q, want %q", got, want)
		}
		if got := root.get("overallStatus").str(); got != "gray" {
			t.Errorf("the field after the annotation: got %q, want gray", got)
		}
	})
}
