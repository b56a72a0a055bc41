package compute

import (
	"context"

	"github.com/minicloud/minicloud/internal/cloud"
)

// transition is one user request on one instance: it changes the recorded
// state and desired state, or returns the EC2 error when the instance's
// state forbids the request. It must not depend on anything but its
// arguments: the store may apply it more than once.
type transition func(inst *cloud.Instance, now string) error

// startTransition: a stopped instance goes back to pending; a pending or
// running one is left as it is.
func startTransition(inst *cloud.Instance, _ string) error {
	switch inst.State {
	case cloud.StatePending, cloud.StateRunning:
		return nil
	case cloud.StateStopped:
		inst.State, inst.Desired = cloud.StatePending, cloud.StateRunning
		reason := cloud.ReasonPending
		inst.StateReason, inst.StateTransitionReason = &reason, ""
		inst.ForceStop = false
		return nil
	}
	return cloud.IncorrectState(inst.ID)
}

// stopTransition returns a transition that stops pending and running
// instances. A stopping instance may be asked again with force.
func stopTransition(force bool) transition {
	return func(inst *cloud.Instance, now string) error {
		switch inst.State {
		case cloud.StateStopped:
			return nil
		case cloud.StateStopping:
			inst.ForceStop = inst.ForceStop || force
			return nil
		case cloud.StatePending, cloud.StateRunning:
			if inst.DisableAPIStop {
				return protected(inst.ID, "stopped", cloud.AttrDisableAPIStop)
			}
			inst.State, inst.Desired = cloud.StateStopping, cloud.StateStopped
			reason := cloud.ReasonUserShutdown
			inst.StateReason, inst.StateTransitionReason = &reason, now
			inst.ForceStop, inst.RebootRequested = force, false
			return nil
		}
		return cloud.IncorrectState(inst.ID)
	}
}

// terminateTransition: every instance not yet terminated shuts down.
func terminateTransition(inst *cloud.Instance, now string) error {
	switch inst.State {
	case cloud.StateTerminated, cloud.StateShuttingDown:
		return nil
	}
	switch {
	case inst.DisableAPIStop:
		// Stop protection protects from termination too.
		return protected(inst.ID, "terminated", cloud.AttrDisableAPIStop)
	case inst.DisableAPITermination:
		return protected(inst.ID, "terminated", cloud.AttrDisableAPITermination)
	}
	inst.State, inst.Desired = cloud.StateShuttingDown, cloud.StateTerminated
	reason := cloud.ReasonUserShutdown
	inst.StateReason, inst.StateTransitionReason = &reason, now
	inst.RebootRequested = false
	return nil
}

// protected is EC2's answer to stopping or terminating an instance whose
// stop or termination protection attribute is set.
func protected(id, verb, attr string) error {
	return cloud.Errorf(cloud.ErrCodeOperationNotPermitted,
		"The instance '%s' may not be %s. Modify its '%s' instance attribute and try again.",
		id, verb, attr)
}

// rebootTransition asks the controller to reboot a running instance.
func rebootTransition(inst *cloud.Instance, _ string) error {
	switch inst.State {
	case cloud.StateRunning, cloud.StatePending:
		inst.RebootRequested = inst.State == cloud.StateRunning
		return nil
	}
	return cloud.IncorrectState(inst.ID)
}

// StartInstances starts stopped instances. Each goes to pending and its
// host's controller powers its VM on; the host must have room for it
// again, or the call fails with InsufficientInstanceCapacity.
func (s *Service) StartInstances(ctx context.Context, in *cloud.InstanceIDsInput) ([]cloud.StateChange, error) {
	return s.change(ctx, in.InstanceIDs, in.DryRun, startTransition, true)
}

// StopInstances stops instances: the guest is asked to shut down (unless
// Force), and its VM is powered off when it does not in time.
func (s *Service) StopInstances(ctx context.Context, in *cloud.StopInstancesInput) ([]cloud.StateChange, error) {
	if in.Hibernate {
		return nil, cloud.Errorf(cloud.ErrCodeUnsupported,
			"Hibernation is not supported by minicloud's ESXi hosts.")
	}
	return s.change(ctx, in.InstanceIDs, in.DryRun, stopTransition(in.Force), false)
}

// TerminateInstances terminates instances: their VMs and disks are
// destroyed, and they stay visible as terminated for an hour.
func (s *Service) TerminateInstances(ctx context.Context, in *cloud.InstanceIDsInput) ([]cloud.StateChange, error) {
	return s.change(ctx, in.InstanceIDs, in.DryRun, terminateTransition, false)
}

// RebootInstances reboots running instances through their guests, or by
// a reset when the guest has no VMware Tools.
func (s *Service) RebootInstances(ctx context.Context, in *cloud.InstanceIDsInput) error {
	_, err := s.change(ctx, in.InstanceIDs, in.DryRun, rebootTransition, false)
	return err
}

// change applies t to every instance in ids in one transaction: either
// all change or none does. With reserve, instances leaving stopped first
// reserve room on their hosts.
func (s *Service) change(ctx context.Context, ids []string, dryRun bool, t transition,
	reserve bool,
) ([]cloud.StateChange, error) {
	if len(ids) == 0 {
		return nil, cloud.MissingParameter("InstanceId")
	}
	if err := checkInstanceIDs(ids); err != nil {
		return nil, err
	}
	ids = dedupe(ids)
	who := caller(ctx)
	now := cloud.UserInitiated(s.now())

	// The first pass checks, without writing: a dry run ends there, and
	// a start reserves room on the hosts before anything is written.
	found, missing, err := s.store.InstancesByID(ids)
	if err != nil {
		return nil, err
	}
	for _, inst := range found {
		if inst.OwnerID != who.AccountID || !s.visible(inst) {
			missing = append(missing, inst.ID)
		}
	}
	if len(missing) > 0 {
		return nil, cloud.InstancesNotFound(missing)
	}
	for _, inst := range found {
		if err := t(inst.Clone(), now); err != nil {
			return nil, err
		}
	}
	if dryRun {
		return nil, cloud.ErrDryRun
	}
	if reserve {
		if err := s.reserveStarts(found); err != nil {
			return nil, err
		}
	}

	// The second pass writes, in one transaction.
	var changes []cloud.StateChange
	updated, err := s.store.UpdateInstances(ids, func(inst *cloud.Instance) error {
		before := inst.State
		if err := t(inst, now); err != nil {
			return err
		}
		if inst.State != before {
			inst.StateChanged = s.now()
		}
		return nil
	})
	if err != nil {
		for _, inst := range found {
			s.fleet.track(inst)
		}
		return nil, storeError(err)
	}
	for i, inst := range updated {
		s.fleet.track(inst)
		changes = append(changes, cloud.StateChange{
			InstanceID: inst.ID, Previous: found[i].State, Current: inst.State,
		})
		s.ctrl.kick(inst.Host)
	}
	return changes, nil
}

// reserveStarts reserves room on their hosts for the stopped instances
// among insts, or reserves nothing and returns InsufficientInstanceCapacity.
func (s *Service) reserveStarts(insts []*cloud.Instance) error {
	var reserved []string
	for _, inst := range insts {
		if inst.State != cloud.StateStopped {
			continue
		}
		if !s.fleet.reserve(inst, s.sched) {
			s.fleet.release(reserved)
			return cloud.InsufficientCapacity("Host " + inst.Host +
				" of instance " + inst.ID + " has no room for it now.")
		}
		reserved = append(reserved, inst.ID)
	}
	return nil
}
