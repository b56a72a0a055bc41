package compute

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/minicloud/minicloud/internal/cloud"
)

// imageFilters are the DescribeImages filter names, besides the tag
// filters.
var imageFilters = map[string]func(*cloud.Image) []string{
	"image-id":            func(i *cloud.Image) []string { return one(i.ID) },
	"name":                func(i *cloud.Image) []string { return one(i.Name) },
	"description":         func(i *cloud.Image) []string { return one(i.Description) },
	"state":               func(i *cloud.Image) []string { return one(string(i.State)) },
	"architecture":        func(i *cloud.Image) []string { return one(i.Architecture) },
	"root-device-type":    func(i *cloud.Image) []string { return one(i.RootDeviceType) },
	"root-device-name":    func(i *cloud.Image) []string { return one(i.RootDeviceName) },
	"owner-id":            func(i *cloud.Image) []string { return one(i.OwnerID) },
	"owner-alias":         func(i *cloud.Image) []string { return one(i.OwnerAlias) },
	"source-instance-id":  func(i *cloud.Image) []string { return nonEmpty(i.SourceInstanceID) },
	"image-type":          func(*cloud.Image) []string { return one("machine") },
	"virtualization-type": func(*cloud.Image) []string { return one("hvm") },
	"is-public":           func(i *cloud.Image) []string { return one(strconv.FormatBool(i.Public)) },
	"platform": func(i *cloud.Image) []string {
		if i.Platform == "" {
			return nil
		}
		return one(i.Platform)
	},
}

func imageTags(i *cloud.Image) cloud.Tags { return i.Tags }

// ImageConfig names a template disk to offer as an AMI.
type ImageConfig struct {
	Name          string
	Description   string
	Location      string // "[datastore1] templates/debian-12/debian-12.vmdk"
	Architecture  string
	GuestOS       string
	VolumeSizeGiB int
}

// EnsureImages registers an AMI for each configured template that has
// none yet, matching on the template's location, and keeps the ids of
// those registered before.
func (s *Service) EnsureImages(configs []ImageConfig) error {
	imgs, err := s.store.Images()
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, img := range imgs {
		if img.OwnerAlias == cloud.OwnerAliasMinicloud {
			known[img.Location] = true
		}
	}
	for _, c := range configs {
		if known[c.Location] {
			continue
		}
		img := &cloud.Image{
			ID: cloud.NewID(cloud.PrefixImage), Name: c.Name, Description: c.Description,
			OwnerID: cloud.DefaultAccountID, OwnerAlias: cloud.OwnerAliasMinicloud,
			State: cloud.ImageAvailable, CreationDate: s.now().UTC(), Public: true,
			Architecture: c.Architecture, RootDeviceName: "/dev/xvda",
			RootDeviceType: "ebs", VolumeSizeGiB: c.VolumeSizeGiB,
			Location: c.Location, GuestOS: c.GuestOS,
		}
		if img.Architecture == "" {
			img.Architecture = "x86_64"
		}
		if err := s.store.PutImage(img); err != nil {
			return fmt.Errorf("compute: register image %s: %w", c.Name, err)
		}
		s.log.Info("image registered", "image", img.ID, "name", c.Name, "location", c.Location)
	}
	return nil
}

