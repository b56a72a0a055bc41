package cloud

import "sort"

// InstanceType is an EC2 instance type: the vCPUs and memory each VM of
// that type gets on its ESXi host.
type InstanceType struct {
	Name          string
	VCPUs         int
	MemoryMiB     int
	Architectures []string
	Burstable     bool
	// NetworkPerformance is EC2's wording, such as "Up to 5 Gigabit".
	NetworkPerformance string
}

// DefaultInstanceType is the type RunInstances uses when none is given,
// as EC2 does.
const DefaultInstanceType = "m1.small"

var x86 = []string{"x86_64"}

// instanceTypes is the catalogue, with EC2's vCPU and memory figures.
var instanceTypes = func() map[string]InstanceType {
	m := map[string]InstanceType{}
	add := func(family string, burst bool, net string, sizes ...any) {
		for i := 0; i < len(sizes); i += 3 {
			name := family + "." + sizes[i].(string)
			m[name] = InstanceType{
				Name:               name,
				VCPUs:              sizes[i+1].(int),
				MemoryMiB:          sizes[i+2].(int),
				Architectures:      x86,
				Burstable:          burst,
				NetworkPerformance: net,
			}
		}
	}
	add("m1", false, "Low", "small", 1, 1740)
	add("t2", true, "Low to Moderate",
		"nano", 1, 512, "micro", 1, 1024, "small", 1, 2048,
		"medium", 2, 4096, "large", 2, 8192, "xlarge", 4, 16384,
		"2xlarge", 8, 32768)
	for _, fam := range []string{"t3", "t3a"} {
		add(fam, true, "Up to 5 Gigabit",
			"nano", 2, 512, "micro", 2, 1024, "small", 2, 2048,
			"medium", 2, 4096, "large", 2, 8192, "xlarge", 4, 16384,
			"2xlarge", 8, 32768)
	}
	for _, fam := range []string{"m5", "m6i"} {
		add(fam, false, "Up to 10 Gigabit",
			"large", 2, 8192, "xlarge", 4, 16384, "2xlarge", 8, 32768,
			"4xlarge", 16, 65536)
	}
	for _, fam := range []string{"c5", "c6i"} {
		add(fam, false, "Up to 10 Gigabit",
			"large", 2, 4096, "xlarge", 4, 8192, "2xlarge", 8, 16384,
			"4xlarge", 16, 32768)
	}
	for _, fam := range []string{"r5", "r6i"} {
		add(fam, false, "Up to 10 Gigabit",
			"large", 2, 16384, "xlarge", 4, 32768, "2xlarge", 8, 65536,
			"4xlarge", 16, 131072)
	}
	return m
}()

// LookupInstanceType returns the named type and whether it exists.
func LookupInstanceType(name string) (InstanceType, bool) {
	t, ok := instanceTypes[name]
	return t, ok
}

// InstanceTypes returns every type minicloud offers, ordered by name.
func InstanceTypes() []InstanceType {
	out := make([]InstanceType, 0, len(instanceTypes))
	for _, t := range instanceTypes {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
