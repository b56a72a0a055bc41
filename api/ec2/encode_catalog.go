package ec2

import (
	"strings"

	"github.com/minicloud/minicloud/internal/cloud"
)

func encodeDescribeImages(e *encoder, out *cloud.DescribeImagesOutput) {
	set(&e.xmlWriter, "imagesSet", out.Images, e.image)
	e.opt("nextToken", out.NextToken)
}

// image writes one AMI as DescribeImages reports it.
func (e *encoder) image(img *cloud.Image) {
	windows := strings.EqualFold(img.Platform, "windows")

	e.text("imageId", img.ID)
	e.text("imageLocation", imageLocation(img))
	e.text("imageState", string(img.State))
	e.text("imageOwnerId", img.OwnerID)
	e.timestamp("creationDate", img.CreationDate)
	e.boolean("isPublic", img.Public)
	e.opt("architecture", img.Architecture)
	e.text("imageType", "machine")
	if windows {
		// EC2 writes the platform in lower case, whatever the
		// model's enum says.
		e.text("platform", "windows")
	}
	e.opt("imageOwnerAlias", img.OwnerAlias)
	e.text("name", img.Name)
	e.opt("description", img.Description)

	// The root device: a template disk that each instance gets a copy
	// of, deleted with the instance.
	rootType := img.RootDeviceType
	if rootType == "" {
		rootType = "ebs"
	}
	e.text("rootDeviceType", rootType)
	e.opt("rootDeviceName", img.RootDeviceName)
	if img.RootDeviceName == "" || rootType != "ebs" {
		e.empty("blockDeviceMapping")
	} else {
		e.start("blockDeviceMapping")
		e.start("item")
		e.text("deviceName", img.RootDeviceName)
		e.start("ebs")
		e.derivedID("snapshotId", "snap-", img.ID)
		if img.VolumeSizeGiB > 0 {
			e.integer("volumeSize", img.VolumeSizeGiB)
		}
		e.boolean("deleteOnTermination", true)
		e.text("volumeType", "gp3")
		e.boolean("encrypted", false)
		e.end("ebs")
		e.end("item")
		e.end("blockDeviceMapping")
	}

	e.text("virtualizationType", "hvm")
	if r := img.StateReason; r != nil {
		e.start("stateReason")
		e.text("code", r.Code)
		e.text("message", r.Message)
		e.end("stateReason")
	}
	e.opt("sourceInstanceId", img.SourceInstanceID)
	e.tagSet(img.Tags)
	e.text("hypervisor", "xen")
	e.boolean("enaSupport", true)
	if windows {
		e.text("platformDetails", "Windows")
		e.text("usageOperation", "RunInstances:0002")
	} else {
		e.text("platformDetails", "Linux/UNIX")
		e.text("usageOperation", "RunInstances")
	}
}

// imageLocation returns where an image lives. minicloud's images are
// template disks on a datastore and say so; an image without one gets
// EC2's owner/name form.
func imageLocation(img *cloud.Image) string {
	if img.Location != "" {
		return img.Location
	}
	owner := img.OwnerAlias
	if owner == "" {
		owner = img.OwnerID
	}
	return owner + "/" + img.Name
}

func encodeDescribeInstanceTypes(e *encoder, out *cloud.DescribeInstanceTypesOutput) {
	set(&e.xmlWriter, "instanceTypeSet", out.InstanceTypes, e.instanceType)
	e.opt("nextToken", out.NextToken)
}

