package cloud

import "time"

// ImageState is the state of an AMI.
type ImageState string

// The image states minicloud uses.
const (
	ImagePending      ImageState = "pending"
	ImageAvailable    ImageState = "available"
	ImageFailed       ImageState = "failed"
	ImageDeregistered ImageState = "deregistered"
)

// Image is an AMI: a template disk on an ESXi datastore that instances are
// cloned from.
type Image struct {
	ID           string
	Name         string
	Description  string `json:",omitempty"`
	OwnerID      string
	OwnerAlias   string `json:",omitempty"`
	State        ImageState
	CreationDate time.Time
	Public       bool `json:",omitempty"`
	Tags         Tags `json:",omitempty"`

	Architecture   string // x86_64 or arm64
	RootDeviceName string // /dev/xvda
	RootDeviceType string // ebs
	VolumeSizeGiB  int    // size of the root disk
	Platform       string `json:",omitempty"` // "windows" or empty

	// Location names the template disk on a datastore, as
	// "[datastore1] templates/debian-12/debian-12.vmdk".
	Location string

	// GuestOS is the guestOS value written into each VM's .vmx.
	GuestOS string
}

// Clone returns a deep copy of img.
func (img *Image) Clone() *Image {
	c := *img
	c.Tags = img.Tags.Clone()
	return &c
}
