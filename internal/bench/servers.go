package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/minicloud/minicloud/api/ec2"
	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/compute"
	"github.com/minicloud/minicloud/internal/esxisim"
	"github.com/minicloud/minicloud/internal/hypervisor"
	"github.com/minicloud/minicloud/internal/store"
)

// apiServer is minicloud's EC2 API over a real state file and simulated
// ESXi hosts reached over SSH, with the hosts probed but the controllers
// not started: instances are placed, recorded durably and acknowledged
// as RunInstances always does, and stay pending, so that ten thousand
// of them cost the hosts nothing.
type apiServer struct {
	db    *store.DB
	sims  []*esxisim.Host
	trans []hypervisor.Transport
	srv   *http.Server
	url   string
}

// apiHostThreads and apiHostMemory size each simulated host of the API
// scenarios so that a few of them hold ten thousand t3.micro instances
// (2 vCPUs at 4:1, 1 GiB) with room to spare. No VM is real, so the
// size costs nothing.
const (
	apiHostThreads = 4096
	apiHostMemory  = 8 << 40
)

// startAPI starts the API with hosts simulated hosts under dir.
func startAPI(ctx context.Context, dir string, hosts int) (*apiServer, error) {
	a := &apiServer{}
	ok := false
	defer func() {
		if !ok {
			a.close()
		}
	}()

	// The hosts, each over its own SSH connection.
	var configs []compute.HostConfig
	for i := range hosts {
		hc, err := a.startHost(dir, i)
		if err != nil {
			return nil, err
		}
		configs = append(configs, hc)
	}

	// The state file and the service, with every host probed once.
	db, err := store.Open(filepath.Join(dir, "minicloud.db"), store.Options{})
	if err != nil {
		return nil, err
	}
	a.db = db
	svc, err := compute.New(db, configs, compute.Options{}, nil)
	if err != nil {
		return nil, err
	}
	err = svc.EnsureImages([]compute.ImageConfig{{
		Name: "debian-12", Location: "[datastore1] templates/debian-12/debian-12.vmdk",
		GuestOS: "debian12_64Guest", VolumeSizeGiB: 8,
	}})
	if err != nil {
		return nil, err
	}
	svc.ProbeHosts(ctx)
	for _, h := range svc.Hosts() {
		if h.State != cloud.HostReady {
			return nil, fmt.Errorf("simulated host %s is %s: %s", h.Name, h.State, h.Message)
		}
	}

	// The API on a loopback port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a.url = "http://" + ln.Addr().String()
	a.srv = &http.Server{
		Handler:           ec2.NewHandler(svc, ec2.Options{Region: region, Credentials: testKey{}}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go a.srv.Serve(ln)
	ok = true
	return a, nil
}

// startHost starts the i-th simulated host and connects to it.
func (a *apiServer) startHost(dir string, i int) (compute.HostConfig, error) {
	name := fmt.Sprintf("esxi-%d", i+1)
	h, err := esxisim.New(esxisim.Config{
		Dir: filepath.Join(dir, name), Name: name, Password: "bench",
		CPUCores: apiHostThreads / 2, CPUThreads: apiHostThreads, MemoryBytes: apiHostMemory,
		Datastores:   []esxisim.Datastore{{Name: "datastore1", CapacityBytes: 1 << 50}},
		Templates:    []esxisim.Template{{Name: "debian-12", SizeGB: 8, GuestOS: "debian12_64Guest"}},
		GuestNetwork: fmt.Sprintf("10.%d.0.0/16", i),
	})
	if err != nil {
		return compute.HostConfig{}, err
	}
	a.sims = append(a.sims, h)
	addr, err := h.Start("127.0.0.1:0")
	if err != nil {
		return compute.HostConfig{}, err
	}
	t, err := hypervisor.NewSSH(hypervisor.SSHConfig{
		Host: name, Addr: addr.String(), Password: "bench", HostKey: h.HostKey(),
	})
	if err != nil {
		return compute.HostConfig{}, err
	}
	a.trans = append(a.trans, t)
	return compute.HostConfig{
		Name: name, Address: addr.String(), Zone: fmt.Sprintf("%s%c", region, 'a'+i%26),
		Datastore: "datastore1", Network: "VM Network",
		Driver: hypervisor.NewESXi(t, hypervisor.Options{Host: name}),
	}, nil
}

// close stops the API, the hosts and the state file.
func (a *apiServer) close() {
	if a.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		a.srv.Shutdown(ctx)
		cancel()
	}
	for _, t := range a.trans {
		t.Close()
	}
	for _, h := range a.sims {
		h.Close()
	}
	if a.db != nil {
		a.db.Close()
	}
}

// testKey accepts minicloud's well-known test key pair.
type testKey struct{}

func (testKey) Lookup(id string) (secret, account string, ok bool) {
	return secretAccessKey, cloud.DefaultAccountID, id == accessKeyID
}

// moto is a moto_server process on a loopback port.
type moto struct {
	cmd  *exec.Cmd
	url  string
	done chan error
}

// startMoto starts moto_server on a free loopback port and waits until it
// answers. It returns an error if moto_server is not installed.
func startMoto(ctx context.Context, logTo io.Writer) (*moto, error) {
	path, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = logTo, logTo
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	m := &moto{cmd: cmd, url: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan error, 1)}
	go func() { m.done <- cmd.Wait() }()

	// Wait for it to listen.
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return m, nil
		}
		select {
		case err := <-m.done:
			return nil, fmt.Errorf("moto_server exited: %v", err)
		case <-ctx.Done():
			m.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.stop()
			return nil, errors.New("moto_server did not listen within a minute")
		}
	}
}

// stop ends moto_server and its process group: politely, then not.
func (m *moto) stop() {
	pgid := m.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-m.done
	}
}

// freePort returns a loopback TCP port that nothing listens on now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// ceiling is a bare net/http server that answers each request with the
// bytes minicloud sent for a request of the same kind: what this client
// reaches on this machine when the server costs next to nothing.
type ceiling struct {
	srv *http.Server
	url string
}

// startCeiling serves bodies, keyed by replayKey, on a loopback port.
func startCeiling(bodies map[string][]byte) (*ceiling, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &ceiling{url: "http://" + ln.Addr().String()}
	c.srv = &http.Server{Handler: replayHandler(bodies), ReadHeaderTimeout: 10 * time.Second}
	go c.srv.Serve(ln)
	return c, nil
}

func (c *ceiling) close() { c.srv.Close() }

// replayHandler answers with the recorded body for the request's key, and
// 404 when there is none.
func replayHandler(bodies map[string][]byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		body, ok := bodies[replayKey(form)]
		if !ok {
			http.Error(w, "no recorded answer for "+replayKey(form), http.StatusNotFound)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/xml;charset=UTF-8")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})
}
