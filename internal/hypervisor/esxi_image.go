package hypervisor

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// CloneDisk copies the disk src to dst, both datastore paths such as
// "[datastore1] minicloud-images/ami-0abc/ami-0abc.vmdk", thin
// provisioned, with vmkfstools -i, creating dst's folder first. It fails
// if dst exists, and if src is the disk of a running VM: ESXi locks it
// ("Failed to lock the file"); clone such a disk while the VM has a
// snapshot, which leaves the base disk readable.
func (d *ESXi) CloneDisk(ctx context.Context, src, dst string) error {
	from, err := d.diskPath(src)
	if err != nil {
		return err
	}
	to, err := d.diskPath(dst)
	if err != nil {
		return err
	}
	cmd := fmt.Sprintf("mkdir -p %s && vmkfstools -i %s %s -d thin </dev/null",
		Quote(path.Dir(to)), Quote(from), Quote(to))
	_, err = d.execOK(ctx, "clone disk", cmd, nil)
	return err
}

// RemoveDiskFolder deletes the folder holding the disk p (a datastore
// path) and everything in it. It refuses a disk directly in a datastore's
// top folder, so that it can never remove a datastore or its first level
// of folders. A folder already gone is success.
func (d *ESXi) RemoveDiskFolder(ctx context.Context, p string) error {
	abs, err := d.diskPath(p)
	if err != nil {
		return err
	}
	_, rel, _ := SplitDatastorePath(p)
	if strings.Count(rel, "/") < 2 {
		return fmt.Errorf("%s: will not remove the folder of %q: it is not two folders deep", d.host, p)
	}
	_, err = d.execOK(ctx, "remove disk folder", "rm -rf "+Quote(path.Dir(abs)), nil)
	return err
}

// diskPath turns a datastore path naming a .vmdk into its path on the
// host.
func (d *ESXi) diskPath(p string) (string, error) {
	abs, err := d.DatastorePath(p)
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(abs, ".vmdk") {
		return "", fmt.Errorf("%s: %q is not a virtual disk", d.host, p)
	}
	return abs, nil
}

// CreateSnapshot takes a snapshot of the VM named name, without its
// memory and without quiescing the guest (vim-cmd vmsvc/snapshot.create).
func (d *ESXi) CreateSnapshot(ctx context.Context, vmid, name, description string) error {
	cmd := "vim-cmd vmsvc/snapshot.create " + Quote(vmid) + " " + Quote(name) + " " +
		Quote(description) + " 0 0"
	_, err := d.execOK(ctx, "create snapshot", cmd, nil)
	return err
}

// Snapshots returns the VM's snapshot tree (vim-cmd vmsvc/snapshot.get).
func (d *ESXi) Snapshots(ctx context.Context, vmid string) ([]Snapshot, error) {
	res, err := d.execOK(ctx, "get snapshots", "vim-cmd vmsvc/snapshot.get "+Quote(vmid), nil)
	if err != nil {
		return nil, err
	}
	return parseSnapshots(string(res.Stdout)), nil
}

// RemoveSnapshot deletes one snapshot of the VM, folding its changes into
// its parent (vim-cmd vmsvc/snapshot.remove).
func (d *ESXi) RemoveSnapshot(ctx context.Context, vmid string, id int) error {
	cmd := "vim-cmd vmsvc/snapshot.remove " + Quote(vmid) + " " + Quote(strconv.Itoa(id))
	_, err := d.execOK(ctx, "remove snapshot", cmd, nil)
	return err
}
