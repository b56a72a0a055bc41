package compute

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/scheduler"
	"github.com/minicloud/minicloud/internal/store"
)

// Service implements cloud.Service over a store and a fleet of ESXi hosts,
// and runs the controllers that drive those hosts.
type Service struct {
	store  Store
	fleet  *fleet
	opts   Options
	sched  scheduler.Options
	log    *slog.Logger
	now    func() time.Time
	ctrl   *controller
	closed chan struct{}
	wg     sync.WaitGroup
	nets   networks   // each account's default network
	imgs   *imageWork // the controller's image work
}

var _ cloud.Service = (*Service)(nil)

// New returns a service over st driving hosts. It reads the instances in
// st to learn what each host holds; it starts no controller until Run.
func New(st Store, hosts []HostConfig, opts Options, log *slog.Logger) (*Service, error) {
	opts.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		store:  st,
		fleet:  newFleet(hosts),
		opts:   opts,
		sched:  scheduler.Options{CPUOvercommit: opts.CPUOvercommit},
		log:    log,
		now:    opts.Now,
		closed: make(chan struct{}),
		imgs:   newImageWork(),
	}
	s.ctrl = newController(s, hosts)

	// Count what every instance holds on its host.
	err := st.ScanInstances("", func(inst *cloud.Instance) bool {
		s.fleet.track(inst)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("compute: load instances: %w", err)
	}
	return s, nil
}

// Run drives every host until ctx is done, then waits for the work in
// flight to stop.
func (s *Service) Run(ctx context.Context) {
	s.ctrl.run(ctx)
}

// Hosts returns each host's state, capacity and use.
func (s *Service) Hosts() []cloud.Host { return s.fleet.snapshot() }

// RetryHost asks the controller to contact a host again at once: a held
// host (one that refused minicloud's credentials or presented an
// unexpected host key) is tried once more, and an unreachable one is
// dialled without waiting out its backoff. A host whose login still fails
// is held again after that one attempt. It returns an error wrapping
// ErrNoHost for a name that is not configured.
func (s *Service) RetryHost(name string) error {
	return s.ctrl.retry(name, nil, "an operator asked to retry it")
}

// ReplaceDriver drives the named host through d from now on and contacts
// it at once, releasing it if it was held: call it when the host's
// credentials or expected key changed. Steps already running finish with
// the old driver, and one that loses it is tried again, so the caller may
// close the old driver's transport straight away. It returns an error
// wrapping ErrNoHost for a name that is not configured.
func (s *Service) ReplaceDriver(name string, d Driver) error {
	if d == nil {
		return errors.New("compute: ReplaceDriver needs a driver")
	}
	return s.ctrl.retry(name, d, "its configuration changed")
}

// caller returns the account of the request in ctx.
func caller(ctx context.Context) cloud.Caller { return cloud.CallerFrom(ctx) }

// storeError turns a store failure into the error the API reports.
func storeError(err error) error {
	var missing *store.MissingError
	if errors.As(err, &missing) {
		return cloud.InstancesNotFound(missing.IDs)
	}
	return err
}

// checkInstanceIDs reports the first malformed id, as EC2 does.
func checkInstanceIDs(ids []string) error {
	for _, id := range ids {
		if !cloud.ValidID(cloud.PrefixInstance, id) {
			return cloud.Errorf(cloud.ErrCodeInvalidInstanceIDMalformed,
				"Invalid id: \"%s\"", id)
		}
	}
	return nil
}

// dedupe returns ids without repeats, in first-seen order.
func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// WaitProbed waits until every host has answered or failed its first
// probe, or ctx is done, so that a server starting up does not refuse
// launches only because its hosts are still connecting.
func (s *Service) WaitProbed(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		probed := true
		for _, h := range s.fleet.snapshot() {
			if h.State == cloud.HostConnecting {
				probed = false
			}
		}
		if probed {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
