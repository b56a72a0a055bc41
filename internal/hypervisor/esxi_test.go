package hypervisor

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
)

// probeStubs answers the three commands of Probe from fixtures.
func probeStubs(h *stubHost) {
	h.onFixture("version/7.0.3.txt", 0, "vmware", "-v")
	h.onFixture("host/hostsummary-7.0.3.txt", 0, "vim-cmd", "hostsvc/hostsummary")
	h.onFixture("storage/filesystems-7.0.txt", 0, "esxcli", "storage", "filesystem", "list")
}

func TestESXi_Probe(t *testing.T) {
	h := newStubHost(t)
	probeStubs(h)
	info, err := h.driver().Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	want := HostInfo{
		Version: "7.0.3", Build: "24784741",
		CPUModel: "Intel(R) Xeon(R) CPU E3-1230 v3 @ 3.30GHz", CPUCores: 4, CPUThreads: 8,
		CPUMhz: 3504, MemoryBytes: 137262243840, CPUUsageMhz: 3915, MemoryUsageMB: 62806,
		Datastores: []Datastore{
			{Name: "datastore1", Path: "/vmfs/volumes/5f8d8d6e-4c2a2a2e-1b3f-001b21a3c4d5",
				UUID: "5f8d8d6e-4c2a2a2e-1b3f-001b21a3c4d5", Type: "VMFS-6",
				CapacityBytes: 494726545408, FreeBytes: 392310947840},
			{Name: "My Datastore  (SSD)", Path: "/vmfs/volumes/61a0b1c2-7d3e4f50-9a8b-001b21a3c4d5",
				UUID: "61a0b1c2-7d3e4f50-9a8b-001b21a3c4d5", Type: "VMFS-6",
				CapacityBytes: 999922073600, FreeBytes: 500000000000},
			{Name: "nas backups", Path: "/vmfs/volumes/3c4d5e6f-1a2b3c4d", UUID: "3c4d5e6f-1a2b3c4d",
				Type: "NFS", CapacityBytes: 2000000000000, FreeBytes: 123456789012},
		},
	}
	if !reflect.DeepEqual(info, want) {
		t.Errorf("got %+v\nwant %+v", info, want)
	}
	if got := h.execs.Load(); got != 1 {
		t.Errorf("execs: got %d, want 1", got)
	}

	t.Run("ErrHostdDown", func(t *testing.T) {
		h := newStubHost(t)
		probeStubs(h)
		h.onFixture("fault/connect-localhost.txt", 1, "vim-cmd", "hostsvc/hostsummary")
		_, err := h.driver().Probe(context.Background())
		if !IsTransient(err) {
			t.Errorf("got %v, want a transient error", err)
		}
		var e *Error
		if !errors.As(err, &e) || e.Cmd != "vim-cmd hostsvc/hostsummary" || e.Host != "esxi-stub" {
			t.Errorf("error does not name the command and host: %#v", err)
		}
	})
}

func TestESXi_FilesExist(t *testing.T) {
	h := newStubHost(t)
	d := h.driver()
	h.mkfile("datastore1/tmpl/tmpl.vmdk", "x")
	h.mkfile("My Datastore/it's $(here)/a.vmdk", "x")
	paths := []string{
		h.root + "/datastore1/tmpl/tmpl.vmdk",
		h.root + "/datastore1/tmpl/missing.vmdk",
		h.root + "/My Datastore/it's $(here)/a.vmdk",
		h.root + "/datastore1/*",
	}
	got, err := d.FilesExist(context.Background(), paths)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, false, true, false}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if n := h.execs.Load(); n != 1 {
		t.Errorf("execs: got %d, want 1", n)
	}
}

