package compute

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/hypervisor"
)

// ImageDriver is what the controller asks of a host to make and remove
// image templates. Every method is safe to repeat; *hypervisor.ESXi
// implements it.
type ImageDriver interface {
	// CloneDisk copies the disk src to dst (datastore paths), thin,
	// making dst's folder. A running VM's disk is locked: clone it
	// under a snapshot.
	CloneDisk(ctx context.Context, src, dst string) error
	// RemoveDiskFolder deletes the folder holding the disk p, and
	// everything in it.
	RemoveDiskFolder(ctx context.Context, p string) error
	CreateSnapshot(ctx context.Context, vmid, name, description string) error
	Snapshots(ctx context.Context, vmid string) ([]hypervisor.Snapshot, error)
	RemoveSnapshot(ctx context.Context, vmid string, id int) error
}

// imageWork is the controller's part in images: it finds which hosts hold
// a newly registered template, clones the disks of CreateImage and
// CopyImage, and deletes the templates of deregistered images.
type imageWork struct {
	wake chan struct{} // a send asks for a round now

	mu      sync.Mutex                 // guards the fields that follow
	busy    map[string]bool            // images and hosts with a task in flight
	checked map[string]map[string]bool // image id -> hosts that looked for it
}

func newImageWork() *imageWork {
	return &imageWork{
		wake: make(chan struct{}, 1), busy: map[string]bool{},
		checked: map[string]map[string]bool{},
	}
}

// kick asks for a round now.
func (iw *imageWork) kick() {
	select {
	case iw.wake <- struct{}{}:
	default:
	}
}

// runImages does image work whenever kicked and every second or so, until
// ctx is done and the tasks in flight have ended.
func (s *Service) runImages(ctx context.Context) {
	t := time.NewTicker(min(time.Second, s.opts.ProbeInterval))
	defer t.Stop()
	var tasks sync.WaitGroup
	defer tasks.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.imgs.wake:
		case <-t.C:
		}
		s.imageRound(ctx, &tasks)
	}
}

// imageRound starts a task for every image with work to do whose host can
// be driven now.
func (s *Service) imageRound(ctx context.Context, tasks *sync.WaitGroup) {
	imgs, err := s.store.Images()
	if err != nil {
		s.log.Error("read images", "err", err)
		return
	}
	var registered []*cloud.Image
	for _, img := range imgs {
		switch {
		case img.State == cloud.ImageDeregistered && (img.Managed || img.Job != nil):
			s.startImageTask(ctx, tasks, img.ID, img.Host, func(ctx context.Context, w *worker) error {
				return s.cleanImage(ctx, w, img)
			})
		case img.Job != nil && img.State != cloud.ImageDeregistered:
			if img.Job.Host == "" {
				s.pickCopyHost(img)
				continue
			}
			s.startImageTask(ctx, tasks, img.ID, img.Job.Host, func(ctx context.Context, w *worker) error {
				return s.makeImage(ctx, w, img)
			})
		case !img.Managed && (img.State == cloud.ImagePending || img.State == cloud.ImageFailed):
			registered = append(registered, img)
		}
	}
	if len(registered) > 0 {
		s.checkRegistered(ctx, tasks, registered)
	}

	// Forget where images settled since were looked for.
	s.imgs.mu.Lock()
	for id := range s.imgs.checked {
		if !slices.ContainsFunc(registered, func(img *cloud.Image) bool { return img.ID == id }) {
			delete(s.imgs.checked, id)
		}
	}
	s.imgs.mu.Unlock()
}

// startImageTask runs task on host's worker in the background, unless the
// host cannot be driven now or key already has a task in flight.
func (s *Service) startImageTask(ctx context.Context, tasks *sync.WaitGroup, key, host string,
	task func(context.Context, *worker) error,
) {
	w := s.ctrl.workers[host]
	if w == nil || !w.isReady() {
		return
	}
	s.imgs.mu.Lock()
	if s.imgs.busy[key] {
		s.imgs.mu.Unlock()
		return
	}
	s.imgs.busy[key] = true
	s.imgs.mu.Unlock()

	tasks.Add(1)
	go func() {
		defer tasks.Done()
		defer func() {
			s.imgs.mu.Lock()
			delete(s.imgs.busy, key)
			s.imgs.mu.Unlock()
		}()
		select {
		case w.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-w.sem }()
		if err := task(ctx, w); err != nil && ctx.Err() == nil {
			w.log.Warn("image work failed; will retry", "task", key, "err", err)
		}
	}()
}

