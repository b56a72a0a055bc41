package hypervisor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// newTestSSH returns a transport to srv with the right host key and the
// given password; the transport closes with t.
func newTestSSH(t *testing.T, srv *testSSHServer, password string, edit ...func(*SSHConfig)) *SSHTransport {
	t.Helper()
	cfg := SSHConfig{
		Host: "esxi-test", Addr: srv.addr(), Password: password,
		HostKey: srv.hostKey.PublicKey(), MinBackoff: 200 * time.Millisecond,
	}
	for _, e := range edit {
		e(&cfg)
	}
	tr, err := NewSSH(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func TestSSHTransport_Run(t *testing.T) {
	srv := newTestSSHServer(t, "secret", serverOptions{password: true, kbd: true})
	tr := newTestSSH(t, srv, "secret")
	ctx := context.Background()

	t.Run("StdinStdoutStderrExitStatus", func(t *testing.T) {
		res, err := tr.Run(ctx, "cat; echo to-stderr >&2; exit 7", strings.NewReader("line 1\nline 2\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(res.Stdout), "line 1\nline 2\n"; got != want {
			t.Errorf("stdout: got %q, want %q", got, want)
		}
		if got, want := string(res.Stderr), "to-stderr\n"; got != want {
			t.Errorf("stderr: got %q, want %q", got, want)
		}
		if res.ExitStatus != 7 {
			t.Errorf("exit status: got %d, want 7", res.ExitStatus)
		}
	})

	t.Run("OneConnectionForManyRuns", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := tr.Run(ctx, fmt.Sprintf("echo %d", i), nil)
				if err == nil && strings.TrimSpace(string(res.Stdout)) != fmt.Sprint(i) {
					err = fmt.Errorf("run %d printed %q", i, res.Stdout)
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if got := srv.conns.Load(); got != 1 {
			t.Errorf("TCP connections: got %d, want 1", got)
		}
		st := tr.Stats()
		if st.Dials != 1 || st.Execs != 21 || st.FailedDials != 0 {
			t.Errorf("stats: got %+v, want 1 dial and 21 execs", st)
		}
		if s := tr.State(); s.Status != StatusConnected {
			t.Errorf("state: got %+v", s)
		}
	})
}

func TestSSHTransport_MaxSessions(t *testing.T) {
	srv := newTestSSHServer(t, "secret", serverOptions{password: true})
	tr := newTestSSH(t, srv, "secret", func(c *SSHConfig) { c.MaxSessions = 2 })
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := tr.Run(context.Background(), "sleep 0.2", nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := srv.maxActive.Load(); got != 2 {
		t.Errorf("most sessions at once: got %d, want 2", got)
	}
}

func TestSSHTransport_ErrHostKeyMismatch(t *testing.T) {
	srv := newTestSSHServer(t, "secret", serverOptions{password: true, kbd: true})
	other := newTestSSHServer(t, "secret", serverOptions{password: true, hostKeySeed: 9})
	tr := newTestSSH(t, srv, "secret", func(c *SSHConfig) { c.HostKey = other.hostKey.PublicKey() })
	ctx := context.Background()

	// The first Run dials and is refused before any login.
	_, err := tr.Run(ctx, "true", nil)
	if !IsHostKey(err) || IsTransient(err) {
		t.Fatalf("got %v, want a permanent host key error", err)
	}
	if got := srv.pwAttempts.Load(); got != 0 {
		t.Errorf("password sent to an unverified host %d times", got)
	}

	// Later Runs fail at once without touching the host.
	for range 5 {
		if _, err := tr.Run(ctx, "true", nil); !IsHostKey(err) {
			t.Fatalf("got %v, want a host key error", err)
		}
	}
	if got := srv.conns.Load(); got != 1 {
		t.Errorf("TCP connections: got %d, want 1", got)
	}
	st := tr.State()
	if st.Status != StatusHostKeyMismatch || !strings.Contains(st.Message, "SHA256:") || st.Since.IsZero() {
		t.Errorf("state: got %+v", st)
	}

	// Reset allows one more dial, which is refused again.
	tr.Reset()
	if _, err := tr.Run(ctx, "true", nil); !IsHostKey(err) {
		t.Fatalf("after Reset: got %v, want a host key error", err)
	}
	if got := srv.conns.Load(); got != 2 {
		t.Errorf("TCP connections after Reset: got %d, want 2", got)
	}
}

func TestSSHTransport_ErrAuthFailed(t *testing.T) {
	tests := []struct {
		name string
		opts serverOptions
	}{
		{"PasswordAndKeyboardInteractive", serverOptions{password: true, kbd: true}},
		{"KeyboardInteractiveReprompts", serverOptions{kbd: true, kbdRetries: 2}},
		{"PasswordOnly", serverOptions{password: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestSSHServer(t, "secret", tt.opts)
			tr := newTestSSH(t, srv, "wrong")
			ctx := context.Background()

			// Many Runs cost exactly one failed login.
			for i := range 10 {
				_, err := tr.Run(ctx, "true", nil)
				if !IsAuth(err) || IsTransient(err) {
					t.Fatalf("run %d: got %v, want a permanent auth error", i, err)
				}
			}
			if got := srv.pwAttempts.Load(); got != 1 {
				t.Errorf("failed logins: got %d, want 1", got)
			}
			if got := srv.conns.Load(); got != 1 {
				t.Errorf("TCP connections: got %d, want 1", got)
			}
			if st := tr.State(); st.Status != StatusAuthFailed {
				t.Errorf("state: got %+v", st)
			}
			if st := tr.Stats(); st.Dials != 1 || st.FailedDials != 1 || st.Execs != 0 {
				t.Errorf("stats: got %+v", st)
			}

			// Reset permits exactly one more attempt.
			tr.Reset()
			if st := tr.State(); st.Status != StatusDisconnected {
				t.Errorf("state after Reset: got %+v", st)
			}
			if _, err := tr.Run(ctx, "true", nil); !IsAuth(err) {
				t.Fatalf("after Reset: got %v", err)
			}
			if got := srv.pwAttempts.Load(); got != 2 {
				t.Errorf("failed logins after Reset: got %d, want 2", got)
			}
		})
	}
}

func TestSSHTransport_KeyboardInteractive(t *testing.T) {
	srv := newTestSSHServer(t, "s3cr3t 'with' \"quotes\"", serverOptions{kbd: true})
	tr := newTestSSH(t, srv, "s3cr3t 'with' \"quotes\"")
	res, err := tr.Run(context.Background(), "echo in", nil)
	if err != nil || string(res.Stdout) != "in\n" {
		t.Fatalf("got %q, %v", res.Stdout, err)
	}
	if got := srv.pwAttempts.Load(); got != 1 {
		t.Errorf("password prompts answered: got %d, want 1", got)
	}
}

func TestSSHTransport_PublicKey(t *testing.T) {
	key := clientKey(t)
	srv := newTestSSHServer(t, "secret", serverOptions{password: true, authorized: key.PublicKey()})
	tr := newTestSSH(t, srv, "", func(c *SSHConfig) { c.Signers = []ssh.Signer{key} })
	if _, err := tr.Run(context.Background(), "true", nil); err != nil {
		t.Fatal(err)
	}
	if got := srv.pwAttempts.Load(); got != 0 {
		t.Errorf("passwords sent: got %d, want 0", got)
	}
}

func TestSSHTransport_KnownHost(t *testing.T) {
	srv := newTestSSHServer(t, "secret", serverOptions{password: true})
	pub := srv.hostKey.PublicKey()
	lines := map[string]string{
		"KnownHostsLine": "[127.0.0.1]:22,esxi01 " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))),
		"AuthorizedKey":  string(ssh.MarshalAuthorizedKey(pub)),
		"Fingerprint":    ssh.FingerprintSHA256(pub),
	}
	for name, line := range lines {
		t.Run(name, func(t *testing.T) {
			tr := newTestSSH(t, srv, "secret", func(c *SSHConfig) { c.HostKey, c.KnownHost = nil, line })
			if _, err := tr.Run(context.Background(), "true", nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestNewSSH_ErrConfig(t *testing.T) {
	key := clientKey(t).PublicKey()
	tests := []struct {
		name string
		cfg  SSHConfig
	}{
		{"NoHostKey", SSHConfig{Addr: "127.0.0.1:22", Password: "x"}},
		{"BadKnownHost", SSHConfig{Addr: "127.0.0.1:22", Password: "x", KnownHost: "nonsense"}},
		{"NoCredentials", SSHConfig{Addr: "127.0.0.1:22", HostKey: key}},
		{"NoAddress", SSHConfig{Password: "x", HostKey: key}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewSSH(tt.cfg); err == nil {
				t.Error("got no error")
			}
		})
	}
}

func TestSSHTransport_Redial(t *testing.T) {
	srv := newTestSSHServer(t, "secret", serverOptions{password: true})
	tr := newTestSSH(t, srv, "secret")
	ctx := context.Background()
	if _, err := tr.Run(ctx, "true", nil); err != nil {
		t.Fatal(err)
	}

	// The host drops the connection; the next Run dials again by itself.
	srv.dropAll()
	deadline := time.Now().Add(2 * time.Second)
	for tr.State().Status == StatusConnected && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	res, err := tr.Run(ctx, "echo back", nil)
	if err != nil || string(res.Stdout) != "back\n" {
		t.Fatalf("got %q, %v", res.Stdout, err)
	}
	if st := tr.Stats(); st.Dials != 2 {
		t.Errorf("dials: got %d, want 2", st.Dials)
	}
}

func TestSSHTransport_StaleConnection(t *testing.T) {
	srv := newTestSSHServer(t, "secret", serverOptions{password: true})
	tr := newTestSSH(t, srv, "secret")
	ctx := context.Background()
	if _, err := tr.Run(ctx, "true", nil); err != nil {
		t.Fatal(err)
	}

	// Drop the connection and run at once, before the loss is noticed: the
	// session cannot open, so Run redials and the command runs once.
	srv.dropAll()
	res, err := tr.Run(ctx, "echo once", nil)
	if err != nil && !IsTransient(err) {
		t.Fatalf("got %v, want success or a transient error", err)
	}
	if err == nil && string(res.Stdout) != "once\n" {
		t.Errorf("got %q", res.Stdout)
	}
}

func TestSSHTransport_Backoff(t *testing.T) {
	srv := newTestSSHServer(t, "secret", serverOptions{password: true})
	tr := newTestSSH(t, srv, "secret", func(c *SSHConfig) {
		c.MinBackoff, c.MaxBackoff = 300*time.Millisecond, time.Second
	})
	srv.close()
	ctx := context.Background()

	// The host is down: the first Run dials and fails, transiently.
	_, err := tr.Run(ctx, "true", nil)
	if !IsTransient(err) || !errors.Is(err, ErrUnreachable) {
		t.Fatalf("got %v, want ErrUnreachable", err)
	}

	// Within the backoff, Runs fail fast without dialling.
	for range 5 {
		if _, err := tr.Run(ctx, "true", nil); !errors.Is(err, ErrUnreachable) {
			t.Fatalf("got %v, want ErrUnreachable", err)
		}
	}
	if st := tr.Stats(); st.Dials != 1 || st.FailedDials != 1 {
		t.Errorf("stats: got %+v, want 1 failed dial", st)
	}
	if st := tr.State(); st.Status != StatusDisconnected || st.Message == "" {
		t.Errorf("state: got %+v", st)
	}

	// After the backoff, the next Run dials again.
	time.Sleep(350 * time.Millisecond)
	_, _ = tr.Run(ctx, "true", nil)
	if st := tr.Stats(); st.Dials != 2 {
		t.Errorf("dials after the backoff: got %d, want 2", st.Dials)
	}
}

func TestSSHTransport_ErrContext(t *testing.T) {
	srv := newTestSSHServer(t, "secret", serverOptions{password: true})
	tr := newTestSSH(t, srv, "secret")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := tr.Run(ctx, "sleep 10", nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Run returned after %s", d)
	}

	// The connection is still good for the next command.
	if _, err := tr.Run(context.Background(), "true", nil); err != nil {
		t.Errorf("after a cancelled run: %v", err)
	}
}

// laggingCtx has a deadline but reports no error past it, as a context
// does in the moment between a connection's deadline firing and the
// context's own timer.
type laggingCtx struct {
	context.Context
	deadline time.Time
}

func (c laggingCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// TestSSHTransport_DialCutShort checks that a dial the caller's deadline
// ends is the caller's timeout, not an unreachable host: it is not counted
// and sets no backoff, even when the connection's deadline fires first.
func TestSSHTransport_DialCutShort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() { // a host that accepts and never answers
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	srv := newTestSSHServer(t, "secret", serverOptions{password: true})
	tr := newTestSSH(t, srv, "secret", func(c *SSHConfig) { c.Addr = ln.Addr().String() })

	ctx := laggingCtx{context.Background(), time.Now().Add(100 * time.Millisecond)}
	_, err = tr.Run(ctx, "true", nil)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrUnreachable) {
		t.Errorf("got %v, want the deadline", err)
	}
	if st := tr.Stats(); st.FailedDials != 0 {
		t.Errorf("failed dials: got %d, want 0", st.FailedDials)
	}
	if st := tr.State(); st.Status == StatusDisconnected && st.Message != "" {
		t.Errorf("state: got %+v, want no failure recorded", st)
	}
}

func TestSSHTransport_ErrClosed(t *testing.T) {
	srv := newTestSSHServer(t, "secret", serverOptions{password: true})
	tr := newTestSSH(t, srv, "secret")
	if _, err := tr.Run(context.Background(), "true", nil); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	if _, err := tr.Run(context.Background(), "true", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("got %v, want ErrClosed", err)
	}
}

func TestParseHostKey(t *testing.T) {
	pub := clientKey(t).PublicKey()
	fp := ssh.FingerprintSHA256(pub)
	good := []string{
		string(ssh.MarshalAuthorizedKey(pub)),
		"esxi01.lab,10.0.0.5 " + string(ssh.MarshalAuthorizedKey(pub)),
		fp,
		fp + "=",
	}
	for _, s := range good {
		hk, err := ParseHostKey(s)
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		if !hk.matches(pub) || hk.String() != fp {
			t.Errorf("%q: does not match its own key", s)
		}
		if hk.matches(clientKey(t).PublicKey()) {
			t.Errorf("%q: matches another key", s)
		}
	}
	for _, s := range []string{"", "SHA256:short", "MD5:aa:bb", "ssh-ed25519 notbase64"} {
		if _, err := ParseHostKey(s); err == nil {
			t.Errorf("%q: got no error", s)
		}
	}
}

// freezingProxy forwards TCP connections to a server until frozen, after
// which it passes nothing on, like a host that vanished without a FIN.
type freezingProxy struct {
	ln     net.Listener
	frozen atomic.Bool
}

func newFreezingProxy(t *testing.T, target string) *freezingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezingProxy{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go p.pipe(c, s)
			go p.pipe(s, c)
		}
	}()
	return p
}

// pipe copies src to dst until the proxy freezes or either side closes.
func (p *freezingProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		for p.frozen.Load() {
			time.Sleep(10 * time.Millisecond)
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

func TestSSHTransport_KeepAlive(t *testing.T) {
	srv := newTestSSHServer(t, "secret", serverOptions{password: true})
	proxy := newFreezingProxy(t, srv.addr())
	tr := newTestSSH(t, srv, "secret", func(c *SSHConfig) {
		c.Addr, c.KeepAlive = proxy.ln.Addr().String(), 100*time.Millisecond
	})
	ctx := context.Background()

	// An idle, healthy connection survives several keepalives.
	if _, err := tr.Run(ctx, "true", nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(350 * time.Millisecond)
	if _, err := tr.Run(ctx, "true", nil); err != nil {
		t.Fatal(err)
	}
	if st := tr.Stats(); st.Dials != 1 {
		t.Errorf("dials over an idle healthy connection: got %d, want 1", st.Dials)
	}

	// A connection that stops answering is dropped.
	proxy.frozen.Store(true)
	deadline := time.Now().Add(3 * time.Second)
	for tr.State().Status == StatusConnected && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st := tr.State(); st.Status != StatusDisconnected {
		t.Errorf("state after the host froze: got %+v", st)
	}
}
