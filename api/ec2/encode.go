package ec2

import (
	"slices"
	"strings"

	"github.com/minicloud/minicloud/internal/cloud"
)

// encoder writes the elements of one response. It adds to the XML writer
// what the domain does not carry but an EC2 response states, such as the
// region's private DNS suffix.
type encoder struct {
	xmlWriter

	// dnsSuffix ends every private DNS name: ec2.internal in us-east-1,
	// REGION.compute.internal elsewhere, as EC2 names them.
	dnsSuffix string

	// region is the region the handler serves, which resource ARNs name.
	region string

	// keys is scratch space for sorting a resource's tag keys, reused
	// from one resource to the next.
	keys []string
}

// dnsSuffix returns the private DNS domain EC2 uses in region.
func dnsSuffix(region string) string {
	if region == "us-east-1" {
		return "ec2.internal"
	}
	return region + ".compute.internal"
}

// privateDNSName writes the name EC2 gives a private IPv4 address:
// 172.31.1.2 is ip-172-31-1-2.ec2.internal in us-east-1. An address that
// is not IPv4 has no such name.
func (e *encoder) privateDNSName(ip string) {
	const name = "privateDnsName"
	if ip == "" || strings.Trim(ip, "0123456789.") != "" {
		e.empty(name)
		return
	}
	e.start(name)
	e.buf = append(e.buf, "ip-"...)
	for i := 0; i < len(ip); i++ {
		c := ip[i]
		if c == '.' {
			c = '-'
		}
		e.buf = append(e.buf, c)
	}
	e.buf = append(e.buf, '.')
	e.buf = appendEscaped(e.buf, e.dnsSuffix)
	e.end(name)
}

// encodeReturn answers an action that only succeeds or fails.
func encodeReturn(e *encoder, _ struct{}) { e.boolean("return", true) }

// encodeReservation writes a reservation's members: the whole answer to
// RunInstances, one item of DescribeInstances.
func encodeReservation(e *encoder, r *cloud.Reservation) {
	e.text("reservationId", r.ID)
	e.text("ownerId", r.OwnerID)
	e.opt("requesterId", r.RequesterID)
	e.empty("groupSet")
	set(&e.xmlWriter, "instancesSet", r.Instances, e.instance)
}

func encodeDescribeInstances(e *encoder, out *cloud.DescribeInstancesOutput) {
	set(&e.xmlWriter, "reservationSet", out.Reservations, func(r *cloud.Reservation) {
		encodeReservation(e, r)
	})
	e.opt("nextToken", out.NextToken)
}

// instance writes one instance with every member EC2 sends for an
// instance outside a VPC, so SDK code that reads them finds values.
func (e *encoder) instance(in *cloud.Instance) {
	terminated := in.State == cloud.StateTerminated

	// Identity and state.
	e.text("instanceId", in.ID)
	e.text("imageId", in.ImageID)
	e.instanceState("instanceState", in.State)
	if terminated {
		// A terminated instance has given its address back.
		e.empty("privateDnsName")
	} else {
		e.privateDNSName(in.PrivateIPAddress)
	}
	e.empty("dnsName")
	e.text("reason", in.StateTransitionReason)
	e.opt("keyName", in.KeyName)
	e.integer("amiLaunchIndex", in.LaunchIndex)
	e.empty("productCodes")
	e.text("instanceType", in.InstanceType)
	e.timestamp("launchTime", in.LaunchTime)

	// Placement.
	e.start("placement")
	e.text("availabilityZone", in.AvailabilityZone)
	e.empty("groupName")
	e.text("tenancy", "default")
	e.end("placement")
	e.start("monitoring")
	e.text("state", "disabled")
	e.end("monitoring")
	if !terminated {
		e.opt("privateIpAddress", in.PrivateIPAddress)
	}
	if r := in.StateReason; r != nil {
		e.start("stateReason")
		e.text("code", r.Code)
		e.text("message", r.Message)
		e.end("stateReason")
	}

	// Hardware, then the options EC2 reports with their defaults.
	e.instanceHardware(in)
	e.opt("clientToken", in.ClientToken)
	e.tagSet(in.Tags)
	e.text("hypervisor", "xen")
	e.instanceNetwork(in)
	e.boolean("ebsOptimized", false)
	e.boolean("enaSupport", true)
	e.instanceOptions(in)
}

// instanceHardware writes an instance's architecture, root device and
// CPU topology.
func (e *encoder) instanceHardware(in *cloud.Instance) {
	e.opt("architecture", in.Architecture)
	rootType := in.RootDeviceType
	if rootType == "" {
		rootType = "ebs"
	}
	e.text("rootDeviceType", rootType)
	e.opt("rootDeviceName", in.RootDeviceName)

	e.blockDeviceMapping(in)
	e.text("virtualizationType", "hvm")

	vcpus := in.VCPUs
	if t, ok := cloud.LookupInstanceType(in.InstanceType); ok && vcpus == 0 {
		vcpus = t.VCPUs
	}
	cores, threads := cpuTopology(in.InstanceType, vcpus)
	e.start("cpuOptions")
	e.integer("coreCount", cores)
	e.integer("threadsPerCore", threads)
	e.end("cpuOptions")
}

