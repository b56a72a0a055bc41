package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minicloud/minicloud/internal/config"
	"github.com/minicloud/minicloud/internal/esxisim"
	"golang.org/x/crypto/ssh"
)

// simConfig is the configuration of one simulated ESXi host.
type simConfig = esxisim.Config

// embeddedSim is a simulated host minicloud started itself.
type embeddedSim struct {
	host     *esxisim.Host
	name     string
	zone     string
	port     int
	password string
}

// simTemplates are the template disks every simulated host has, each
// offered as an AMI.
var simTemplates = []struct {
	name, description, guestOS string
	sizeGiB                    int
}{
	{"debian-12", "Debian 12 (bookworm), cloud-init enabled", "debian12_64Guest", 8},
	{"ubuntu-24.04", "Ubuntu 24.04 LTS (noble), cloud-init enabled", "ubuntu64Guest", 10},
	{"alpine-3.20", "Alpine Linux 3.20, cloud-init enabled", "otherLinux64Guest", 1},
}

// defaultSimConfig returns the configuration of the i-th simulated host
// kept in dir: a mid-sized host with one datastore and the templates.
func defaultSimConfig(i int, dir string) simConfig {
	cfg := simConfig{
		Dir:          dir,
		Name:         fmt.Sprintf("esxi-%d", i+1),
		CPUCores:     8,
		CPUThreads:   16,
		MemoryBytes:  64 << 30,
		Datastores:   []esxisim.Datastore{{Name: "datastore1", CapacityBytes: 2 << 40}},
		GuestNetwork: fmt.Sprintf("172.31.%d.0/20", (i%16)*16),
	}
	for _, t := range simTemplates {
		cfg.Templates = append(cfg.Templates, esxisim.Template{
			Name: t.name, SizeGB: t.sizeGiB, GuestOS: t.guestOS,
		})
	}
	return cfg
}

// startSimulators starts the configured number of simulated hosts, each
// in its own zone and folder under the data folder, and returns them as
// configured hosts, with their templates as images.
func (s *Server) startSimulators() ([]config.Host, []config.Image, error) {
	cfg := s.Config
	var hosts []config.Host
	for i := 0; i < cfg.Simulator.Hosts; i++ {
		scfg := defaultSimConfig(i, filepath.Join(cfg.Data, "esxi", fmt.Sprintf("esxi-%d", i+1)))
		scfg.Latency = cfg.Simulator.Latency.Duration
		scfg.BootDelay = cfg.Simulator.BootDelay.Duration
		if scfg.BootDelay == 0 {
			scfg.BootDelay = 2 * time.Second
		}
		scfg.Logger = s.Logger.With("component", "esxi-sim")
		if s.SimOptions != nil {
			s.SimOptions(i, &scfg)
		}
		sim, err := startSim(scfg, "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		sim.zone = cfg.Region + string(rune('a'+i%26))
		s.sims = append(s.sims, sim)

		hosts = append(hosts, config.Host{
			Name: sim.name, Address: fmt.Sprintf("127.0.0.1:%d", sim.port),
			User: "root", Password: sim.password,
			HostKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sim.host.HostKey()))),
			Zone:    sim.zone, Datastore: "datastore1", Network: "VM Network",
		})
	}

	var images []config.Image
	for _, t := range simTemplates {
		images = append(images, config.Image{
			Name: t.name, Description: t.description, Architecture: "x86_64",
			Location: fmt.Sprintf("[datastore1] templates/%s/%s.vmdk", t.name, t.name),
			GuestOS:  t.guestOS, SizeGiB: t.sizeGiB,
		})
	}
	return hosts, images, nil
}

// startSim starts one simulated host on addr, with a root password kept
// beside its folder so it stays the same across restarts.
func startSim(cfg simConfig, addr string) (*embeddedSim, error) {
	if cfg.Password == "" {
		pw, err := simPassword(cfg.Dir + ".password")
		if err != nil {
			return nil, err
		}
		cfg.Password = pw
	}

	// The host's folder holds its SSH host key and the VMs' files: for
	// this user alone, however an older minicloud made it.
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("simulated host %s: %w", cfg.Name, err)
	}
	if err := os.Chmod(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("simulated host %s: %w", cfg.Name, err)
	}
	h, err := esxisim.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("simulated host %s: %w", cfg.Name, err)
	}
	a, err := h.Start(addr)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("simulated host %s: %w", cfg.Name, err)
	}
	return &embeddedSim{
		host: h, name: cfg.Name, port: a.(*net.TCPAddr).Port, password: cfg.Password,
	}, nil
}

// simPassword reads the password stored at path, or makes one and stores
// it there with mode 0600.
func simPassword(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	pw := rand.Text()[:16]
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	return pw, os.WriteFile(path, []byte(pw+"\n"), 0o600)
}

// runSim runs one simulated ESXi host until ctx is done.
func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("esxi-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:2222", "SSH listen `address`")
	dir := fs.String("dir", "esxi-sim", "host state `folder`: datastores, inventory, host key")
	password := fs.String("password", "", "root password (default: made once and kept beside the folder)")
	latency := fs.Duration("latency", 0, "added to every vim-cmd, as a real host takes about 1s")
	boot := fs.Duration("boot-delay", 2*time.Second, "how long guests take to boot")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}

	cfg := defaultSimConfig(0, *dir)
	cfg.Password, cfg.Latency, cfg.BootDelay = *password, *latency, *boot
	cfg.Logger = newLogger(stderr, *logLevel)
	sim, err := startSim(cfg, *listen)
	if err != nil {
		return err
	}
	defer sim.host.Close()

	key := sim.host.HostKey()
	fmt.Fprintf(stdout, "simulated ESXi host %s in %s\n", sim.name, *dir)
	fmt.Fprintf(stdout, "  ssh -p %d root@127.0.0.1   password: %s\n", sim.port, sim.password)
	fmt.Fprintf(stdout, "  host key: %s", ssh.MarshalAuthorizedKey(key))
	fmt.Fprintf(stdout, "  fingerprint: %s\n", ssh.FingerprintSHA256(key))
	<-ctx.Done()
	return nil
}
