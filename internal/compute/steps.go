package compute

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/hypervisor"
)

// reconcile starts a step for every instance on the host that is not
// where it should be, is not already being worked on and is not backing
// off after a fault.
func (w *worker) reconcile(ctx context.Context) {
	insts, err := w.svc.store.HostInstances(w.cfg.Name)
	if err != nil {
		w.log.Error("read instances", "err", err)
		return
	}
	now := time.Now()
	for _, inst := range insts {
		if inst.Settled() {
			continue
		}
		w.mu.Lock()
		skip := w.busy[inst.ID] || now.Before(w.retries[inst.ID].next) || !w.ready
		if !skip {
			w.busy[inst.ID] = true
			w.steps.Add(1)
		}
		w.mu.Unlock()
		if !skip {
			go w.runStep(ctx, inst)
		}
	}
}

// launchSteps is how many steps a launch takes: files, register, power.
const launchSteps = 3

// runStep runs one step for inst within the host's limit of steps in
// flight, then wakes the worker for the next one. A launch goes on from
// one step to the next at once: its three host calls, a second each on a
// real host, follow each other without a trip through the worker.
func (w *worker) runStep(ctx context.Context, inst *cloud.Instance) {
	defer w.steps.Done()
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		w.done(inst.ID, nil)
		return
	}
	err := w.step(ctx, inst)
	for i := 1; i < launchSteps && err == nil && ctx.Err() == nil; i++ {
		next := w.nextLaunchStep(inst.ID)
		if next == nil {
			break
		}
		inst = next
		err = w.step(ctx, inst)
	}
	<-w.sem
	w.done(inst.ID, err)
	if ctx.Err() == nil {
		w.kick()
	}
}

// nextLaunchStep returns the instance with id as stored if it is still
// launching and the host can be driven, forgetting its backoff since its
// last step succeeded; otherwise nil.
func (w *worker) nextLaunchStep(id string) *cloud.Instance {
	inst, err := w.svc.store.Instance(id)
	if err != nil || inst.State != cloud.StatePending || inst.Settled() {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.ready {
		return nil
	}
	delete(w.retries, id)
	return inst
}

// done ends a step: on success the instance's backoff is forgotten; on
// failure the next attempt waits, twice as long each time.
func (w *worker) done(id string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.busy, id)
	if err == nil {
		delete(w.retries, id)
		return
	}
	r := w.retries[id]
	r.attempts++
	delay := w.svc.opts.RetryBase << min(r.attempts-1, 16)
	delay = min(delay, w.svc.opts.RetryMax)
	r.next = time.Now().Add(delay)
	w.retries[id] = r
	time.AfterFunc(delay, w.kick)
}

// step does the next piece of work on inst's VM and records it. It
// returns an error only when the step should be tried again later.
func (w *worker) step(ctx context.Context, inst *cloud.Instance) error {
	var err error
	switch {
	case inst.Desired == cloud.StateTerminated:
		err = w.terminate(ctx, inst)
	case inst.State == cloud.StateStopping:
		err = w.stop(ctx, inst)
	case inst.State == cloud.StatePending:
		err = w.launch(ctx, inst)
	case inst.RebootRequested:
		err = w.reboot(ctx, inst)
	case inst.ConfigPending && inst.State == cloud.StateStopped:
		err = w.reconfigure(ctx, inst)
	default:
		return nil
	}
	if err == nil || ctx.Err() != nil {
		return err
	}
	return w.failed(inst, err)
}

