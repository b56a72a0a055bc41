package compute

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/hypervisor"
)

// controller runs one worker per host, and the janitor that removes
// terminated instances once they have been visible long enough.
type controller struct {
	svc     *Service
	workers map[string]*worker
}

func newController(s *Service, hosts []HostConfig) *controller {
	c := &controller{svc: s, workers: map[string]*worker{}}
	for _, h := range hosts {
		c.workers[h.Name] = &worker{
			svc:     s,
			cfg:     h,
			log:     s.log.With("host", h.Name),
			wake:    make(chan struct{}, 1),
			reset:   make(chan string, 1),
			drv:     h.Driver,
			sem:     make(chan struct{}, s.opts.StepsPerHost),
			busy:    map[string]bool{},
			retries: map[string]retry{},
		}
	}
	return c
}

// run drives every host until ctx is done and all steps in flight ended.
func (c *controller) run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, w := range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.svc.janitor(ctx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.svc.runImages(ctx)
	}()
	wg.Wait()
}

// kick wakes the worker of host to look at its instances now.
func (c *controller) kick(host string) {
	if w := c.workers[host]; w != nil {
		w.kick()
	}
}

// ErrNoHost is returned for a host name that is not configured.
var ErrNoHost = errors.New("compute: no such host")

// retry asks host's worker to contact it again at once, saying why in the
// log. With d, the worker drives the host through d from then on.
func (c *controller) retry(host string, d Driver, why string) error {
	w := c.workers[host]
	if w == nil {
		return fmt.Errorf("%w: %q", ErrNoHost, host)
	}
	if d != nil {
		w.mu.Lock()
		w.drv = d
		w.mu.Unlock()
	}
	select {
	case w.reset <- why:
	default:
	}
	return nil
}

// worker drives the VMs of one host toward their instances' desired
// states, one step per instance at a time, and reads the host back.
type worker struct {
	svc   *Service
	cfg   HostConfig
	log   *slog.Logger
	wake  chan struct{} // a send asks for a reconcile
	reset chan string   // a send, saying why, releases a held host
	sem   chan struct{} // bounds the steps in flight

	mu      sync.Mutex       // guards the fields that follow
	drv     Driver           // the host's driver; replaced when reconfigured
	busy    map[string]bool  // instance ids with a step in flight
	retries map[string]retry // instance ids backing off after a fault
	ready   bool             // the host answered its last probe
	blind   int              // observations failed in a row on a working connection
	held    bool             // credentials or host key refused: no contact
	reading bool             // an observation is in flight
	steps   sync.WaitGroup   // the steps and the observation in flight
}

// retry is an instance's backoff after a transient fault.
type retry struct {
	attempts int
	next     time.Time
}

func (w *worker) kick() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run is the worker's loop: probe until the host answers, then reconcile
// whenever woken and observe on every tick.
func (w *worker) run(ctx context.Context) {
	observe := time.NewTicker(w.svc.opts.ObserveInterval)
	defer observe.Stop()
	probe := time.NewTimer(0)
	defer probe.Stop()
	defer w.steps.Wait()

	for {
		select {
		case <-ctx.Done():
			return
		case <-probe.C:
			if !w.isReady() && !w.isHeld() {
				w.probe(ctx)
			}
			probe.Reset(w.svc.opts.ProbeInterval)
		case why := <-w.reset:
			w.mu.Lock()
			w.held, w.ready = false, false
			w.mu.Unlock()
			w.log.Info("contacting host again", "why", why)
			w.driver().ResetConnection()
			w.probe(ctx)
		case <-observe.C:
			if w.isReady() {
				w.observeAsync(ctx)
			}
		case <-w.wake:
		}
		if w.isReady() {
			w.reconcile(ctx)
		}
	}
}

// driver returns the host's current driver.
func (w *worker) driver() Driver {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.drv
}

func (w *worker) isReady() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ready
}

func (w *worker) isHeld() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.held
}

// probe reads the host's capacity and which images it has, and marks it
// ready; on failure it records why.
func (w *worker) probe(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	info, err := w.driver().Probe(ctx)
	if err != nil {
		w.hostFailed(err)
		return
	}
	images, err := w.images(ctx)
	if err != nil {
		w.hostFailed(err)
		return
	}

	w.svc.fleet.setReady(w.cfg.Name, info.CPUThreads, int(info.MemoryBytes>>20), images)
	w.mu.Lock()
	was := w.ready
	w.ready, w.blind = true, 0
	w.mu.Unlock()
	if !was {
		w.log.Info("host ready", "version", info.Version, "threads", info.CPUThreads,
			"memory_mib", info.MemoryBytes>>20, "images", len(images))
	}
}

// images returns the set of image ids whose template disk is on the host.
func (w *worker) images(ctx context.Context) (map[string]bool, error) {
	imgs, err := w.svc.store.Images()
	if err != nil {
		return nil, err
	}
	d := w.driver()
	var ids, paths []string
	for _, img := range imgs {
		p, err := d.DatastorePath(img.Location)
		if err != nil {
			continue
		}
		ids = append(ids, img.ID)
		paths = append(paths, p)
	}
	exist, err := d.FilesExist(ctx, paths)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for i, ok := range exist {
		if ok {
			out[ids[i]] = true
		}
	}
	return out, nil
}

// hostFailed records that the host could not be driven. Credentials or a
// host key that the host refused hold the host until an operator retries:
// ESXi locks an account after five failed logins, so minicloud must never
// try again by itself.
func (w *worker) hostFailed(err error) {
	state, msg := cloud.HostUnreachable, err.Error()
	held := false
	switch {
	case hypervisor.IsAuth(err):
		state, held = cloud.HostAuthFailed, true
		msg = "authentication failed; minicloud will not try again until " +
			"the host's credentials change or an operator retries it: " + msg
	case hypervisor.IsHostKey(err):
		state, held = cloud.HostKeyMismatch, true
		msg = "the host presented an unexpected host key; minicloud will not " +
			"connect until its configured host key changes: " + msg
	}

	w.mu.Lock()
	changed := w.ready || held != w.held
	w.ready, w.held = false, held
	w.mu.Unlock()
	w.svc.fleet.setState(w.cfg.Name, state, msg)
	if held {
		w.log.Error("host held", "state", state, "err", err)
	} else if changed {
		w.log.Warn("host unreachable", "err", err)
	}
}
