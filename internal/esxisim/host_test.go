package esxisim

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestHost_Lifecycle(t *testing.T) {
	cfg := templateConfig()
	cfg.BootDelay = 20 * time.Second
	cfg.ShutdownDelay = 5 * time.Second
	th := mustStartHost(t, cfg)

	// Register a VM laid out the way minicloud lays one out.
	id := th.register(t, "i-0abc", 7)
	if id != "1" {
		t.Fatalf("first vmid = %q, want 1", id)
	}
	state := func() string {
		t.Helper()
		out := th.mustRun(t, "vim-cmd vmsvc/power.getstate "+id)
		return strings.TrimPrefix(out, "Retrieved runtime info\n")
	}

	t.Run("PowerOnBoots", func(t *testing.T) {
		th.mustRun(t, "vim-cmd vmsvc/power.on "+id)
		if got, want := state(), "Powered on\n"; got != want {
			t.Fatalf("state = %q, want %q", got, want)
		}
		guest := th.mustRun(t, "vim-cmd vmsvc/get.guest "+id)
		if !strings.Contains(guest, `toolsRunningStatus = "guestToolsNotRunning"`) ||
			!strings.Contains(guest, "ipAddress = <unset>") {
			t.Fatalf("guest reports before it booted:\n%s", guest)
		}

		th.clock.Advance(20 * time.Second)
		guest = th.mustRun(t, "vim-cmd vmsvc/get.guest "+id)
		if !strings.Contains(guest, `ipAddress = "172.31.0.3"`) ||
			!strings.Contains(guest, `hostName = "i-0abc"`) {
			t.Fatalf("booted guest does not report its address:\n%s", guest)
		}
		console := th.mustRun(t, "cat /vmfs/volumes/datastore1/i-0abc/console.log")
		if !strings.Contains(console, "i-0abc login:") {
			t.Fatalf("console has no boot log:\n%s", console)
		}
	})

	t.Run("ShutdownTakesItsTime", func(t *testing.T) {
		th.mustRun(t, "vim-cmd vmsvc/power.shutdown "+id)
		if got, want := state(), "Powered on\n"; got != want {
			t.Fatalf("state right after shutdown = %q, want %q", got, want)
		}
		th.clock.Advance(5 * time.Second)
		if got, want := state(), "Powered off\n"; got != want {
			t.Fatalf("state after the guest shut down = %q, want %q", got, want)
		}
	})

	t.Run("DestroyDeletesFiles", func(t *testing.T) {
		th.mustRun(t, "vim-cmd vmsvc/destroy "+id)
		if fileExists(filepath.Join(th.dsDir(), "i-0abc")) {
			t.Fatal("VM folder is still there after destroy")
		}
		r := th.run(t, "vim-cmd vmsvc/power.getstate "+id)
		if r.status == 0 || !strings.Contains(r.stdout, `Unable to find a VM corresponding to "1"`) {
			t.Fatalf("destroyed VM still answers: %+v", r)
		}
		if fileExists(filepath.Join(th.dsDir(), "templates", "tmpl", "tmpl-flat.vmdk")) == false {
			t.Fatal("destroy deleted the template")
		}
	})
}

func TestHost_VMIDsNeverReused(t *testing.T) {
	dir := t.TempDir()
	cfg := templateConfig()
	cfg.Dir = dir
	th := mustStartHost(t, cfg)

	got := []string{th.register(t, "a", 1), th.register(t, "b", 2)}
	th.mustRun(t, "vim-cmd vmsvc/unregister 2")
	got = append(got, th.register(t, "c", 3))
	th.mustRun(t, "vim-cmd vmsvc/power.on 1")

	// A new host process on the same folder keeps the VMs and the counter.
	th.client.Close()
	th.Close()
	th2 := mustStartHost(t, cfg)
	got = append(got, th2.register(t, "d", 4))
	if want := []string{"1", "2", "3", "4"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("vmids = %v, want %v", got, want)
	}
	list := th2.mustRun(t, "vim-cmd vmsvc/getallvms")
	for _, name := range []string{"a", "c", "d"} {
		if !strings.Contains(list, "["+"datastore1] "+name+"/"+name+".vmx") {
			t.Errorf("after restart, getallvms lacks %s:\n%s", name, list)
		}
	}
	if strings.Contains(list, "b/b.vmx") {
		t.Errorf("unregistered VM came back:\n%s", list)
	}
	if out := th2.mustRun(t, "vim-cmd vmsvc/power.getstate 1"); !strings.Contains(out, "Powered on") {
		t.Errorf("VM powered off by a restart of the host process: %q", out)
	}
	if !bytes.Equal(th2.HostKey().Marshal(), th.HostKey().Marshal()) {
		t.Error("host key changed across a restart")
	}
}

