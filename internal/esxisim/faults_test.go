package esxisim

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// mustInject injects f or fails the test.
func (th *testHost) mustInject(t *testing.T, f Faults) {
	t.Helper()
	if err := th.Inject(f); err != nil {
		t.Fatalf("Inject: %v", err)
	}
}

func TestHost_Inject_HostdFaults(t *testing.T) {
	th := mustStartHost(t, templateConfig())
	id := th.register(t, "web", 1)

	// Each fault as vim-cmd prints it, kept as golden files.
	for _, tt := range []struct {
		golden string
		fault  HostdFaultKind
	}{
		{"fault_object_gone", FaultObjectGone},
		{"fault_task_in_progress", FaultTaskInProgress},
		{"fault_login_reset", FaultLoginReset},
		{"fault_hostd_down", FaultHostdDown},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			th.mustInject(t, Faults{Hostd: []HostdFault{{Fault: tt.fault, Count: 1}}})
			cmd := "vim-cmd vmsvc/power.on " + id
			r := th.run(t, cmd)
			got := "$ " + cmd + "\n--- stdout\n" + r.stdout + "--- stderr\n" + r.stderr +
				"--- exit " + strconv.Itoa(r.status) + "\n"
			checkGolden(t, tt.golden, got)

			// The call did nothing, and the fault is spent.
			state := th.mustRun(t, "vim-cmd vmsvc/power.getstate "+id)
			if !strings.HasSuffix(state, "Powered off\n") {
				t.Errorf("the failed power.on changed the VM: %q", state)
			}
			if f := th.Faults(); len(f.Hostd) != 0 {
				t.Errorf("faults after use: %+v", f)
			}
		})
	}

	t.Run("CountForOneCommand", func(t *testing.T) {
		th.mustInject(t, Faults{Hostd: []HostdFault{
			{Fault: FaultTaskInProgress, Command: "vmsvc/power.on", Count: 2},
		}})
		for i := range 2 {
			// Other commands go through meanwhile.
			th.mustRun(t, "vim-cmd vmsvc/getallvms")
			r := th.run(t, "vim-cmd vmsvc/power.on "+id)
			if r.status != 1 || !strings.Contains(r.stdout, "another task is in progress") {
				t.Fatalf("power.on %d: got %+v, want TaskInProgress", i+1, r)
			}
		}
		if got := th.mustRun(t, "vim-cmd vmsvc/power.on "+id); got != "Powering on VM:\n" {
			t.Errorf("third power.on: got %q", got)
		}
		th.mustRun(t, "vim-cmd vmsvc/power.off "+id)
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		for _, f := range []Faults{
			{Hostd: []HostdFault{{Fault: "Bogus", Count: 1}}},
			{Hostd: []HostdFault{{Fault: FaultHostdDown}}},
			{Hostd: []HostdFault{{Fault: FaultHostdDown, Probability: 2}}},
			{Latency: -time.Second},
		} {
			if err := th.Inject(f); err == nil {
				t.Errorf("Inject(%+v): got no error", f)
			}
		}
	})
}

func TestHost_Inject_Probability(t *testing.T) {
	dir := t.TempDir()
	h, err := New(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	fault := Faults{Hostd: []HostdFault{{Fault: FaultHostdDown, Probability: 0.5, Seed: 42}}}

	// pattern runs n calls, the first half in this process and the rest
	// through the standalone command, and says which failed.
	pattern := func(n int) string {
		if err := h.Inject(fault); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i := range n {
			var out bytes.Buffer
			var status int
			if i < n/2 {
				status = h.Exec(context.Background(), "vim-cmd vmsvc/getallvms", nil, &out, &out)
			} else {
				status = Main([]string{"vim-cmd", "vmsvc/getallvms"}, nil, &out, &out,
					[]string{"ESXISIM_DIR=" + dir})
			}
			switch {
			case status == 0:
				b.WriteByte('.')
			case out.String() == "Connect to localhost failed: Connection failure\n":
				b.WriteByte('x')
			default:
				t.Fatalf("call %d: exit %d: %q", i, status, out.String())
			}
		}
		return b.String()
	}
	first, second := pattern(40), pattern(40)
	if first != second {
		t.Errorf("the same seed gave different failures:\n%s\n%s", first, second)
	}
	if n := strings.Count(first, "x"); n < 8 || n > 32 {
		t.Errorf("%d of 40 calls failed with probability 0.5: %s", n, first)
	}

	// Clearing the faults ends them.
	if err := h.Inject(Faults{}); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if status := h.Exec(context.Background(), "vim-cmd vmsvc/getallvms", nil, nil, nil); status != 0 {
			t.Fatalf("a call failed after the faults were cleared: exit %d", status)
		}
	}
}

func TestHost_Inject_PowerOnReportsFailure(t *testing.T) {
	th := mustStartHost(t, templateConfig())
	id := th.register(t, "web", 1)
	th.mustInject(t, Faults{PowerOnReportsFailure: 1})

	r := th.run(t, "vim-cmd vmsvc/power.on "+id)
	if r.status != 1 || r.stdout != "Powering on VM:\nPower on failed\n" {
		t.Errorf("power.on: got %+v", r)
	}
	got := th.mustRun(t, "vim-cmd vmsvc/power.getstate "+id)
	if got != "Retrieved runtime info\nPowered on\n" {
		t.Errorf("state after the reported failure: %q", got)
	}
	th.mustRun(t, "vim-cmd vmsvc/power.off "+id+" && vim-cmd vmsvc/power.on "+id)
}

