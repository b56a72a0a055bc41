package esxisim

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/ssh"
)

// Config describes one simulated ESXi host. Every field but Dir may be left
// zero: New fills in what a small lab host would have.
type Config struct {
	// Dir is the host's own folder: its root filesystem (datastores under
	// Dir/vmfs/volumes), its inventory and its SSH host key. Required.
	Dir string

	// Name is the host's name, shown in the shell prompt and hostsummary.
	// Default "esxi".
	Name string

	// Version and Build are what `vmware -v` prints; defaults "8.0.3" and
	// "24022510".
	Version string
	Build   string

	// The host's hardware as hostsummary reports it. Defaults: an 8-core,
	// 16-thread 2.4 GHz Xeon in one package, with 64 GiB of memory.
	CPUModel    string
	CPUMhz      int
	CPUPackages int
	CPUCores    int
	CPUThreads  int
	MemoryBytes int64

	// Datastores are the VMFS volumes the host has. Default: one
	// "datastore1" of 500 GB.
	Datastores []Datastore

	// Templates are disk images seeded once, on first start, as
	// templates/NAME/NAME.vmdk on their datastore.
	Templates []Template

	// GuestNetwork is the IPv4 network guests take their addresses from, as
	// a DHCP server on the VM Network would hand them out. The host's own
	// management address is the second address in it. Default
	// "172.31.0.0/20".
	GuestNetwork string

	// BootDelay is how long a guest takes from power-on until VMware Tools
	// runs and it reports an address. Zero means at once.
	BootDelay time.Duration

	// ShutdownDelay is how long a guest takes to shut down after
	// power.shutdown. Zero means at once.
	ShutdownDelay time.Duration

	// Latency is slept at the start of each vim-cmd, vmkfstools and esxcli
	// call, as a real host takes about a second to answer one. Faults
	// (see Host.Inject) can add to it while the host runs.
	Latency time.Duration

	// AskUUIDQuestion makes power.on ask whether a VM was moved or copied
	// (msg.uuid.altered) when its .vmx has no answer.msg.uuid.altered and
	// has not been powered on in its current folder before. power.on then
	// waits until the question is answered with vmsvc/message.
	AskUUIDQuestion bool

	// User is the account that may log in; default "root".
	User string

	// Password is the account's password. Empty means no password is
	// accepted, so only AuthorizedKeys can log in.
	Password string

	// AuthorizedKeys may log in as User without a password.
	AuthorizedKeys []ssh.PublicKey

	// HostKey is the SSH host key. If nil, an ed25519 key is read from
	// Dir/etc/ssh/ssh_host_ed25519_key, or made and stored there, so the
	// host keeps its identity across restarts.
	HostKey ssh.Signer

	// LockoutFailures is how many failed password logins in a row lock the
	// account, as ESXi's Security.AccountLockFailures; default 5, negative
	// to never lock. LockoutDuration is how long the lock lasts, as
	// Security.AccountUnlockTime; default 900 s.
	LockoutFailures int
	LockoutDuration time.Duration

	// Clock tells the time; default time.Now.
	Clock func() time.Time

	// Logger receives the host's lifecycle events and each command line
	// run; default a logger that discards.
	Logger *slog.Logger
}

// Datastore is one VMFS volume of the host.
type Datastore struct {
	// Name is the volume name, as in "[datastore1] vm/vm.vmx". It may hold
	// spaces but no slash.
	Name string `json:"name"`

	// CapacityBytes is the volume's size. Space used is what its files
	// take: a thick disk its full size, a thin one what was written to it.
	CapacityBytes int64 `json:"capacityBytes"`
}

// Template is a disk image seeded on first start.
type Template struct {
	// Name names the image: templates/NAME/NAME.vmdk.
	Name string `json:"name"`

	// SizeGB is the disk's capacity in GiB. Its data file is sparse, so it
	// takes no space on this machine.
	SizeGB int `json:"sizeGB"`

	// GuestOS is the guest id the image is meant for, as "ubuntu64Guest";
	// it is recorded in the descriptor's ddb.guestOS.
	GuestOS string `json:"guestOS"`

	// Datastore is where the image goes; default the first datastore.
	Datastore string `json:"datastore,omitempty"`
}

// settings is the part of Config that the host's commands need and that
// Main finds again in Dir/etc/esxisim/host.json.
type settings struct {
	Name            string        `json:"name"`
	Version         string        `json:"version"`
	Build           string        `json:"build"`
	CPUModel        string        `json:"cpuModel"`
	CPUMhz          int           `json:"cpuMhz"`
	CPUPackages     int           `json:"cpuPackages"`
	CPUCores        int           `json:"cpuCores"`
	CPUThreads      int           `json:"cpuThreads"`
	MemoryBytes     int64         `json:"memoryBytes"`
	Datastores      []Datastore   `json:"datastores"`
	GuestNetwork    string        `json:"guestNetwork"`
	BootDelay       time.Duration `json:"bootDelay"`
	ShutdownDelay   time.Duration `json:"shutdownDelay"`
	Latency         time.Duration `json:"latency"`
	AskUUIDQuestion bool          `json:"askUUIDQuestion"`
}

