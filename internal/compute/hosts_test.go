package compute_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/compute"
	"github.com/minicloud/minicloud/internal/hypervisor"
	"github.com/minicloud/minicloud/internal/syncbuf"
)

// debugLogger returns a logger that writes to w at debug level.
func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// host returns the named host as the service reports it.
func (e *env) host(name string) cloud.Host {
	e.t.Helper()
	for _, h := range e.svc.Hosts() {
		if h.Name == name {
			return h
		}
	}
	e.t.Fatalf("no host %s in %+v", name, e.svc.Hosts())
	return cloud.Host{}
}

// waitHost polls until the named host is in state.
func (e *env) waitHost(name string, state cloud.HostState) cloud.Host {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h := e.host(name)
		if h.State == state {
			return h
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("host %s is %s (%s), want %s", name, h.State, h.Message, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestService_HeldHost checks that a host refusing minicloud's password
// costs one failed login, however long minicloud runs and whatever it is
// asked, until an operator retries or the credentials change: ESXi locks
// the account after five.
func TestService_HeldHost(t *testing.T) {
	logs := &syncbuf.Buffer{}
	e := newEnv(t, envOptions{
		hosts:  1,
		noWait: true,
		log:    debugLogger(logs),
		ssh:    func(_ int, c *hypervisor.SSHConfig) { c.Password = "wrong" },
	})
	ctx := context.Background()
	failedLogins := func() int { return e.sims[0].Stats().FailedLogins }

	// The first probe fails and holds the host.
	h := e.waitHost("esxi-1", cloud.HostAuthFailed)
	if !strings.Contains(h.Message, "will not try again") {
		t.Errorf("host message = %q", h.Message)
	}

	// Many probe intervals and launches later, still one failed login.
	for range 10 {
		_, err := e.svc.RunInstances(ctx, &cloud.RunInstancesInput{
			ImageID: e.imageID(), InstanceType: "t3.micro", MinCount: 1, MaxCount: 1,
		})
		wantCode(t, err, cloud.ErrCodeInsufficientCapacity)
		time.Sleep(100 * time.Millisecond)
	}
	if got := failedLogins(); got != 1 {
		t.Fatalf("failed logins = %d, want 1", got)
	}

	// The zone, the host list and the log say why.
	t.Run("Reported", func(t *testing.T) {
		zones, err := e.svc.DescribeAvailabilityZones(ctx, &cloud.DescribeAvailabilityZonesInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(zones) != 1 || zones[0].State != cloud.ZoneImpaired || len(zones[0].Messages) != 1 {
			t.Fatalf("zones = %+v", zones)
		}
		msg := zones[0].Messages[0]
		for _, want := range []string{"esxi-1", "auth-failed", "authentication failed",
			"an operator retries it"} {
			if !strings.Contains(msg, want) {
				t.Errorf("zone message %q does not say %q", msg, want)
			}
		}
		if got := logs.String(); !strings.Contains(got, "host held") ||
			!strings.Contains(got, "state=auth-failed") {
			t.Errorf("log does not say the host is held:\n%s", got)
		}
	})

	// An operator's retry costs exactly one more login, then holds again.
	t.Run("RetryHost", func(t *testing.T) {
		if err := e.svc.RetryHost("esxi-1"); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for failedLogins() < 2 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		e.waitHost("esxi-1", cloud.HostAuthFailed)
		time.Sleep(500 * time.Millisecond)
		if got := failedLogins(); got != 2 {
			t.Errorf("failed logins after one retry = %d, want 2", got)
		}
		if !strings.Contains(logs.String(), "an operator asked to retry it") {
			t.Errorf("log does not record the retry")
		}
	})

	t.Run("ErrNoHost", func(t *testing.T) {
		if err := e.svc.RetryHost("esxi-9"); !errors.Is(err, compute.ErrNoHost) {
			t.Errorf("RetryHost(esxi-9) = %v, want ErrNoHost", err)
		}
	})

	// Corrected credentials release the host.
	t.Run("ReplaceDriver", func(t *testing.T) {
		if err := e.svc.ReplaceDriver("esxi-1", e.driver(0, "secret", nil)); err != nil {
			t.Fatal(err)
		}
		e.waitHost("esxi-1", cloud.HostReady)
		ids := e.runInstances(1, nil)
		e.waitState(cloud.StateRunning, ids...)
		if got := failedLogins(); got != 2 {
			t.Errorf("failed logins = %d, want still 2", got)
		}
	})
}
