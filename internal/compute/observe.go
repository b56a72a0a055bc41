package compute

import (
	"context"
	"slices"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/hypervisor"
)

// reasonVMGone is the state reason of an instance whose VM disappeared
// from its host without minicloud destroying it.
var reasonVMGone = cloud.StateReason{
	Code:    "Server.InternalError",
	Message: "Server.InternalError: The instance's VM was removed from its host outside minicloud",
}

// observeAsync starts an observation unless one is in flight. Reading a
// host takes seconds on a real one (every vim-cmd about one), and the
// worker goes on starting steps meanwhile, such as the launch of an
// instance that RunInstances just recorded, instead of waiting for it.
func (w *worker) observeAsync(ctx context.Context) {
	w.mu.Lock()
	if w.reading {
		w.mu.Unlock()
		return
	}
	w.reading = true
	w.steps.Add(1)
	w.mu.Unlock()

	go func() {
		defer w.steps.Done()
		w.observe(ctx)
		w.mu.Lock()
		w.reading = false
		w.mu.Unlock()
	}()
}

// observe reads the host's VMs in one command and brings the instances in
// line with what it sees: a VM powered off or on outside minicloud, a VM
// destroyed outside it, a guest that reported its address. VMs that look
// like instances but that no instance claims are reported, never touched.
func (w *worker) observe(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	insts, err := w.svc.store.HostInstances(w.cfg.Name)
	if err != nil {
		w.log.Error("read instances", "err", err)
		return
	}
	var guests []string
	for _, inst := range insts {
		if inst.State == cloud.StateRunning && !inst.GuestReady && inst.VMID != "" {
			guests = append(guests, inst.VMID)
		}
	}
	inv, err := w.driver().Observe(ctx, guests)
	if err != nil {
		if ctx.Err() == nil {
			w.observeFailed(err)
		}
		return
	}
	w.mu.Lock()
	w.blind = 0
	w.mu.Unlock()

	vms := map[string]hypervisor.VM{}
	for _, vm := range inv.VMs {
		vms[vm.Name] = vm
	}
	claimed := map[string]bool{}
	for _, inst := range insts {
		if inst.State != cloud.StateTerminated {
			claimed[inst.ID] = true
		}
		vm, ok := vms[inst.ID]
		if change := w.drift(inst, vm, ok, inv.Taken); change != nil {
			if err := w.record(inst.ID, change); err != nil {
				w.log.Error("record observation", "instance", inst.ID, "err", err)
			}
		}
	}
	w.reportUnclaimed(inv.VMs, claimed)
}

// blindTicks is how many observations in a row may fail on a working
// connection (hostd busy or restarting) before the host counts as
// unreachable.
const blindTicks = 3

// observeFailed handles a failed observation. A host that cannot be
// reached or refuses minicloud is marked so at once; a command that
// failed (hostd restarting, say) is tried again on the next tick, and
// only blindTicks failures in a row mark the host unreachable.
func (w *worker) observeFailed(err error) {
	w.mu.Lock()
	w.blind++
	blind := w.blind
	w.mu.Unlock()
	if hostUnusable(err) || blind >= blindTicks {
		w.hostFailed(err)
		return
	}
	w.log.Warn("could not read the host's VMs; trying again next tick", "err", err)
}