func TestHost_HostileArguments(t *testing.T) {
	th := mustStartHost(t, templateConfig())
	vmx := th.makeVM(t, "vm", 1)
	marker := filepath.Join(os.TempDir(), fmt.Sprintf("esxisim-pwned-%d", os.Getpid()))
	hostMarker := filepath.Join(th.Dir(), "tmp", "pwned")
	t.Cleanup(func() { os.Remove(marker) })

	names := []string{
		"$(touch " + marker + ")",
		"`touch " + marker + "`",
		"a'; touch /tmp/pwned; echo '",
		"x\"; touch /tmp/pwned; \"",
		"line one\nline two",
		"  spaced   name  ",
	}
	for i, name := range names {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			id := strings.TrimSpace(th.mustRun(t, "vim-cmd solo/registervm "+quote(vmx)+" "+quote(name)))
			defer th.mustRun(t, "vim-cmd vmsvc/unregister "+quote(id))
			out := th.mustRun(t, "vim-cmd vmsvc/getallvms")
			if !strings.Contains(out, name) {
				t.Errorf("name %q not kept as it is:\n%s", name, out)
			}
			echoed := th.mustRun(t, "printf '%s' "+quote(name))
			if echoed != name {
				t.Errorf("printf of a quoted argument = %q, want %q", echoed, name)
			}
			if fileExists(marker) || fileExists(hostMarker) {
				t.Fatalf("an argument was run as a command: %q", name)
			}
		})
	}
}

func TestHost_OnlyItsOwnProgramsAndFiles(t *testing.T) {
	th := mustStartHost(t, Config{})
	for _, cmd := range []string{"id", "/usr/bin/id", "/bin/bash -c true", "python3", "uname -a", "./x"} {
		r := th.run(t, cmd)
		name := strings.Fields(cmd)[0]
		if r.status != 127 || r.stderr != "sh: "+name+": not found\n" {
			t.Errorf("%s: exit %d, stderr %q; want 127 and %q", cmd, r.status, r.stderr, "sh: "+name+": not found\n")
		}
	}

	t.Run("RootIsTheHostFolder", func(t *testing.T) {
		got := th.mustRun(t, "cd /../..; ls /")
		if want := "bin\netc\ntmp\nvmfs\n"; got != want {
			t.Errorf("ls / = %q, want %q", got, want)
		}
		r := th.run(t, "cat /etc/passwd; echo $? ; test -e /etc/hostname && echo leak; cat < /etc/passwd")
		if strings.Contains(r.stdout, "root:") || strings.Contains(r.stdout, "leak") {
			t.Errorf("the shell read this machine's files: %+v", r)
		}
		if got := th.mustRun(t, "command -v vim-cmd ls id; echo $?"); got != "/bin/vim-cmd\n/bin/ls\n1\n" {
			t.Errorf("command -v = %q", got)
		}
	})
}

func TestHost_ExecStreams(t *testing.T) {
	th := mustStartHost(t, Config{})

	r := th.run(t, "echo out; echo err >&2; exit 7")
	if r.stdout != "out\n" || r.stderr != "err\n" || r.status != 7 {
		t.Errorf("got %+v, want stdout out, stderr err, exit 7", r)
	}

	t.Run("StdinToCat", func(t *testing.T) {
		content := strings.Repeat("guestinfo.userdata = \"abc|22def\"\n", 40000) // about 1.3 MB
		r := runOn(t, th.client, "cat > /vmfs/volumes/datastore1/big.vmx && ls /vmfs/volumes/datastore1",
			strings.NewReader(content))
		if r.status != 0 || r.stdout != "big.vmx\n" {
			t.Fatalf("got %+v", r)
		}
		data, err := os.ReadFile(filepath.Join(th.dsDir(), "big.vmx"))
		if err != nil || string(data) != content {
			t.Fatalf("file holds %d bytes (%v), want the %d sent", len(data), err, len(content))
		}
	})

	t.Run("RedirectErrors", func(t *testing.T) {
		r := th.run(t, "echo x > /vmfs/volumes/datastore1/nodir/x")
		want := "sh: can't create /vmfs/volumes/datastore1/nodir/x: nonexistent directory\n"
		if r.status != 1 || r.stderr != want {
			t.Errorf("got %+v, want exit 1 and %q", r, want)
		}
	})
}