// imageDriver returns the worker's driver as an ImageDriver.
func imageDriver(w *worker) (ImageDriver, error) {
	d, ok := w.driver().(ImageDriver)
	if !ok {
		return nil, fmt.Errorf("compute: the driver of host %s cannot copy disks", w.cfg.Name)
	}
	return d, nil
}

// checkRegistered looks, on every host that can be driven, for the
// templates of registered images not yet looked for there, one command
// per host, then settles each image's state: available once a host has
// its template, failed when every host that answers lacks it.
func (s *Service) checkRegistered(ctx context.Context, tasks *sync.WaitGroup, imgs []*cloud.Image) {
	for name := range s.ctrl.workers {
		var todo []*cloud.Image
		s.imgs.mu.Lock()
		for _, img := range imgs {
			if !s.imgs.checked[img.ID][name] {
				todo = append(todo, img)
			}
		}
		s.imgs.mu.Unlock()
		if len(todo) == 0 {
			continue
		}
		s.startImageTask(ctx, tasks, "look/"+name, name, func(ctx context.Context, w *worker) error {
			return s.lookForTemplates(ctx, w, todo)
		})
	}
	for _, img := range imgs {
		s.settleRegistered(img)
	}
}

// lookForTemplates checks which of imgs have their template on w's host.
func (s *Service) lookForTemplates(ctx context.Context, w *worker, imgs []*cloud.Image) error {
	d := w.driver()
	var paths []string
	var looked []*cloud.Image
	for _, img := range imgs {
		p, err := d.DatastorePath(img.Location)
		if err != nil {
			continue
		}
		paths = append(paths, p)
		looked = append(looked, img)
	}
	exist, err := d.FilesExist(ctx, paths)
	if err != nil {
		return err
	}

	s.imgs.mu.Lock()
	for i, img := range looked {
		s.fleet.setImage(w.cfg.Name, img.ID, exist[i])
		if s.imgs.checked[img.ID] == nil {
			s.imgs.checked[img.ID] = map[string]bool{}
		}
		s.imgs.checked[img.ID][w.cfg.Name] = true
	}
	s.imgs.mu.Unlock()
	for _, img := range looked {
		s.settleRegistered(img)
	}
	return nil
}

// settleRegistered makes a pending or failed registered image available
// when some host has its template, and a pending one failed when every
// host that can be driven has looked and none has it.
func (s *Service) settleRegistered(img *cloud.Image) {
	hosts := s.fleet.hostsWithImage(img.ID)
	state, reason := img.State, img.StateReason
	switch {
	case len(hosts) > 0:
		state, reason = cloud.ImageAvailable, nil
	case img.State == cloud.ImagePending && s.lookedEverywhere(img.ID):
		state = cloud.ImageFailed
		reason = &cloud.StateReason{Code: "Client.InvalidImageLocation",
			Message: "Client.InvalidImageLocation: no host has " + img.Location}
	}
	if state == img.State {
		return
	}
	_, err := s.store.UpdateImage(img.ID, func(i *cloud.Image) error {
		if i.State == img.State {
			i.State, i.StateReason = state, reason
		}
		return nil
	})
	if err != nil {
		s.log.Error("record image state", "image", img.ID, "err", err)
		return
	}
	s.log.Info("image "+string(state), "image", img.ID, "hosts", hosts)
}

// lookedEverywhere reports whether every host that can be driven, and at
// least one, has looked for the image's template.
func (s *Service) lookedEverywhere(id string) bool {
	s.imgs.mu.Lock()
	defer s.imgs.mu.Unlock()
	ready := 0
	for name, w := range s.ctrl.workers {
		if !w.isReady() {
			continue
		}
		ready++
		if !s.imgs.checked[id][name] {
			return false
		}
	}
	return ready > 0
}

// pickCopyHost chooses the host a CopyImage clones on: one that can be
// driven and holds the source's template. It waits when there is none.
func (s *Service) pickCopyHost(img *cloud.Image) {
	for _, host := range s.fleet.hostsWithImage(img.SourceImageID) {
		w := s.ctrl.workers[host]
		if w == nil || !w.isReady() {
			continue
		}
		_, err := s.store.UpdateImage(img.ID, func(i *cloud.Image) error {
			if i.Job != nil && i.Job.Host == "" {
				i.Job.Host, i.Host = host, host
				i.Location = imageTemplate(w.cfg.Datastore, i.ID)
			}
			return nil
		})
		if err != nil {
			s.log.Error("record copy host", "image", img.ID, "err", err)
		}
		s.imgs.kick()
		return
	}
}

