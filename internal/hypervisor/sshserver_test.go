package hypervisor

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// testSSHServer is a small SSH server on 127.0.0.1 that runs each exec
// request with /bin/sh and counts what clients do to it.
type testSSHServer struct {
	t        *testing.T
	ln       net.Listener
	hostKey  ssh.Signer
	password string

	conns      atomic.Int64 // TCP connections accepted
	pwAttempts atomic.Int64 // passwords received, by either method
	sessions   atomic.Int64 // exec requests
	active     atomic.Int64 // execs running now
	maxActive  atomic.Int64 // most execs running at once

	mu   sync.Mutex // guards live
	live []net.Conn
}

// serverOptions chooses the login methods the test server offers.
type serverOptions struct {
	password    bool          // the password method
	kbd         bool          // keyboard-interactive, prompting like ESXi
	kbdRetries  int           // extra prompts after a wrong answer, like PAM
	authorized  ssh.PublicKey // a key accepted by public-key login
	hostKeySeed byte          // picks a different host key
}

// newTestSSHServer starts a server that accepts password; it stops with t.
func newTestSSHServer(t *testing.T, password string, opts serverOptions) *testSSHServer {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	seed[0] = opts.hostKeySeed
	signer, err := ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	s := &testSSHServer{t: t, hostKey: signer, password: password}

	cfg := &ssh.ServerConfig{}
	if opts.password {
		cfg.PasswordCallback = func(_ ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			s.pwAttempts.Add(1)
			if string(pw) == s.password {
				return nil, nil
			}
			return nil, errors.New("denied")
		}
	}
	if opts.kbd {
		cfg.KeyboardInteractiveCallback = s.keyboardInteractive(opts.kbdRetries)
	}
	if opts.authorized != nil {
		want := opts.authorized.Marshal()
		cfg.PublicKeyCallback = func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if string(k.Marshal()) == string(want) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		}
	}
	cfg.AddHostKey(signer)

	s.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.serve(cfg)
	t.Cleanup(s.close)
	return s
}

// keyboardInteractive prompts "(root@host) Password: " as ESXi does, and
// prompts again after a wrong answer up to retries times.
func (s *testSSHServer) keyboardInteractive(retries int) func(ssh.ConnMetadata,
	ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
	return func(_ ssh.ConnMetadata, ask ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
		for i := 0; i <= retries; i++ {
			answers, err := ask("", "", []string{"(root@127.0.0.1) Password: "}, []bool{false})
			if err != nil {
				return nil, err
			}
			s.pwAttempts.Add(1)
			if len(answers) == 1 && answers[0] == s.password {
				return nil, nil
			}
		}
		return nil, errors.New("denied")
	}
}

// addr returns the server's address.
func (s *testSSHServer) addr() string { return s.ln.Addr().String() }

// close stops accepting and drops every connection.
func (s *testSSHServer) close() {
	s.ln.Close()
	s.dropAll()
}

// dropAll closes every live connection, as a host reboot would.
func (s *testSSHServer) dropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.live {
		c.Close()
	}
	s.live = nil
}

func (s *testSSHServer) serve(cfg *ssh.ServerConfig) {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.conns.Add(1)
		s.mu.Lock()
		s.live = append(s.live, nc)
		s.mu.Unlock()
		go s.handleConn(nc, cfg)
	}
}

func (s *testSSHServer) handleConn(nc net.Conn, cfg *ssh.ServerConfig) {
	_, chans, reqs, err := ssh.NewServerConn(nc, cfg)
	if err != nil {
		nc.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	for nch := range chans {
		if nch.ChannelType() != "session" {
			_ = nch.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nch.Accept()
		if err != nil {
			continue
		}
		go s.handleSession(ch, chReqs)
	}
}

// handleSession runs the session's exec request with /bin/sh -c.
func (s *testSSHServer) handleSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	var cmd *exec.Cmd
	done := make(chan struct{})
	for req := range reqs {
		if req.Type != "exec" || cmd != nil {
			_ = req.Reply(false, nil)
			continue
		}
		n := binary.BigEndian.Uint32(req.Payload)
		cmd = exec.Command("/bin/sh", "-c", string(req.Payload[4:4+n]))
		cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.WaitDelay = 2 * time.Second
		_ = req.Reply(true, nil)

		// Start here, not in run, so that cmd.Process is set before the
		// code below may read it.
		s.sessions.Add(1)
		active := s.active.Add(1)
		for {
			m := s.maxActive.Load()
			if active <= m || s.maxActive.CompareAndSwap(m, active) {
				break
			}
		}
		go s.run(ch, cmd, cmd.Start(), done)
	}

	// The client closed the channel: kill what still runs.
	if cmd != nil {
		select {
		case <-done:
		default:
			if cmd.Process != nil {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			}
		}
	}
}

// run waits for cmd, which started with err, reports its exit status
// and closes the channel.
func (s *testSSHServer) run(ch ssh.Channel, cmd *exec.Cmd, err error, done chan struct{}) {
	defer close(done)
	if err == nil {
		err = cmd.Wait()
	}
	s.active.Add(-1)

	status := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		status = exitErr.ExitCode()
	} else if err != nil {
		status = 255
	}
	_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(status)}))
	ch.Close()
}

// clientKey returns a fresh signer for public-key login.
func clientKey(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
