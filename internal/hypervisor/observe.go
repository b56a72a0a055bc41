package hypervisor

import (
	"context"
	"time"
)

// Inventory is a host's VMs as seen at one moment.
type Inventory struct {
	VMs   []VM
	Taken time.Time // when the exec that read it started
}

// Observe reads the host's inventory in one exec, whatever the number of
// VMs: every registered VM (getallvms), which of them run (one esxcli call
// for all), and the guest information of the vmids in guestIDs only. A VM
// in guestIDs whose guest information could not be read (it was just
// removed, say) keeps a nil Guest. It returns an *Error if the inventory or
// the process list cannot be read.
func (d *ESXi) Observe(ctx context.Context, guestIDs []string) (Inventory, error) {
	const op = "observe"
	const (
		listCmd = "vim-cmd vmsvc/getallvms"
		procCmd = "esxcli vm process list"
	)

	// Build the batch: the inventory, the running VMs, then each guest.
	b := newBatch()
	b.add("vms", listCmd)
	b.add("processes", procCmd)
	seen := map[string]bool{}
	var ids []string
	for _, id := range guestIDs {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
			b.add("guest "+id, "vim-cmd vmsvc/get.guest "+Quote(id))
		}
	}

	// Run it and check the two sections that must succeed.
	inv := Inventory{Taken: d.now()}
	secs, err := d.runBatch(ctx, op, b)
	if err != nil {
		return inv, err
	}
	if s := secs["vms"]; s.status != 0 || listingFault(s.out) {
		return inv, d.sectionError(op, listCmd, s)
	}
	if s := secs["processes"]; s.status != 0 {
		return inv, d.sectionError(op, procCmd, s)
	}

	// Join the sections on the vmid and the .vmx path.
	inv.VMs = parseGetAllVMs(secs["vms"].out)
	d.markRunning(inv.VMs, parseProcessList(secs["processes"].out))
	byID := make(map[string]*VM, len(inv.VMs))
	for i := range inv.VMs {
		byID[inv.VMs[i].ID] = &inv.VMs[i]
	}
	for _, id := range ids {
		s, vm := secs["guest "+id], byID[id]
		if vm == nil || s.status != 0 || hasFault(s.out) {
			continue
		}
		g := parseGuest(s.out)
		vm.Guest = &g
	}
	return inv, nil
}

// markRunning sets PoweredOn on the VMs that have a VM process. A process
// names its .vmx by absolute path, often through the datastore's UUID
// rather than its name, so it is matched by datastore path first (with the
// UUIDs Probe learnt), then by the path inside the datastore, then by
// display name, each only when the match is unique.
func (d *ESXi) markRunning(vms []VM, procs []VMProcess) {
	byPath, byRel, byName := map[string][]int{}, map[string][]int{}, map[string][]int{}
	for i, vm := range vms {
		byPath[vm.VMXPath] = append(byPath[vm.VMXPath], i)
		if _, rel, err := SplitDatastorePath(vm.VMXPath); err == nil {
			byRel[rel] = append(byRel[rel], i)
		}
		byName[vm.Name] = append(byName[vm.Name], i)
	}
	for _, p := range procs {
		// A path outside VolumesRoot leaves ref and rel empty: no VM has those.
		ref, _ := d.ToDatastorePath(p.ConfigFile)
		_, rel, _ := SplitDatastorePath(ref)
		for _, match := range [][]int{byPath[ref], byRel[rel], byName[p.DisplayName]} {
			if len(match) == 1 {
				vms[match[0]].PoweredOn = true
				break
			}
		}
	}
}