// blockDeviceMapping writes an instance's root volume, named after the
// instance and deleted with it, or an empty list once it is gone.
func (e *encoder) blockDeviceMapping(in *cloud.Instance) {
	rootType := in.RootDeviceType
	if rootType == "" {
		rootType = "ebs"
	}
	if in.RootDeviceName == "" || rootType != "ebs" || in.State == cloud.StateTerminated {
		e.empty("blockDeviceMapping")
	} else {
		e.start("blockDeviceMapping")
		e.start("item")
		e.text("deviceName", in.RootDeviceName)
		e.start("ebs")
		e.derivedID("volumeId", "vol-", in.ID)
		e.text("status", "attached")
		e.timestamp("attachTime", in.LaunchTime)
		e.boolean("deleteOnTermination", true)
		e.end("ebs")
		e.end("item")
		e.end("blockDeviceMapping")
	}
}

// instanceOptions writes the option blocks EC2 reports for every
// instance, with the values minicloud's instances have.
func (e *encoder) instanceOptions(in *cloud.Instance) {
	e.start("capacityReservationSpecification")
	e.text("capacityReservationPreference", "open")
	e.end("capacityReservationSpecification")
	e.start("hibernationOptions")
	e.boolean("configured", false)
	e.end("hibernationOptions")

	// minicloud's metadata service answers IMDSv1 and IMDSv2.
	e.start("metadataOptions")
	e.text("state", "applied")
	e.text("httpTokens", "optional")
	e.integer("httpPutResponseHopLimit", 1)
	e.text("httpEndpoint", "enabled")
	e.text("httpProtocolIpv6", "disabled")
	e.text("instanceMetadataTags", "disabled")
	e.end("metadataOptions")

	e.start("enclaveOptions")
	e.boolean("enabled", false)
	e.end("enclaveOptions")
	e.text("platformDetails", "Linux/UNIX")
	e.text("usageOperation", "RunInstances")
	e.timestamp("usageOperationUpdateTime", in.LaunchTime)
	e.start("privateDnsNameOptions")
	e.text("hostnameType", "ip-name")
	e.boolean("enableResourceNameDnsARecord", false)
	e.boolean("enableResourceNameDnsAAAARecord", false)
	e.end("privateDnsNameOptions")
	e.start("maintenanceOptions")
	e.text("autoRecovery", "default")
	e.end("maintenanceOptions")
	e.text("currentInstanceBootMode", "legacy-bios")
}

// instanceState writes an instanceState-shaped element: code and name.
func (e *encoder) instanceState(name string, s cloud.InstanceState) {
	e.start(name)
	e.integer("code", s.Code())
	e.text("name", string(s))
	e.end(name)
}

// tagSet writes a resource's tags ordered by key, or nothing when it has
// none, as EC2 does.
func (e *encoder) tagSet(tags cloud.Tags) {
	if len(tags) == 0 {
		return
	}
	e.keys = e.keys[:0]
	for k := range tags {
		e.keys = append(e.keys, k)
	}
	slices.Sort(e.keys)
	e.start("tagSet")
	for _, k := range e.keys {
		e.start("item")
		e.text("key", k)
		e.text("value", tags[k])
		e.end("item")
	}
	e.end("tagSet")
}

// encodeStateChanges answers StartInstances, StopInstances and
// TerminateInstances: the model names all three lists instancesSet.
func encodeStateChanges(e *encoder, changes []cloud.StateChange) {
	set(&e.xmlWriter, "instancesSet", changes, func(c cloud.StateChange) {
		e.text("instanceId", c.InstanceID)
		e.instanceState("currentState", c.Current)
		e.instanceState("previousState", c.Previous)
	})
}

func encodeDescribeInstanceStatus(e *encoder, out *cloud.DescribeInstanceStatusOutput) {
	set(&e.xmlWriter, "instanceStatusSet", out.Statuses, func(s cloud.InstanceStatus) {
		e.text("instanceId", s.InstanceID)
		e.text("availabilityZone", s.AvailabilityZone)
		e.instanceState("instanceState", s.State)
		e.statusSummary("systemStatus", s.System)
		e.statusSummary("instanceStatus", s.Instance)
	})
	e.opt("nextToken", out.NextToken)
}

// statusSummary writes a status check: its outcome and the reachability
// detail behind it. A check that does not apply has no detail.
func (e *encoder) statusSummary(name string, s cloud.StatusCheck) {
	if s == "" {
		s = cloud.StatusNotApplicable
	}
	e.start(name)
	e.text("status", string(s))
	detail := ""
	switch s {
	case cloud.StatusOK:
		detail = "passed"
	case cloud.StatusImpaired:
		detail = "failed"
	case cloud.StatusInitializing:
		detail = "initializing"
	case cloud.StatusInsufficientData:
		detail = "insufficient-data"
	}
	if detail == "" {
		e.empty("details")
	} else {
		e.start("details")
		e.start("item")
		e.text("name", "reachability")
		e.text("status", detail)
		e.end("item")
		e.end("details")
	}
	e.end(name)
}

// derivedID writes the id of a resource minicloud does not keep apart
// from the one it belongs to, such as an instance's root volume, named
// after its owner: the root volume of i-0123456789abcdef0 is
// vol-0123456789abcdef0.
func (e *encoder) derivedID(name, prefix, owner string) {
	if i := strings.IndexByte(owner, '-'); i >= 0 {
		owner = owner[i+1:]
	}
	e.start(name)
	e.buf = append(e.buf, prefix...)
	e.buf = appendEscaped(e.buf, owner)
	e.end(name)
}
