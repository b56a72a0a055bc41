package compute_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/compute"
	"github.com/minicloud/minicloud/internal/esxisim"
	"github.com/minicloud/minicloud/internal/hypervisor"
	"github.com/minicloud/minicloud/internal/store"
)

// env is a service over a real state file and simulated ESXi hosts
// reached over real SSH connections.
type env struct {
	t      testing.TB
	dir    string
	db     *store.DB
	sims   []*esxisim.Host
	addrs  []string // each simulated host's SSH address
	conns  []*hypervisor.SSHTransport
	hosts  []compute.HostConfig
	svc    *compute.Service
	stop   context.CancelFunc
	done   chan struct{}
	images []*cloud.Image
}

// envOptions adjust an env before it starts.
type envOptions struct {
	hosts    int
	sim      func(i int, cfg *esxisim.Config)
	ssh      func(i int, cfg *hypervisor.SSHConfig)
	opts     func(o *compute.Options)
	log      *slog.Logger
	noRun    bool // do not start the controllers
	noWait   bool // start them, but do not wait for the hosts to be ready
	memoryGB int
}

// newEnv starts n simulated hosts, a store and a running service.
func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	if o.hosts == 0 {
		o.hosts = 2
	}
	e := &env{t: t, dir: t.TempDir()}
	for i := 0; i < o.hosts; i++ {
		e.startSim(i, o)
	}
	e.open(o)
	t.Cleanup(e.close)
	return e
}

