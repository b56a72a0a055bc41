package cloud

import (
	"bytes"
	"fmt"
	"time"
)

// InstanceState is the lifecycle state of an instance, as EC2 names it.
type InstanceState string

// The instance states, in the order an instance usually meets them.
const (
	StatePending      InstanceState = "pending"
	StateRunning      InstanceState = "running"
	StateStopping     InstanceState = "stopping"
	StateStopped      InstanceState = "stopped"
	StateShuttingDown InstanceState = "shutting-down"
	StateTerminated   InstanceState = "terminated"
)

// Code returns the numeric state code EC2 reports beside the name: 0, 16,
// 32, 48, 64 or 80.
func (s InstanceState) Code() int {
	switch s {
	case StatePending:
		return 0
	case StateRunning:
		return 16
	case StateShuttingDown:
		return 32
	case StateTerminated:
		return 48
	case StateStopping:
		return 64
	case StateStopped:
		return 80
	}
	return -1
}

// Valid reports whether s is one of the six EC2 instance states.
func (s InstanceState) Valid() bool { return s.Code() >= 0 }

// StateReason explains the last state change, as EC2's stateReason does.
type StateReason struct {
	Code    string
	Message string
}

// State reasons EC2 reports.
var (
	ReasonPending = StateReason{Code: "pending", Message: "pending"}

	ReasonUserShutdown = StateReason{
		Code:    "Client.UserInitiatedShutdown",
		Message: "Client.UserInitiatedShutdown: User initiated shutdown",
	}
	ReasonInstanceShutdown = StateReason{
		Code:    "Client.InstanceInitiatedShutdown",
		Message: "Client.InstanceInitiatedShutdown: Instance initiated shutdown",
	}
	ReasonInternalError = StateReason{
		Code:    "Server.InternalError",
		Message: "Server.InternalError: Internal error on launch",
	}
	ReasonCapacity = StateReason{
		Code:    "Server.InsufficientInstanceCapacity",
		Message: "Server.InsufficientInstanceCapacity: Insufficient capacity to satisfy instance request",
	}
)

// UserInitiated returns the state transition reason EC2 writes when a user
// stops or terminates an instance at t.
func UserInitiated(t time.Time) string {
	return fmt.Sprintf("User initiated (%s GMT)",
		t.UTC().Format("2006-01-02 15:04:05"))
}

// LaunchStep records how far the controller has brought an instance's VM
// into existence on its host. Each step is safe to repeat.
type LaunchStep string

// The launch steps, in order.
const (
	StepNone       LaunchStep = ""           // nothing exists on the host
	StepFiles      LaunchStep = "files"      // folder, disk and .vmx are written
	StepRegistered LaunchStep = "registered" // the VM is in the host's inventory
)

// Instance is an EC2 instance and the VM behind it.
type Instance struct {
	ID            string
	ReservationID string
	OwnerID       string
	RequesterID   string `json:",omitempty"`
	ImageID       string
	InstanceType  string
	KeyName       string `json:",omitempty"`
	LaunchIndex   int
	LaunchTime    time.Time
	ClientToken   string `json:",omitempty"`
	Tags          Tags   `json:",omitempty"`

	// PublicKey is the OpenSSH public key of the key pair KeyName named
	// at launch, kept so the guest gets it even if the key pair is
	// deleted before the VM is made.
	PublicKey string `json:",omitempty"`
	// UserData is the user data, decoded, that cloud-init reads.
	UserData []byte `json:",omitempty"`

	// DisableAPITermination and DisableAPIStop refuse TerminateInstances
	// and StopInstances (stop protection refuses both).
	DisableAPITermination bool `json:",omitempty"`
	DisableAPIStop        bool `json:",omitempty"`
	// ShutdownBehavior is what a guest powering itself off does to the
	// instance: ShutdownStop (also when empty) or ShutdownTerminate.
	ShutdownBehavior string `json:",omitempty"`
	// ConfigPending is set when the instance's type or user data changed
	// while it was stopped: the controller rewrites its VM's .vmx before
	// the VM powers on again.
	ConfigPending bool `json:",omitempty"`

	// Architecture and RootDeviceName come from the image at launch.
	Architecture   string
	RootDeviceName string
	RootDeviceType string
	VCPUs          int
	MemoryMiB      int

	// State is what EC2 reports; Desired is where the user asked the
	// instance to go. The controller moves State toward Desired.
	State                 InstanceState
	Desired               InstanceState
	StateTransitionReason string       `json:",omitempty"`
	StateReason           *StateReason `json:",omitempty"`
	StateChanged          time.Time

	// ForceStop asks for a power-off without a guest shutdown.
	ForceStop bool `json:",omitempty"`

	// RebootRequested is set by RebootInstances and cleared when the
	// controller has rebooted the VM.
	RebootRequested bool `json:",omitempty"`

	// Host, AvailabilityZone and the fields after them place the
	// instance: Host is the ESXi host its VM lives on for its lifetime.
	Host             string
	AvailabilityZone string
	Datastore        string
	Network          string
	PrivateIPAddress string `json:",omitempty"`
	GuestHostName    string `json:",omitempty"`
	GuestReady       bool   `json:",omitempty"`

	// VPCID, SubnetID and SecurityGroups place the instance's one network
	// interface, NetworkInterfaceID, in the network; Network above is the
	// ESXi port group of its subnet. MACAddress is the static address
	// minicloud gives the VM's NIC.
	VPCID              string            `json:",omitempty"`
	SubnetID           string            `json:",omitempty"`
	SecurityGroups     []GroupIdentifier `json:",omitempty"`
	NetworkInterfaceID string            `json:",omitempty"`
	MACAddress         string            `json:",omitempty"`

	// Step and VMID record the controller's progress on the host.
	// Launched is set once the VM has first powered on: a failure before
	// that ends the launch, a failure after it only stops the instance.
	Step     LaunchStep `json:",omitempty"`
	VMID     string     `json:",omitempty"`
	Launched bool       `json:",omitempty"`
}

// Clone returns a deep copy of i.
func (i *Instance) Clone() *Instance {
	c := *i
	c.Tags = i.Tags.Clone()
	c.UserData = bytes.Clone(i.UserData)
	c.SecurityGroups = append([]GroupIdentifier(nil), i.SecurityGroups...)
	if i.StateReason != nil {
		r := *i.StateReason
		c.StateReason = &r
	}
	return &c
}

// Settled reports whether the instance is where the user asked it to be and
// the controller has nothing left to do.
func (i *Instance) Settled() bool {
	return i.State == i.Desired && !i.RebootRequested && !i.ConfigPending
}

// Consumes reports whether the instance holds vCPU and memory on its host.
// A stopped or terminated instance's VM is powered off and holds neither.
func (i *Instance) Consumes() bool {
	switch i.State {
	case StatePending, StateRunning, StateStopping, StateShuttingDown:
		return true
	}
	return false
}

// Reservation is the group of instances one RunInstances call launched.
type Reservation struct {
	ID          string
	OwnerID     string
	RequesterID string
	Instances   []*Instance
}

// StateChange is one instance's entry in the answer to StartInstances,
// StopInstances or TerminateInstances.
type StateChange struct {
	InstanceID string
	Previous   InstanceState
	Current    InstanceState
}
