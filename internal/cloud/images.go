package cloud

import "context"

// EC2 error codes about images.
const (
	ErrCodeInvalidAMINameDuplicate = "InvalidAMIName.Duplicate"
	ErrCodeInvalidAMINameMalformed = "InvalidAMIName.Malformed"
	ErrCodeInvalidAMIIDUnavailable = "InvalidAMIID.Unavailable"
)

// OwnerAliasMinicloud is the owner alias of the images minicloud offers
// from its configuration. No account owns them: they are the operator's.
const OwnerAliasMinicloud = "minicloud"

// ImageJob records the controller's progress on an image it is making, so
// that the work resumes after a restart.
type ImageJob struct {
	// Host is where the template disk is made: the host of the instance
	// of CreateImage, or one holding the source of CopyImage.
	Host string `json:",omitempty"`
	// Source is the disk to clone: the instance's boot disk or the
	// source image's template, as a datastore path.
	Source string `json:",omitempty"`
	// NoReboot clones a running instance's disk without stopping it,
	// through a snapshot.
	NoReboot bool `json:",omitempty"`
	// Stopped records that CreateImage stopped the instance, and that
	// the controller starts it again once the disk is cloned.
	Stopped bool `json:",omitempty"`
	// Cloned records that the template exists.
	Cloned bool `json:",omitempty"`
}

// Images is the part of the EC2 API that makes and removes images.
// DescribeImages is on Service itself. Service embeds it.
type Images interface {
	RegisterImage(ctx context.Context, in *RegisterImageInput) (string, error)
	CreateImage(ctx context.Context, in *CreateImageInput) (string, error)
	CopyImage(ctx context.Context, in *CopyImageInput) (string, error)
	DeregisterImage(ctx context.Context, in *DeregisterImageInput) error
}

// RegisterImageInput is a RegisterImage request: ImageLocation names a
// template disk on a datastore, "[datastore1] templates/x/x.vmdk".
type RegisterImageInput struct {
	DryRun             bool
	Name               string
	Description        string
	ImageLocation      string
	Architecture       string
	RootDeviceName     string
	VirtualizationType string
	BootMode           string
	TagSpecifications  []TagSpecification
	// HasSnapshot is set when a block device mapping names an EBS
	// snapshot: minicloud has none to register from.
	HasSnapshot bool
}

// CreateImageInput is a CreateImage request.
type CreateImageInput struct {
	DryRun            bool
	InstanceID        string
	Name              string
	Description       string
	NoReboot          bool
	TagSpecifications []TagSpecification
}

// CopyImageInput is a CopyImage request. minicloud serves one region, so
// SourceRegion must be it.
type CopyImageInput struct {
	DryRun            bool
	Name              string
	Description       string
	SourceImageID     string
	SourceRegion      string
	ClientToken       string
	CopyImageTags     bool
	Encrypted         bool
	TagSpecifications []TagSpecification
}

// DeregisterImageInput is a DeregisterImage request.
type DeregisterImageInput struct {
	DryRun  bool
	ImageID string
}