// drift returns the change that brings inst in line with its VM as
// observed at taken, or nil. Instances with a step in flight, or whose
// state changed after the observation began, are left to the controller.
func (w *worker) drift(inst *cloud.Instance, vm hypervisor.VM, found bool, taken time.Time) func(*cloud.Instance) {
	w.mu.Lock()
	busy := w.busy[inst.ID]
	w.mu.Unlock()
	if busy || !inst.Settled() || !inst.StateChanged.Before(taken) {
		return nil
	}
	stateAsSeen := func(i *cloud.Instance) bool {
		return i.State == inst.State && i.Settled() && i.StateChanged.Equal(inst.StateChanged)
	}
	now := cloud.UserInitiated(w.svc.now())

	switch {
	case !found && inst.Step == cloud.StepRegistered &&
		(inst.State == cloud.StateRunning || inst.State == cloud.StateStopped):
		w.log.Warn("VM destroyed outside minicloud", "instance", inst.ID)
		return func(i *cloud.Instance) {
			if stateAsSeen(i) {
				reason := reasonVMGone
				i.State, i.Desired, i.StateReason = cloud.StateTerminated, cloud.StateTerminated, &reason
				i.StateTransitionReason = now
				i.Step, i.VMID, i.GuestReady = cloud.StepNone, "", false
			}
		}
	case !found:
		return nil
	case inst.State == cloud.StateRunning && !vm.PoweredOn &&
		inst.ShutdownBehavior == cloud.ShutdownTerminate:
		// The guest shut itself down and asked, through its instance's
		// shutdown behaviour, to be terminated; termination protection
		// does not apply to that, as on EC2.
		w.log.Info("VM powered off by its guest; terminating", "instance", inst.ID)
		return func(i *cloud.Instance) {
			if stateAsSeen(i) {
				reason := cloud.ReasonInstanceShutdown
				i.State, i.Desired = cloud.StateShuttingDown, cloud.StateTerminated
				i.StateReason, i.StateTransitionReason, i.GuestReady = &reason, now, false
			}
		}
	case inst.State == cloud.StateRunning && !vm.PoweredOn:
		w.log.Warn("VM powered off outside minicloud", "instance", inst.ID)
		return func(i *cloud.Instance) {
			if stateAsSeen(i) {
				reason := cloud.ReasonUserShutdown
				i.State, i.Desired, i.StateReason = cloud.StateStopped, cloud.StateStopped, &reason
				i.StateTransitionReason, i.GuestReady = now, false
			}
		}
	case inst.State == cloud.StateStopped && vm.PoweredOn:
		w.log.Warn("VM powered on outside minicloud", "instance", inst.ID)
		return func(i *cloud.Instance) {
			if stateAsSeen(i) {
				i.State, i.Desired, i.StateReason = cloud.StateRunning, cloud.StateRunning, nil
				i.StateTransitionReason, i.Launched = "", true
			}
		}
	case inst.VMID != vm.ID:
		return func(i *cloud.Instance) { i.VMID = vm.ID }
	case inst.State == cloud.StateRunning && vm.Guest != nil && guestChanged(inst, vm.Guest):
		g := vm.Guest
		return func(i *cloud.Instance) {
			if i.State == cloud.StateRunning {
				i.PrivateIPAddress = g.IPAddress
				i.GuestHostName = g.HostName
				i.GuestReady = g.ToolsRunning && g.IPAddress != ""
			}
		}
	}
	return nil
}

// guestChanged reports whether the guest reports something inst does not
// record yet.
func guestChanged(inst *cloud.Instance, g *hypervisor.GuestInfo) bool {
	ready := g.ToolsRunning && g.IPAddress != ""
	return ready != inst.GuestReady ||
		(g.IPAddress != "" && g.IPAddress != inst.PrivateIPAddress)
}

// reportUnclaimed records VMs named like instances that no instance on
// this host claims, and logs each the first time it is seen.
func (w *worker) reportUnclaimed(vms []hypervisor.VM, claimed map[string]bool) {
	var names []string
	for _, vm := range vms {
		if cloud.ValidID(cloud.PrefixInstance, vm.Name) && !claimed[vm.Name] {
			names = append(names, vm.Name)
		}
	}
	slices.Sort(names)
	before := w.svc.fleet.unclaimed(w.cfg.Name)
	for _, n := range names {
		if !slices.Contains(before, n) {
			w.log.Warn("VM on host claimed by no instance; leaving it alone", "vm", n)
		}
	}
	w.svc.fleet.setUnclaimed(w.cfg.Name, names)
}

// janitor removes terminated instances once they have been visible for
// TerminatedTTL, and deregistered images as long after their deregistration
// once no stored instance names them and their templates are gone,
// checking once a minute or so.
func (s *Service) janitor(ctx context.Context) {
	every := min(time.Minute, s.opts.TerminatedTTL/2)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.sweep(); err != nil {
			s.log.Error("remove expired records", "err", err)
		}
	}
}

// sweep makes one pass of the janitor.
func (s *Service) sweep() error {
	var expired []string
	used := map[string]bool{} // images that stored instances name
	err := s.store.ScanInstances("", func(inst *cloud.Instance) bool {
		if inst.State == cloud.StateTerminated && !s.visible(inst) {
			expired = append(expired, inst.ID)
		} else {
			used[inst.ImageID] = true
		}
		return true
	})
	if err == nil && len(expired) > 0 {
		err = s.store.DeleteInstances(expired)
	}
	if err != nil {
		return err
	}
	if len(expired) > 0 {
		s.fleet.release(expired)
		s.log.Info("removed terminated instances", "count", len(expired))
	}

	imgs, err := s.store.Images()
	if err != nil {
		return err
	}
	for _, img := range imgs {
		if img.State != cloud.ImageDeregistered || img.Managed || img.Job != nil || used[img.ID] ||
			s.now().Sub(img.Deregistered) < s.opts.TerminatedTTL {
			continue
		}
		if err := s.store.DeleteImage(img.ID); err != nil {
			return err
		}
		s.log.Info("removed deregistered image", "image", img.ID)
	}
	return nil
}
