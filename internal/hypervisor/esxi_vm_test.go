package hypervisor

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

func TestESXi_PowerOn(t *testing.T) {
	tests := []struct {
		name    string
		onFile  string
		onRC    int
		state   string // power.getstate's fixture, "" for none
		wantErr func(error) bool
		calls   []string
	}{
		{name: "OK", onFile: "power/on.txt",
			calls: []string{"vim-cmd vmsvc/power.on 6"}},
		{name: "AlreadyOn", onFile: "power/on-invalid-state.txt", onRC: 1,
			state: "power/getstate-on.txt",
			calls: []string{"vim-cmd vmsvc/power.on 6", "vim-cmd vmsvc/power.getstate 6"}},
		{name: "FailedButCameUp", onFile: "power/on-failed-old.txt",
			state: "power/getstate-on.txt",
			calls: []string{"vim-cmd vmsvc/power.on 6", "vim-cmd vmsvc/power.getstate 6"}},
		{name: "FailedAndStillOff", onFile: "power/on-failed-old.txt", onRC: 1,
			state: "power/getstate-off.txt", wantErr: func(err error) bool { return err != nil }},
		{name: "NotFound", onFile: "fault/notfound-vmid.txt", onRC: 1, wantErr: IsNotFound,
			calls: []string{"vim-cmd vmsvc/power.on 6"}},
		{name: "Transient", onFile: "fault/task-in-progress.txt", onRC: 1,
			state: "power/getstate-off.txt", wantErr: IsTransient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newStubHost(t)
			h.onFixture(tt.onFile, tt.onRC, "vim-cmd", "vmsvc/power.on", "6")
			if tt.state != "" {
				h.onFixture(tt.state, 0, "vim-cmd", "vmsvc/power.getstate", "6")
			}
			err := h.driver().PowerOn(context.Background(), "6")
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("got %v, want success", err)
			case tt.wantErr != nil && !tt.wantErr(err):
				t.Errorf("got %v, want a matching error", err)
			}
			if tt.calls != nil && !reflect.DeepEqual(h.callLines(), tt.calls) {
				t.Errorf("calls: got %q, want %q", h.callLines(), tt.calls)
			}
		})
	}
}

func TestESXi_PowerOff(t *testing.T) {
	t.Run("AlreadyOff", func(t *testing.T) {
		h := newStubHost(t)
		h.on("(vim.fault.InvalidPowerState) {\n   msg = \"The attempted operation cannot be "+
			"performed in the current state (Powered off).\",\n}\n", 1, "vim-cmd", "vmsvc/power.off", "6")
		h.onFixture("power/getstate-off.txt", 0, "vim-cmd", "vmsvc/power.getstate", "6")
		if err := h.driver().PowerOff(context.Background(), "6"); err != nil {
			t.Errorf("got %v, want success", err)
		}
	})
	t.Run("OK", func(t *testing.T) {
		h := newStubHost(t)
		h.onFixture("power/off.txt", 0, "vim-cmd", "vmsvc/power.off", "6")
		if err := h.driver().PowerOff(context.Background(), "6"); err != nil {
			t.Errorf("got %v", err)
		}
	})
}

func TestESXi_Shutdown(t *testing.T) {
	h := newStubHost(t)
	h.onFixture("fault/tools-unavailable.txt", 1, "vim-cmd", "vmsvc/power.shutdown", "6")
	err := h.driver().Shutdown(context.Background(), "6")
	if !IsToolsUnavailable(err) {
		t.Errorf("got %v, want ToolsUnavailable", err)
	}
	if got := h.callLines(); len(got) != 1 {
		t.Errorf("calls: got %q, want only the shutdown", got)
	}
}

func TestESXi_Reboot(t *testing.T) {
	t.Run("WithTools", func(t *testing.T) {
		h := newStubHost(t)
		h.on("", 0, "vim-cmd", "vmsvc/power.reboot", "6")
		if err := h.driver().Reboot(context.Background(), "6"); err != nil {
			t.Fatal(err)
		}
		if got, want := h.callLines(), []string{"vim-cmd vmsvc/power.reboot 6"}; !reflect.DeepEqual(got, want) {
			t.Errorf("calls: got %q, want %q", got, want)
		}
	})
	t.Run("WithoutToolsResets", func(t *testing.T) {
		h := newStubHost(t)
		h.onFixture("fault/tools-unavailable.txt", 1, "vim-cmd", "vmsvc/power.reboot", "6")
		h.on("Reset VM:\n", 0, "vim-cmd", "vmsvc/power.reset", "6")
		if err := h.driver().Reboot(context.Background(), "6"); err != nil {
			t.Fatal(err)
		}
		want := []string{"vim-cmd vmsvc/power.reboot 6", "vim-cmd vmsvc/power.reset 6"}
		if got := h.callLines(); !reflect.DeepEqual(got, want) {
			t.Errorf("calls: got %q, want %q", got, want)
		}
	})
}