// DescribeImages lists the images the caller may launch: public images and
// its own, narrowed by ImageIds, Owners, ExecutableUsers and filters.
// Deregistered images are gone. Owners takes account ids, "self" and owner
// aliases; "amazon" also names minicloud's configured images, so that
// scripts written for EC2's public images find them.
func (s *Service) DescribeImages(
	ctx context.Context, in *cloud.DescribeImagesInput,
) (*cloud.DescribeImagesOutput, error) {
	for _, id := range in.ImageIDs {
		if !cloud.ValidID(cloud.PrefixImage, id) {
			return nil, cloud.Errorf(cloud.ErrCodeInvalidAMIIDMalformed,
				"Invalid id: \"%s\" (expecting \"ami-...\")", id)
		}
	}
	match, err := compileFilters(in.Filters, imageFilters, imageTags)
	if err != nil {
		return nil, err
	}
	if in.MaxResults != 0 && len(in.ImageIDs) > 0 {
		return nil, cloud.Errorf(cloud.ErrCodeInvalidParameterCombination,
			"The parameter imageIds cannot be used with the parameter maxResults")
	}
	after, err := pageArgs(in.MaxResults, in.NextToken, in.DryRun)
	if err != nil {
		return nil, err
	}
	who := caller(ctx)

	imgs, err := s.store.Images()
	if err != nil {
		return nil, err
	}
	wanted := map[string]bool{}
	for _, id := range in.ImageIDs {
		wanted[id] = true
	}
	var out []*cloud.Image
	for _, img := range imgs {
		if img.State == cloud.ImageDeregistered || !img.Public && img.OwnerID != who.AccountID {
			continue
		}

		// The caller sees its own tags on an image it does not own.
		if !img.OwnedBy(who.AccountID) {
			img = img.Clone()
			img.Tags, img.AccountTags = img.AccountTags[who.AccountID], nil
		}
		if len(in.ImageIDs) > 0 && !wanted[img.ID] {
			continue
		}
		if !ownedBy(img, in.Owners, who) || !launchableBy(img, in.ExecutableUsers, who) || !match(img) {
			continue
		}
		delete(wanted, img.ID)
		out = append(out, img)
	}

	// Ids named but not found are an error, as on EC2.
	if len(wanted) > 0 {
		var missing []string
		for _, id := range in.ImageIDs {
			if wanted[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 && len(in.Filters) == 0 && len(in.Owners) == 0 {
			return nil, cloud.Errorf(cloud.ErrCodeInvalidAMIIDNotFound,
				"The image id '[%s]' does not exist", strings.Join(missing, ", "))
		}
	}

	// Images come from the store in id order, so pages are stable.
	page, next := paginate(out, after, in.MaxResults, func(img *cloud.Image) string { return img.ID })
	return &cloud.DescribeImagesOutput{Images: page, NextToken: next}, nil
}

// ownedBy reports whether img belongs to one of owners; no owners means
// any. Images with an owner alias are the alias's, not any account's.
func ownedBy(img *cloud.Image, owners []string, who cloud.Caller) bool {
	if len(owners) == 0 {
		return true
	}
	for _, o := range owners {
		switch {
		case o == "self" && img.OwnedBy(who.AccountID):
			return true
		case img.OwnerAlias != "" && (o == img.OwnerAlias ||
			o == "amazon" && img.OwnerAlias == cloud.OwnerAliasMinicloud):
			return true
		case o == img.OwnerID && img.OwnerAlias == "":
			return true
		}
	}
	return false
}

// launchableBy reports whether every one of users may launch img: "all"
// for public images, "self" or an account id for images public or owned
// by that account. No users means any image.
func launchableBy(img *cloud.Image, users []string, who cloud.Caller) bool {
	for _, u := range users {
		switch {
		case u == "all" && !img.Public:
			return false
		case u == "self" && !img.Public && !img.OwnedBy(who.AccountID):
			return false
		case u != "all" && u != "self" && !img.Public && !img.OwnedBy(u):
			return false
		}
	}
	return true
}

// typeFilters are the DescribeInstanceTypes filter names.
var typeFilters = map[string]func(cloud.InstanceType) []string{
	"instance-type":           func(t cloud.InstanceType) []string { return one(t.Name) },
	"vcpu-info.default-vcpus": func(t cloud.InstanceType) []string { return one(strconv.Itoa(t.VCPUs)) },
	"memory-info.size-in-mib": func(t cloud.InstanceType) []string { return one(strconv.Itoa(t.MemoryMiB)) },
	"processor-info.supported-architecture": func(t cloud.InstanceType) []string {
		return t.Architectures
	},
	"burstable-performance-supported": func(t cloud.InstanceType) []string {
		return one(strconv.FormatBool(t.Burstable))
	},
	"current-generation": func(t cloud.InstanceType) []string {
		return one(strconv.FormatBool(!strings.HasPrefix(t.Name, "m1.")))
	},
}

// DescribeInstanceTypes lists the instance types minicloud offers.
func (s *Service) DescribeInstanceTypes(
	ctx context.Context, in *cloud.DescribeInstanceTypesInput,
) (*cloud.DescribeInstanceTypesOutput, error) {
	match, err := compileFilters(in.Filters, typeFilters, nil)
	if err != nil {
		return nil, err
	}
	if err := checkMaxResults(in.MaxResults, 5, 100); err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	for _, name := range in.InstanceTypes {
		if _, ok := cloud.LookupInstanceType(name); !ok {
			return nil, cloud.Errorf(cloud.ErrCodeInvalidInstanceType,
				"The following supplied instance types do not exist: [%s]", name)
		}
	}
	if in.DryRun {
		return nil, cloud.ErrDryRun
	}

	var all []cloud.InstanceType
	for _, t := range cloud.InstanceTypes() {
		if (len(in.InstanceTypes) == 0 || slices.Contains(in.InstanceTypes, t.Name)) && match(t) {
			all = append(all, t)
		}
	}
	page, next := paginate(all, after, in.MaxResults, func(t cloud.InstanceType) string { return t.Name })
	return &cloud.DescribeInstanceTypesOutput{InstanceTypes: page, NextToken: next}, nil
}

// regionFilters are the DescribeRegions filter names.
var regionFilters = map[string]func(cloud.Region) []string{
	"region-name":   func(r cloud.Region) []string { return one(r.Name) },
	"endpoint":      func(r cloud.Region) []string { return one(r.Endpoint) },
	"opt-in-status": func(cloud.Region) []string { return one("opt-in-not-required") },
}

// DescribeRegions returns the one region this minicloud serves.
func (s *Service) DescribeRegions(ctx context.Context, in *cloud.DescribeRegionsInput) ([]cloud.Region, error) {
	match, err := compileFilters(in.Filters, regionFilters, nil)
	if err != nil {
		return nil, err
	}
	for _, name := range in.RegionNames {
		if name != s.opts.Region {
			return nil, cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
				"Invalid region: %s", name)
		}
	}
	if in.DryRun {
		return nil, cloud.ErrDryRun
	}
	r := cloud.Region{Name: s.opts.Region, Endpoint: "ec2." + s.opts.Region + ".amazonaws.com"}
	if !match(r) {
		return nil, nil
	}
	return []cloud.Region{r}, nil
}

// zoneFilters are the DescribeAvailabilityZones filter names.
var zoneFilters = map[string]func(cloud.AvailabilityZone) []string{
	"zone-name":     func(z cloud.AvailabilityZone) []string { return one(z.Name) },
	"zone-id":       func(z cloud.AvailabilityZone) []string { return one(z.ID) },
	"state":         func(z cloud.AvailabilityZone) []string { return one(string(z.State)) },
	"region-name":   func(z cloud.AvailabilityZone) []string { return one(z.Region) },
	"zone-type":     func(cloud.AvailabilityZone) []string { return one("availability-zone") },
	"opt-in-status": func(cloud.AvailabilityZone) []string { return one("opt-in-not-required") },
	"message":       func(z cloud.AvailabilityZone) []string { return z.Messages },
}

// DescribeAvailabilityZones returns a zone for each zone of the configured
// hosts. A zone is available while one of its hosts is ready and impaired
// otherwise; each host that cannot be driven adds a message saying why.
func (s *Service) DescribeAvailabilityZones(
	ctx context.Context, in *cloud.DescribeAvailabilityZonesInput,
) ([]cloud.AvailabilityZone, error) {
	match, err := compileFilters(in.Filters, zoneFilters, nil)
	if err != nil {
		return nil, err
	}
	zones := s.zones()
	for _, name := range in.ZoneNames {
		if !slices.ContainsFunc(zones, func(z cloud.AvailabilityZone) bool { return z.Name == name }) {
			return nil, cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
				"The zone '%s' does not exist.", name)
		}
	}
	for _, id := range in.ZoneIDs {
		if !slices.ContainsFunc(zones, func(z cloud.AvailabilityZone) bool { return z.ID == id }) {
			return nil, cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
				"The zone ID '%s' does not exist.", id)
		}
	}
	if in.DryRun {
		return nil, cloud.ErrDryRun
	}

	var out []cloud.AvailabilityZone
	for _, z := range zones {
		named := len(in.ZoneNames) == 0 && len(in.ZoneIDs) == 0 ||
			slices.Contains(in.ZoneNames, z.Name) || slices.Contains(in.ZoneIDs, z.ID)
		if named && match(z) {
			out = append(out, z)
		}
	}
	return out, nil
}

