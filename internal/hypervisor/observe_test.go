package hypervisor

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// inventoryStub is a getallvms listing whose VMs live on datastore1 and
// "My Datastore  (SSD)", which the process list names by UUID.
const inventoryStub = `Vmid   Name   File   Guest OS   Version   Annotation
6      i-0123456789abcdef0   [datastore1] i-0123456789abcdef0/i-0123456789abcdef0.vmx   otherlinux64Guest   vmx-14
7      web server [prod]   [My Datastore  (SSD)] web server [prod]/web server [prod].vmx   ubuntu64Guest   vmx-14
8      i-0fedcba9876543210   [datastore1] i-0fedcba9876543210/i-0fedcba9876543210.vmx   otherlinux64Guest   vmx-14
`

func TestESXi_Observe(t *testing.T) {
	h := newStubHost(t)
	probeStubs(h)
	h.on(inventoryStub, 0, "vim-cmd", "vmsvc/getallvms")
	h.onFixture("process/list-7.0.txt", 0, "esxcli", "vm", "process", "list")
	h.onFixture("guest/tools-running.txt", 0, "vim-cmd", "vmsvc/get.guest", "6")
	h.onFixture("guest/no-tools-unset.txt", 0, "vim-cmd", "vmsvc/get.guest", "8")
	h.onFixture("fault/notfound-vmid.txt", 1, "vim-cmd", "vmsvc/get.guest", "99")
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	d := NewESXi(h, Options{Host: "esxi-stub", Now: func() time.Time { return now }})
	ctx := context.Background()

	// Probe learns the datastore UUIDs that the process list uses.
	if _, err := d.Probe(ctx); err != nil {
		t.Fatal(err)
	}
	before := h.execs.Load()
	inv, err := d.Observe(ctx, []string{"6", "8", "99", "6"})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.execs.Load() - before; got != 1 {
		t.Errorf("execs: got %d, want 1", got)
	}
	if !inv.Taken.Equal(now) {
		t.Errorf("taken: got %v", inv.Taken)
	}

	if len(inv.VMs) != 3 {
		t.Fatalf("got %d vms, want 3", len(inv.VMs))
	}
	on := map[string]bool{}
	for _, vm := range inv.VMs {
		on[vm.ID] = vm.PoweredOn
	}
	if want := map[string]bool{"6": true, "7": true, "8": false}; !reflect.DeepEqual(on, want) {
		t.Errorf("powered on: got %v, want %v", on, want)
	}
	want6 := &GuestInfo{ToolsRunning: true, IPAddress: "192.168.200.9", HostName: "debian",
		IPs: []string{"192.168.200.9", "fe80::20c:29ff:fe62:e86d"}}
	if !reflect.DeepEqual(inv.VMs[0].Guest, want6) {
		t.Errorf("guest of 6: got %+v", inv.VMs[0].Guest)
	}
	if inv.VMs[1].Guest != nil {
		t.Errorf("guest of 7 was not asked for: got %+v", inv.VMs[1].Guest)
	}
	if g := inv.VMs[2].Guest; g == nil || g.ToolsRunning || g.IPAddress != "" {
		t.Errorf("guest of 8: got %+v", g)
	}

	// Each guest is asked once, even when listed twice.
	n := 0
	for _, c := range h.callLines() {
		if c == "vim-cmd vmsvc/get.guest 6" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("get.guest 6 ran %d times", n)
	}
}

