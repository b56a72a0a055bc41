// Package config reads minicloud's configuration: a TOML file people edit
// by hand, then environment variables, then command-line flags, each
// overriding the one before.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Defaults.
const (
	DefaultListen = "127.0.0.1:8787"
	DefaultData   = "data"
	DefaultRegion = "us-east-1"

	// TestAccessKeyID and TestSecretAccessKey are the well-known pair
	// minicloud accepts while it listens on loopback and no credentials
	// are configured.
	TestAccessKeyID     = "test"
	TestSecretAccessKey = "test"
)

// Config is minicloud's whole configuration.
type Config struct {
	// Listen is the API's address; loopback unless credentials are set.
	Listen string `toml:"listen"`
	// Data is the folder holding the state file and the embedded hosts.
	Data string `toml:"data"`
	// Region is the one region this minicloud serves.
	Region string `toml:"region"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `toml:"log_level"`
	// CPUOvercommit is how many vCPUs a host may run per hardware
	// thread; 4 when zero.
	CPUOvercommit float64 `toml:"cpu_overcommit"`
	// ObserveInterval is how often each host's VMs are read back.
	ObserveInterval Duration `toml:"observe_interval"`

	Credentials []Credential `toml:"credentials"`
	Hosts       []Host       `toml:"hosts"`
	Images      []Image      `toml:"images"`
	Subnets     []Subnet     `toml:"subnets"`

	// Simulator configures the simulated hosts minicloud starts when no
	// hosts are configured.
	Simulator Simulator `toml:"simulator"`

	// Limits bounds what clients may ask of the API.
	Limits Limits `toml:"limits"`
}

// Credential is an access key minicloud accepts.
type Credential struct {
	AccessKeyID     string `toml:"access_key_id"`
	SecretAccessKey string `toml:"secret_access_key"`
	// AccountID owns what the key creates; 123456789012 when empty.
	AccountID string `toml:"account_id"`
}

// Host is an ESXi host minicloud drives.
type Host struct {
	Name    string `toml:"name"`
	Address string `toml:"address"` // host:port; port 22 when omitted
	User    string `toml:"user"`    // root when empty

	// Password or KeyFile (a private key in OpenSSH format)
	// authenticates; PasswordFile reads the password from a file.
	Password     string `toml:"password"`
	PasswordFile string `toml:"password_file"`
	KeyFile      string `toml:"key_file"`

	// HostKey pins the host's SSH key: an authorized_keys style line
	// ("ssh-ed25519 AAAA...") or a SHA256 fingerprint
	// ("SHA256:..."). It is required: minicloud never skips the check.
	HostKey string `toml:"host_key"`

	Zone      string `toml:"availability_zone"`
	Datastore string `toml:"datastore"` // datastore1 when empty
	Network   string `toml:"network"`   // "VM Network" when empty

	// MaxSessions caps the commands in flight on the host; 4 when zero.
	MaxSessions int `toml:"max_sessions"`

	// Local marks the host minicloud itself runs on: commands run
	// directly, without SSH.
	Local bool `toml:"local"`

	// VolumesRoot is where the host mounts its datastores: /vmfs/volumes,
	// as on every ESXi host, when empty. A stand-in host that keeps its
	// datastores in a folder of its own, as the simulated host's
	// standalone commands (cmd/esxisim-cmd) under OpenSSH's sshd do,
	// names that folder here.
	VolumesRoot string `toml:"volumes_root"`
}

// Image is a template disk to offer as an AMI.
type Image struct {
	Name         string `toml:"name"`
	Description  string `toml:"description"`
	Location     string `toml:"location"` // "[datastore1] templates/x/x.vmdk"
	Architecture string `toml:"architecture"`
	GuestOS      string `toml:"guest_os"`
	SizeGiB      int    `toml:"size_gib"`
}

// Simulator configures the embedded simulated ESXi hosts.
type Simulator struct {
	// Hosts is how many to start; 2 when zero.
	Hosts int `toml:"hosts"`
	// Latency is added to every vim-cmd, as a real host's hostd takes
	// about a second.
	Latency Duration `toml:"latency"`
	// BootDelay is how long a guest takes to boot and report an address.
	BootDelay Duration `toml:"boot_delay"`
}

// Duration is a time.Duration written as "1s" or "250ms".
type Duration struct{ time.Duration }

// UnmarshalText parses a duration such as "1s".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	d.Duration = v
	return err
}

// MarshalText writes the duration as "1s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Load reads the file at path, if path is not empty, and fills in
// defaults. Unknown keys are an error, so a misspelt setting is not
// silently ignored.
func Load(path string) (*Config, error) {
	cfg := &Config{}
	if path != "" {
		md, err := toml.DecodeFile(path, cfg)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if un := md.Undecoded(); len(un) > 0 {
			keys := make([]string, len(un))
			for i, k := range un {
				keys[i] = k.String()
			}
			return nil, fmt.Errorf("config: %s: unknown settings: %s", path, strings.Join(keys, ", "))
		}
	}
	cfg.setDefaults()
	return cfg, nil
}

// setDefaults fills in every setting left empty.
func (c *Config) setDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Data == "" {
		c.Data = DefaultData
	}
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.Simulator.Hosts == 0 {
		c.Simulator.Hosts = 2
	}
	c.Limits.setDefaults()
	for i := range c.Credentials {
		if c.Credentials[i].AccountID == "" {
			c.Credentials[i].AccountID = "123456789012"
		}
	}
	for i := range c.Hosts {
		h := &c.Hosts[i]
		if h.User == "" {
			h.User = "root"
		}
		if h.Datastore == "" {
			h.Datastore = "datastore1"
		}
		if h.Network == "" {
			h.Network = "VM Network"
		}
		if h.Zone == "" {
			h.Zone = c.Region + "a"
		}
		if h.Address != "" && !strings.Contains(h.Address, ":") {
			h.Address += ":22"
		}
	}
	for i := range c.Images {
		if c.Images[i].Architecture == "" {
			c.Images[i].Architecture = "x86_64"
		}
	}
}

// ApplyEnv overrides settings from MINICLOUD_LISTEN and MINICLOUD_DATA.
func (c *Config) ApplyEnv(getenv func(string) string) {
	if v := getenv("MINICLOUD_LISTEN"); v != "" {
		c.Listen = v
	}
	if v := getenv("MINICLOUD_DATA"); v != "" {
		c.Data = v
	}
}

// Validate checks the configuration as a whole. It refuses to listen on
// anything but loopback without configured credentials.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Credentials) == 0 && !IsLoopback(c.Listen) {
		errs = append(errs, fmt.Errorf("listen address %s is not loopback: configure "+
			"[[credentials]] before serving beyond this machine", c.Listen))
	}
	for i, cr := range c.Credentials {
		if cr.AccessKeyID == "" || cr.SecretAccessKey == "" {
			errs = append(errs, fmt.Errorf("credentials %d: access_key_id and secret_access_key are required", i+1))
		}
	}
	names := map[string]bool{}
	for i, h := range c.Hosts {
		if err := h.validate(); err != nil {
			errs = append(errs, fmt.Errorf("hosts %d (%s): %w", i+1, h.Name, err))
		}
		if names[h.Name] {
			errs = append(errs, fmt.Errorf("hosts %d: name %q is used twice", i+1, h.Name))
		}
		names[h.Name] = true
	}
	for i, img := range c.Images {
		if img.Name == "" || img.Location == "" {
			errs = append(errs, fmt.Errorf("images %d: name and location are required", i+1))
		}
	}
	errs = append(errs, c.validateSubnets())
	errs = append(errs, c.Limits.validate())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

func (h *Host) validate() error {
	switch {
	case h.Name == "":
		return errors.New("name is required")
	case h.Local:
		return nil
	case h.Address == "":
		return errors.New("address is required (or local = true)")
	case h.HostKey == "":
		return errors.New("host_key is required: minicloud never skips checking a host's key " +
			"(read it on the host with: cat /etc/ssh/ssh_host_ed25519_key.pub)")
	case h.Password == "" && h.PasswordFile == "" && h.KeyFile == "":
		return errors.New("one of password, password_file or key_file is required")
	case h.VolumesRoot != "" && !filepath.IsAbs(h.VolumesRoot):
		return fmt.Errorf("volumes_root %q is not an absolute path", h.VolumesRoot)
	}
	return nil
}

// ReadPassword returns the host's password, from PasswordFile when set.
func (h *Host) ReadPassword() (string, error) {
	if h.PasswordFile == "" {
		return h.Password, nil
	}
	b, err := os.ReadFile(h.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("config: host %s: %w", h.Name, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// IsLoopback reports whether addr (host:port) only listens on loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
