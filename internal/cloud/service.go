package cloud

import "context"

// Service is what the EC2 API asks of minicloud. Every method validates its
// input and returns an *Error with the EC2 code for a client's mistake; a
// method that changes state records the change in one transaction and
// returns without waiting for any hypervisor.
type Service interface {
	RunInstances(ctx context.Context, in *RunInstancesInput) (*Reservation, error)
	DescribeInstances(ctx context.Context, in *DescribeInstancesInput) (*DescribeInstancesOutput, error)
	StartInstances(ctx context.Context, in *InstanceIDsInput) ([]StateChange, error)
	StopInstances(ctx context.Context, in *StopInstancesInput) ([]StateChange, error)
	RebootInstances(ctx context.Context, in *InstanceIDsInput) error
	TerminateInstances(ctx context.Context, in *InstanceIDsInput) ([]StateChange, error)
	DescribeInstanceStatus(ctx context.Context, in *DescribeInstanceStatusInput) (*DescribeInstanceStatusOutput, error)

	CreateTags(ctx context.Context, in *CreateTagsInput) error
	DeleteTags(ctx context.Context, in *DeleteTagsInput) error
	DescribeTags(ctx context.Context, in *DescribeTagsInput) (*DescribeTagsOutput, error)

	DescribeImages(ctx context.Context, in *DescribeImagesInput) (*DescribeImagesOutput, error)
	DescribeInstanceTypes(ctx context.Context, in *DescribeInstanceTypesInput) (*DescribeInstanceTypesOutput, error)
	DescribeRegions(ctx context.Context, in *DescribeRegionsInput) ([]Region, error)
	DescribeAvailabilityZones(ctx context.Context, in *DescribeAvailabilityZonesInput) ([]AvailabilityZone, error)

	KeyPairs
	InstanceAttributes
	Images
	Networks
	Consoles
}

// TagSpecification tags the resources of one type that a call creates.
type TagSpecification struct {
	ResourceType string
	Tags         []Tag
}

// RunInstancesInput is a RunInstances request.
type RunInstancesInput struct {
	DryRun            bool
	ImageID           string
	InstanceType      string
	MinCount          int
	MaxCount          int
	KeyName           string
	ClientToken       string
	AvailabilityZone  string // Placement.AvailabilityZone
	TagSpecifications []TagSpecification
	UserData          string // base64, as sent
	Network           RunNetwork

	// DisableAPITermination, DisableAPIStop and ShutdownBehavior set the
	// instance attributes of those names; see Instance.
	DisableAPITermination bool
	DisableAPIStop        bool
	ShutdownBehavior      string
}

// InstanceIDsInput names instances for StartInstances, RebootInstances and
// TerminateInstances.
type InstanceIDsInput struct {
	DryRun      bool
	InstanceIDs []string
}

// StopInstancesInput is a StopInstances request.
type StopInstancesInput struct {
	DryRun      bool
	InstanceIDs []string
	Force       bool
	Hibernate   bool
}

// DescribeInstancesInput is a DescribeInstances request. MaxResults is zero
// when absent.
type DescribeInstancesInput struct {
	DryRun      bool
	InstanceIDs []string
	Filters     []Filter
	MaxResults  int
	NextToken   string
}

// DescribeInstancesOutput is one page of reservations. NextToken is empty
// on the last page.
type DescribeInstancesOutput struct {
	Reservations []*Reservation
	NextToken    string
}

// DescribeInstanceStatusInput is a DescribeInstanceStatus request.
type DescribeInstanceStatusInput struct {
	DryRun              bool
	InstanceIDs         []string
	Filters             []Filter
	IncludeAllInstances bool
	MaxResults          int
	NextToken           string
}

// StatusCheck is the outcome of a system or instance status check: "ok",
// "impaired", "initializing", "insufficient-data" or "not-applicable".
type StatusCheck string

// The status check outcomes.
const (
	StatusOK               StatusCheck = "ok"
	StatusImpaired         StatusCheck = "impaired"
	StatusInitializing     StatusCheck = "initializing"
	StatusInsufficientData StatusCheck = "insufficient-data"
	StatusNotApplicable    StatusCheck = "not-applicable"
)

// InstanceStatus is one instance's entry in DescribeInstanceStatus.
type InstanceStatus struct {
	InstanceID       string
	AvailabilityZone string
	State            InstanceState
	System           StatusCheck // host reachability
	Instance         StatusCheck // guest reachability
}

// DescribeInstanceStatusOutput is one page of instance statuses.
type DescribeInstanceStatusOutput struct {
	Statuses  []InstanceStatus
	NextToken string
}

// CreateTagsInput adds or overwrites tags on resources.
type CreateTagsInput struct {
	DryRun      bool
	ResourceIDs []string
	Tags        []Tag
}

// DeleteTagsInput removes tags from resources. A tag with an empty Value
// and ValueSet false is removed whatever its value; with ValueSet it is
// removed only when the value matches.
type DeleteTagsInput struct {
	DryRun      bool
	ResourceIDs []string
	Tags        []DeleteTag
}

// DeleteTag names one tag to delete.
type DeleteTag struct {
	Key      string
	Value    string
	ValueSet bool
}

// DescribeTagsInput is a DescribeTags request.
type DescribeTagsInput struct {
	DryRun     bool
	Filters    []Filter
	MaxResults int
	NextToken  string
}

// TagDescription is one tag on one resource.
type TagDescription struct {
	ResourceID   string
	ResourceType string
	Key          string
	Value        string
}

// DescribeTagsOutput is one page of tags.
type DescribeTagsOutput struct {
	Tags      []TagDescription
	NextToken string
}

// DescribeImagesInput is a DescribeImages request.
type DescribeImagesInput struct {
	DryRun          bool
	ImageIDs        []string
	Owners          []string
	ExecutableUsers []string
	Filters         []Filter
	MaxResults      int
	NextToken       string
}

// DescribeImagesOutput is one page of images. NextToken is empty on the
// last page.
type DescribeImagesOutput struct {
	Images    []*Image
	NextToken string
}

// DescribeInstanceTypesInput is a DescribeInstanceTypes request.
type DescribeInstanceTypesInput struct {
	DryRun        bool
	InstanceTypes []string
	Filters       []Filter
	MaxResults    int
	NextToken     string
}

// DescribeInstanceTypesOutput is one page of instance types.
type DescribeInstanceTypesOutput struct {
	InstanceTypes []InstanceType
	NextToken     string
}

// DescribeRegionsInput is a DescribeRegions request.
type DescribeRegionsInput struct {
	DryRun      bool
	RegionNames []string
	Filters     []Filter
	AllRegions  bool
}

// DescribeAvailabilityZonesInput is a DescribeAvailabilityZones request.
type DescribeAvailabilityZonesInput struct {
	DryRun    bool
	ZoneNames []string
	ZoneIDs   []string
	Filters   []Filter
	AllZones  bool
}
