package hypervisor

import (
	"reflect"
	"testing"
	"time"
)

func TestParseHostSummary(t *testing.T) {
	for _, name := range fixtures(t, "host") {
		t.Run(name, func(t *testing.T) {
			checkGolden(t, name, parseHostSummary(fixture(t, name)))
		})
	}

	tests := []struct {
		file string
		want HostSummary
	}{
		{"host/hostsummary-reference.txt", HostSummary{MemoryBytes: 137262243840,
			CPUModel: "Intel(R) Xeon(R) CPU E3-1230 v3 @ 3.30GHz", CPUMhz: 3504,
			CPUPackages: 1, CPUCores: 4, CPUThreads: 8, CPUUsageMhz: 3915, MemoryUsageMB: 62806}},
		{"host/hostsummary-7.0.3.txt", HostSummary{MemoryBytes: 137262243840,
			CPUModel: "Intel(R) Xeon(R) CPU E3-1230 v3 @ 3.30GHz", CPUMhz: 3504,
			CPUPackages: 1, CPUCores: 4, CPUThreads: 8, CPUUsageMhz: 3915, MemoryUsageMB: 62806}},
		{"host/hostsummary-5.5.txt", HostSummary{MemoryBytes: 17148403712,
			CPUModel: "Intel(R) Celeron(R) CPU G1610T @ 2.30GHz", CPUMhz: 2294,
			CPUPackages: 1, CPUCores: 2, CPUThreads: 2, CPUUsageMhz: 120, MemoryUsageMB: 3071}},
	}
	for _, tt := range tests {
		t.Run("Fields/"+tt.file, func(t *testing.T) {
			if got := parseHostSummary(fixture(t, tt.file)); got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseFilesystems(t *testing.T) {
	name := "storage/filesystems-7.0.txt"
	got, err := parseFilesystems(fixture(t, name))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, name, got)

	t.Run("NamesWithSpaces", func(t *testing.T) {
		want := []string{"datastore1", "My Datastore  (SSD)", "nas backups",
			"OSDATA-5f8d8d6f-0a1b2c3d-4e5f-001b21a3c4d5", "BOOTBANK1", "BOOTBANK2", ""}
		var names []string
		for _, fs := range got {
			names = append(names, fs.VolumeName)
		}
		if !reflect.DeepEqual(names, want) {
			t.Errorf("got %q\nwant %q", names, want)
		}
	})

	t.Run("Columns", func(t *testing.T) {
		want := Filesystem{MountPoint: "/vmfs/volumes/3c4d5e6f-1a2b3c4d", VolumeName: "nas backups",
			UUID: "3c4d5e6f-1a2b3c4d", Mounted: true, Type: "NFS",
			Size: 2000000000000, Free: 123456789012}
		if got[2] != want {
			t.Errorf("got %+v\nwant %+v", got[2], want)
		}
		if got[6].Mounted {
			t.Errorf("unmounted volume read as mounted: %+v", got[6])
		}
	})

	t.Run("MountPointsWithSpaces", func(t *testing.T) {
		// A host folder on a test machine may hold a space; the dashes
		// under the header give the mount point column's width.
		got, err := parseFilesystems(fixture(t, "storage/filesystems-spaces.txt"))
		if err != nil {
			t.Fatal(err)
		}
		want := [][2]string{
			{"/srv/esxi host/vmfs/volumes/a57223d3-dd5b040c-df93-8ab5e8157407", "datastore1"},
			{"/srv/esxi host/vmfs/volumes/b1c2d3e4-f5a6b7c8-d9e0-f1a2b3c4d5e6", "My Datastore"},
			{"", "nas backups"},
		}
		var pairs [][2]string
		for _, fs := range got {
			pairs = append(pairs, [2]string{fs.MountPoint, fs.VolumeName})
		}
		if !reflect.DeepEqual(pairs, want) {
			t.Errorf("got %q\nwant %q", pairs, want)
		}
	})

	t.Run("ErrNotANumber", func(t *testing.T) {
		_, err := parseFilesystems("/vmfs/volumes/x  ds  x  true  VMFS-6  big  small\n")
		if err == nil {
			t.Error("got no error for a row without numbers")
		}
	})
}

func TestParseProcessList(t *testing.T) {
	name := "process/list-7.0.txt"
	got := parseProcessList(fixture(t, name))
	checkGolden(t, name, got)
	if len(got) != 2 {
		t.Fatalf("got %d processes, want 2", len(got))
	}
	want := VMProcess{DisplayName: "web server [prod]", WorldID: "1051877", ProcessID: "0",
		CartelID: "1051876", UUID: "56 4d 11 22 33 44 55 66-77 88 99 aa bb cc dd ee",
		ConfigFile: "/vmfs/volumes/61a0b1c2-7d3e4f50-9a8b-001b21a3c4d5/" +
			"web server [prod]/web server [prod].vmx"}
	if got[1] != want {
		t.Errorf("got %+v\nwant %+v", got[1], want)
	}
	if got := parseProcessList(fixture(t, "process/list-empty.txt")); len(got) != 0 {
		t.Errorf("no VMs running: got %+v", got)
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		file string
		want ProductVersion
	}{
		{"version/7.0.3.txt", ProductVersion{"VMware ESXi", "7.0.3", "24784741", ""}},
		{"version/8.0.2.txt", ProductVersion{"VMware ESXi", "8.0.2", "22380479", ""}},
		{"version/6.7.0-vl.txt", ProductVersion{"VMware ESXi", "6.7.0", "14320388", "3"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := parseVersion(fixture(t, tt.file))
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	t.Run("ErrNoVersion", func(t *testing.T) {
		if _, err := parseVersion("sh: vmware: not found\n"); err == nil {
			t.Error("got no error")
		}
	})
}

func TestParseSnapshots(t *testing.T) {
	for _, name := range fixtures(t, "snapshot") {
		t.Run(name, func(t *testing.T) {
			checkGolden(t, name, parseSnapshots(fixture(t, name)))
		})
	}

	t.Run("One", func(t *testing.T) {
		got := parseSnapshots(fixture(t, "snapshot/one.txt"))
		want := []Snapshot{{Name: "BeforeUpgrade", ID: 23, Description: "before the upgrade",
			Created:    time.Date(2021, 2, 26, 17, 41, 7, 0, time.UTC),
			CreatedRaw: "2/26/2021 17:41:7", State: "powered off"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
	})

	t.Run("Tree", func(t *testing.T) {
		got := parseSnapshots(fixture(t, "snapshot/tree.txt"))
		if len(got) != 1 || len(got[0].Children) != 2 {
			t.Fatalf("got %+v, want one root with two children", got)
		}
		patched, experiment := got[0].Children[0], got[0].Children[1]
		if patched.ID != 2 || len(patched.Children) != 1 || patched.Children[0].Name != "tuned" {
			t.Errorf("first child: got %+v", patched)
		}
		if experiment.ID != 3 || experiment.State != "suspended" || len(experiment.Children) != 0 {
			t.Errorf("second child: got %+v", experiment)
		}
		if got[0].Description != "" {
			t.Errorf("empty description: got %q", got[0].Description)
		}
	})

	t.Run("None", func(t *testing.T) {
		if got := parseSnapshots(fixture(t, "snapshot/none.txt")); len(got) != 0 {
			t.Errorf("got %+v, want none", got)
		}
	})
}
