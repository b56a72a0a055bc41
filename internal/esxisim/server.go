package esxisim

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/term"
)

// errAuth is the one answer to a failed login, whatever the reason, so a
// client cannot tell a locked account from a wrong password.
var errAuth = errors.New("authentication failed")

// authState counts failed password logins and locks the account after
// too many, as ESXi's Security.AccountLockFailures does.
type authState struct {
	mu          sync.Mutex // guards the fields below
	failures    int        // failed logins in a row
	lockedUntil time.Time
}

// serverConfig returns the SSH server's configuration: password,
// keyboard-interactive and public key logins for the host's one user.
func (h *Host) serverConfig() *ssh.ServerConfig {
	cfg := &ssh.ServerConfig{
		ServerVersion: "SSH-2.0-OpenSSH_9.7",
		MaxAuthTries:  6,
		PasswordCallback: func(c ssh.ConnMetadata, pass []byte) (*ssh.Permissions, error) {
			return nil, h.checkPassword(c.User(), pass)
		},
		KeyboardInteractiveCallback: func(c ssh.ConnMetadata,
			challenge ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
			// OpenSSH's client shows this as "(root@host) Password: ",
			// adding the user and host itself, as with a real host.
			answers, err := challenge("", "", []string{"Password: "}, []bool{false})
			if err != nil || len(answers) != 1 {
				return nil, errAuth
			}
			return nil, h.checkPassword(c.User(), []byte(answers[0]))
		},
		PublicKeyCallback: func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			return nil, h.checkKey(c.User(), key)
		},
	}
	cfg.AddHostKey(h.hostKey)
	return cfg
}

// checkPassword checks a password login. A locked account refuses even the
// right password; reaching LockoutFailures failures in a row locks it for
// LockoutDuration.
func (h *Host) checkPassword(user string, pass []byte) error {
	now := h.cfg.Clock()
	a := &h.auth
	a.mu.Lock()
	defer a.mu.Unlock()

	if user != h.cfg.User {
		h.stats.failedLogin()
		return errAuth
	}
	if now.Before(a.lockedUntil) {
		h.stats.failedLogin()
		return errAuth
	}
	if h.cfg.Password != "" && subtle.ConstantTimeCompare(pass, []byte(h.cfg.Password)) == 1 {
		a.failures = 0
		return nil
	}

	h.stats.failedLogin()
	a.failures++
	if h.cfg.LockoutFailures > 0 && a.failures >= h.cfg.LockoutFailures {
		a.lockedUntil = now.Add(h.cfg.LockoutDuration)
		h.log.Warn(fmt.Sprintf("Remote access for ESXi local user account '%s' has been locked "+
			"for %d seconds after %d failed login attempts.",
			user, int(h.cfg.LockoutDuration.Seconds()), a.failures))
		a.failures = 0
	}
	return errAuth
}

// checkKey checks a public key login against Config.AuthorizedKeys and the
// host's /etc/ssh/keys-USER/authorized_keys. A locked account refuses keys
// too.
func (h *Host) checkKey(user string, key ssh.PublicKey) error {
	h.auth.mu.Lock()
	locked := h.cfg.Clock().Before(h.auth.lockedUntil)
	h.auth.mu.Unlock()
	if user != h.cfg.User || locked {
		return errAuth
	}

	want := key.Marshal()
	for _, k := range h.cfg.AuthorizedKeys {
		if bytes.Equal(k.Marshal(), want) {
			return nil
		}
	}
	data, _ := os.ReadFile(filepath.Join(h.cfg.Dir, "etc", "ssh", "keys-"+user, "authorized_keys"))
	for len(data) > 0 {
		k, _, _, rest, err := ssh.ParseAuthorizedKey(data)
		if err != nil {
			break
		}
		if bytes.Equal(k.Marshal(), want) {
			return nil
		}
		data = rest
	}
	return errAuth
}

// serveConn runs one SSH connection: its handshake, then its sessions.
func (h *Host) serveConn(c net.Conn) {
	c.SetDeadline(time.Now().Add(30 * time.Second))
	conn, chans, reqs, err := ssh.NewServerConn(c, h.sshCfg)
	h.startupDone()
	if err != nil {
		h.log.Debug("ssh handshake failed", "remote", c.RemoteAddr().String(), "err", err)
		return
	}
	c.SetDeadline(time.Time{})
	defer conn.Close()
	h.stats.connection()
	h.log.Debug("login", "user", conn.User(), "remote", c.RemoteAddr().String())

	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	var open atomic.Int64 // sessions open on this connection
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions are supported")
			continue
		}

		// Past MaxSessions, sshd refuses to open the channel.
		if limit := h.e.faults().MaxSessions; limit > 0 && open.Load() >= int64(limit) {
			h.stats.add(func(s *Stats) { s.RefusedSessions++ })
			nc.Reject(ssh.Prohibited, "open failed")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		open.Add(1)
		release := sync.OnceFunc(func() { open.Add(-1) })
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer release()
			h.serveSession(ch, chReqs, release)
		}()
	}
	wg.Wait()
}

