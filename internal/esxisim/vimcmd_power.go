package esxisim

import (
	"fmt"
	"strconv"
	"time"
)

// uuidQuestion is the key of the question a VM asks when its files were
// moved or copied.
const uuidQuestion = "msg.uuid.altered"

// vmsvcPowerGetState prints a VM's power state.
func vmsvcPowerGetState(p *proc, args []string) int {
	var state string
	err := p.withVMOrBroken(args, func(st *hostState, vm *vmState) error {
		state = vm.Power
		return nil
	})
	if err != nil {
		return p.finish(err)
	}
	p.outf("Retrieved runtime info\n%s\n", powerWords(state))
	return 0
}

// vmsvcPowerOn powers a VM on. If the VM asks a question first, it waits
// until the question is answered, as the power-on task does.
func vmsvcPowerOn(p *proc, args []string) int {
	started := false
	qid := 0
	err := p.withVM(args, func(st *hostState, vm *vmState, c *vmConfig, now time.Time) error {
		started = true
		if vm.Question != nil {
			qid = vm.Question.ID
			return nil
		}
		if vm.Power == poweredOn {
			return invalidPowerState(poweredOn, poweredOn)
		}
		if p.e.asksUUIDQuestion(c) {
			vm.Question = &question{ID: st.NextQuestionID, Key: uuidQuestion}
			st.NextQuestionID++
			qid = vm.Question.ID
			return nil
		}
		return p.e.powerOn(st, vm, c, now, "")
	})
	if started {
		p.outf("Powering on VM:\n")
	}
	if err == nil && qid != 0 {
		err = p.waitForAnswer(args[0], qid)
	}

	// The power-on task may report failure although the VM came up.
	if err == nil && p.e.powerOnReportsFailure() {
		p.outf("Power on failed\n")
		return 1
	}
	return p.finish(err)
}

// asksUUIDQuestion reports whether powering the VM on asks whether it was
// moved or copied: when the host is set to ask, the .vmx carries no answer,
// and the VM has not run from this folder before.
func (e *engine) asksUUIDQuestion(c *vmConfig) bool {
	return (e.set.AskUUIDQuestion || e.faults().AskUUIDQuestion) &&
		c.vmx.value("answer.msg.uuid.altered") == "" &&
		c.vmx.value("uuid.location") != locationUUID(c.path)
}

// powerOn starts the VM. answer is how the moved-or-copied question was
// answered ("" if it was not asked): a copy gets a new BIOS UUID and new
// MAC addresses, as VMware gives it.
func (e *engine) powerOn(st *hostState, vm *vmState, c *vmConfig, now time.Time,
	answer string) error {
	// Record the VM's identity and place in its .vmx.
	if answer == "" {
		answer = c.vmx.value("answer.msg.uuid.altered")
	}
	moved := c.vmx.value("uuid.location") != locationUUID(c.path)
	if moved && c.vmx.value("uuid.location") != "" && isCopiedAnswer(answer) {
		c.vmx.remove("uuid.bios")
		for _, n := range c.nics() {
			c.vmx.remove(fmt.Sprintf("ethernet%d.generatedAddress", n))
		}
	}
	changed := c.assignIdentity()
	if moved {
		c.vmx.set("uuid.location", locationUUID(c.path))
		changed = true
	}
	if changed {
		if err := c.save(e.fs); err != nil {
			return err
		}
	}

	// Start the VMX world; a suspended guest resumes where it was.
	if vm.Power == suspended && vm.Booted {
		vm.PoweredOnAt = now.Add(-e.set.BootDelay)
	} else {
		vm.PoweredOnAt = now
		vm.Booted = false
		if err := e.startConsole(c); err != nil {
			return err
		}
	}
	vm.Power = poweredOn
	vm.ShutdownAt = time.Time{}
	vm.WorldID = st.NextWorldID
	st.NextWorldID += 2
	return nil
}

// isCopiedAnswer reports whether an answer to the moved-or-copied question
// says the VM is a copy.
func isCopiedAnswer(answer string) bool {
	switch answer {
	case "2", "I copied it", "I _copied it", "copied", "button.uuid.copy":
		return true
	}
	return false
}

// powerOff stops the VM's world.
func powerOff(vm *vmState) {
	vm.Power = poweredOff
	vm.PoweredOnAt = time.Time{}
	vm.ShutdownAt = time.Time{}
	vm.WorldID = 0
	vm.Booted = false
}