// withDefaults returns cfg with every zero field given its default.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Dir == "" {
		return cfg, errors.New("esxisim: config has no Dir")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return cfg, fmt.Errorf("esxisim: host folder: %w", err)
	}
	cfg.Dir = dir

	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	defInt := func(n *int, v int) {
		if *n == 0 {
			*n = v
		}
	}
	def(&cfg.Name, "esxi")
	def(&cfg.Version, "8.0.3")
	def(&cfg.Build, "24022510")
	def(&cfg.CPUModel, "Intel(R) Xeon(R) CPU E5-2630 v4 @ 2.20GHz")
	def(&cfg.GuestNetwork, "172.31.0.0/20")
	def(&cfg.User, "root")
	defInt(&cfg.CPUMhz, 2200)
	defInt(&cfg.CPUPackages, 1)
	defInt(&cfg.CPUCores, 8)
	defInt(&cfg.CPUThreads, 2*cfg.CPUCores)
	defInt(&cfg.LockoutFailures, 5)
	if cfg.MemoryBytes == 0 {
		cfg.MemoryBytes = 64 << 30
	}
	if len(cfg.Datastores) == 0 {
		cfg.Datastores = []Datastore{{Name: "datastore1", CapacityBytes: 500e9}}
	}
	if cfg.LockoutDuration == 0 {
		cfg.LockoutDuration = 900 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, cfg.settings().validate()
}

// settings returns the part of cfg that the commands need.
func (cfg Config) settings() settings {
	return settings{
		Name: cfg.Name, Version: cfg.Version, Build: cfg.Build,
		CPUModel: cfg.CPUModel, CPUMhz: cfg.CPUMhz, CPUPackages: cfg.CPUPackages,
		CPUCores: cfg.CPUCores, CPUThreads: cfg.CPUThreads, MemoryBytes: cfg.MemoryBytes,
		Datastores: cfg.Datastores, GuestNetwork: cfg.GuestNetwork,
		BootDelay: cfg.BootDelay, ShutdownDelay: cfg.ShutdownDelay, Latency: cfg.Latency,
		AskUUIDQuestion: cfg.AskUUIDQuestion,
	}
}

// validate reports settings the host cannot work with.
func (s settings) validate() error {
	p, err := netip.ParsePrefix(s.GuestNetwork)
	if err != nil || !p.Addr().Is4() || p.Bits() > 29 {
		return fmt.Errorf("esxisim: guest network %q is not an IPv4 network of 8 addresses or more",
			s.GuestNetwork)
	}
	seen := map[string]bool{}
	for _, ds := range s.Datastores {
		if ds.Name == "" || filepath.Base(ds.Name) != ds.Name || ds.Name == "." || ds.Name == ".." {
			return fmt.Errorf("esxisim: datastore name %q is not a folder name", ds.Name)
		}
		if seen[ds.Name] {
			return fmt.Errorf("esxisim: datastore %q is listed twice", ds.Name)
		}
		if ds.CapacityBytes <= 0 {
			return fmt.Errorf("esxisim: datastore %q has no capacity", ds.Name)
		}
		seen[ds.Name] = true
	}
	return nil
}

// settingsPath is where a host keeps its settings for Main.
func settingsPath(dir string) string {
	return filepath.Join(dir, "etc", "esxisim", "host.json")
}

// saveSettings records s under dir so that Main runs the same host.
func saveSettings(dir string, s settings) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode host settings: %w", err)
	}
	return writeFileAtomic(settingsPath(dir), append(data, '\n'), 0o644)
}

// loadSettings reads the settings a host recorded under dir. A folder no
// host has used yet gets the defaults.
func loadSettings(dir string) (settings, error) {
	data, err := os.ReadFile(settingsPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		cfg, err := Config{Dir: dir}.withDefaults()
		return cfg.settings(), err
	}
	if err != nil {
		return settings{}, fmt.Errorf("read host settings: %w", err)
	}
	var s settings
	if err := json.Unmarshal(data, &s); err != nil {
		return settings{}, fmt.Errorf("decode host settings %s: %w", settingsPath(dir), err)
	}
	return s, s.validate()
}

// writeFileAtomic replaces the file at path with data: it writes a temporary
// file beside it and renames it over the old one, so a reader sees either
// the old content or the new, never a part.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("make folder for %s: %w", filepath.Base(path), err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)

	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", filepath.Base(path), err)
	}
	return nil
}
