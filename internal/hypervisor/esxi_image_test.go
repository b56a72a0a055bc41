package hypervisor_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/minicloud/minicloud/internal/hypervisor"
)

// TestESXi_CloneDisk copies a VM's boot disk into an image template: at
// once while the VM is off, refused while it runs, and allowed under a
// snapshot, which RemoveSnapshot then removes. RemoveDiskFolder deletes
// the template's folder and nothing above it.
func TestESXi_CloneDisk(t *testing.T) {
	ctx := context.Background()
	h := startSim(t)
	d := h.d
	vmid := mustCreate(t, d, simSpec("i-0123456789abcdef0"))
	const src = "[datastore1] i-0123456789abcdef0/i-0123456789abcdef0.vmdk"
	template := func(name string) string {
		return "[datastore1] minicloud-images/" + name + "/" + name + ".vmdk"
	}
	exists := func(p string) bool {
		t.Helper()
		abs, err := d.DatastorePath(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.FilesExist(ctx, []string{abs})
		if err != nil {
			t.Fatal(err)
		}
		return got[0]
	}

	t.Run("PoweredOff", func(t *testing.T) {
		if err := d.CloneDisk(ctx, src, template("ami-00000000000000001")); err != nil {
			t.Fatal(err)
		}
		if !exists(template("ami-00000000000000001")) {
			t.Error("the template is not there")
		}
		err := d.CloneDisk(ctx, src, template("ami-00000000000000001"))
		if err == nil {
			t.Error("a clone over an existing disk succeeded")
		}
	})

	if err := d.PowerOn(ctx, vmid); err != nil {
		t.Fatal(err)
	}
	t.Run("RunningIsLocked", func(t *testing.T) {
		err := d.CloneDisk(ctx, src, template("ami-00000000000000002"))
		var herr *hypervisor.Error
		if !errors.As(err, &herr) || !strings.Contains(herr.Output, "Failed to lock the file") {
			t.Errorf("clone of a running VM's disk: %v", err)
		}
	})

	t.Run("RunningUnderSnapshot", func(t *testing.T) {
		if err := d.CreateSnapshot(ctx, vmid, "minicloud-ami-3", "CreateImage"); err != nil {
			t.Fatal(err)
		}
		snaps, err := d.Snapshots(ctx, vmid)
		if err != nil || len(snaps) != 1 || snaps[0].Name != "minicloud-ami-3" {
			t.Fatalf("snapshots = %+v, %v", snaps, err)
		}
		if err := d.CloneDisk(ctx, src, template("ami-00000000000000003")); err != nil {
			t.Fatal(err)
		}
		if err := d.RemoveSnapshot(ctx, vmid, snaps[0].ID); err != nil {
			t.Fatal(err)
		}
		if snaps, err := d.Snapshots(ctx, vmid); err != nil || len(snaps) != 0 {
			t.Errorf("snapshots after removal = %+v, %v", snaps, err)
		}
	})

	t.Run("RemoveDiskFolder", func(t *testing.T) {
		if err := d.RemoveDiskFolder(ctx, template("ami-00000000000000003")); err != nil {
			t.Fatal(err)
		}
		if exists("[datastore1] minicloud-images/ami-00000000000000003") {
			t.Error("the template's folder is still there")
		}
		if !exists(template("ami-00000000000000001")) || !exists("[datastore1] minicloud-images") {
			t.Error("RemoveDiskFolder removed more than the template's folder")
		}
		if err := d.RemoveDiskFolder(ctx, template("ami-00000000000000003")); err != nil {
			t.Errorf("removing a folder already gone: %v", err)
		}
		for _, p := range []string{"[datastore1] i-0123456789abcdef0.vmdk",
			"[datastore1] templates/debian12.vmdk", "[datastore1] a/../b/c.vmdk"} {
			if err := d.RemoveDiskFolder(ctx, p); err == nil {
				t.Errorf("RemoveDiskFolder(%q) did not refuse", p)
			}
		}
	})
}
