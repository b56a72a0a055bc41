package hypervisor_test

import (
	"bytes"
	"context"
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
	"github.com/minicloud/minicloud/internal/hypervisor"
	"golang.org/x/crypto/ssh"
)

// The OpenSSH run needs what a real ESXi host is made of: OpenSSH's sshd
// and busybox. Set MINICLOUD_OPENSSH=require (make test does) to make
// their absence a failure rather than a skip.
const (
	sshdPath    = "/usr/sbin/sshd"
	busyboxPath = "/bin/busybox"
)

// TestESXi_OpenSSH runs the driver suite a second time, through OpenSSH's
// sshd and busybox ash running the simulated host's standalone commands:
// each command line the driver sends is parsed by a real busybox ash, and
// mkdir, rm, cat and the rest are busybox's.
func TestESXi_OpenSSH(t *testing.T) {
	if testing.Short() {
		t.Skip("the OpenSSH run starts real sshd processes; skipped with -short")
	}
	env := newOpenSSHEnv(t)
	runDriverSuite(t, env.start)
}

// openSSHEnv is what every sshd of the OpenSSH run shares: a folder of
// programs (the multi-call esxisim-cmd under the names of the host's
// programs, busybox under the names of its applets) and the client's key.
type openSSHEnv struct {
	bin    string
	user   string
	client ssh.Signer
}

// newOpenSSHEnv checks that sshd and busybox can be run, builds the
// multi-call executable and lays out the folder of programs.
func newOpenSSHEnv(t *testing.T) *openSSHEnv {
	t.Helper()
	if missing := openSSHMissing(); missing != "" {
		if os.Getenv("MINICLOUD_OPENSSH") == "require" {
			t.Fatalf("the OpenSSH run cannot start: %s", missing)
		}
		t.Skipf("skipping the OpenSSH run: it needs %s; as root, make test installs "+
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
	out, err := exec.Command(busyboxPath, "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	for _, applet := range strings.Fields(string(out)) {
		link := filepath.Join(bin, applet)
		if _, err := os.Lstat(link); err == nil || strings.Contains(applet, "/") {
			continue
		}
		if err := os.Symlink(busyboxPath, link); err != nil {
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
	return &openSSHEnv{bin: bin, user: u.Username, client: signer}
}

// openSSHMissing says what the OpenSSH run lacks, or "" when it can run.
func openSSHMissing() string {
	switch {
	case runtime.GOOS != "linux":
		return "Linux"
	case os.Geteuid() != 0:
		return "root (sshd logs users in only when it runs as root)"
	}
	for _, p := range []string{sshdPath, busyboxPath} {
		if _, err := os.Stat(p); err != nil {
			return p
		}
	}
	return ""
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
const sshdConfig = `# sshd for minicloud's OpenSSH driver tests
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

// start lays out a host folder with esxisim.New (whose path holds a space,
// as datastore paths do), starts an sshd serving it on 127.0.0.1, and
// connects a driver to it with a key. The folder's settings, faults and
// inventory are what the standalone commands use.
func (env *openSSHEnv) start(t *testing.T, edit ...func(*esxisim.Config)) simHost {
	t.Helper()
	cfg := simConfig(t, edit...)
	cfg.Dir = filepath.Join(t.TempDir(), "esxi host")
	host, err := esxisim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close() })

	// The sshd's own files: host key, authorized key, configuration.
	etc := t.TempDir()
	hostKey := writeHostKey(t, filepath.Join(etc, "ssh_host_ed25519_key"))
	authorized := filepath.Join(etc, "authorized_keys")
	if err := os.WriteFile(authorized, ssh.MarshalAuthorizedKey(env.client.PublicKey()),
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
		text := fmt.Sprintf(sshdConfig, port, filepath.Join(etc, "ssh_host_ed25519_key"),
			env.user, authorized, cfg.Dir, env.bin, busyboxPath)
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

	tr, err := hypervisor.NewSSH(hypervisor.SSHConfig{
		Host: "esxi-openssh", Addr: s.addr, User: env.user, HostKey: hostKey,
		Signers:    []ssh.Signer{env.client},
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	d := hypervisor.NewESXi(tr, hypervisor.Options{
		Host: "esxi-openssh", VolumesRoot: filepath.Join(cfg.Dir, "vmfs", "volumes"),
	})
	return simHost{
		host: host, tr: tr, d: d, addr: s.addr,
		stats: func() esxisim.Stats {
			st, err := esxisim.StandaloneStats(cfg.Dir)
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
		down: s.stop,
		up:   s.start,
	}
}

// writeHostKey makes an ed25519 host key, stores it at path in OpenSSH's
// format for sshd, and returns its public half.
func writeHostKey(t *testing.T, path string) ssh.PublicKey {
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
func freePort(t *testing.T) int {
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
	stderr *lockedBuffer
}

// lockedBuffer is what sshd writes to and the test reads.
type lockedBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs sshd again, as a host that comes back up, or fails the test.
func (s *sshd) start(t *testing.T) {
	t.Helper()
	if err := s.run(); err != nil {
		t.Fatal(err)
	}
}

// run starts sshd and waits until it accepts connections. It returns an
// error, with what sshd said, if sshd exits or does not listen in time.
func (s *sshd) run() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	stderr := &lockedBuffer{}
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", s.conf)
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

// stop ends sshd and every process serving one of its connections, as a
// host that goes down drops them. When the test has failed it reports
// what sshd logged, to help read the failure.
func (s *sshd) stop(t *testing.T) {
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

// TestOpenSSH_BusyboxParsesCommands checks the OpenSSH run's premise: the
// command lines really run under busybox ash, with the host's programs
// from the multi-call executable and the rest from busybox.
func TestOpenSSH_BusyboxParsesCommands(t *testing.T) {
	env := newOpenSSHEnv(t)
	sim := env.start(t)
	ctx := context.Background()
	res, err := sim.tr.Run(ctx, `echo "$0"; readlink "$(command -v cat)"; `+
		`readlink "$(command -v vim-cmd)"; pwd; vmware -v`, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("ash\n%s\nesxisim-cmd\n%s\nVMware ESXi 8.0.3 build-24022510\n",
		busyboxPath, sim.host.Dir())
	if got := string(res.Stdout); got != want || res.ExitStatus != 0 {
		t.Errorf("got exit %d, stdout %q, stderr %q\nwant stdout %q",
			res.ExitStatus, got, res.Stderr, want)
	}
}