// failed decides what a failed step means. A host that refuses minicloud
// or cannot be reached is held or marked unreachable, and the step is
// tried again when it is back; one that refuses a session is asked again
// later, however often. A transient fault is tried again, with
// backoff, up to LaunchRetries times in a row while bringing an instance
// up. A command that ran and failed, or a launch out of retries, ends the
// launch (the instance terminates with Server.InternalError, as on EC2)
// or the start (the instance stops); other operations keep trying.
func (w *worker) failed(inst *cloud.Instance, err error) error {
	var herr *hypervisor.Error
	ranAndFailed := errors.As(err, &herr) && herr.Err == nil && !hypervisor.IsTransient(err)
	exhausted := inst.State == cloud.StatePending &&
		w.failures(inst.ID) >= w.svc.opts.LaunchRetries

	switch {
	case hostUnusable(err):
		w.hostFailed(err)
		return err
	case errors.Is(err, hypervisor.ErrSessionRefused):
		// The command never started: the host is busy, not failing, so
		// this costs the launch none of its retries.
		w.log.Warn("host refused an SSH session; will retry (set max_sessions below "+
			"the host's sshd MaxSessions)", "instance", inst.ID, "err", err)
		return err
	case !ranAndFailed && !exhausted:
		w.log.Warn("step failed; will retry", "instance", inst.ID, "err", err)
		return err
	case inst.State == cloud.StatePending && !inst.Launched:
		w.log.Error("launch failed", "instance", inst.ID, "err", err)
		return w.record(inst.ID, func(i *cloud.Instance) {
			if i.State == cloud.StatePending {
				reason := cloud.ReasonInternalError
				i.State, i.Desired = cloud.StateShuttingDown, cloud.StateTerminated
				i.StateReason, i.StateTransitionReason = &reason, ""
			}
		})
	case inst.State == cloud.StatePending:
		w.log.Error("start failed", "instance", inst.ID, "err", err)
		return w.record(inst.ID, func(i *cloud.Instance) {
			if i.State == cloud.StatePending {
				reason := cloud.StateReason{Code: "Server.InternalError",
					Message: "Server.InternalError: Internal error on start"}
				i.State, i.Desired = cloud.StateStopped, cloud.StateStopped
				i.StateReason = &reason
			}
		})
	}
	w.log.Error("step failed; will retry", "instance", inst.ID, "err", err)
	return err
}

// hostUnusable reports whether err means the host cannot be driven at
// all, rather than that one command failed: it refused the login or host
// key, or it cannot be reached.
func hostUnusable(err error) bool {
	return hypervisor.IsAuth(err) || hypervisor.IsHostKey(err) ||
		errors.Is(err, hypervisor.ErrUnreachable) || errors.Is(err, hypervisor.ErrConnectionLost)
}

// failures returns how many times in a row inst's steps have failed.
func (w *worker) failures(id string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.retries[id].attempts
}

