package reliability_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/minicloud/minicloud/internal/esxisim"
	"golang.org/x/crypto/ssh"
)

// fleet is a lab of simulated ESXi hosts serving SSH from the test's
// process, and minicloud running as a process of its own (the binary
// TestMain built), configured to drive them. The hosts outlive minicloud, as real hosts outlive the
// machine minicloud runs on: a test can kill minicloud and start it again
// on the same data folder while the hosts carry on, and can take a host
// down, slow it or make its hostd fail while minicloud drives it.
type fleet struct {
	t       *testing.T
	data    string // minicloud's data folder
	cfgPath string // its configuration file
	logPath string // where it logs
	hosts   []*fleetHost

	mu     sync.Mutex  // guards the fields that follow
	proc   *proc       // the minicloud process; nil while it is down
	client *ec2.Client // a client of proc
	starts int         // how many times minicloud has started
}

// fleetHost is one host of a fleet, in an availability zone of its own.
type fleetHost struct {
	*esxisim.Host
	name string
	zone string
	addr string
}

// fleetOptions shape a fleet's hosts and minicloud.
type fleetOptions struct {
	hosts     int           // how many; 3 when zero
	latency   time.Duration // added to every vim-cmd, vmkfstools and esxcli
	bootDelay time.Duration // from power-on to the guest's address; 100ms when zero
	observe   time.Duration // minicloud's observe_interval; 100ms when zero
}

// fleetPassword is the root password of every fleet host.
const fleetPassword = "fleet-Secret-1"

// newFleet starts the hosts and minicloud; all of it stops with t.
func newFleet(t *testing.T, o fleetOptions) *fleet {
	t.Helper()
	if o.hosts == 0 {
		o.hosts = 3
	}
	if o.bootDelay == 0 {
		o.bootDelay = 100 * time.Millisecond
	}
	if o.observe == 0 {
		o.observe = 100 * time.Millisecond
	}
	lab := t.TempDir()
	f := &fleet{t: t, data: filepath.Join(lab, "data"), logPath: filepath.Join(lab, "minicloud.log")}
	t.Cleanup(func() {
		f.kill()
		if t.Failed() {
			t.Logf("minicloud logged, at the end:\n%s", f.logTail())
		}
	})

	// The hosts: big enough that capacity never limits a test. The load
	// tests launch and terminate faster than the hosts carry it out, and
	// hundreds of instances may be shutting down on each at once, each
	// holding its size until its VM is gone.
	for i := 0; i < o.hosts; i++ {
		name := fmt.Sprintf("esxi-%d", i+1)
		h, err := esxisim.New(esxisim.Config{
			Dir: filepath.Join(lab, name), Name: name, Password: fleetPassword,
			CPUCores: 256, CPUThreads: 512, MemoryBytes: 4 << 40,
			Datastores:   []esxisim.Datastore{{Name: "datastore1", CapacityBytes: 64 << 40}},
			Templates:    []esxisim.Template{{Name: "debian-12", SizeGB: 8, GuestOS: "debian12_64Guest"}},
			GuestNetwork: fmt.Sprintf("10.%d.0.0/16", i+1),
			Latency:      o.latency, BootDelay: o.bootDelay,
			LockoutFailures: -1,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		addr, err := h.Start("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f.hosts = append(f.hosts, &fleetHost{
			Host: h, name: name, zone: "us-east-1" + string(rune('a'+i)), addr: addr.String(),
		})
	}

	// minicloud's configuration: the hosts, and their template as an image.
	f.cfgPath = filepath.Join(t.TempDir(), "minicloud.toml")
	if err := os.WriteFile(f.cfgPath, []byte(f.config(o)), 0o600); err != nil {
		t.Fatal(err)
	}
	f.start()
	return f
}

// config returns minicloud's configuration file for the fleet.
func (f *fleet) config(o fleetOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "observe_interval = %q\nlog_level = \"info\"\n", o.observe.String())
	for _, h := range f.hosts {
		key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(h.HostKey())))
		fmt.Fprintf(&b, "\n[[hosts]]\nname = %q\naddress = %q\npassword = %q\n"+
			"host_key = %q\navailability_zone = %q\n", h.name, h.addr, fleetPassword, key, h.zone)
	}
	b.WriteString("\n[[images]]\nname = \"debian-12\"\n" +
		"location = \"[datastore1] templates/debian-12/debian-12.vmdk\"\n" +
		"guest_os = \"debian12_64Guest\"\nsize_gib = 8\n")
	return b.String()
}