func TestESXi_DatastorePath(t *testing.T) {
	d := NewESXi(&LocalTransport{}, Options{Host: "h"})
	tests := []struct{ in, want string }{
		{"[datastore1] a/b.vmdk", "/vmfs/volumes/datastore1/a/b.vmdk"},
		{"[My Datastore] i-0abc/i-0abc.vmx", "/vmfs/volumes/My Datastore/i-0abc/i-0abc.vmx"},
		{"[ds]", "/vmfs/volumes/ds"},
	}
	for _, tt := range tests {
		got, err := d.DatastorePath(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("DatastorePath(%q): got %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if tt.in == "[ds]" {
			continue
		}
		back, err := d.ToDatastorePath(got)
		if err != nil || back != tt.in {
			t.Errorf("ToDatastorePath(%q): got %q, %v; want %q", got, back, err, tt.in)
		}
	}
	for _, bad := range []string{"datastore1/a", "[] a", "[a/b] c", "[ds] ../../etc/passwd",
		"[..] etc/passwd", "[ds] a/../../b"} {
		if got, err := d.DatastorePath(bad); err == nil {
			t.Errorf("DatastorePath(%q): got %q, want an error", bad, got)
		}
	}
	if _, err := d.ToDatastorePath("/etc/passwd"); err == nil {
		t.Error("ToDatastorePath outside the volumes: got no error")
	}

	t.Run("VolumesRoot", func(t *testing.T) {
		d := NewESXi(&LocalTransport{}, Options{VolumesRoot: "/srv/esxi/volumes/"})
		got, _ := d.DatastorePath("[ds] x.vmdk")
		if got != "/srv/esxi/volumes/ds/x.vmdk" {
			t.Errorf("got %q", got)
		}
	})
}

// testSpec returns a valid spec on the stub host's datastore1.
func testSpec() VMSpec {
	return VMSpec{
		Name: "i-0123456789abcdef0", Datastore: "datastore1",
		SourceDisk: "[datastore1] templates/debian12/debian12.vmdk",
		NumCPUs:    2, MemoryMB: 2048, GuestOS: "debian12-64",
		ExtraConfig: map[string]string{
			"guestinfo.userdata":          "#cloud-config\nruncmd: [\"touch /tmp/$(id)\"]\n",
			"guestinfo.userdata.encoding": "",
		},
	}
}

func TestVMXFor(t *testing.T) {
	text, err := VMXFor(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	v, err := ParseVMX(text)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		".encoding":               "UTF-8",
		"config.version":          "8",
		"virtualHW.version":       "14",
		"displayName":             "i-0123456789abcdef0",
		"guestOS":                 "debian12-64",
		"numvcpus":                "2",
		"memSize":                 "2048",
		"scsi0.virtualDev":        "pvscsi",
		"scsi0:0.fileName":        "i-0123456789abcdef0.vmdk",
		"pciBridge0.present":      "TRUE",
		"pciBridge4.virtualDev":   "pcieRootPort",
		"pciBridge7.functions":    "8",
		"ethernet0.virtualDev":    "vmxnet3",
		"ethernet0.networkName":   "VM Network",
		"ethernet0.addressType":   "generated",
		"answer.msg.uuid.altered": "I copied it",
		"serial0.fileType":        "file",
		"serial0.fileName":        "console.log",
		"tools.syncTime":          "TRUE",
		"guestinfo.userdata":      "#cloud-config\nruncmd: [\"touch /tmp/$(id)\"]\n",
	}
	for k, w := range want {
		if got, ok := v.Get(k); !ok || got != w {
			t.Errorf("%s: got %q, %v; want %q", k, got, ok, w)
		}
	}
	if strings.Count(text, "\n") != len(v.Keys()) {
		t.Errorf("a value broke out of its line:\n%s", text)
	}

	t.Run("Errors", func(t *testing.T) {
		edits := map[string]func(*VMSpec){
			"NameWithSlash":   func(s *VMSpec) { s.Name = "../etc" },
			"EmptyName":       func(s *VMSpec) { s.Name = "" },
			"DotDot":          func(s *VMSpec) { s.Name = ".." },
			"DatastoreSlash":  func(s *VMSpec) { s.Datastore = "a/b" },
			"SourceNotDSPath": func(s *VMSpec) { s.SourceDisk = "/vmfs/volumes/x.vmdk" },
			"NoCPU":           func(s *VMSpec) { s.NumCPUs = 0 },
			"KeyInjection": func(s *VMSpec) {
				s.ExtraConfig = map[string]string{"guestinfo.a\nmemSize": "1"}
			},
		}
		for name, edit := range edits {
			spec := testSpec()
			edit(&spec)
			if _, err := VMXFor(spec); err == nil {
				t.Errorf("%s: got no error", name)
			}
		}
	})
}

func TestESXi_CreateFiles(t *testing.T) {
	h := newStubHost(t)
	d := h.driver()
	spec := testSpec()
	spec.ExtraConfig["guestinfo.hostile"] = "'; rm -rf / #\" $(reboot) `halt` |7C\n"
	dir := "datastore1/" + spec.Name
	src := h.root + "/datastore1/templates/debian12/debian12.vmdk"
	dst := h.root + "/" + dir + "/" + spec.Name + ".vmdk"
	h.onFixture("storage/vmkfstools-clone.txt", 0, "vmkfstools", "-i", src, dst, "-d", "thin")
	h.mkfile(dir+"/leftover.log", "from an earlier attempt")

	if err := d.CreateFiles(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	if h.execs.Load() != 1 {
		t.Errorf("execs: got %d, want 1", h.execs.Load())
	}
	if h.exists(dir + "/leftover.log") {
		t.Error("the leftover folder was not cleared")
	}
	want, _ := VMXFor(spec)
	if got := h.read(dir + "/" + spec.Name + ".vmx"); got != want {
		t.Errorf("vmx on the host differs from VMXFor:\n%s\nwant\n%s", got, want)
	}
	v, _ := ParseVMX(want)
	if got, _ := v.Get("guestinfo.hostile"); got != spec.ExtraConfig["guestinfo.hostile"] {
		t.Errorf("hostile value: got %q", got)
	}

	t.Run("ProgressOutput", func(t *testing.T) {
		// A host that prints progress in place, with carriage returns.
		h.onFixture("storage/vmkfstools-clone-progress.txt", 0,
			"vmkfstools", "-i", src, dst, "-d", "thin")
		if err := d.CreateFiles(context.Background(), spec); err != nil {
			t.Fatalf("clone with progress: %v", err)
		}
	})

	t.Run("ErrNoSpace", func(t *testing.T) {
		h.onFixture("storage/vmkfstools-no-space.txt", 1, "vmkfstools", "-i", src, dst, "-d", "thin")
		err := d.CreateFiles(context.Background(), spec)
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(e.Msg, "No space left on device") {
			t.Fatalf("got %v, want vmkfstools' message", err)
		}
		if h.exists(dir + "/" + spec.Name + ".vmx") {
			t.Error("vmx written although the clone failed")
		}
	})
}

func TestESXi_Register(t *testing.T) {
	spec := testSpec()
	vmx := "/datastore1/" + spec.Name + "/" + spec.Name + ".vmx"
	row := "Vmid Name File Guest OS Version Annotation\n" +
		"41   other   [datastore1] other/other.vmx   otherGuest   vmx-14\n" +
		"42   " + spec.Name + "   [datastore1] " + spec.Name + "/" + spec.Name + ".vmx   otherGuest   vmx-14\n"

	tests := []struct {
		name   string
		file   string
		status int
		want   string
	}{
		{"PrintsVMID", "power/registervm-7.txt", 0, "7"},
		{"OldHostPrintsNothing", "power/registervm-old.txt", 0, "42"},
		{"AlreadyRegistered", "fault/already-exists.txt", 1, "42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newStubHost(t)
			h.onFixture(tt.file, tt.status, "vim-cmd", "solo/registervm", h.root+vmx, spec.Name)
			h.on(row, 0, "vim-cmd", "vmsvc/getallvms")
			got, err := h.driver().Register(context.Background(), spec)
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}

	t.Run("ErrNotFound", func(t *testing.T) {
		h := newStubHost(t)
		h.onFixture("fault/notfound-vmx.txt", 1, "vim-cmd", "solo/registervm", h.root+vmx, spec.Name)
		if _, err := h.driver().Register(context.Background(), spec); !IsNotFound(err) {
			t.Errorf("got %v, want NotFound", err)
		}
	})
}

func TestESXi_FindVM(t *testing.T) {
	h := newStubHost(t)
	h.onFixture("getallvms/annotations.txt", 0, "vim-cmd", "vmsvc/getallvms")
	d := h.driver()
	vm, ok, err := d.FindVM(context.Background(), "web server [prod]")
	if err != nil || !ok || vm.ID != "1" {
		t.Errorf("got %+v, %v, %v", vm, ok, err)
	}
	if _, ok, err := d.FindVM(context.Background(), "i-0ffffffffffffffff"); ok || err != nil {
		t.Errorf("missing vm: got %v, %v", ok, err)
	}
}

func TestESXi_Logging(t *testing.T) {
	h := newStubHost(t)
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := NewESXi(h, Options{Host: "esxi-log", VolumesRoot: h.root, Logger: log})
	spec := testSpec()
	spec.ExtraConfig["guestinfo.secret"] = "do-not-log-this-value"
	h.on("", 0, "vmkfstools", "-i", h.root+"/datastore1/templates/debian12/debian12.vmdk",
		h.root+"/datastore1/"+spec.Name+"/"+spec.Name+".vmdk", "-d", "thin")
	if err := d.CreateFiles(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	for _, want := range []string{"level=DEBUG", "host=esxi-log", "vmkfstools -i", "op=\"create files\""} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "do-not-log-this-value") || strings.Contains(got, "cloud-config") {
		t.Errorf("log holds the .vmx content:\n%s", got)
	}
}
