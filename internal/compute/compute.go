// Package compute is minicloud's EC2 service: it validates requests,
// places instances with the scheduler, records every change in the store,
// and runs a controller per ESXi host that drives each VM toward the state
// its instance should be in.
//
// The split follows one rule: an API call never waits on a hypervisor.
// Service methods record the desired state in one store transaction and
// return; the controller does the slow work (each vim-cmd takes about a
// second on a real host) in steps that are safe to repeat, so after a
// crash it picks up where the store says it was.
package compute

import (
	"context"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/hypervisor"
	"github.com/minicloud/minicloud/internal/store"
)

// Store is the part of the state file the service and controller use.
// *store.DB implements it.
type Store interface {
	CreateInstances(insts []*cloud.Instance, token *store.ClientToken) (*store.ClientToken, error)
	Instance(id string) (*cloud.Instance, error)
	InstancesByID(ids []string) ([]*cloud.Instance, []string, error)
	ScanInstances(after string, fn func(*cloud.Instance) bool) error
	HostInstances(host string) ([]*cloud.Instance, error)
	UpdateInstances(ids []string, fn func(*cloud.Instance) error) ([]*cloud.Instance, error)
	UpdateInstance(id string, fn func(*cloud.Instance) error) (*cloud.Instance, error)
	DeleteInstances(ids []string) error

	PutImage(img *cloud.Image) error
	UpdateImage(id string, fn func(*cloud.Image) error) (*cloud.Image, error)
	Image(id string) (*cloud.Image, error)
	Images() ([]*cloud.Image, error)
	DeleteImage(id string) error

	KeyPairStore
	NetworkStore
	ImageStore
}

// Driver is what the controller asks of one ESXi host. Every method is
// safe to repeat; *hypervisor.ESXi implements it.
type Driver interface {
	// Probe reads the host's version, capacity and datastores.
	Probe(ctx context.Context) (hypervisor.HostInfo, error)
	// FilesExist reports, for each datastore path, whether it exists.
	FilesExist(ctx context.Context, paths []string) ([]bool, error)
	// DatastorePath turns "[ds] a/b.vmdk" into the path on the host.
	DatastorePath(p string) (string, error)
	// CreateFiles writes a VM's folder, disk and .vmx, replacing any
	// leftovers of an earlier attempt.
	CreateFiles(ctx context.Context, spec hypervisor.VMSpec) error
	// Register adds the VM to the host's inventory and returns its vmid;
	// a VM registered already is found, not registered twice.
	Register(ctx context.Context, spec hypervisor.VMSpec) (string, error)
	FindVM(ctx context.Context, name string) (hypervisor.VM, bool, error)
	PowerState(ctx context.Context, vmid string) (hypervisor.PowerState, error)
	PowerOn(ctx context.Context, vmid string) error
	PowerOff(ctx context.Context, vmid string) error
	Shutdown(ctx context.Context, vmid string) error
	Reboot(ctx context.Context, vmid string) error
	// Destroy removes the VM and its disks; a VM already gone is success.
	Destroy(ctx context.Context, vmid string) error
	// RemoveFiles removes what is left of a VM's folder.
	RemoveFiles(ctx context.Context, datastore, name string) error
	// Observe reads every VM, its power state, and the guest of each vmid
	// in guestIDs, in one command on the host.
	Observe(ctx context.Context, guestIDs []string) (hypervisor.Inventory, error)
	// ReadConsole returns the end of a VM's serial console log and when
	// it was last written; no output and the zero time if it has none.
	ReadConsole(ctx context.Context, datastore, name string) ([]byte, time.Time, error)
	// ReadVMX and UpdateVMX read and rewrite a VM's .vmx.
	vmxEditor
	// CloneDisk and the snapshot methods make image templates.
	ImageDriver
	// ResetConnection forgets a refused login or host key so that the
	// next command dials again. The controller calls it only when the
	// host is retried on purpose: ESXi locks an account after five failed
	// logins.
	ResetConnection()
}

// HostConfig describes one ESXi host the controller drives.
type HostConfig struct {
	Name      string
	Address   string
	Zone      string
	Datastore string
	Network   string
	Driver    Driver
}

// Options configure the service and controller. Zero values take the
// defaults.
type Options struct {
	Region        string
	CPUOvercommit float64
	// SubnetPortGroups maps an availability zone to the ESXi port group
	// its subnets' VMs attach to; a zone not listed uses each host's
	// network.
	SubnetPortGroups map[string]string

	// Now is the clock; time.Now when nil.
	Now func() time.Time

	// ObserveInterval is how often each host's VMs are read back.
	ObserveInterval time.Duration
	// ProbeInterval is how often an unready host is probed again.
	ProbeInterval time.Duration
	// StepsPerHost caps the VM operations in flight on one host.
	StepsPerHost int
	// StopTimeout is how long a guest may take to shut down before its
	// VM is powered off.
	StopTimeout time.Duration
	// TerminatedTTL is how long terminated instances stay visible.
	TerminatedTTL time.Duration
	// RetryBase and RetryMax bound the backoff after a transient fault.
	RetryBase, RetryMax time.Duration
	// LaunchRetries is how many transient faults in a row bringing an
	// instance up (a launch or a start) survives; the next one ends it
	// with Server.InternalError. 8 when zero, which with the default
	// backoff is about a minute and a half of a host's hostd misbehaving.
	LaunchRetries int
}

func (o *Options) setDefaults() {
	if o.Region == "" {
		o.Region = cloud.DefaultRegion
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ObserveInterval == 0 {
		o.ObserveInterval = 3 * time.Second
	}
	if o.ProbeInterval == 0 {
		o.ProbeInterval = 5 * time.Second
	}
	if o.StepsPerHost == 0 {
		o.StepsPerHost = 16
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = 2 * time.Minute
	}
	if o.TerminatedTTL == 0 {
		o.TerminatedTTL = time.Hour
	}
	if o.RetryBase == 0 {
		o.RetryBase = 500 * time.Millisecond
	}
	if o.RetryMax == 0 {
		o.RetryMax = 30 * time.Second
	}
	if o.LaunchRetries == 0 {
		o.LaunchRetries = 8
	}
}
