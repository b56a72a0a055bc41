package hypervisor_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/esxisim"
	"github.com/minicloud/minicloud/internal/hypervisor"
	"github.com/minicloud/minicloud/internal/testhost"
	"golang.org/x/crypto/ssh"
)

// TestESXi_OpenSSH runs the driver suite a second time, through OpenSSH's
// sshd and busybox ash running the simulated host's standalone commands
// (internal/testhost): each command line the driver sends is parsed by a
// real busybox ash, and mkdir, rm, cat and the rest are busybox's. Set
// MINICLOUD_OPENSSH=require (make test does) to make the absence of sshd
// or busybox a failure rather than a skip.
func TestESXi_OpenSSH(t *testing.T) {
	if testing.Short() {
		t.Skip("the OpenSSH run starts real sshd processes; skipped with -short")
	}
	env := testhost.NewEnv(t)
	runDriverSuite(t, func(t *testing.T, edit ...func(*esxisim.Config)) simHost {
		return startOpenSSH(t, env, edit...)
	})
}

// startOpenSSH starts an OpenSSH host laid out from simConfig and edit,
// and connects a driver to it with a key.
func startOpenSSH(t *testing.T, env *testhost.Env, edit ...func(*esxisim.Config)) simHost {
	t.Helper()
	cfg := simConfig(t, edit...)
	cfg.Dir = "" // a folder whose path holds a space, as datastore paths do
	h := env.Start(t, cfg)

	tr, err := hypervisor.NewSSH(hypervisor.SSHConfig{
		Host: "esxi-openssh", Addr: h.Addr, User: h.User, HostKey: h.HostKey,
		Signers:    []ssh.Signer{env.Client},
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	d := hypervisor.NewESXi(tr, hypervisor.Options{
		Host: "esxi-openssh", VolumesRoot: h.VolumesRoot(),
	})
	return simHost{
		host: h.Sim, tr: tr, d: d, addr: h.Addr,
		stats: func() esxisim.Stats { return h.Stats(t) },
		down:  func(t *testing.T) { h.Down(t) },
		up:    func(t *testing.T) { h.Up(t) },
	}
}

// TestOpenSSH_BusyboxParsesCommands checks the OpenSSH run's premise: the
// command lines really run under busybox ash, with the host's programs
// from the multi-call executable and the rest from busybox.
func TestOpenSSH_BusyboxParsesCommands(t *testing.T) {
	env := testhost.NewEnv(t)
	sim := startOpenSSH(t, env)
	ctx := context.Background()
	res, err := sim.tr.Run(ctx, `echo "$0"; readlink "$(command -v cat)"; `+
		`readlink "$(command -v vim-cmd)"; pwd; vmware -v`, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("ash\n%s\nesxisim-cmd\n%s\nVMware ESXi 8.0.3 build-24022510\n",
		testhost.Busybox, sim.host.Dir())
	if got := string(res.Stdout); got != want || res.ExitStatus != 0 {
		t.Errorf("got exit %d, stdout %q, stderr %q\nwant stdout %q",
			res.ExitStatus, got, res.Stderr, want)
	}
}
