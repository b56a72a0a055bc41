package compute

import "context"

// ProbeHosts probes every host once and records what it answered, without
// starting the controllers. A service that is never Run still places
// instances on the hosts that answered and records them as pending, but
// nothing launches them: minicloud's benchmark measures the API this way
// over ten thousand instances without the hosts creating ten thousand VMs.
// A host that fails its probe is recorded as Run would record it.
func (s *Service) ProbeHosts(ctx context.Context) {
	for _, w := range s.ctrl.workers {
		w.probe(ctx)
	}
}
