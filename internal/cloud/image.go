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

	// StateReason says why a failed image failed.
	StateReason *StateReason `json:",omitempty"`
	// SourceInstanceID and SourceImageID say what CreateImage or
	// CopyImage made the image from.
	SourceInstanceID string `json:",omitempty"`
	SourceImageID    string `json:",omitempty"`
	// Host is the one ESXi host whose datastore holds the template of an
	// image minicloud made; empty for a registered template, which any
	// host may hold.
	Host string `json:",omitempty"`
	// Managed marks an image whose template minicloud made: it deletes
	// the template when the image is deregistered. A registered
	// template is the operator's and stays.
	Managed bool `json:",omitempty"`
	// ClientToken is the token of the CopyImage call that made the
	// image, so that a repeat answers with it.
	ClientToken string `json:",omitempty"`
	// Job is the controller's work on an image it is making or
	// removing; nil when there is none.
	Job *ImageJob `json:",omitempty"`
	// AccountTags holds the tags other accounts put on the image: as on
	// EC2, a tag on an image someone else owns is seen only by the
	// account that added it. Tags are the owner's.
	AccountTags map[string]Tags `json:",omitempty"`
	// Deregistered is when DeregisterImage was called; the record stays,
	// hidden, while instances launched from it may still need it, and
	// leaves the store a TerminatedTTL after that.
	Deregistered time.Time `json:",omitzero"`
}

// TagsFor returns the tags the account sees on img: the owner's own, or
// those the account added to an image it does not own.
func (img *Image) TagsFor(account string) Tags {
	if img.OwnedBy(account) {
		return img.Tags
	}
	return img.AccountTags[account]
}

// OwnedBy reports whether the account owns img. Images with an owner
// alias, such as minicloud's configured templates, belong to that alias
// and to no account.
func (img *Image) OwnedBy(account string) bool {
	return img.OwnerAlias == "" && img.OwnerID == account
}

// Clone returns a deep copy of img.
func (img *Image) Clone() *Image {
	c := *img
	c.Tags = img.Tags.Clone()
	if img.StateReason != nil {
		r := *img.StateReason
		c.StateReason = &r
	}
	if img.Job != nil {
		j := *img.Job
		c.Job = &j
	}
	if img.AccountTags != nil {
		c.AccountTags = make(map[string]Tags, len(img.AccountTags))
		for a, t := range img.AccountTags {
			c.AccountTags[a] = t.Clone()
		}
	}
	return &c
}