// proc is one minicloud process.
type proc struct {
	cmd      *exec.Cmd
	endpoint string
	exited   chan struct{} // closed once cmd has been waited for
}

var endpointRE = regexp.MustCompile(`endpoint:\s+(http://\S+)`)

// start runs minicloud on the fleet's data folder and waits until it
// serves. What it logs goes to minicloud.log beside the data folder; a
// failed test shows its end.
func (f *fleet) start() {
	f.t.Helper()
	logFile, err := os.OpenFile(f.logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		f.t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(minicloudBin(f.t), "serve", "--config", f.cfgPath, "--data", f.data,
		"--listen", "127.0.0.1:0")
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		f.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := endpointRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
		cmd.Wait()
		close(p.exited)
	}()
	select {
	case p.endpoint = <-found:
	case <-p.exited:
		f.t.Fatalf("minicloud exited before serving:\n%s", f.logTail())
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		f.t.Fatalf("minicloud did not print its endpoint:\n%s", f.logTail())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.proc, f.client = p, newClient(p.endpoint)
	f.starts++
}

// logTail returns the end of what minicloud logged.
func (f *fleet) logTail() string {
	data, _ := os.ReadFile(f.logPath)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-40):], "\n")
}

// logCounts counts what minicloud logged at warning level and above, by
// host and message, in every run of it so far: "step failed; will retry"
// for each host call a fault made it try again, "host unreachable" each
// time it lost a host.
func (f *fleet) logCounts() map[string]map[string]int {
	f.t.Helper()
	data, err := os.ReadFile(f.logPath)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]map[string]int{}
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.Contains(line, "level=WARN") && !strings.Contains(line, "level=ERROR") {
			continue
		}
		msg, host := logField(line, "msg"), logField(line, "host")
		if out[host] == nil {
			out[host] = map[string]int{}
		}
		out[host][msg]++
	}
	return out
}

// logField returns the value of key in a line of slog's text format.
func logField(line, key string) string {
	i := strings.Index(line, " "+key+"=")
	if i < 0 {
		return ""
	}
	v := line[i+len(key)+2:]
	if strings.HasPrefix(v, `"`) {
		if s, err := strconv.QuotedPrefix(v); err == nil {
			u, _ := strconv.Unquote(s)
			return u
		}
	}
	v, _, _ = strings.Cut(v, " ")
	return v
}

// kill ends minicloud with SIGKILL, as a power cut would: nothing it has
// not written to its state file survives.
func (f *fleet) kill() { f.end(syscall.SIGKILL) }

// stop ends minicloud as an operator would, with SIGTERM.
func (f *fleet) stop() { f.end(syscall.SIGTERM) }

// end sends minicloud sig and waits until it has exited.
func (f *fleet) end(sig syscall.Signal) {
	f.mu.Lock()
	p := f.proc
	f.proc = nil
	f.mu.Unlock()
	if p == nil {
		return
	}
	p.cmd.Process.Signal(sig)
	<-p.exited
}

// ec2 returns a client of the minicloud running now.
func (f *fleet) ec2() *ec2.Client {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.client
}

// pid returns the process id of the minicloud running now, 0 if none.
func (f *fleet) pid() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.proc == nil {
		return 0
	}
	return f.proc.cmd.Process.Pid
}

// host returns the fleet host serving zone, or nil.
func (f *fleet) host(zone string) *fleetHost {
	for _, h := range f.hosts {
		if h.zone == zone {
			return h
		}
	}
	return nil
}

// hostVMs are what one host holds: each registered VM's name, as many
// times as it is registered, each instance folder on its datastore, and
// how many VMs are powered on.
type hostVMs struct {
	vms       []string
	folders   []string
	poweredOn int
}

// inventory reads what each host holds, by host name, as a person logged
// in to each would.
func (f *fleet) inventory() map[string]hostVMs {
	f.t.Helper()
	out := map[string]hostVMs{}
	for _, h := range f.hosts {
		var inv hostVMs
		lines := strings.Split(h.run(f.t, "vim-cmd vmsvc/getallvms"), "\n")
		for _, line := range lines[1:] {
			if fields := strings.Fields(line); len(fields) > 1 {
				inv.vms = append(inv.vms, fields[1])
			}
		}
		inv.poweredOn = strings.Count(h.run(f.t, "esxcli vm process list"), "World ID:")
		for _, name := range strings.Fields(h.run(f.t, "ls /vmfs/volumes/datastore1")) {
			if strings.HasPrefix(name, "i-") {
				inv.folders = append(inv.folders, name)
			}
		}
		out[h.name] = inv
	}
	return out
}

