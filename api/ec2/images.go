package ec2

import (
	"github.com/minicloud/minicloud/internal/cloud"
)

func decodeRegisterImage(p *params) (*cloud.RegisterImageInput, error) {
	in := &cloud.RegisterImageInput{
		DryRun:             p.boolean("DryRun"),
		Name:               p.str("Name"),
		Description:        p.str("Description"),
		ImageLocation:      p.str("ImageLocation"),
		Architecture:       p.str("Architecture"),
		RootDeviceName:     p.str("RootDeviceName"),
		VirtualizationType: p.str("VirtualizationType"),
		BootMode:           p.str("BootMode"),
		TagSpecifications:  decodeTagSpecifications(p),
	}
	for _, n := range p.indexes("BlockDeviceMapping") {
		if p.has(member("BlockDeviceMapping", n) + ".Ebs.SnapshotId") {
			in.HasSnapshot = true
		}
	}
	return in, p.err
}

func decodeCreateImage(p *params) (*cloud.CreateImageInput, error) {
	in := &cloud.CreateImageInput{
		DryRun:            p.boolean("DryRun"),
		InstanceID:        p.str("InstanceId"),
		Name:              p.str("Name"),
		Description:       p.str("Description"),
		NoReboot:          p.boolean("NoReboot"),
		TagSpecifications: decodeTagSpecifications(p),
	}
	return in, p.err
}

func decodeCopyImage(p *params) (*cloud.CopyImageInput, error) {
	in := &cloud.CopyImageInput{
		DryRun:            p.boolean("DryRun"),
		Name:              p.str("Name"),
		Description:       p.str("Description"),
		SourceImageID:     p.str("SourceImageId"),
		SourceRegion:      p.str("SourceRegion"),
		ClientToken:       p.str("ClientToken"),
		CopyImageTags:     p.boolean("CopyImageTags"),
		Encrypted:         p.boolean("Encrypted"),
		TagSpecifications: decodeTagSpecifications(p),
	}
	return in, p.err
}

func decodeDeregisterImage(p *params) (*cloud.DeregisterImageInput, error) {
	in := &cloud.DeregisterImageInput{
		DryRun:  p.boolean("DryRun"),
		ImageID: p.str("ImageId"),
	}
	return in, p.err
}

// encodeImageID answers RegisterImage, CreateImage and CopyImage.
func encodeImageID(e *encoder, id string) { e.text("imageId", id) }
