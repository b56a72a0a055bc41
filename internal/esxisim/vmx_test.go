package esxisim

import (
	"strings"
	"testing"
)

func TestVMX_ParseAndEscape(t *testing.T) {
	text := "# made by hand\r\n" +
		`displayName = "say |22hi|22 |7C pipe"` + "\r\n" +
		"numvcpus=4\r\n" +
		`NumVCPUs = "8"` + "\r\n" +
		`annotation = "line one|0Aline two"` + "\r\n" +
		`odd = "a|zz"` + "\r\n"
	v := parseVMX([]byte(text))

	tests := []struct{ key, want string }{
		{"displayName", `say "hi" | pipe`},
		{"numvcpus", "8"}, // the last setting wins, whatever its case
		{"annotation", "line one\nline two"},
		{"odd", "a|zz"},
	}
	for _, tt := range tests {
		if got := v.value(tt.key); got != tt.want {
			t.Errorf("%s = %q, want %q", tt.key, got, tt.want)
		}
	}

	t.Run("SetKeepsTheRest", func(t *testing.T) {
		v.set("displayName", `new "name" # | ok`)
		v.set("uuid.bios", "56 4d")
		got := string(v.bytes())
		want := "# made by hand\n" +
			`displayName = "new |22name|22 |23 |7C ok"` + "\n" +
			"numvcpus=4\n" +
			`NumVCPUs = "8"` + "\n" +
			`annotation = "line one|0Aline two"` + "\n" +
			`odd = "a|zz"` + "\n" +
			`uuid.bios = "56 4d"` + "\n"
		if got != want {
			t.Errorf("file =\n%s\nwant\n%s", got, want)
		}
		if back := parseVMX([]byte(got)).value("displayName"); back != `new "name" # | ok` {
			t.Errorf("value read back = %q", back)
		}
	})
}

func TestGuestID(t *testing.T) {
	tests := map[string]string{
		"":                  "otherGuest",
		"ubuntu-64":         "ubuntu64Guest",
		"debian11-64":       "debian11_64Guest",
		"otherlinux-64":     "otherLinux64Guest",
		"other5xlinux-64":   "other5xLinux64Guest",
		"windows2019srv-64": "windows2019srv_64Guest",
		"rhel9-64":          "rhel9_64Guest",
		"centos":            "centosGuest",
		"other-64":          "otherGuest64",
		"ubuntu64Guest":     "ubuntu64Guest",
	}
	for in, want := range tests {
		if got := guestID(in); got != want {
			t.Errorf("guestID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := map[string]int64{"10G": 10 << 30, "512m": 512 << 20, "4096": 4096, "1T": 1 << 40}
	for in, want := range tests {
		if got, ok := parseSize(in); !ok || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "G", "-1G", "ten"} {
		if _, ok := parseSize(bad); ok {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
}

func TestHost_DatastoreNameWithSpace(t *testing.T) {
	cfg := Config{Datastores: []Datastore{{Name: "My Datastore", CapacityBytes: 50 << 30}}}
	th := mustStartHost(t, cfg)
	dir := "/vmfs/volumes/My Datastore/web"
	r := runOn(t, th.client, "mkdir -p "+quote(dir)+" && cat > "+quote(dir+"/web.vmx"),
		strings.NewReader(testVMX("web", 1)))
	if r.status != 0 {
		t.Fatalf("write vmx: %+v", r)
	}
	id := strings.TrimSpace(th.mustRun(t, "vim-cmd solo/registervm "+quote(dir+"/web.vmx")))
	if list := th.mustRun(t, "vim-cmd vmsvc/getallvms"); !strings.Contains(list, "[My Datastore] web/web.vmx") {
		t.Errorf("getallvms:\n%s", list)
	}

	// The same file through the volume's UUID is the same VM.
	uuid := volumeUUID("esxi", "My Datastore")
	r = th.run(t, "vim-cmd solo/registervm /vmfs/volumes/"+uuid+"/web/web.vmx")
	if r.status == 0 || !strings.Contains(r.stdout, "'"+id+"' already exists") {
		t.Errorf("registering through the UUID path: %+v", r)
	}
	if fs := th.mustRun(t, "esxcli storage filesystem list"); !strings.Contains(fs, "  My Datastore  ") {
		t.Errorf("filesystem list:\n%s", fs)
	}
}
