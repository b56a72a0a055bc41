package esxisim

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// testPassword is the root password of the hosts tests start.
const testPassword = "vmware-test-pw"

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testHost is a running host and an SSH client logged into it.
type testHost struct {
	*Host
	addr   string
	client *ssh.Client
	clock  *fakeClock
}

// mustStartHost starts a host on 127.0.0.1 with cfg (Dir, Password and
// Clock filled in when empty) and logs in to it. The host and client are
// closed when the test ends.
func mustStartHost(t *testing.T, cfg Config) *testHost {
	t.Helper()
	clock := newFakeClock()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.Password == "" {
		cfg.Password = testPassword
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Now
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	addr, err := h.Start("127.0.0.1:0")
	if err != nil {
		h.Close()
		t.Fatalf("Start: %v", err)
	}
	th := &testHost{Host: h, addr: addr.String(), clock: clock}
	th.client = mustDial(t, th, ssh.Password(testPassword))
	t.Cleanup(func() {
		th.client.Close()
		h.Close()
	})
	return th
}

// dial logs in to the host as root with auth.
func dial(th *testHost, user string, auth ssh.AuthMethod) (*ssh.Client, error) {
	return ssh.Dial("tcp", th.addr, &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{auth},
		HostKeyCallback: ssh.FixedHostKey(th.HostKey()),
		Timeout:         5 * time.Second,
	})
}

// mustDial logs in as root or fails the test.
func mustDial(t *testing.T, th *testHost, auth ssh.AuthMethod) *ssh.Client {
	t.Helper()
	c, err := dial(th, "root", auth)
	if err != nil {
		t.Fatalf("ssh login: %v", err)
	}
	return c
}

// result is what one command line did.
type result struct {
	stdout, stderr string
	status         int
}

// run runs cmd in a new session on the test host's connection.
func (th *testHost) run(t *testing.T, cmd string) result {
	t.Helper()
	return runOn(t, th.client, cmd, nil)
}

// runOn runs cmd in a new session of c, with stdin if not nil.
func runOn(t *testing.T, c *ssh.Client, cmd string, stdin io.Reader) result {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatalf("new session: %v", err)
	}
	defer s.Close()
	var out, errOut bytes.Buffer
	s.Stdout, s.Stderr, s.Stdin = &out, &errOut, stdin
	err = s.Run(cmd)
	status := 0
	if err != nil {
		ee, ok := err.(*ssh.ExitError)
		if !ok {
			t.Fatalf("run %q: %v", cmd, err)
		}
		status = ee.ExitStatus()
	}
	return result{stdout: out.String(), stderr: errOut.String(), status: status}
}

// mustRun runs cmd and fails the test unless it exits 0.
func (th *testHost) mustRun(t *testing.T, cmd string) string {
	t.Helper()
	r := th.run(t, cmd)
	if r.status != 0 {
		t.Fatalf("%s: exit %d\nstdout: %s\nstderr: %s", cmd, r.status, r.stdout, r.stderr)
	}
	return r.stdout
}

// testVMX is a VM's .vmx as minicloud writes one: with its BIOS UUID and
// MAC address set, so what the host prints about it is the same each run.
func testVMX(name string, n int) string {
	return fmt.Sprintf(`.encoding = "UTF-8"
config.version = "8"
virtualHW.version = "19"
displayName = "%s"
guestOS = "ubuntu-64"
numvcpus = "2"
memSize = "2048"
scsi0.present = "TRUE"
scsi0.virtualDev = "pvscsi"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "%s.vmdk"
ethernet0.present = "TRUE"
ethernet0.virtualDev = "vmxnet3"
ethernet0.networkName = "VM Network"
ethernet0.addressType = "generated"
ethernet0.generatedAddress = "00:0c:29:00:00:%02x"
uuid.bios = "56 4d 00 11 22 33 44 55-66 77 88 99 aa bb cc %02x"
vc.uuid = "52 00 11 22 33 44 55 66-77 88 99 aa bb cc dd %02x"
serial0.present = "TRUE"
serial0.fileType = "file"
serial0.fileName = "console.log"
answer.msg.uuid.altered = "I copied it"
guestinfo.metadata.encoding = "base64"
`, name, name, n, n, n)
}

// makeVM lays out a VM folder on datastore1 as minicloud does (a thin
// clone of the template and a .vmx sent through stdin) and returns the
// .vmx's host path.
func (th *testHost) makeVM(t *testing.T, name string, n int) string {
	t.Helper()
	dir := "/vmfs/volumes/datastore1/" + name
	cmd := fmt.Sprintf("mkdir -p %s && vmkfstools -i %s %s -d thin >/dev/null && cat > %s",
		quote(dir), quote("/vmfs/volumes/datastore1/templates/tmpl/tmpl.vmdk"),
		quote(dir+"/"+name+".vmdk"), quote(dir+"/"+name+".vmx"))
	r := runOn(t, th.client, cmd, strings.NewReader(testVMX(name, n)))
	if r.status != 0 {
		t.Fatalf("make VM %s: exit %d: %s%s", name, r.status, r.stdout, r.stderr)
	}
	return dir + "/" + name + ".vmx"
}

// register makes a VM and registers it, returning its vmid.
func (th *testHost) register(t *testing.T, name string, n int) string {
	t.Helper()
	vmx := th.makeVM(t, name, n)
	return strings.TrimSpace(th.mustRun(t, "vim-cmd solo/registervm "+quote(vmx)))
}

// quote quotes s for the host's shell, as the driver does.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// templateConfig is a host config with a 10 GB template "tmpl".
func templateConfig() Config {
	return Config{Templates: []Template{{Name: "tmpl", SizeGB: 10, GuestOS: "ubuntu64Guest"}}}
}

// fileExists reports whether path exists on this machine.
func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// dsDir returns where datastore1 is on this machine.
func (th *testHost) dsDir() string {
	return filepath.Join(th.Dir(), "vmfs", "volumes", "datastore1")
}
