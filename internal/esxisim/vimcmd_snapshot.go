package esxisim

import (
	"strconv"
	"strings"
	"time"
)

// The host keeps a VM's snapshot tree in its inventory; it writes no delta
// disks, so reverting restores the VM's power state but not its data.

// vmsvcSnapshotGet prints a VM's snapshot tree.
func vmsvcSnapshotGet(p *proc, args []string) int {
	var snaps []*snapshot
	err := p.withVMOrBroken(args, func(st *hostState, vm *vmState) error {
		snaps = vm.Snapshots
		return nil
	})
	if err != nil {
		return p.finish(err)
	}
	p.outf("Get Snapshot:\n")
	printSnapshots(p, snaps, 0, 1)
	return 0
}

// printSnapshots prints the snapshots whose parent is parent, at depth.
func printSnapshots(p *proc, snaps []*snapshot, parent, depth int) {
	for _, s := range snaps {
		if s.Parent != parent {
			continue
		}
		lead := strings.Repeat("--", depth)
		label := "CHILD"
		if parent == 0 {
			label = "ROOT"
		}
		t := s.Created
		p.outf("%s|-%s\n", strings.Repeat("--", depth-1), label)
		p.outf("%sSnapshot Name        : %s\n", lead, s.Name)
		p.outf("%sSnapshot Id        : %d\n", lead, s.ID)
		p.outf("%sSnapshot Desciption  : %s\n", lead, s.Description)
		p.outf("%sSnapshot Created On  : %d/%d/%d %d:%d:%d\n", lead,
			t.Month(), t.Day(), t.Year(), t.Hour(), t.Minute(), t.Second())
		p.outf("%sSnapshot State       : %s\n", lead, snapshotStateWords(s.Power))
		printSnapshots(p, snaps, s.ID, depth+1)
	}
}

// snapshotStateWords returns a snapshot's power state as snapshot.get
// prints it.
func snapshotStateWords(state string) string {
	switch state {
	case poweredOn:
		return "powered on"
	case suspended:
		return "suspended"
	}
	return "powered off"
}

// vmsvcSnapshotCreate takes a snapshot:
// `vim-cmd vmsvc/snapshot.create VMID NAME [DESC] [includeMemory] [quiesced]`.
func vmsvcSnapshotCreate(p *proc, args []string) int {
	if len(args) < 2 {
		return p.finish(errInsufficient)
	}
	err := p.withVM(args, func(st *hostState, vm *vmState, c *vmConfig, now time.Time) error {
		memory := len(args) > 3 && isTrueString(args[3])
		s := &snapshot{
			ID:       vm.NextSnapshotID + 1,
			Parent:   vm.CurrentSnapshot,
			Name:     args[1],
			Created:  now,
			Power:    poweredOff,
			Memory:   memory,
			Quiesced: len(args) > 4 && isTrueString(args[4]),
		}
		if len(args) > 2 {
			s.Description = args[2]
		}
		if memory && vm.Power == poweredOn {
			s.Power = poweredOn
		}
		vm.NextSnapshotID = s.ID
		vm.Snapshots = append(vm.Snapshots, s)
		vm.CurrentSnapshot = s.ID
		return nil
	})
	if err == nil {
		p.outf("Create Snapshot:\n")
	}
	return p.finish(err)
}

// snapshotArg reads a snapshot id argument.
func snapshotArg(vm *vmState, arg string) (*snapshot, error) {
	id, err := strconv.Atoi(arg)
	for _, s := range vm.Snapshots {
		if err == nil && s.ID == id {
			return s, nil
		}
	}
	return nil, invalidArgument("snapshotId")
}

// vmsvcSnapshotRemove deletes one snapshot; its children move up to its
// parent: `vim-cmd vmsvc/snapshot.remove VMID SNAPID`.
func vmsvcSnapshotRemove(p *proc, args []string) int {
	if len(args) < 2 {
		return p.finish(errInsufficient)
	}
	err := p.withVMOrBroken(args, func(st *hostState, vm *vmState) error {
		s, err := snapshotArg(vm, args[1])
		if err != nil {
			return err
		}
		kept := vm.Snapshots[:0]
		for _, o := range vm.Snapshots {
			if o.Parent == s.ID {
				o.Parent = s.Parent
			}
			if o != s {
				kept = append(kept, o)
			}
		}
		vm.Snapshots = kept
		if vm.CurrentSnapshot == s.ID {
			vm.CurrentSnapshot = s.Parent
		}
		return nil
	})
	if err == nil {
		p.outf("Remove Snapshot:\n")
	}
	return p.finish(err)
}

// vmsvcSnapshotRemoveAll deletes every snapshot of a VM.
func vmsvcSnapshotRemoveAll(p *proc, args []string) int {
	err := p.withVMOrBroken(args, func(st *hostState, vm *vmState) error {
		vm.Snapshots = nil
		vm.CurrentSnapshot = 0
		return nil
	})
	if err == nil {
		p.outf("Remove All Snapshots:\n")
	}
	return p.finish(err)
}

// vmsvcSnapshotRevert returns a VM to a snapshot: it takes the power state
// the snapshot was taken in, unless suppressPowerOn keeps it off:
// `vim-cmd vmsvc/snapshot.revert VMID SNAPID suppressPowerOn`.
func vmsvcSnapshotRevert(p *proc, args []string) int {
	if len(args) < 2 {
		return p.finish(errInsufficient)
	}
	err := p.withVM(args, func(st *hostState, vm *vmState, c *vmConfig, now time.Time) error {
		s, err := snapshotArg(vm, args[1])
		if err != nil {
			return err
		}
		vm.CurrentSnapshot = s.ID
		suppress := len(args) > 2 && isTrueString(args[2])
		switch {
		case s.Power == poweredOn && !suppress && vm.Power != poweredOn:
			return p.e.powerOn(st, vm, c, now, "")
		case s.Power != poweredOn && vm.Power != poweredOff:
			powerOff(vm)
		}
		return nil
	})
	if err == nil {
		p.outf("Revert Snapshot:\n")
	}
	return p.finish(err)
}
