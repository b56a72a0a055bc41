package admin

import "github.com/minicloud/minicloud/internal/cloud"

// Host is an ESXi host on the wire.
type Host struct {
	Name             string `json:"name"`
	Address          string `json:"address"`
	AvailabilityZone string `json:"availabilityZone"`
	State            string `json:"state"`
	// Message says why a host that is not ready cannot be driven.
	Message       string   `json:"message,omitempty"`
	CPUThreads    int      `json:"cpuThreads"`
	MemoryMiB     int      `json:"memoryMiB"`
	UsedVCPUs     int      `json:"usedVCPUs"`
	UsedMemoryMiB int      `json:"usedMemoryMiB"`
	Instances     int      `json:"instances"`
	UnclaimedVMs  []string `json:"unclaimedVMs,omitempty"`
}

// hostList answers GET hosts.
type hostList struct {
	Hosts []Host `json:"hosts"`
}

// hostAnswer answers POST hosts/NAME/retry.
type hostAnswer struct {
	Host Host `json:"host"`
}

// errorAnswer is every error's document.
type errorAnswer struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody is an error's code and message.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// fromCloud converts a host for the wire.
func fromCloud(h cloud.Host) Host {
	return Host{
		Name: h.Name, Address: h.Address, AvailabilityZone: h.AvailabilityZone,
		State: string(h.State), Message: h.Message,
		CPUThreads: h.CPUThreads, MemoryMiB: h.MemoryMiB,
		UsedVCPUs: h.UsedVCPUs, UsedMemoryMiB: h.UsedMemoryMiB,
		Instances: h.Instances, UnclaimedVMs: h.UnclaimedVMs,
	}
}

// toCloud converts a host from the wire.
func (h Host) toCloud() cloud.Host {
	return cloud.Host{
		Name: h.Name, Address: h.Address, AvailabilityZone: h.AvailabilityZone,
		State: cloud.HostState(h.State), Message: h.Message,
		CPUThreads: h.CPUThreads, MemoryMiB: h.MemoryMiB,
		UsedVCPUs: h.UsedVCPUs, UsedMemoryMiB: h.UsedMemoryMiB,
		Instances: h.Instances, UnclaimedVMs: h.UnclaimedVMs,
	}
}