func TestHost_DatastoreFull(t *testing.T) {
	cfg := templateConfig()
	cfg.Datastores = []Datastore{{Name: "small", CapacityBytes: 15 << 30}}
	th := mustStartHost(t, cfg)
	const tmpl = "/vmfs/volumes/small/templates/tmpl/tmpl.vmdk"

	th.mustRun(t, "mkdir /vmfs/volumes/small/a /vmfs/volumes/small/b /vmfs/volumes/small/c")
	th.mustRun(t, "vmkfstools -i "+tmpl+" /vmfs/volumes/small/a/a.vmdk -d zeroedthick")

	r := th.run(t, "vmkfstools -i "+tmpl+" /vmfs/volumes/small/b/b.vmdk -d eagerzeroedthick")
	want := "Failed to clone disk : No space left on device (1835017).\n"
	if r.status != 255 || r.stderr != want {
		t.Fatalf("thick clone on a full datastore: %+v, want exit 255 and %q", r, want)
	}
	if fileExists(filepath.Join(th.Dir(), "vmfs", "volumes", "small", "b", "b-flat.vmdk")) {
		t.Error("the failed clone left a data file")
	}

	th.mustRun(t, "vmkfstools -i "+tmpl+" /vmfs/volumes/small/c/c.vmdk -d thin")
	fsList := th.mustRun(t, "esxcli storage filesystem list")
	if !strings.Contains(fsList, "16106127360") {
		t.Errorf("filesystem list lacks the 15 GiB capacity:\n%s", fsList)
	}
	r = th.run(t, "vmkfstools -c 6G /vmfs/volumes/small/c/d.vmdk")
	if r.status != 255 || !strings.Contains(r.stderr, "No space left on device") {
		t.Errorf("create on a full datastore: %+v", r)
	}
}