// serveSession runs one session: an exec request runs one command line, a
// shell request an interactive shell. The command's context ends when the
// client closes the session or the host closes. release is called when
// the session no longer counts against MaxSessions: before the client
// learns that its command ended.
func (h *Host) serveSession(ch ssh.Channel, reqs <-chan *ssh.Request, release func()) {
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	defer ch.Close()
	defer func() { go ssh.DiscardRequests(reqs) }()

	pty := false
	done := make(chan struct{})
	started := false
	for {
		var req *ssh.Request
		var ok bool
		select {
		case req, ok = <-reqs:
		case <-done:
			return
		}
		if !ok {
			cancel() // the client is gone: stop what it started
			if started {
				<-done
			}
			return
		}
		switch {
		case req.Type == "pty-req":
			pty = true
			req.Reply(true, nil)
		case req.Type == "window-change" || req.Type == "signal":
			req.Reply(true, nil)
		case (req.Type == "exec" || req.Type == "shell") && !started:
			started = true
			line, ok := execLine(req)
			req.Reply(ok || req.Type == "shell", nil)
			if req.Type == "exec" && !ok {
				return
			}
			go func(kind string, pty bool) {
				defer close(done)
				var status int
				if kind == "exec" {
					status = h.Exec(ctx, line, ch, ch, ch.Stderr())
				} else {
					status = h.interactive(ctx, ch, pty)
				}
				release()
				finishSession(ch, status)
			}(req.Type, pty)
		default:
			req.Reply(false, nil)
		}
	}
}

// execLine reads the command line of an exec request.
func execLine(req *ssh.Request) (string, bool) {
	if req.Type != "exec" {
		return "", true
	}
	var payload struct{ Command string }
	if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
		return "", false
	}
	return payload.Command, true
}

// finishSession tells the client the exit status and closes the session,
// as sshd does: end of output, exit-status, close.
func finishSession(ch ssh.Channel, status int) {
	ch.CloseWrite()
	ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(status)}))
	ch.Close()
}

// interactive runs a login shell: it prints a prompt, reads a line, runs
// it, and again, until exit or the end of input. With a terminal it echoes
// and edits lines as a terminal would.
func (h *Host) interactive(ctx context.Context, ch ssh.Channel, pty bool) int {
	h.stats.session()
	var out io.Writer = ch
	var readLine func() (string, error)
	var setPrompt func(string)
	if pty {
		t := term.NewTerminal(ch, "")
		out, readLine, setPrompt = t, t.ReadLine, t.SetPrompt
	} else {
		br := bufio.NewReader(ch)
		readLine = func() (string, error) {
			line, err := br.ReadString('\n')
			if err != nil && line != "" {
				return line, nil
			}
			return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), err
		}
		setPrompt = func(p string) { io.WriteString(ch, p) }
	}
	out = lockedWriter(out)

	r, err := h.sh.newRunner("/", nil, out, out)
	if err != nil {
		fmt.Fprintf(out, "sh: %v\n", err)
		return 1
	}
	fmt.Fprintf(out, "%s (simulated ESXi %s). Try: vim-cmd vmsvc/getallvms\n\n",
		h.cfg.Name, h.cfg.Version)
	status := 0
	for {
		setPrompt(h.prompt(r.Dir))
		line, err := readLine()
		if err != nil {
			return status
		}
		file, err := parse(line)
		if err != nil {
			fmt.Fprintf(out, "sh: syntax error: %s\n", syntaxMessage(err))
			status = 2
			continue
		}
		h.e.update(func(*hostState, time.Time) error { return nil })
		status = exitStatus(r.Run(ctx, file), out)
		h.log.Debug("shell", "cmd", line, "status", status)
		if r.Exited() || ctx.Err() != nil {
			return status
		}
	}
}

// prompt is the host's shell prompt: [root@esxi:~] at home.
func (h *Host) prompt(dir string) string {
	if dir == "/" {
		dir = "~"
	}
	return fmt.Sprintf("[%s@%s:%s] ", h.cfg.User, h.cfg.Name, dir)
}

// Stats counts what clients have done with a host since it started.
type Stats struct {
	// Connections is the number of SSH connections that logged in.
	Connections int

	// FailedLogins is the number of password or user checks that failed,
	// locked-out attempts included.
	FailedLogins int

	// Sessions is the number of command lines run (SSH exec requests and
	// Exec calls) and interactive shells started.
	Sessions int

	// RefusedConnections is the number of connections closed unheard
	// because MaxStartups connections were already starting up.
	RefusedConnections int

	// RefusedSessions is the number of sessions refused past MaxSessions.
	RefusedSessions int

	// VimCmdCalls is the number of vim-cmd runs.
	VimCmdCalls int

	// Commands counts the host's programs run, by name ("vim-cmd", "ls").
	Commands map[string]int

	// VimCmds counts vim-cmd runs by command ("vmsvc/power.on").
	VimCmds map[string]int
}

// counters keeps a host's Stats.
type counters struct {
	mu sync.Mutex // guards s
	s  Stats
}

func (c *counters) add(f func(s *Stats)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.s.Commands == nil {
		c.s.Commands, c.s.VimCmds = map[string]int{}, map[string]int{}
	}
	f(&c.s)
}

func (c *counters) connection()  { c.add(func(s *Stats) { s.Connections++ }) }
func (c *counters) failedLogin() { c.add(func(s *Stats) { s.FailedLogins++ }) }
func (c *counters) session()     { c.add(func(s *Stats) { s.Sessions++ }) }

// command counts one program run.
func (c *counters) command(name string, args []string) {
	c.add(func(s *Stats) {
		s.Commands[name]++
		if name == "vim-cmd" {
			s.VimCmdCalls++
			if len(args) > 0 {
				s.VimCmds[strings.TrimPrefix(args[0], "/")]++
			}
		}
	})
}

// Stats returns a copy of the host's counters.
func (h *Host) Stats() Stats {
	var out Stats
	h.stats.add(func(s *Stats) {
		out = *s
		out.Commands, out.VimCmds = map[string]int{}, map[string]int{}
		for k, v := range s.Commands {
			out.Commands[k] = v
		}
		for k, v := range s.VimCmds {
			out.VimCmds[k] = v
		}
	})
	return out
}
