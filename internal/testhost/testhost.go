// Package testhost runs a stand-in ESXi host made of what a real one is
// made of: OpenSSH's sshd and busybox ash, with the simulated host's
// vim-cmd, vmkfstools, esxcli and vmware built from cmd/esxisim-cmd. Every
// command line a client sends is parsed by a real busybox ash, and mkdir,
// rm, cat and the rest are busybox's, so tests of the driver and of
// minicloud as a whole see the quoting, escaping and shell behaviour of
// ESXi rather than that of the simulated host's own shell.
//
// Running it needs Linux, root (sshd logs users in only when it runs as
// root), /usr/sbin/sshd and /bin/busybox; .ci/deps installs the last two.
// Without them NewEnv skips the test, or fails it when MINICLOUD_OPENSSH
// is "require", as make test sets it when run as root.
package testhost

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/esxisim"
	"github.com/minicloud/minicloud/internal/syncbuf"
	"golang.org/x/crypto/ssh"
)

// The programs a host is made of.
const (
	SSHD    = "/usr/sbin/sshd"
	Busybox = "/bin/busybox"
)

// RequireEnv names the variable that, set to "require", turns a missing
// sshd, busybox or root into a test failure instead of a skip.
const RequireEnv = "MINICLOUD_OPENSSH"

// Env is what every host of a test binary shares: a folder of programs
// (the multi-call esxisim-cmd under the names of the host's programs,
// busybox under the names of its applets), the user sshd logs in, and the
// client's key.
type Env struct {
	// Bin is the folder of programs, first on each session's PATH.
	Bin string
	// User is the account clients log in as: the one running the test.
	User string
	// Client is the key clients authenticate with.
	Client ssh.Signer

	key ed25519.PrivateKey // Client's private half, for KeyFile
}

// NewEnv checks that sshd and busybox can be run, builds the multi-call
// executable and lays out the folder of programs in a temporary folder of
// t's. It skips t, or fails it under MINICLOUD_OPENSSH=require, when the
// machine lacks what a host needs.
func NewEnv(t testing.TB) *Env {
	t.Helper()
	if missing := Missing(); missing != "" {
		if os.Getenv(RequireEnv) == "require" {
			t.Fatalf("the OpenSSH host cannot start: %s", missing)
		}
		t.Skipf("skipping: an OpenSSH host needs %s; as root, make test installs "+
			"sshd and busybox (.ci/deps) and runs it", missing)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()

	// Build the host's programs as one executable, linked under each name.
	exe := filepath.Join(bin, "esxisim-cmd")
	build := exec.Command(goTool(), "build", "-o", exe,
		"github.com/minicloud/minicloud/cmd/esxisim-cmd")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build esxisim-cmd: %v\n%s", err, out)
	}
	for _, name := range []string{"vim-cmd", "vmkfstools", "esxcli", "vmware"} {
		if err := os.Symlink("esxisim-cmd", filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}

	// Everything else is busybox, as on ESXi.
	out, err := exec.Command(Busybox, "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	for _, applet := range strings.Fields(string(out)) {
		link := filepath.Join(bin, applet)
		if _, err := os.Lstat(link); err == nil || strings.Contains(applet, "/") {
			continue
		}
		if err := os.Symlink(Busybox, link); err != nil {
			t.Fatal(err)
		}
	}

	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Bin: bin, User: u.Username, Client: signer, key: priv}
}

// Missing says what an OpenSSH host lacks on this machine, or "" when one
// can run.
func Missing() string {
	switch {
	case runtime.GOOS != "linux":
		return "Linux"
	case os.Geteuid() != 0:
		return "root (sshd logs users in only when it runs as root)"
	}
	for _, p := range []string{SSHD, Busybox} {
		if _, err := os.Stat(p); err != nil {
			return p
		}
	}
	return ""
}