func TestHost_UUIDQuestion(t *testing.T) {
	cfg := templateConfig()
	cfg.AskUUIDQuestion = true
	th := mustStartHost(t, cfg)
	vmx := th.makeVM(t, "q", 1)

	// Without answer.msg.uuid.altered in its .vmx, the VM asks.
	edited := strings.ReplaceAll(testVMX("q", 1), "answer.msg.uuid.altered = \"I copied it\"\n", "")
	runOn(t, th.client, "cat > "+quote(vmx), strings.NewReader(edited))
	id := strings.TrimSpace(th.mustRun(t, "vim-cmd solo/registervm "+quote(vmx)))

	// power.on waits for the answer, as its task does.
	done := make(chan result, 1)
	go func() {
		s, err := th.client.NewSession()
		if err != nil {
			done <- result{stderr: err.Error(), status: -1}
			return
		}
		defer s.Close()
		out, err := s.Output("vim-cmd vmsvc/power.on " + id)
		r := result{stdout: string(out)}
		if err != nil {
			r.status, r.stderr = -1, err.Error()
		}
		done <- r
	}()
	var msg string
	for i := 0; i < 100 && !strings.Contains(msg, "msg.uuid.altered"); i++ {
		time.Sleep(10 * time.Millisecond)
		msg = th.mustRun(t, "vim-cmd vmsvc/message "+id)
	}
	checkGolden(t, "message_question", msg)
	select {
	case r := <-done:
		t.Fatalf("power.on returned before the question was answered: %+v", r)
	default:
	}

	th.mustRun(t, "vim-cmd vmsvc/message "+id+" 1 2")
	select {
	case r := <-done:
		if r.status != 0 || r.stdout != "Powering on VM:\n" {
			t.Fatalf("power.on after the answer: %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("power.on still waits after the answer")
	}
	if out := th.mustRun(t, "vim-cmd vmsvc/message "+id); out != "No message.\n" {
		t.Errorf("question still pending: %q", out)
	}

	// Powered on in place once, it does not ask again.
	th.mustRun(t, "vim-cmd vmsvc/power.off "+id+" && vim-cmd vmsvc/power.on "+id)
}

func TestHost_Auth(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	th := mustStartHost(t, Config{AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()}})

	t.Run("WrongPassword", func(t *testing.T) {
		if _, err := dial(th, "root", ssh.Password("nope")); err == nil {
			t.Fatal("wrong password accepted")
		}
		if _, err := dial(th, "admin", ssh.Password(testPassword)); err == nil {
			t.Fatal("unknown user accepted")
		}
	})

	t.Run("KeyboardInteractive", func(t *testing.T) {
		var prompts []string
		answer := func(user, instr string, qs []string, echo []bool) ([]string, error) {
			prompts = append(prompts, qs...)
			return []string{testPassword}, nil
		}
		c := mustDial(t, th, ssh.KeyboardInteractive(answer))
		defer c.Close()
		if want := []string{"Password: "}; fmt.Sprint(prompts) != fmt.Sprint(want) {
			t.Errorf("prompts = %q, want %q", prompts, want)
		}
	})

	t.Run("PublicKey", func(t *testing.T) {
		c := mustDial(t, th, ssh.PublicKeys(signer))
		defer c.Close()
		if out := runOn(t, c, "vmware -v", nil); out.status != 0 {
			t.Fatalf("got %+v", out)
		}
	})

	if got := th.Stats().FailedLogins; got != 2 {
		t.Errorf("failed logins = %d, want 2", got)
	}
}

func TestHost_Lockout(t *testing.T) {
	th := mustStartHost(t, Config{LockoutFailures: 3, LockoutDuration: 10 * time.Minute})
	for i := 0; i < 3; i++ {
		if _, err := dial(th, "root", ssh.Password("wrong")); err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	if c, err := dial(th, "root", ssh.Password(testPassword)); err == nil {
		c.Close()
		t.Fatal("locked account accepted the right password")
	}

	th.clock.Advance(10 * time.Minute)
	c, err := dial(th, "root", ssh.Password(testPassword))
	if err != nil {
		t.Fatalf("account still locked after the lock time: %v", err)
	}
	c.Close()
}

func TestHost_Concurrency(t *testing.T) {
	th := mustStartHost(t, templateConfig())
	id := th.register(t, "vm", 1)
	other := mustDial(t, th, ssh.Password(testPassword))
	defer other.Close()

	var wg sync.WaitGroup
	errs := make(chan string, 40)
	for i := 0; i < 40; i++ {
		c := th.client
		if i%2 == 1 {
			c = other
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := runOn(t, c, "vim-cmd vmsvc/power.getstate "+id+" | cat", nil)
			if r.status != 0 || !strings.HasSuffix(r.stdout, "Powered off\n") {
				errs <- fmt.Sprintf("%+v", r)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got := th.Stats().VimCmds["vmsvc/power.getstate"]; got != 40 {
		t.Errorf("power.getstate counted %d times, want 40", got)
	}
}

func TestHost_InteractiveShell(t *testing.T) {
	th := mustStartHost(t, Config{})
	s, err := th.client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out bytes.Buffer
	s.Stdout = &out
	s.Stdin = strings.NewReader("cd /vmfs/volumes\npwd\nls datastore1 && echo empty\nexit 3\n")
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	err = s.Wait()
	if ee, ok := err.(*ssh.ExitError); !ok || ee.ExitStatus() != 3 {
		t.Fatalf("shell ended with %v, want exit status 3", err)
	}
	for _, want := range []string{"[root@esxi:~] ", "[root@esxi:/vmfs/volumes] ", "/vmfs/volumes\n", "empty\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("shell output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestHost_ExecWithoutSSH(t *testing.T) {
	h, err := New(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var out, errOut bytes.Buffer
	status := h.Exec(context.Background(), "vmware -v; nosuch", nil, &out, &errOut)
	if status != 127 || out.String() != "VMware ESXi 8.0.3 build-24022510\n" ||
		errOut.String() != "sh: nosuch: not found\n" {
		t.Errorf("got exit %d, stdout %q, stderr %q", status, out.String(), errOut.String())
	}
}

func TestMain_Standalone(t *testing.T) {
	dir := t.TempDir()
	h, err := New(Config{Dir: dir, Templates: []Template{{Name: "tmpl", SizeGB: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	env := []string{"PATH=/bin", "ESXISIM_DIR=" + dir}
	volumes, _ := filepath.EvalSymlinks(filepath.Join(dir, "vmfs", "volumes"))

	// The host's VM folder, written on real paths as busybox would.
	vmDir := filepath.Join(volumes, "datastore1", "vm")
	if err := os.MkdirAll(vmDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(vmDir, "vm.vmx"), []byte(testVMX("vm", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, int) {
		var out, errOut bytes.Buffer
		status := Main(args, nil, &out, &errOut, env)
		return out.String() + errOut.String(), status
	}

	out, status := run("/usr/local/bin/vim-cmd", "solo/registervm", filepath.Join(vmDir, "vm.vmx"))
	if status != 0 || out != "1\n" {
		t.Fatalf("registervm: exit %d, %q", status, out)
	}
	tmpl := filepath.Join(volumes, "datastore1", "templates", "tmpl", "tmpl.vmdk")
	out, _ = run("esxisim", "vmkfstools", "-i", tmpl, filepath.Join(vmDir, "vm.vmdk"), "-d", "thin")
	if !strings.HasSuffix(out, "Clone: 100% done.\n") {
		t.Fatalf("clone: %q", out)
	}

	// The simulated host sees what the standalone commands did.
	var list bytes.Buffer
	h.Exec(context.Background(), "vim-cmd vmsvc/getallvms", nil, &list, &list)
	if !strings.Contains(list.String(), "[datastore1] vm/vm.vmx") {
		t.Errorf("host does not list the VM the standalone command registered:\n%s", list.String())
	}
	if _, status := run("esxcli", "bogus"); status != 1 {
		t.Errorf("unknown esxcli namespace exits %d, want 1", status)
	}
	if out, status := run("ls"); status != 127 {
		t.Errorf("Main ran ls (exit %d, %q); busybox provides it", status, out)
	}
}

func TestHost_Filters(t *testing.T) {
	h, err := New(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	tests := []struct {
		name, cmd, want string
		status          int
	}{
		{"GrepBasic", `printf 'a+b\nab\nc\n' | grep 'a+b'`, "a+b\n", 0},
		{"GrepBasicAlternation", `printf 'a\nb\nc\n' | grep 'a\|c'`, "a\nc\n", 0},
		{"GrepExtended", `printf 'a\nb\nc\n' | grep -E 'a|c'`, "a\nc\n", 0},
		{"GrepCountInvert", `printf 'a\nb\nc\n' | grep -vc a`, "2\n", 0},
		{"GrepNoMatch", `printf 'a\n' | grep -q z`, "", 1},
		{"GrepIgnoreCase", `vmware -v | grep -i esxi`, "VMware ESXi 8.0.3 build-24022510\n", 0},
		{"Head", `printf '1\n2\n3\n' | head -n 2`, "1\n2\n", 0},
		{"Tail", `printf '1\n2\n3\n' | tail -1`, "3\n", 0},
		{"TailFrom", `printf '1\n2\n3\n' | tail -n +2`, "2\n3\n", 0},
		{"WcLines", `printf '1\n2\n3\n' | wc -l`, "3\n", 0},
		{"Pipeline", `vim-cmd vmsvc/getallvms | tail -n +2 | wc -l`, "0\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			status := h.Exec(context.Background(), tt.cmd, nil, &out, &errOut)
			if got := out.String(); got != tt.want || status != tt.status {
				t.Errorf("got %q exit %d (stderr %q), want %q exit %d",
					got, status, errOut.String(), tt.want, tt.status)
			}
		})
	}
}

func TestHost_DevNullIsSafe(t *testing.T) {
	th := mustStartHost(t, Config{})
	th.run(t, "touch /tmp/f; mv /tmp/f /dev/null; rm -f /dev/null; rmdir /dev; "+
		"echo x > /dev/null; touch /dev/null")
	info, err := os.Stat(os.DevNull)
	if err != nil || info.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("this machine's %s was changed: %v %v", os.DevNull, info.Mode(), err)
	}
	if got := th.mustRun(t, "cat /dev/null; ls /tmp"); got != "f\n" {
		t.Errorf("got %q, want the file left in /tmp", got)
	}
}

func TestHost_VMCommands(t *testing.T) {
	th := mustStartHost(t, templateConfig())
	id := th.register(t, "vm", 1)

	t.Run("DiskAddExisting", func(t *testing.T) {
		th.mustRun(t, "vmkfstools -c 2G -d thin /vmfs/volumes/datastore1/vm/data.vmdk")
		th.mustRun(t, "vim-cmd vmsvc/device.diskaddexisting "+id+" /vmfs/volumes/datastore1/vm/data.vmdk 0 1")
		cfg := th.mustRun(t, "vim-cmd vmsvc/get.config "+id)
		if !strings.Contains(cfg, `label = "Hard disk 2"`) ||
			!strings.Contains(cfg, "capacityInBytes = 2147483648") {
			t.Errorf("attached disk missing from get.config:\n%s", cfg)
		}
		r := th.run(t, "vim-cmd vmsvc/device.diskaddexisting "+id+" /vmfs/volumes/datastore1/vm/data.vmdk 0 1")
		if r.status == 0 {
			t.Error("a second disk on a used unit was accepted")
		}
	})

	t.Run("Snapshots", func(t *testing.T) {
		th.mustRun(t, "vim-cmd vmsvc/power.on "+id)
		th.mustRun(t, "vim-cmd vmsvc/snapshot.create "+id+" one '' true && "+
			"vim-cmd vmsvc/snapshot.create "+id+" two && vim-cmd vmsvc/power.off "+id)
		th.mustRun(t, "vim-cmd vmsvc/snapshot.revert "+id+" 1 false")
		if st := th.mustRun(t, "vim-cmd vmsvc/power.getstate "+id); !strings.Contains(st, "Powered on") {
			t.Errorf("revert to a snapshot with memory left the VM %q", st)
		}
		th.mustRun(t, "vim-cmd vmsvc/snapshot.remove "+id+" 1")
		got := th.mustRun(t, "vim-cmd vmsvc/snapshot.get "+id)
		if !strings.Contains(got, "|-ROOT\n--Snapshot Name        : two\n") || strings.Contains(got, "one") {
			t.Errorf("after removing the root, the tree is:\n%s", got)
		}
		th.mustRun(t, "vim-cmd vmsvc/snapshot.removeall "+id)
		if got := th.mustRun(t, "vim-cmd vmsvc/snapshot.get "+id); got != "Get Snapshot:\n" {
			t.Errorf("after removeall: %q", got)
		}
		th.mustRun(t, "vim-cmd vmsvc/power.off "+id)
	})

	t.Run("ReloadReadsTheVMX", func(t *testing.T) {
		th.mustRun(t, "sh -c \"cat /vmfs/volumes/datastore1/vm/vm.vmx | grep -v displayName > /tmp/x\" && "+
			"echo 'displayName = \"renamed\"' >> /tmp/x && mv /tmp/x /vmfs/volumes/datastore1/vm/vm.vmx && "+
			"vim-cmd vmsvc/reload "+id)
		if got := th.mustRun(t, "vim-cmd vmsvc/getallvms"); !strings.Contains(got, "renamed") {
			t.Errorf("reload kept the old name:\n%s", got)
		}
	})

	t.Run("BrokenVMIsSkipped", func(t *testing.T) {
		th.mustRun(t, "rm -rf /vmfs/volumes/datastore1/vm")
		r := th.run(t, "vim-cmd vmsvc/getallvms")
		if r.stderr != "Skipping invalid VM '"+id+"'\n" || strings.Contains(r.stdout, "vm.vmx") {
			t.Errorf("got %+v", r)
		}
		th.mustRun(t, "vim-cmd vmsvc/unregister "+id)
	})
}

func TestHost_Latency(t *testing.T) {
	h, err := New(Config{Dir: t.TempDir(), Latency: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	start := time.Now()
	h.Exec(context.Background(), "vim-cmd vmsvc/getallvms; esxcli system version get; ls /", nil, nil, nil)
	if took := time.Since(start); took < 100*time.Millisecond {
		t.Errorf("two management calls took %v, want at least 100ms", took)
	}
}