func TestESXi_Observe_WithoutProbe(t *testing.T) {
	h := newStubHost(t)
	h.on(inventoryStub, 0, "vim-cmd", "vmsvc/getallvms")
	h.onFixture("process/list-7.0.txt", 0, "esxcli", "vm", "process", "list")
	inv, err := h.driver().Observe(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, vm := range inv.VMs {
		if want := vm.ID != "8"; vm.PoweredOn != want {
			t.Errorf("vm %s: powered on %v, want %v", vm.ID, vm.PoweredOn, want)
		}
	}
}

func TestESXi_Observe_OneExecForManyVMs(t *testing.T) {
	h := newStubHost(t)
	var rows string
	var ids []string
	for i := range 50 {
		name := fmt.Sprintf("i-%017x", i)
		rows += fmt.Sprintf("%d %s [datastore1] %s/%s.vmx otherGuest vmx-14\n", i+1, name, name, name)
		ids = append(ids, fmt.Sprint(i+1))
		h.onFixture("guest/tools-running.txt", 0, "vim-cmd", "vmsvc/get.guest", fmt.Sprint(i+1))
	}
	h.on("Vmid Name File Guest OS Version Annotation\n"+rows, 0, "vim-cmd", "vmsvc/getallvms")
	h.on("", 0, "esxcli", "vm", "process", "list")
	inv, err := h.driver().Observe(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.VMs) != 50 || h.execs.Load() != 1 {
		t.Errorf("got %d vms in %d execs, want 50 in 1", len(inv.VMs), h.execs.Load())
	}
	for _, vm := range inv.VMs {
		if vm.Guest == nil || !vm.Guest.ToolsRunning {
			t.Fatalf("vm %s: guest %+v", vm.ID, vm.Guest)
		}
	}
}

func TestESXi_Observe_ErrHostd(t *testing.T) {
	h := newStubHost(t)
	h.onFixture("fault/login-reset.txt", 1, "vim-cmd", "vmsvc/getallvms")
	h.on("", 0, "esxcli", "vm", "process", "list")
	_, err := h.driver().Observe(context.Background(), nil)
	if !IsTransient(err) {
		t.Errorf("got %v, want a transient error", err)
	}
}

func TestESXi_Observe_SamePathOnTwoDatastores(t *testing.T) {
	inventory := "Vmid Name File Guest OS Version Annotation\n" +
		"1 a [datastore1] a/a.vmx otherGuest vmx-14\n" +
		"2 a [nas backups] a/a.vmx otherGuest vmx-14\n"
	procs := "a\n   World ID: 1\n   Display Name: a\n" +
		"   Config File: /vmfs/volumes/5f8d8d6e-4c2a2a2e-1b3f-001b21a3c4d5/a/a.vmx\n"

	tests := []struct {
		name  string
		probe bool
		want  map[string]bool
	}{
		{"KnownUUIDs", true, map[string]bool{"1": true, "2": false}},
		{"AmbiguousWithoutProbe", false, map[string]bool{"1": false, "2": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newStubHost(t)
			probeStubs(h)
			h.on(inventory, 0, "vim-cmd", "vmsvc/getallvms")
			h.on(procs, 0, "esxcli", "vm", "process", "list")
			d := NewESXi(h, Options{Host: "esxi-stub"})
			if tt.probe {
				if _, err := d.Probe(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			inv, err := d.Observe(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, vm := range inv.VMs {
				got[vm.ID] = vm.PoweredOn
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// An annotation is free text that anyone with the host client can write.
// One that reads like a fault block must not make the host unreadable, while
// a fault in place of the table still fails the listing.
func TestESXi_Observe_FaultInAnnotation(t *testing.T) {
	inventory := "Vmid Name File Guest OS Version Annotation\n" +
		"1 a [datastore1] a/a.vmx otherGuest vmx-14 notes:\n" +
		"(vim.fault.NotFound) {\n" +
		"   msg = \"pasted from a log\",\n" +
		"}\n" +
		"2 b [datastore1] b/b.vmx otherGuest vmx-14\n"
	h := newStubHost(t)
	h.on(inventory, 0, "vim-cmd", "vmsvc/getallvms")
	h.on("", 0, "esxcli", "vm", "process", "list")
	d := h.driver()
	inv, err := d.Observe(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.VMs) != 2 || !strings.Contains(inv.VMs[0].Annotation, "vim.fault.NotFound") {
		t.Errorf("got %+v, want both VMs and the annotation", inv.VMs)
	}
	vms, err := d.List(context.Background())
	if err != nil || len(vms) != 2 {
		t.Errorf("list: got %d VMs, %v; want 2", len(vms), err)
	}

	h = newStubHost(t)
	h.onFixture("fault/managed-object-not-found.txt", 0, "vim-cmd", "vmsvc/getallvms")
	h.on("", 0, "esxcli", "vm", "process", "list")
	if _, err := h.driver().Observe(context.Background(), nil); !IsTransient(err) {
		t.Errorf("a fault instead of the table: got %v, want a transient error", err)
	}
	if _, err := h.driver().List(context.Background()); !IsTransient(err) {
		t.Errorf("list, a fault instead of the table: got %v, want a transient error", err)
	}
}