// KeyFile writes the client's private key in OpenSSH's format to a file
// of t's, as minicloud's key_file setting reads it, and returns its path.
func (env *Env) KeyFile(t testing.TB) string {
	t.Helper()
	block, err := ssh.MarshalPrivateKey(env.key, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// goTool returns the go command that runs the tests.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// sshdConfig is the configuration of one test sshd: loopback only, key
// logins for this user only, and every command line run by busybox ash
// in the host's folder, with the host's programs first on the PATH.
const sshdConfig = `# sshd for an OpenSSH test host
ListenAddress 127.0.0.1:%d
HostKey %s
PidFile none
UsePAM no
PermitRootLogin prohibit-password
AllowUsers %s
PubkeyAuthentication yes
AuthorizedKeysFile %s
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitTTY no
LogLevel ERROR
SetEnv "ESXISIM_DIR=%s" "PATH=%s"
ForceCommand cd "$ESXISIM_DIR" && exec %s ash -c "$SSH_ORIGINAL_COMMAND"
`

// Host is one OpenSSH test host: an sshd on 127.0.0.1 whose sessions run
// the standalone commands over a host folder laid out by esxisim.New.
type Host struct {
	// Sim is the simulated host made on the folder. It does not serve
	// SSH; its Inject and Exec act on the same folder the commands use.
	Sim *esxisim.Host
	// Dir is the host folder; its datastores are in Dir/vmfs/volumes.
	Dir string
	// Addr is where sshd listens, as "127.0.0.1:port".
	Addr string
	// HostKey is sshd's host key, for clients to verify.
	HostKey ssh.PublicKey
	// User is the account clients log in as, with the Env's client key.
	User string

	sshd *sshd
}

// VolumesRoot returns where the host's datastores are mounted, the
// folder a driver of the host must treat as /vmfs/volumes.
func (h *Host) VolumesRoot() string { return filepath.Join(h.Dir, "vmfs", "volumes") }

// Start lays out a host folder with esxisim.New (in a new folder of t's
// whose path holds a space, as datastore paths do, unless cfg.Dir is
// set), starts an sshd serving it on 127.0.0.1 and returns the host. The
// folder's settings, faults and inventory are what the standalone
// commands use. The host stops with t.
func (env *Env) Start(t testing.TB, cfg esxisim.Config) *Host {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(t.TempDir(), "esxi host")
	}
	sim, err := esxisim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })

	// The sshd's own files: host key, authorized key, configuration.
	etc := t.TempDir()
	keyPath := filepath.Join(etc, "ssh_host_ed25519_key")
	hostKey := writeHostKey(t, keyPath)
	authorized := filepath.Join(etc, "authorized_keys")
	if err := os.WriteFile(authorized, ssh.MarshalAuthorizedKey(env.Client.PublicKey()),
		0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // sshd's privilege separation
		t.Fatal(err)
	}

	// Start sshd on a free port; another test may take the port first.
	var s *sshd
	for attempt := 1; ; attempt++ {
		port := freePort(t)
		conf := filepath.Join(etc, "sshd_config")
		text := fmt.Sprintf(sshdConfig, port, keyPath, env.User, authorized, cfg.Dir,
			env.Bin, Busybox)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		s = &sshd{conf: conf, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
		err := s.run()
		if err == nil {
			break
		}
		if attempt == 3 {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { s.stop(t) })
	return &Host{Sim: sim, Dir: cfg.Dir, Addr: s.addr, HostKey: hostKey, User: env.User, sshd: s}
}

// Down stops sshd and every process serving one of its connections, as a
// host that goes down drops them.
func (h *Host) Down(t testing.TB) { h.sshd.stop(t) }

// Up starts sshd again, as a host that comes back up, or fails t.
func (h *Host) Up(t testing.TB) {
	t.Helper()
	if err := h.sshd.run(); err != nil {
		t.Fatal(err)
	}
}

// Stats returns what the host's programs have counted so far.
func (h *Host) Stats(t testing.TB) esxisim.Stats {
	t.Helper()
	st, err := esxisim.StandaloneStats(h.Dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// writeHostKey makes an ed25519 host key, stores it at path in OpenSSH's
// format for sshd, and returns its public half.
func writeHostKey(t testing.TB, path string) ssh.PublicKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer.PublicKey()
}

// freePort returns a loopback TCP port nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// sshd is one OpenSSH server process, run in the foreground (-D) so the
// test owns it; stop also ends the processes serving its connections.
type sshd struct {
	conf string
	addr string

	mu     sync.Mutex // guards the fields that follow
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	stderr *syncbuf.Buffer
}

// run starts sshd and waits until it accepts connections. It returns an
// error, with what sshd said, if sshd exits or does not listen in time.
func (s *sshd) run() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	stderr := &syncbuf.Buffer{}
	cmd := exec.Command(SSHD, "-D", "-e", "-f", s.conf)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start sshd: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.cmd, s.exited, s.stderr = cmd, exited, stderr

	// Wait until it listens, or gives up.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			s.cmd = nil
			return fmt.Errorf("sshd exited: %s", stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			s.cmd = nil
			return fmt.Errorf("sshd does not listen on %s: %v\n%s", s.addr, err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends sshd and every process serving one of its connections. When
// the test has failed it reports what sshd logged, to help read the
// failure.
func (s *sshd) stop(t testing.TB) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	pid := s.cmd.Process.Pid
	for _, p := range descendantsOf(pid) {
		syscall.Kill(p, syscall.SIGKILL)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	if log := strings.TrimSpace(s.stderr.String()); log != "" && t.Failed() {
		t.Logf("sshd said:\n%s", log)
	}
	s.cmd = nil
}

// descendantsOf returns the processes below pid: the sshd serving each
// connection, and the shells and commands it started.
func descendantsOf(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// After the command name, which sits in parentheses: the
		// state, then the parent's pid.
		f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
		if len(f) < 2 {
			continue
		}
		if parent, err := strconv.Atoi(f[1]); err == nil {
			children[parent] = append(children[parent], child)
		}
	}
	var out []int
	for queue := children[pid]; len(queue) > 0; queue = queue[1:] {
		out = append(out, queue[0])
		queue = append(queue, children[queue[0]]...)
	}
	return out
}