// makeImage clones the template of a pending image made by CreateImage or
// CopyImage, records it available on its host, and starts again the
// instance CreateImage stopped.
func (s *Service) makeImage(ctx context.Context, w *worker, img *cloud.Image) error {
	job := img.Job
	if !job.Cloned {
		done, err := s.cloneTemplate(ctx, w, img)
		if err != nil {
			return s.imageFailed(img, err)
		}
		if !done {
			return nil
		}
		_, err = s.store.UpdateImage(img.ID, func(i *cloud.Image) error {
			if i.Job != nil {
				i.Job.Cloned = true
			}
			if i.State == cloud.ImagePending {
				i.State, i.StateReason = cloud.ImageAvailable, nil
			}
			return nil
		})
		if err != nil {
			return err
		}
		s.fleet.setImage(job.Host, img.ID, true)
		w.log.Info("image available", "image", img.ID, "location", img.Location)
	}

	if job.Stopped {
		s.restartAfterImage(img.SourceInstanceID)
	}
	_, err := s.store.UpdateImage(img.ID, func(i *cloud.Image) error {
		i.Job = nil
		return nil
	})
	return err
}

// cloneTemplate clones the disk the image is made from into its template.
// It reports false, without error, while the instance is in no state to be
// copied (stopping, or starting again).
func (s *Service) cloneTemplate(ctx context.Context, w *worker, img *cloud.Image) (bool, error) {
	d, err := imageDriver(w)
	if err != nil {
		return false, err
	}
	if err := checkManagedTemplate(img); err != nil {
		return false, err
	}
	if err := d.RemoveDiskFolder(ctx, img.Location); err != nil {
		return false, err
	}
	if img.SourceInstanceID == "" {
		return true, d.CloneDisk(ctx, img.Job.Source, img.Location)
	}

	inst, err := s.store.Instance(img.SourceInstanceID)
	if isNotFound(err) || err == nil && (inst.State == cloud.StateTerminated ||
		inst.State == cloud.StateShuttingDown) {
		return false, errInstanceGone
	}
	if err != nil {
		return false, err
	}
	switch {
	case inst.State == cloud.StateStopped:
		return true, d.CloneDisk(ctx, img.Job.Source, img.Location)
	case inst.State == cloud.StateRunning && inst.VMID != "":
		return true, s.cloneUnderSnapshot(ctx, d, inst.VMID, img)
	}
	return false, nil
}

// errInstanceGone ends CreateImage when its instance terminates first.
var errInstanceGone = errors.New("the instance was terminated before its disk was copied")

// cloneUnderSnapshot copies a running VM's boot disk. ESXi locks the disk
// of a running VM, and vmkfstools cannot read it; a snapshot moves the
// VM's writes to a delta disk and leaves the base disk readable, which is
// how ESXi backup tools copy running VMs. The snapshot, taken without
// memory or quiescing, is removed afterwards, folding the delta back.
func (s *Service) cloneUnderSnapshot(ctx context.Context, d ImageDriver, vmid string,
	img *cloud.Image,
) error {
	name := "minicloud-" + img.ID

	// A snapshot left by an earlier attempt is used again.
	id, err := findSnapshot(ctx, d, vmid, name)
	if err != nil {
		return err
	}
	if id == 0 {
		if err := d.CreateSnapshot(ctx, vmid, name, "CreateImage "+img.ID); err != nil {
			return err
		}
		if id, err = findSnapshot(ctx, d, vmid, name); err != nil {
			return err
		}
		if id == 0 {
			return fmt.Errorf("compute: snapshot %s of vm %s is not listed", name, vmid)
		}
	}

	cloneErr := d.CloneDisk(ctx, img.Job.Source, img.Location)
	if err := d.RemoveSnapshot(ctx, vmid, id); err != nil {
		return errors.Join(cloneErr, err)
	}
	return cloneErr
}

// findSnapshot returns the id of the VM's snapshot named name, 0 if none.
func findSnapshot(ctx context.Context, d ImageDriver, vmid, name string) (int, error) {
	snaps, err := d.Snapshots(ctx, vmid)
	if err != nil {
		return 0, err
	}
	for len(snaps) > 0 {
		s := snaps[0]
		snaps = append(snaps[1:], s.Children...)
		if s.Name == name {
			return s.ID, nil
		}
	}
	return 0, nil
}

// checkManagedTemplate refuses to touch a template path minicloud did not
// lay out itself: only minicloud-images/IMAGE-ID/IMAGE-ID.vmdk is deleted
// and rewritten.
func checkManagedTemplate(img *cloud.Image) error {
	_, rel, err := hypervisor.SplitDatastorePath(img.Location)
	if err != nil || rel != imageFolder+"/"+img.ID+"/"+img.ID+".vmdk" {
		return fmt.Errorf("compute: image %s: %q is not a template minicloud made", img.ID, img.Location)
	}
	return nil
}