// instanceType writes one instance type. Where EC2's answer describes
// hardware minicloud does not have (instance store, several network
// cards, IPv6), it states what minicloud gives an instance instead:
// one EBS-style root disk and one network interface with one address.
func (e *encoder) instanceType(t cloud.InstanceType) {
	f := familyOf(t.Name)
	cores, threads := cpuTopology(t.Name, t.VCPUs)

	e.text("instanceType", t.Name)
	e.boolean("currentGeneration", f.current)
	e.boolean("freeTierEligible", t.Name == "t2.micro" || t.Name == "t3.micro")
	e.textList("supportedUsageClasses", []string{"on-demand"})
	e.textList("supportedRootDeviceTypes", []string{"ebs"})
	e.textList("supportedVirtualizationTypes", []string{"hvm"})
	e.boolean("bareMetal", false)
	e.text("hypervisor", f.hypervisor)

	e.start("processorInfo")
	e.textList("supportedArchitectures", t.Architectures)
	e.opt("manufacturer", f.manufacturer)
	e.end("processorInfo")
	e.start("vCpuInfo")
	e.integer("defaultVCpus", t.VCPUs)
	e.integer("defaultCores", cores)
	e.integer("defaultThreadsPerCore", threads)
	e.end("vCpuInfo")
	e.start("memoryInfo")
	e.integer("sizeInMiB", t.MemoryMiB)
	e.end("memoryInfo")
	e.boolean("instanceStorageSupported", false)

	e.start("networkInfo")
	e.text("networkPerformance", t.NetworkPerformance)
	e.integer("maximumNetworkInterfaces", 1)
	e.integer("maximumNetworkCards", 1)
	e.integer("defaultNetworkCardIndex", 0)
	e.start("networkCards")
	e.start("item")
	e.integer("networkCardIndex", 0)
	e.text("networkPerformance", t.NetworkPerformance)
	e.integer("maximumNetworkInterfaces", 1)
	e.end("item")
	e.end("networkCards")
	e.integer("ipv4AddressesPerInterface", 1)
	e.integer("ipv6AddressesPerInterface", 0)
	e.boolean("ipv6Supported", false)
	e.text("enaSupport", f.ena)
	e.boolean("efaSupported", false)
	e.boolean("encryptionInTransitSupported", false)
	e.end("networkInfo")

	e.boolean("hibernationSupported", false)
	e.boolean("burstablePerformanceSupported", t.Burstable)
	e.boolean("dedicatedHostsSupported", false)
	e.boolean("autoRecoverySupported", true)
	e.textList("supportedBootModes", f.bootModes)
}

// family holds what EC2 says of every size of an instance family.
type family struct {
	current      bool   // a current-generation family
	hypervisor   string // xen or nitro
	manufacturer string // the CPU vendor
	ena          string // enhanced networking: unsupported or required
	threads      int    // hardware threads per core
	bootModes    []string
}

var (
	xenBoot   = []string{"legacy-bios"}
	nitroBoot = []string{"legacy-bios", "uefi"}
)

// familyOf returns the traits of the family an instance type belongs to,
// as EC2 describes them: m1 and t2 are Xen-era, one thread per core;
// the rest are Nitro with two threads per core.
func familyOf(name string) family {
	fam, _, _ := strings.Cut(name, ".")
	switch fam {
	case "m1":
		return family{false, "xen", "Intel", "unsupported", 1, xenBoot}
	case "t2":
		return family{true, "xen", "Intel", "unsupported", 1, xenBoot}
	case "t3a":
		return family{true, "nitro", "AMD", "required", 2, nitroBoot}
	}
	return family{true, "nitro", "Intel", "required", 2, nitroBoot}
}

// cpuTopology splits vcpus into cores and threads per core the way EC2
// reports the instance type: t3.micro's two vCPUs are one core with two
// threads, t2.medium's are two cores.
func cpuTopology(instanceType string, vcpus int) (cores, threads int) {
	threads = familyOf(instanceType).threads
	if vcpus < threads || vcpus%threads != 0 {
		return vcpus, 1
	}
	return vcpus / threads, threads
}

func encodeDescribeRegions(e *encoder, regions []cloud.Region) {
	set(&e.xmlWriter, "regionInfo", regions, func(r cloud.Region) {
		e.text("regionName", r.Name)
		e.text("regionEndpoint", r.Endpoint)
		e.text("optInStatus", "opt-in-not-required")
	})
}

func encodeDescribeAvailabilityZones(e *encoder, zones []cloud.AvailabilityZone) {
	set(&e.xmlWriter, "availabilityZoneInfo", zones, func(z cloud.AvailabilityZone) {
		e.text("zoneName", z.Name)
		e.text("zoneState", string(z.State))
		e.text("regionName", z.Region)
		e.text("zoneId", z.ID)
		e.text("groupName", z.Region)
		e.text("networkBorderGroup", z.Region)
		e.text("zoneType", "availability-zone")
		e.text("optInStatus", "opt-in-not-required")
		set(&e.xmlWriter, "messageSet", z.Messages, func(m string) {
			e.text("message", m)
		})
	})
}

func encodeDescribeTags(e *encoder, out *cloud.DescribeTagsOutput) {
	set(&e.xmlWriter, "tagSet", out.Tags, func(t cloud.TagDescription) {
		e.text("resourceId", t.ResourceID)
		e.text("resourceType", t.ResourceType)
		e.text("key", t.Key)
		e.text("value", t.Value)
	})
	e.opt("nextToken", out.NextToken)
}
