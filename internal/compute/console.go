package compute

import (
	"context"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
)

// consoleTimeout bounds reading a console log from its host.
const consoleTimeout = 30 * time.Second

// GetConsoleOutput returns the last 64 KiB of what the instance's guest
// wrote to its serial console, read from its VM's console log on its host,
// and when the log was last written. An instance with no log yet (no VM
// has run), a terminated one, or one whose host cannot be driven now has
// no output; EC2 too answers without output when it has none. minicloud
// always reads the log as it stands, so Latest changes nothing.
func (s *Service) GetConsoleOutput(ctx context.Context, in *cloud.GetConsoleOutputInput) (*cloud.ConsoleOutput, error) {
	inst, err := s.ownInstance(ctx, in.InstanceID)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, cloud.ErrDryRun
	}
	out := &cloud.ConsoleOutput{InstanceID: inst.ID, Timestamp: s.now().UTC()}

	// Only a VM that exists on a host minicloud may contact has a log. A
	// held host is never contacted: its login was refused.
	w := s.ctrl.workers[inst.Host]
	if w == nil || inst.State == cloud.StateTerminated || inst.Step == cloud.StepNone ||
		!s.fleet.ready(inst.Host) {
		return out, nil
	}
	ctx, cancel := context.WithTimeout(ctx, consoleTimeout)
	defer cancel()
	data, at, err := w.driver().ReadConsole(ctx, inst.Datastore, inst.ID)
	if err != nil {
		w.log.Warn("read console log", "instance", inst.ID, "err", err)
		return out, nil
	}
	if !at.IsZero() {
		out.Timestamp = at
	}
	out.Output = data
	return out, nil
}