func (e *env) startSim(i int, o envOptions) {
	e.t.Helper()
	mem := o.memoryGB
	if mem == 0 {
		mem = 16
	}
	cfg := esxisim.Config{
		Dir:          filepath.Join(e.dir, fmt.Sprintf("esxi-%d", i+1)),
		Name:         fmt.Sprintf("esxi-%d", i+1),
		Password:     "secret",
		CPUCores:     4,
		CPUThreads:   8,
		MemoryBytes:  int64(mem) << 30,
		Datastores:   []esxisim.Datastore{{Name: "datastore1", CapacityBytes: 1 << 40}},
		Templates:    []esxisim.Template{{Name: "debian-12", SizeGB: 8, GuestOS: "debian12_64Guest"}},
		GuestNetwork: fmt.Sprintf("172.31.%d.0/20", i*16),
	}
	if o.sim != nil {
		o.sim(i, &cfg)
	}
	h, err := esxisim.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	addr, err := h.Start("127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	e.sims = append(e.sims, h)
	e.addrs = append(e.addrs, addr.String())
	e.hosts = append(e.hosts, compute.HostConfig{
		Name: cfg.Name, Address: addr.String(), Zone: fmt.Sprintf("us-east-1%c", 'a'+i),
		Datastore: "datastore1", Network: "VM Network",
		Driver: e.driver(i, "secret", o.ssh),
	})
}

// driver returns a driver for the i-th simulated host that logs in with
// password, over a transport that backs off briefly after a failed dial.
func (e *env) driver(i int, password string, mod func(int, *hypervisor.SSHConfig)) *hypervisor.ESXi {
	e.t.Helper()
	name := fmt.Sprintf("esxi-%d", i+1)
	cfg := hypervisor.SSHConfig{
		Host: name, Addr: e.addrs[i], Password: password, HostKey: e.sims[i].HostKey(),
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
	}
	if mod != nil {
		mod(i, &cfg)
	}
	t, err := hypervisor.NewSSH(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.conns = append(e.conns, t)
	return hypervisor.NewESXi(t, hypervisor.Options{Host: name})
}

// open opens the store and starts the service.
func (e *env) open(o envOptions) {
	e.t.Helper()
	db, err := store.Open(filepath.Join(e.dir, "minicloud.db"), store.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	opts := compute.Options{
		ObserveInterval: 100 * time.Millisecond,
		ProbeInterval:   100 * time.Millisecond,
		RetryBase:       20 * time.Millisecond,
		RetryMax:        200 * time.Millisecond,
		StopTimeout:     5 * time.Second,
	}
	if o.opts != nil {
		o.opts(&opts)
	}
	log := o.log
	if log == nil && testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	svc, err := compute.New(db, e.hosts, opts, log)
	if err != nil {
		e.t.Fatal(err)
	}
	err = svc.EnsureImages([]compute.ImageConfig{{
		Name: "debian-12", Location: "[datastore1] templates/debian-12/debian-12.vmdk",
		GuestOS: "debian12_64Guest", VolumeSizeGiB: 8,
	}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.db, e.svc = db, svc
	e.images, _ = db.Images()
	if !o.noRun {
		e.run()
		if !o.noWait {
			e.waitReady()
		}
	}
}

// run starts the controllers.
func (e *env) run() {
	ctx, cancel := context.WithCancel(context.Background())
	e.stop, e.done = cancel, make(chan struct{})
	go func() {
		defer close(e.done)
		e.svc.Run(ctx)
	}()
}

// restart stops the service and starts a new one over the same state file
// and hosts, as a restart of minicloud does.
func (e *env) restart(o envOptions) {
	e.t.Helper()
	e.shutdown()
	e.open(o)
}

func (e *env) shutdown() {
	if e.stop != nil {
		e.stop()
		<-e.done
		e.stop = nil
	}
	if e.db != nil {
		e.db.Close()
		e.db = nil
	}
}

func (e *env) close() {
	e.shutdown()
	for _, t := range e.conns {
		t.Close()
	}
	for _, h := range e.sims {
		h.Close()
	}
}

// imageID returns the id of the debian-12 image.
func (e *env) imageID() string { return e.images[0].ID }

// run launches count instances and returns their ids.
func (e *env) runInstances(count int, mod func(*cloud.RunInstancesInput)) []string {
	e.t.Helper()
	in := &cloud.RunInstancesInput{
		ImageID: e.imageID(), InstanceType: "t3.micro", MinCount: count, MaxCount: count,
	}
	if mod != nil {
		mod(in)
	}
	res, err := e.svc.RunInstances(context.Background(), in)
	if err != nil {
		e.t.Fatalf("RunInstances: %v", err)
	}
	var ids []string
	for _, inst := range res.Instances {
		ids = append(ids, inst.ID)
	}
	return ids
}

// instance returns the stored instance.
func (e *env) instance(id string) *cloud.Instance {
	e.t.Helper()
	inst, err := e.db.Instance(id)
	if err != nil {
		e.t.Fatal(err)
	}
	return inst
}

// waitFor polls until every instance in ids satisfies cond.
func (e *env) waitFor(what string, ids []string, cond func(*cloud.Instance) bool) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok := true
		var last *cloud.Instance
		for _, id := range ids {
			last = e.instance(id)
			if !cond(last) {
				ok = false
				break
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s; %s is %s (desired %s, step %q, reason %+v)",
				what, last.ID, last.State, last.Desired, last.Step, last.StateReason)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) waitState(state cloud.InstanceState, ids ...string) {
	e.t.Helper()
	e.waitFor(string(state), ids, func(i *cloud.Instance) bool { return i.State == state })
}

// sh runs a command line on the i-th simulated host, as a person logged
// into it would, and returns its output.
func (e *env) sh(i int, cmd string) string {
	e.t.Helper()
	var out, errOut strings.Builder
	status := e.sims[i].Exec(context.Background(), cmd, nil, &out, &errOut)
	if status != 0 {
		e.t.Fatalf("%s on %s: exit %d: %s%s", cmd, e.hosts[i].Name, status, out.String(), errOut.String())
	}
	return out.String()
}

// simIndex returns the index of the host an instance is on.
func (e *env) simIndex(id string) int {
	host := e.instance(id).Host
	for i, h := range e.hosts {
		if h.Name == host {
			return i
		}
	}
	e.t.Fatalf("no host %s", host)
	return -1
}