func TestESXi_Destroy(t *testing.T) {
	t.Run("PoweredOn", func(t *testing.T) {
		h := newStubHost(t)
		h.onFixture("power/getstate-on.txt", 0, "vim-cmd", "vmsvc/power.getstate", "6")
		h.onFixture("power/off.txt", 0, "vim-cmd", "vmsvc/power.off", "6")
		h.on("", 0, "vim-cmd", "vmsvc/destroy", "6")
		if err := h.driver().Destroy(context.Background(), "6"); err != nil {
			t.Fatal(err)
		}
		want := []string{"vim-cmd vmsvc/power.getstate 6", "vim-cmd vmsvc/power.off 6",
			"vim-cmd vmsvc/destroy 6"}
		if got := h.callLines(); !reflect.DeepEqual(got, want) {
			t.Errorf("calls: got %q, want %q", got, want)
		}
	})
	t.Run("AlreadyGone", func(t *testing.T) {
		h := newStubHost(t)
		h.onFixture("fault/notfound-vmid.txt", 1, "vim-cmd", "vmsvc/power.getstate", "6")
		if err := h.driver().Destroy(context.Background(), "6"); err != nil {
			t.Errorf("got %v, want success", err)
		}
	})
	t.Run("GoneDuringDestroy", func(t *testing.T) {
		h := newStubHost(t)
		h.onFixture("power/getstate-off.txt", 0, "vim-cmd", "vmsvc/power.getstate", "6")
		h.onFixture("fault/notfound-vmid.txt", 1, "vim-cmd", "vmsvc/destroy", "6")
		if err := h.driver().Destroy(context.Background(), "6"); err != nil {
			t.Errorf("got %v, want success", err)
		}
	})
	t.Run("Transient", func(t *testing.T) {
		h := newStubHost(t)
		h.onFixture("power/getstate-off.txt", 0, "vim-cmd", "vmsvc/power.getstate", "6")
		h.onFixture("fault/managed-object-not-found.txt", 1, "vim-cmd", "vmsvc/destroy", "6")
		if err := h.driver().Destroy(context.Background(), "6"); !IsTransient(err) {
			t.Errorf("got %v, want a transient error", err)
		}
	})
}

func TestESXi_RemoveFiles(t *testing.T) {
	h := newStubHost(t)
	d := h.driver()
	h.mkfile("datastore1/i-0abc/i-0abc.vmx", "x")
	h.mkfile("datastore1/i-0abc/console.log", "x")
	h.mkfile("datastore1/i-0abcd/i-0abcd.vmx", "neighbour")
	if err := d.RemoveFiles(context.Background(), "datastore1", "i-0abc"); err != nil {
		t.Fatal(err)
	}
	if h.exists("datastore1/i-0abc") {
		t.Error("folder still there")
	}
	if !h.exists("datastore1/i-0abcd/i-0abcd.vmx") || !h.exists("datastore1") {
		t.Error("removed more than the VM's folder")
	}

	t.Run("ErrNotAPlainName", func(t *testing.T) {
		for _, name := range []string{"", ".", "..", "a/b", "../datastore1", "/", "*\n"} {
			if err := d.RemoveFiles(context.Background(), "datastore1", name); err == nil {
				t.Errorf("%q: got no error", name)
			}
		}
		if err := d.RemoveFiles(context.Background(), "..", "x"); err == nil {
			t.Error("datastore ..: got no error")
		}
		if !h.exists("datastore1/i-0abcd/i-0abcd.vmx") {
			t.Error("a refused name removed files")
		}
	})
}

func TestESXi_UpdateVMX(t *testing.T) {
	h := newStubHost(t)
	d := h.driver()
	spec := testSpec()
	text, _ := VMXFor(spec)
	h.mkfile("datastore1/"+spec.Name+"/"+spec.Name+".vmx", text)
	h.on("", 0, "vim-cmd", "vmsvc/reload", "6")
	ctx := context.Background()

	v, err := d.ReadVMX(ctx, "datastore1", spec.Name)
	if err != nil {
		t.Fatal(err)
	}
	if v.String() != text {
		t.Fatal("ReadVMX changed the file")
	}
	_ = v.Set("memSize", "4096")
	if err := d.UpdateVMX(ctx, "6", "datastore1", spec.Name, v); err != nil {
		t.Fatal(err)
	}
	got := h.read("datastore1/" + spec.Name + "/" + spec.Name + ".vmx")
	if !strings.Contains(got, "\nmemSize = \"4096\"\n") || got != v.String() {
		t.Errorf("vmx not updated:\n%s", got)
	}
	if calls := h.callLines(); len(calls) != 1 || calls[0] != "vim-cmd vmsvc/reload 6" {
		t.Errorf("calls: got %q", calls)
	}
}