// imageFailed records a pending image as failed when its host ran the
// command and it failed, or its instance is gone; other errors (a host
// that went away, a transient fault) are tried again.
func (s *Service) imageFailed(img *cloud.Image, err error) error {
	var herr *hypervisor.Error
	ranAndFailed := errors.As(err, &herr) && herr.Err == nil && !hypervisor.IsTransient(err)
	if !ranAndFailed && !errors.Is(err, errInstanceGone) {
		return err
	}
	msg := err.Error()
	if herr != nil && herr.Msg != "" {
		msg = herr.Msg
	}
	s.log.Error("image failed", "image", img.ID, "err", err)
	_, uerr := s.store.UpdateImage(img.ID, func(i *cloud.Image) error {
		if i.State == cloud.ImagePending {
			i.State = cloud.ImageFailed
			i.StateReason = &cloud.StateReason{Code: "Server.InternalError",
				Message: "Server.InternalError: " + msg}
		}
		if i.Job != nil && i.Job.Stopped {
			// The instance is started again; the job ends there.
			i.Job = &cloud.ImageJob{Host: i.Job.Host, Stopped: true, Cloned: true}
		} else {
			i.Job = nil
		}
		return nil
	})
	s.imgs.kick()
	return uerr
}

// restartAfterImage starts again an instance CreateImage stopped, unless
// the user has asked for something else since. With no room left on its
// host it stays stopped, as EC2 leaves an instance it cannot place.
func (s *Service) restartAfterImage(id string) {
	inst, err := s.store.Instance(id)
	if err != nil || inst.State != cloud.StateStopped || inst.Desired != cloud.StateStopped {
		return
	}
	if !s.fleet.reserve(inst, s.sched) {
		s.log.Warn("no room to start the instance again after CreateImage", "instance", id)
		return
	}
	inst, err = s.store.UpdateInstance(id, func(i *cloud.Instance) error {
		if i.State != cloud.StateStopped {
			return nil
		}
		before := i.State
		if err := startTransition(i, ""); err != nil {
			return err
		}
		if i.State != before {
			i.StateChanged = s.now()
		}
		return nil
	})
	if err != nil {
		s.log.Error("start instance after CreateImage", "instance", id, "err", err)
		s.fleet.release([]string{id})
		return
	}
	s.fleet.track(inst)
	s.ctrl.kick(inst.Host)
}

// cleanImage finishes a deregistered image: it starts again an instance
// its unfinished CreateImage stopped, and deletes the template minicloud
// made once no instance still waiting to launch needs it.
func (s *Service) cleanImage(ctx context.Context, w *worker, img *cloud.Image) error {
	if img.Job != nil && img.Job.Stopped {
		s.restartAfterImage(img.SourceInstanceID)
	}
	if img.Managed && img.Location != "" {
		waiting, err := s.launchesFrom(img.ID)
		if err != nil || waiting {
			return err
		}
		d, err := imageDriver(w)
		if err != nil {
			return err
		}
		if err := checkManagedTemplate(img); err != nil {
			return err
		}
		if err := d.RemoveDiskFolder(ctx, img.Location); err != nil {
			return err
		}
		w.log.Info("image template deleted", "image", img.ID, "location", img.Location)
	}
	_, err := s.store.UpdateImage(img.ID, func(i *cloud.Image) error {
		i.Managed, i.Job = false, nil
		return nil
	})
	return err
}

// launchesFrom reports whether an instance of the image has yet to clone
// its disk from the template.
func (s *Service) launchesFrom(imageID string) (bool, error) {
	waiting := false
	err := s.store.ScanInstances("", func(inst *cloud.Instance) bool {
		if inst.ImageID == imageID && inst.State == cloud.StatePending && inst.Step == cloud.StepNone {
			waiting = true
		}
		return !waiting
	})
	return waiting, err
}

// setImage records whether host holds the template of image id.
func (f *fleet) setImage(host, id string, has bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.hosts[host]
	if h == nil {
		return
	}
	if h.images == nil {
		h.images = map[string]bool{}
	}
	if has {
		h.images[id] = true
	} else {
		delete(h.images, id)
	}
	f.changedLocked()
}

// dropImage records that no host offers image id any more.
func (f *fleet) dropImage(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, h := range f.hosts {
		delete(h.images, id)
	}
	f.changedLocked()
}

// hostsWithImage returns the hosts known to hold the template of image
// id, in name order.
func (f *fleet) hostsWithImage(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, name := range f.order {
		if f.hosts[name].images[id] {
			out = append(out, name)
		}
	}
	return out
}