// record applies change to the stored instance and updates the fleet's
// accounting. change must check the state it expects: the user may have
// asked for something else while the step ran.
func (w *worker) record(id string, change func(*cloud.Instance)) error {
	now := w.svc.now()
	inst, err := w.svc.store.UpdateInstance(id, func(i *cloud.Instance) error {
		before := i.State
		change(i)
		if i.State != before {
			i.StateChanged = now
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("compute: record %s: %w", id, err)
	}
	w.svc.fleet.track(inst)
	return nil
}

// launch takes a pending instance one step toward running: write its
// files, register its VM, power it on.
func (w *worker) launch(ctx context.Context, inst *cloud.Instance) error {
	d := w.driver()
	switch inst.Step {
	case cloud.StepNone:
		spec, err := w.spec(inst)
		if err != nil {
			return err
		}
		failAt("launch/create-files/begin")
		if err := d.CreateFiles(ctx, spec); err != nil {
			return err
		}
		return w.recordStep("launch/create-files", inst.ID, func(i *cloud.Instance) {
			if i.Step == cloud.StepNone {
				i.Step = cloud.StepFiles
			}
		})

	case cloud.StepFiles:
		spec, err := w.spec(inst)
		if err != nil {
			return err
		}
		vmid, err := d.Register(ctx, spec)
		if err != nil {
			return err
		}
		return w.recordStep("launch/register", inst.ID, func(i *cloud.Instance) {
			i.Step, i.VMID = cloud.StepRegistered, vmid
		})
	}

	if inst.ConfigPending {
		return w.reconfigure(ctx, inst)
	}
	if err := d.PowerOn(ctx, inst.VMID); err != nil {
		return err
	}
	w.log.Info("instance running", "instance", inst.ID, "vmid", inst.VMID)
	return w.recordStep("launch/power-on", inst.ID, func(i *cloud.Instance) {
		if i.State == cloud.StatePending && i.Desired == cloud.StateRunning {
			// EC2 reports the time of the last start as the launch time.
			if i.Launched {
				i.LaunchTime = w.svc.now().UTC().Truncate(time.Second)
			}
			i.State, i.StateReason, i.StateTransitionReason = cloud.StateRunning, nil, ""
			i.Launched, i.GuestReady = true, false
		}
	})
}

// stop brings a stopping instance's VM to powered off: through a guest
// shutdown unless forced, and with a power-off when the guest cannot shut
// down or takes longer than StopTimeout.
func (w *worker) stop(ctx context.Context, inst *cloud.Instance) error {
	if inst.Step == cloud.StepRegistered {
		if err := w.powerDown(ctx, inst); err != nil {
			return err
		}
	}
	return w.record(inst.ID, func(i *cloud.Instance) {
		if i.State == cloud.StateStopping {
			i.State, i.GuestReady = cloud.StateStopped, false
		}
	})
}

// powerDown shuts the guest down or powers the VM off.
func (w *worker) powerDown(ctx context.Context, inst *cloud.Instance) error {
	d := w.driver()
	if inst.ForceStop {
		return d.PowerOff(ctx, inst.VMID)
	}
	if err := d.Shutdown(ctx, inst.VMID); err != nil {
		if !hypervisor.IsToolsUnavailable(err) && !hypervisor.IsInvalidPowerState(err) {
			w.log.Warn("guest shutdown failed; powering off", "instance", inst.ID, "err", err)
		}
		return d.PowerOff(ctx, inst.VMID)
	}

	// Wait for the guest to power its VM off.
	deadline := time.Now().Add(w.svc.opts.StopTimeout)
	for time.Now().Before(deadline) {
		state, err := d.PowerState(ctx, inst.VMID)
		if err != nil {
			return err
		}
		if state != hypervisor.PoweredOn {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	w.log.Warn("guest did not shut down in time; powering off", "instance", inst.ID)
	return d.PowerOff(ctx, inst.VMID)
}

// terminate destroys a shutting-down instance's VM and removes its folder.
func (w *worker) terminate(ctx context.Context, inst *cloud.Instance) error {
	d := w.driver()

	// A crash between registering and recording the vmid leaves a VM the
	// store does not know the vmid of: find it by name.
	vmid := inst.VMID
	if vmid == "" && inst.Step != cloud.StepNone {
		vm, ok, err := d.FindVM(ctx, inst.ID)
		if err != nil {
			return err
		}
		if ok {
			vmid = vm.ID
		}
	}
	if vmid != "" {
		failAt("terminate/destroy/begin")
		if err := d.Destroy(ctx, vmid); err != nil {
			return err
		}
		failAt("terminate/destroy")
	}
	if err := d.RemoveFiles(ctx, inst.Datastore, inst.ID); err != nil {
		return err
	}
	w.log.Info("instance terminated", "instance", inst.ID)
	return w.recordStep("terminate/remove-files", inst.ID, func(i *cloud.Instance) {
		i.State, i.Desired = cloud.StateTerminated, cloud.StateTerminated
		i.Step, i.VMID, i.GuestReady, i.RebootRequested = cloud.StepNone, "", false, false
		i.PrivateIPAddress = ""
	})
}

// reboot reboots a running instance's guest, or resets its VM.
func (w *worker) reboot(ctx context.Context, inst *cloud.Instance) error {
	if err := w.driver().Reboot(ctx, inst.VMID); err != nil {
		return err
	}
	w.log.Info("instance rebooted", "instance", inst.ID)
	return w.record(inst.ID, func(i *cloud.Instance) {
		i.RebootRequested, i.GuestReady = false, false
	})
}

// spec describes inst's VM for the driver.
func (w *worker) spec(inst *cloud.Instance) (hypervisor.VMSpec, error) {
	img, err := w.svc.store.Image(inst.ImageID)
	if err != nil {
		return hypervisor.VMSpec{}, fmt.Errorf("compute: image of %s: %w", inst.ID, err)
	}
	extra, err := guestinfo(inst)
	if err != nil {
		return hypervisor.VMSpec{}, err
	}
	return hypervisor.VMSpec{
		Name:        inst.ID,
		Datastore:   inst.Datastore,
		SourceDisk:  img.Location,
		NumCPUs:     inst.VCPUs,
		MemoryMB:    inst.MemoryMiB,
		GuestOS:     img.GuestOS,
		Network:     inst.Network,
		ExtraConfig: extra,
	}, nil
}
