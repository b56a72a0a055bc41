package cloud

import "context"

// The instance attributes DescribeInstanceAttribute answers for, by their
// EC2 names.
const (
	AttrInstanceType          = "instanceType"
	AttrKernel                = "kernel"
	AttrRamdisk               = "ramdisk"
	AttrUserData              = "userData"
	AttrDisableAPITermination = "disableApiTermination"
	AttrShutdownBehavior      = "instanceInitiatedShutdownBehavior"
	AttrRootDeviceName        = "rootDeviceName"
	AttrBlockDeviceMapping    = "blockDeviceMapping"
	AttrProductCodes          = "productCodes"
	AttrSourceDestCheck       = "sourceDestCheck"
	AttrGroupSet              = "groupSet"
	AttrEBSOptimized          = "ebsOptimized"
	AttrSriovNetSupport       = "sriovNetSupport"
	AttrENASupport            = "enaSupport"
	AttrEnclaveOptions        = "enclaveOptions"
	AttrDisableAPIStop        = "disableApiStop"
)

// InstanceAttributeNames lists every attribute DescribeInstanceAttribute
// knows, in the model's order.
var InstanceAttributeNames = []string{
	AttrInstanceType, AttrKernel, AttrRamdisk, AttrUserData,
	AttrDisableAPITermination, AttrShutdownBehavior, AttrRootDeviceName,
	AttrBlockDeviceMapping, AttrProductCodes, AttrSourceDestCheck, AttrGroupSet,
	AttrEBSOptimized, AttrSriovNetSupport, AttrENASupport, AttrEnclaveOptions,
	AttrDisableAPIStop,
}

// Instance-initiated shutdown behaviours: what an instance becomes when
// its guest powers itself off.
const (
	ShutdownStop      = "stop"
	ShutdownTerminate = "terminate"
)

// MaxUserData is the most user data an instance may have, before base64,
// as on EC2.
const MaxUserData = 16 << 10

// InstanceAttributes is the part of the EC2 API that reads and changes
// one attribute of an instance at a time. Service embeds it.
type InstanceAttributes interface {
	DescribeInstanceAttribute(ctx context.Context, in *DescribeInstanceAttributeInput) (*InstanceAttribute, error)
	ModifyInstanceAttribute(ctx context.Context, in *ModifyInstanceAttributeInput) error
}

// DescribeInstanceAttributeInput asks for one attribute of an instance.
type DescribeInstanceAttributeInput struct {
	DryRun     bool
	InstanceID string
	Attribute  string
}

// InstanceAttribute is one attribute of an instance. Attribute says which;
// a string attribute is in Value (empty when the instance has none), a
// boolean one in Bool. The list attributes (blockDeviceMapping, groupSet,
// productCodes) are read from Instance, the instance as it is now.
type InstanceAttribute struct {
	InstanceID string
	Attribute  string
	Value      string
	Bool       bool
	Instance   *Instance
}

// ModifyInstanceAttributeInput changes one attribute of an instance. The
// API sets exactly one of the pointer fields, whichever way the request
// named it (Attribute and Value, or the attribute's own parameter).
type ModifyInstanceAttributeInput struct {
	DryRun     bool
	InstanceID string

	InstanceType          *string
	UserData              []byte // the decoded user data; non-nil when set
	DisableAPITermination *bool
	DisableAPIStop        *bool
	ShutdownBehavior      *string
	SourceDestCheck       *bool
	EBSOptimized          *bool
	ENASupport            *bool
	SriovNetSupport       *string
	Kernel                *string
	Ramdisk               *string
	// Groups replaces the instance's security groups; non-nil when set.
	Groups []string
	// Unsupported names an attribute the request sets that minicloud's
	// instances cannot change (groupSet, blockDeviceMapping).
	Unsupported string
}