// run runs a command line on the host, failing t unless it succeeds.
func (h *fleetHost) run(t testing.TB, cmd string) string {
	t.Helper()
	var out, errOut strings.Builder
	if status := h.Exec(context.Background(), cmd, nil, &out, &errOut); status != 0 {
		t.Fatalf("%s on %s: exit %d: %s", cmd, h.name, status, errOut.String())
	}
	return out.String()
}

// newClient returns an aws-sdk-go-v2 EC2 client for endpoint, with the
// well-known test key minicloud accepts on loopback.
func newClient(endpoint string) *ec2.Client {
	return ec2.New(ec2.Options{
		HTTPClient:   loopbackClient,
		BaseEndpoint: aws.String(endpoint),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer:      aws.NopRetryer{},
	})
}

// imageOf returns the id of the image named name.
func imageOf(t *testing.T, c *ec2.Client, name string) string {
	t.Helper()
	out, err := c.DescribeImages(context.Background(), &ec2.DescribeImagesInput{
		Filters: []types.Filter{{Name: aws.String("name"), Values: []string{name}}},
	})
	if err != nil || len(out.Images) != 1 {
		t.Fatalf("image %s: %v", name, err)
	}
	return *out.Images[0].ImageId
}

// describeAll returns every instance minicloud lists, by id, and how
// many times each was listed.
func describeAll(ctx context.Context, c *ec2.Client) (
	map[string]types.Instance, map[string]int, error,
) {
	insts, seen := map[string]types.Instance{}, map[string]int{}
	p := ec2.NewDescribeInstancesPaginator(c,
		&ec2.DescribeInstancesInput{MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range page.Reservations {
			for _, inst := range r.Instances {
				insts[*inst.InstanceId] = inst
				seen[*inst.InstanceId]++
			}
		}
	}
	return insts, seen, nil
}

// claims checks that every VM and instance folder on the hosts belongs to
// exactly one instance of insts that is not terminated, on the host of its
// zone, and that every running instance has its VM there. It returns how
// many VMs the hosts hold, and what is wrong: orphans (a VM or folder no
// live instance claims), VMs registered twice or on the wrong host, and
// running instances without a VM.
func (f *fleet) claims(insts map[string]types.Instance) (int, []string) {
	f.t.Helper()
	vms, folders := map[string][]string{}, map[string][]string{}
	for host, inv := range f.inventory() {
		for _, name := range inv.vms {
			vms[name] = append(vms[name], host)
		}
		for _, name := range inv.folders {
			folders[name] = append(folders[name], host)
		}
	}

	// What the hosts hold, each claimed once.
	var wrong []string
	for _, what := range []struct {
		kind  string
		found map[string][]string
	}{{"VM", vms}, {"folder", folders}} {
		for name, hosts := range what.found {
			inst, ok := insts[name]
			switch {
			case !ok || inst.State.Name == types.InstanceStateNameTerminated:
				wrong = append(wrong, fmt.Sprintf("%s %s on %v: no live instance claims it",
					what.kind, name, hosts))
			case len(hosts) != 1:
				wrong = append(wrong, fmt.Sprintf("%s %s is on the hosts %d times: %v",
					what.kind, name, len(hosts), hosts))
			case f.host(*inst.Placement.AvailabilityZone).name != hosts[0]:
				wrong = append(wrong, fmt.Sprintf("%s %s is on %s, its instance in %s",
					what.kind, name, hosts[0], *inst.Placement.AvailabilityZone))
			}
		}
	}

	// Every running instance, its VM. A stopped one may have none: one
	// stopped before its launch registered a VM gets it when started.
	for id, inst := range insts {
		if inst.State.Name == types.InstanceStateNameRunning && len(vms[id]) == 0 {
			wrong = append(wrong, fmt.Sprintf("instance %s (%s) has no VM", id, inst.State.Name))
		}
	}
	sort.Strings(wrong)
	return len(vms), wrong
}

// rss reads a process's resident set size and its peak, in bytes, from
// /proc.
func rss(pid int) (now, peak int64, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[2] != "kB" {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return 0, 0, err
		}
		switch f[0] {
		case "VmRSS:":
			now = n << 10
		case "VmHWM:":
			peak = n << 10
		}
	}
	return now, peak, nil
}

// reportTo appends text to the file named by the -report flag, if any, so
// that the scripts in .ci can print what a long run measured.
func reportTo(t testing.TB, text string) {
	t.Helper()
	if *reportFile == "" {
		return
	}
	fh, err := os.OpenFile(*reportFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := io.WriteString(fh, text); err != nil {
		t.Fatal(err)
	}
}