// waitForAnswer waits until question qid of VM vmid is answered: the VM is
// then on, or, if the answer was Cancel, the power-on failed.
func (p *proc) waitForAnswer(vmid string, qid int) error {
	id, _ := strconv.Atoi(vmid)
	for {
		done := false
		err := p.e.update(func(st *hostState, now time.Time) error {
			vm := st.vm(id)
			switch {
			case vm == nil:
				return notFoundVM(vmid)
			case vm.Question != nil && vm.Question.ID == qid:
				return nil
			case vm.Power != poweredOn:
				return requestCanceled()
			}
			done = true
			return nil
		})
		if err != nil || done {
			return err
		}
		if err := pause(p.ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// vmsvcMessage lists the question a VM asks, or answers it:
// `vim-cmd vmsvc/message VMID [QUESTIONID CHOICE]`.
func vmsvcMessage(p *proc, args []string) int {
	var q *question
	err := p.withVM(args, func(st *hostState, vm *vmState, c *vmConfig, now time.Time) error {
		q = vm.Question
		if len(args) < 3 {
			return nil
		}
		if q == nil || args[1] != strconv.Itoa(q.ID) {
			return invalidArgument("questionId")
		}
		choice, err := strconv.Atoi(args[2])
		if err != nil || choice < 0 || choice > 2 {
			return invalidArgument("answerChoice")
		}
		vm.Question = nil
		if choice == 0 {
			return nil
		}
		return p.e.powerOn(st, vm, c, now, strconv.Itoa(choice))
	})
	if err != nil || len(args) >= 3 {
		return p.finish(err)
	}
	if q == nil {
		p.outf("No message.\n")
		return 0
	}
	p.outf("Virtual machine message %d:\n", q.ID)
	p.outf("%s:This virtual machine might have been moved or copied.\n", q.Key)
	p.outf("To configure certain management and networking features, VMware ESX needs to know " +
		"whether this virtual machine was moved or copied.\n\n")
	p.outf("If you don't know, answer \"I _copied it\".\n")
	p.outf("   0. Cancel (Cancel)\n")
	p.outf("   1. I _moved it (I _moved it)\n")
	p.outf("   2. I _copied it (I _copied it) [default]\n")
	return 0
}

// vmsvcPowerOff powers a VM off at once, as pulling its plug.
func vmsvcPowerOff(p *proc, args []string) int {
	started := false
	err := p.withVMOrBroken(args, func(st *hostState, vm *vmState) error {
		started = true
		if vm.Power == poweredOff {
			return invalidPowerState(poweredOff, poweredOff)
		}
		powerOff(vm)
		return nil
	})
	if started {
		p.outf("Powering off VM:\n")
	}
	return p.finish(err)
}

// vmsvcPowerSuspend suspends a running VM.
func vmsvcPowerSuspend(p *proc, args []string) int {
	started := false
	err := p.withVMOrBroken(args, func(st *hostState, vm *vmState) error {
		started = true
		if vm.Power != poweredOn {
			return invalidPowerState(suspended, vm.Power)
		}
		vm.Power = suspended
		vm.WorldID = 0
		vm.ShutdownAt = time.Time{}
		return nil
	})
	if started {
		p.outf("Suspending VM:\n")
	}
	return p.finish(err)
}

// vmsvcPowerReset resets a running VM, as pressing its reset button: the
// guest boots again.
func vmsvcPowerReset(p *proc, args []string) int {
	started := false
	err := p.withVM(args, func(st *hostState, vm *vmState, c *vmConfig, now time.Time) error {
		started = true
		if vm.Power != poweredOn {
			return invalidPowerState(poweredOn, vm.Power)
		}
		return p.e.restartGuest(vm, c, now)
	})
	if started {
		p.outf("Reset VM:\n")
	}
	return p.finish(err)
}

// restartGuest starts the guest's boot over.
func (e *engine) restartGuest(vm *vmState, c *vmConfig, now time.Time) error {
	vm.PoweredOnAt = now
	vm.ShutdownAt = time.Time{}
	vm.Booted = false
	return e.startConsole(c)
}

// vmsvcPowerReboot asks the guest, through VMware Tools, to reboot.
func vmsvcPowerReboot(p *proc, args []string) int {
	return p.finish(p.withVM(args, func(st *hostState, vm *vmState, c *vmConfig, now time.Time) error {
		if vm.Power != poweredOn {
			return invalidPowerState("", vm.Power)
		}
		if !p.e.booted(vm, now) {
			return toolsUnavailable()
		}
		return p.e.restartGuest(vm, c, now)
	}))
}

// vmsvcPowerShutdown asks the guest, through VMware Tools, to shut down;
// the VM powers off when the guest is done, ShutdownDelay later.
func vmsvcPowerShutdown(p *proc, args []string) int {
	return p.finish(p.withVM(args, func(st *hostState, vm *vmState, c *vmConfig, now time.Time) error {
		if vm.Power != poweredOn {
			return invalidPowerState("", vm.Power)
		}
		if !p.e.booted(vm, now) {
			return toolsUnavailable()
		}
		vm.ShutdownAt = now
		if p.e.set.ShutdownDelay <= 0 {
			powerOff(vm)
		}
		return nil
	}))
}