func TestHost_Inject_AskUUIDQuestion(t *testing.T) {
	th := mustStartHost(t, templateConfig())
	vmx := th.makeVM(t, "q", 1)
	edited := strings.ReplaceAll(testVMX("q", 1), "answer.msg.uuid.altered = \"I copied it\"\n", "")
	runOn(t, th.client, "cat > "+quote(vmx), strings.NewReader(edited))
	id := strings.TrimSpace(th.mustRun(t, "vim-cmd solo/registervm "+quote(vmx)))
	th.mustInject(t, Faults{AskUUIDQuestion: true})

	// power.on waits on the question; a bounded context gives up on it.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	th.Exec(ctx, "vim-cmd vmsvc/power.on "+id, nil, &out, &out)
	msg := th.mustRun(t, "vim-cmd vmsvc/message "+id)
	if !strings.Contains(msg, "msg.uuid.altered") {
		t.Fatalf("no question pending: %q (power.on said %q)", msg, out.String())
	}
	th.mustRun(t, "vim-cmd vmsvc/message "+id+" 1 2")
	got := th.mustRun(t, "vim-cmd vmsvc/power.getstate "+id)
	if !strings.HasSuffix(got, "Powered on\n") {
		t.Errorf("after the answer: %q", got)
	}
}

func TestHost_Inject_Latency(t *testing.T) {
	th := mustStartHost(t, Config{})
	th.mustInject(t, Faults{Latency: time.Second})
	start := time.Now()
	th.mustRun(t, "vim-cmd vmsvc/getallvms")
	if took := time.Since(start); took < time.Second {
		t.Errorf("vim-cmd took %v with 1s injected", took)
	}

	th.mustInject(t, Faults{})
	start = time.Now()
	th.mustRun(t, "vim-cmd vmsvc/getallvms")
	if took := time.Since(start); took >= time.Second {
		t.Errorf("vim-cmd took %v after the latency was cleared", took)
	}
}

func TestHost_Inject_MaxSessions(t *testing.T) {
	th := mustStartHost(t, Config{})
	th.mustInject(t, Faults{MaxSessions: 1})

	// One session runs; a second on the same connection is refused.
	busy, err := th.client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if err := busy.Start("sleep 1"); err != nil {
		t.Fatal(err)
	}
	_, err = th.client.NewSession()
	var refused *ssh.OpenChannelError
	if !errors.As(err, &refused) || refused.Reason != ssh.Prohibited {
		t.Fatalf("second session: got %v, want it refused", err)
	}
	if got := th.Stats().RefusedSessions; got != 1 {
		t.Errorf("refused sessions: got %d, want 1", got)
	}

	// Once the first is done, sessions open one after another.
	if err := busy.Wait(); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		th.mustRun(t, "vmware -v")
	}
}

func TestHost_Inject_MaxStartups(t *testing.T) {
	th := mustStartHost(t, Config{})
	th.mustInject(t, Faults{MaxStartups: 2})

	// Two connections that never finish their handshake fill the slots.
	var raw []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", th.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		raw = append(raw, c)
		if _, err := c.Read(make([]byte, 8)); err != nil { // the server's banner
			t.Fatal(err)
		}
	}
	if _, err := dial(th, "root", ssh.Password(testPassword)); err == nil {
		t.Fatal("a third connection got in past MaxStartups")
	}
	if got := th.Stats().RefusedConnections; got != 1 {
		t.Errorf("refused connections: got %d, want 1", got)
	}

	// A slot freed lets the next one in; the logged-in connection works.
	raw[0].Close()
	waitUntil(t, "a free startup slot", func() bool {
		c, err := dial(th, "root", ssh.Password(testPassword))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	th.mustRun(t, "vmware -v")
}

func TestHost_DownUp(t *testing.T) {
	th := mustStartHost(t, templateConfig())
	id := th.register(t, "web", 1)
	key := th.HostKey()

	// Down drops the connection, with a command running on it.
	s, err := th.client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("sleep 10"); err != nil {
		t.Fatal(err)
	}
	th.Down()
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a command survived the host going down")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the connection outlived the host going down")
	}
	if _, err := dial(th, "root", ssh.Password(testPassword)); err == nil {
		t.Fatal("logged in to a host that is down")
	}

	// The console still works, and what it does is there after Up.
	var out bytes.Buffer
	if st := th.Exec(context.Background(), "vim-cmd vmsvc/power.on "+id, nil, &out, &out); st != 0 {
		t.Fatalf("console power.on: exit %d: %s", st, out.String())
	}
	if err := th.Up(); err != nil {
		t.Fatal(err)
	}
	c, err := dial(th, "root", ssh.Password(testPassword))
	if err != nil {
		t.Fatalf("login after Up: %v", err)
	}
	defer c.Close()
	if !bytes.Equal(th.HostKey().Marshal(), key.Marshal()) {
		t.Error("the host key changed across Down and Up")
	}
	r := runOn(t, c, "vim-cmd vmsvc/power.getstate "+id, nil)
	if r.stdout != "Retrieved runtime info\nPowered on\n" {
		t.Errorf("state after Up: %+v", r)
	}
}

// waitUntil polls cond until it holds or a few seconds pass.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
