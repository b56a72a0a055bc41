package hypervisor_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/esxisim"
	"github.com/minicloud/minicloud/internal/hypervisor"
)

// simHost is a simulated ESXi host and a driver connected to it over SSH:
// either the host's own SSH server and shell in this process (startSim),
// or OpenSSH's sshd and busybox ash running the standalone commands over
// the same kind of host folder (see openssh_test.go). The driver tests in
// driver_suite_test.go run against both.
type simHost struct {
	host *esxisim.Host // made on the host folder; serves SSH only in-process
	tr   *hypervisor.SSHTransport
	d    *hypervisor.ESXi

	// addr is where the host's SSH server listens.
	addr string

	// inProcess is true when the host's own SSH server and shell serve.
	inProcess bool

	// stats returns what the host's programs counted so far.
	stats func() esxisim.Stats

	// down takes the host off the network, dropping connections; up
	// brings it back with the same key and state.
	down func(t *testing.T)
	up   func(t *testing.T)
}

// simStarter starts a host configured by simConfig and edit, with a
// driver connected to it; both stop with t.
type simStarter func(t *testing.T, edit ...func(*esxisim.Config)) simHost

// simPassword is the root password of the in-process hosts.
const simPassword = "s3cret"

// simConfig is the host the driver tests run against: one datastore and
// one small template disk, in a folder of t's.
func simConfig(t *testing.T, edit ...func(*esxisim.Config)) esxisim.Config {
	t.Helper()
	cfg := esxisim.Config{
		Dir:       t.TempDir(),
		Name:      "esxi-sim",
		Password:  simPassword,
		Templates: []esxisim.Template{{Name: "debian12", SizeGB: 1, GuestOS: "debian12_64Guest"}},
	}
	for _, e := range edit {
		e(&cfg)
	}
	return cfg
}

// startSim starts a simulated host with its own SSH server on 127.0.0.1
// and a driver connected to it with a password.
func startSim(t *testing.T, edit ...func(*esxisim.Config)) simHost {
	t.Helper()
	host, err := esxisim.New(simConfig(t, edit...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close() })
	addr, err := host.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := hypervisor.NewSSH(hypervisor.SSHConfig{
		Host: "esxi-sim", Addr: addr.String(), Password: simPassword, HostKey: host.HostKey(),
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return simHost{
		host: host, tr: tr, addr: addr.String(), inProcess: true,
		d:     hypervisor.NewESXi(tr, hypervisor.Options{Host: "esxi-sim"}),
		stats: host.Stats,
		down:  func(*testing.T) { host.Down() },
		up: func(t *testing.T) {
			if err := host.Up(); err != nil {
				t.Fatal(err)
			}
		},
	}
}

// TestESXi_Simulated runs the driver suite against the simulated host's
// own SSH server and shell.
func TestESXi_Simulated(t *testing.T) {
	runDriverSuite(t, startSim)
}

// waitFor polls cond until it holds or a few seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// observeOne returns the VM vmid as Observe sees it, with its guest info.
func observeOne(t *testing.T, d *hypervisor.ESXi, vmid string) (hypervisor.VM, bool) {
	t.Helper()
	inv, err := d.Observe(context.Background(), []string{vmid})
	if err != nil {
		t.Fatal(err)
	}
	for _, vm := range inv.VMs {
		if vm.ID == vmid {
			return vm, true
		}
	}
	return hypervisor.VM{}, false
}

// simSpec returns a spec for VM name cloned from the template.
func simSpec(name string) hypervisor.VMSpec {
	return hypervisor.VMSpec{
		Name: name, Datastore: "datastore1",
		SourceDisk: "[datastore1] templates/debian12/debian12.vmdk",
		NumCPUs:    1, MemoryMB: 512, GuestOS: "debian12-64",
		ExtraConfig: map[string]string{
			"guestinfo.metadata":          `{"instance-id": "` + name + `"}`,
			"guestinfo.metadata.encoding": "",
		},
	}
}

// mustCreate lays out and registers VM name and returns its vmid.
func mustCreate(t *testing.T, d *hypervisor.ESXi, spec hypervisor.VMSpec) string {
	t.Helper()
	ctx := context.Background()
	if err := d.CreateFiles(ctx, spec); err != nil {
		t.Fatalf("create files of %s: %v", spec.Name, err)
	}
	vmid, err := d.Register(ctx, spec)
	if err != nil {
		t.Fatalf("register %s: %v", spec.Name, err)
	}
	return vmid
}

// mustInject injects f into the host or fails the test.
func mustInject(t *testing.T, h *esxisim.Host, f esxisim.Faults) {
	t.Helper()
	if err := h.Inject(f); err != nil {
		t.Fatal(err)
	}
}

// TestESXi_Simulated_SSHLimits shows the driver what sshd's MaxSessions
// and MaxStartups do to it: refused sessions and connections are
// transient errors, and the driver retries nothing by itself.
func TestESXi_Simulated_SSHLimits(t *testing.T) {
	t.Run("MaxSessions", func(t *testing.T) {
		sim := startSim(t)
		ctx := context.Background()
		if _, err := sim.d.List(ctx); err != nil { // connect first
			t.Fatal(err)
		}
		mustInject(t, sim.host, esxisim.Faults{MaxSessions: 1, Latency: 500 * time.Millisecond})

		// Four commands at once on one connection; the host takes one.
		errs := make(chan error, 4)
		for range 4 {
			go func() {
				_, err := sim.d.List(ctx)
				errs <- err
			}()
		}
		refused := 0
		for range 4 {
			err := <-errs
			switch {
			case err == nil:
			case errors.Is(err, hypervisor.ErrSessionRefused) && hypervisor.IsTransient(err):
				refused++
			default:
				t.Errorf("got %v, want success or a refused session", err)
			}
		}
		if refused == 0 || refused != sim.host.Stats().RefusedSessions {
			t.Errorf("refused: driver saw %d, host refused %d", refused, sim.host.Stats().RefusedSessions)
		}
		if got := sim.tr.Stats().Dials; got != 1 {
			t.Errorf("dials: got %d, want 1 (a refused session is no reason to redial)", got)
		}
	})

	t.Run("MaxStartups", func(t *testing.T) {
		sim := startSim(t)
		mustInject(t, sim.host, esxisim.Faults{MaxStartups: 1})

		// Another client's connection sits in its handshake.
		c, err := net.Dial("tcp", sim.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Read(make([]byte, 8)); err != nil {
			t.Fatal(err)
		}
		_, err = sim.d.List(context.Background())
		if !errors.Is(err, hypervisor.ErrUnreachable) || !hypervisor.IsTransient(err) {
			t.Fatalf("got %v, want the host unreachable for now", err)
		}
		if sim.host.Stats().FailedLogins != 0 {
			t.Error("a refused connection counted as a failed login")
		}

		// Once that client is gone, the driver gets in after its backoff.
		c.Close()
		waitFor(t, "a connection past MaxStartups", func() bool {
			_, err := sim.d.List(context.Background())
			return err == nil
		})
	})
}