// zones builds the availability zones from the fleet.
func (s *Service) zones() []cloud.AvailabilityZone {
	hosts := s.fleet.snapshot()
	var out []cloud.AvailabilityZone
	for i, name := range s.fleet.zones() {
		z := cloud.AvailabilityZone{
			Name: name, ID: zoneID(s.opts.Region, i), Region: s.opts.Region,
			State: cloud.ZoneImpaired,
		}
		for _, h := range hosts {
			if h.AvailabilityZone != name {
				continue
			}
			if h.State == cloud.HostReady {
				z.State = cloud.ZoneAvailable
			} else if h.Message != "" {
				z.Messages = append(z.Messages, fmt.Sprintf("host %s is %s: %s", h.Name, h.State, h.Message))
			}
		}
		out = append(out, z)
	}
	return out
}

// zoneID makes an EC2-style zone id from the region and the zone's
// position: us-east-1 gives use1-az1, ap-southeast-2 gives apse2-az1.
func zoneID(region string, i int) string {
	parts := strings.Split(region, "-")
	if len(parts) < 3 {
		return fmt.Sprintf("%s-az%d", region, i+1)
	}
	var b strings.Builder
	b.WriteString(parts[0])
	for _, p := range parts[1 : len(parts)-1] {
		switch {
		case strings.HasPrefix(p, "north") && len(p) > len("north"):
			b.WriteString("n" + p[len("north"):len("north")+1])
		case strings.HasPrefix(p, "south") && len(p) > len("south"):
			b.WriteString("s" + p[len("south"):len("south")+1])
		case p != "":
			b.WriteString(p[:1])
		}
	}
	b.WriteString(parts[len(parts)-1])
	return fmt.Sprintf("%s-az%d", b.String(), i+1)
}
