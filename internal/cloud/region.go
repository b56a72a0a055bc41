package cloud

// Region is an EC2 region. A minicloud serves one.
type Region struct {
	Name     string
	Endpoint string
}

// ZoneState is the state of an availability zone.
type ZoneState string

// The zone states minicloud reports. A zone is impaired while none of its
// hosts can be reached.
const (
	ZoneAvailable   ZoneState = "available"
	ZoneImpaired    ZoneState = "impaired"
	ZoneUnavailable ZoneState = "unavailable"
)

// AvailabilityZone is a group of ESXi hosts that fail independently of
// other zones' hosts.
type AvailabilityZone struct {
	Name     string
	ID       string
	Region   string
	State    ZoneState
	Messages []string
}

// HostState says whether minicloud can drive an ESXi host.
type HostState string

// The host states.
const (
	HostConnecting  HostState = "connecting"   // not reached yet
	HostReady       HostState = "ready"        // probed and answering
	HostUnreachable HostState = "unreachable"  // a dial or command failed
	HostAuthFailed  HostState = "auth-failed"  // held until reconfigured
	HostKeyMismatch HostState = "key-mismatch" // held until reconfigured
)

// Host is an ESXi host as minicloud sees it.
type Host struct {
	Name             string
	Address          string
	AvailabilityZone string
	State            HostState
	Message          string

	// Capacity and use, from the host's last probe and from the
	// instances placed on it.
	CPUThreads    int
	MemoryMiB     int
	UsedVCPUs     int
	UsedMemoryMiB int
	Instances     int

	// UnclaimedVMs lists VMs named like instances that no instance
	// claims. minicloud reports them and leaves them alone.
	UnclaimedVMs []string
}
