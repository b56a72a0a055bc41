package compute

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"

	"github.com/minicloud/minicloud/internal/cloud"
)

// DescribeInstanceAttribute returns one attribute of one of the caller's
// instances.
func (s *Service) DescribeInstanceAttribute(
	ctx context.Context, in *cloud.DescribeInstanceAttributeInput,
) (*cloud.InstanceAttribute, error) {
	if in.Attribute == "" {
		return nil, cloud.MissingParameter("Attribute")
	}
	if !slices.Contains(cloud.InstanceAttributeNames, in.Attribute) {
		return nil, cloud.InvalidValue("attribute", in.Attribute, "Unknown attribute.")
	}
	inst, err := s.ownInstance(ctx, in.InstanceID)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, cloud.ErrDryRun
	}

	out := &cloud.InstanceAttribute{InstanceID: inst.ID, Attribute: in.Attribute, Instance: inst}
	switch in.Attribute {
	case cloud.AttrInstanceType:
		out.Value = inst.InstanceType
	case cloud.AttrUserData:
		if len(inst.UserData) > 0 {
			out.Value = base64.StdEncoding.EncodeToString(inst.UserData)
		}
	case cloud.AttrDisableAPITermination:
		out.Bool = inst.DisableAPITermination
	case cloud.AttrDisableAPIStop:
		out.Bool = inst.DisableAPIStop
	case cloud.AttrShutdownBehavior:
		out.Value = shutdownBehavior(inst)
	case cloud.AttrRootDeviceName:
		out.Value = inst.RootDeviceName
	case cloud.AttrSourceDestCheck, cloud.AttrENASupport:
		// A VM's vmxnet3 NIC forwards nothing it is not addressed and
		// is the ENA of minicloud's instances.
		out.Bool = true
	}
	return out, nil
}

// shutdownBehavior returns the instance's instance-initiated shutdown
// behaviour, stop unless it was set to terminate.
func shutdownBehavior(inst *cloud.Instance) string {
	if inst.ShutdownBehavior == "" {
		return cloud.ShutdownStop
	}
	return inst.ShutdownBehavior
}

// ownInstance returns the caller's visible instance with id, or the EC2
// error for a missing, malformed or unknown id.
func (s *Service) ownInstance(ctx context.Context, id string) (*cloud.Instance, error) {
	if id == "" {
		return nil, cloud.MissingParameter("InstanceId")
	}
	if err := checkInstanceIDs([]string{id}); err != nil {
		return nil, err
	}
	found, _, err := s.store.InstancesByID([]string{id})
	if err != nil {
		return nil, err
	}
	if len(found) == 0 || found[0].OwnerID != caller(ctx).AccountID || !s.visible(found[0]) {
		return nil, cloud.InstancesNotFound([]string{id})
	}
	return found[0], nil
}

// ModifyInstanceAttribute changes one attribute of one of the caller's
// instances. The instance type and the user data change only while the
// instance is stopped; its VM's .vmx is rewritten before it next powers
// on.
func (s *Service) ModifyInstanceAttribute(ctx context.Context, in *cloud.ModifyInstanceAttributeInput) error {
	change, err := attributeChange(in)
	if err != nil {
		return err
	}
	inst, err := s.ownInstance(ctx, in.InstanceID)
	if err != nil {
		return err
	}
	if in.Groups != nil {
		// The groups must exist in the instance's VPC.
		groups, err := s.runGroups(inst.OwnerID, inst.VPCID,
			cloud.RunNetwork{SecurityGroupIDs: in.Groups, SubnetID: inst.SubnetID})
		if err != nil {
			return err
		}
		change = unlessGone(func(i *cloud.Instance) { i.SecurityGroups = groups })
	}

	// Check against the instance as it is, then apply the same change in
	// the transaction, where the state may have moved on.
	if err := change(inst.Clone()); err != nil {
		return err
	}
	if in.DryRun {
		return cloud.ErrDryRun
	}
	updated, err := s.store.UpdateInstance(inst.ID, change)
	if err != nil {
		return storeError(err)
	}
	if updated.ConfigPending {
		s.ctrl.kick(updated.Host)
	}
	return nil
}

// attributeChange validates a ModifyInstanceAttribute request and returns
// the change it makes to an instance, which fails when the instance's
// state forbids it.
func attributeChange(in *cloud.ModifyInstanceAttributeInput) (func(*cloud.Instance) error, error) {
	set := setAttributes(in)
	switch {
	case len(set) == 0:
		return nil, cloud.MissingParameter("Attribute")
	case len(set) > 1:
		return nil, cloud.Errorf(cloud.ErrCodeInvalidParameterCombination,
			"Fields for multiple attribute types specified: %s", strings.Join(set, ", "))
	}

	switch {
	case in.InstanceType != nil:
		itype, ok := cloud.LookupInstanceType(*in.InstanceType)
		if !ok {
			return nil, cloud.Errorf(ErrCodeInvalidInstanceAttributeValue,
				"Value (%s) for parameter instanceType is invalid. Unknown instance type.", *in.InstanceType)
		}
		return whileStopped(func(i *cloud.Instance) {
			if i.InstanceType != itype.Name {
				i.InstanceType, i.VCPUs, i.MemoryMiB = itype.Name, itype.VCPUs, itype.MemoryMiB
				i.ConfigPending = true
			}
		}), nil
	case in.UserData != nil:
		if len(in.UserData) > cloud.MaxUserData {
			return nil, userDataTooLarge()
		}
		data := in.UserData
		return whileStopped(func(i *cloud.Instance) {
			i.UserData, i.ConfigPending = data, true
			if len(data) == 0 {
				i.UserData = nil
			}
		}), nil
	case in.DisableAPITermination != nil:
		v := *in.DisableAPITermination
		return unlessGone(func(i *cloud.Instance) { i.DisableAPITermination = v }), nil
	case in.DisableAPIStop != nil:
		v := *in.DisableAPIStop
		return unlessGone(func(i *cloud.Instance) { i.DisableAPIStop = v }), nil
	case in.Groups != nil:
		if len(in.Groups) == 0 {
			return nil, cloud.MissingParameter("GroupId")
		}
		// The service resolves the groups against the instance's VPC.
		return nil, nil
	case in.ShutdownBehavior != nil:
		v := *in.ShutdownBehavior
		if v != cloud.ShutdownStop && v != cloud.ShutdownTerminate {
			return nil, cloud.Errorf(ErrCodeInvalidInstanceAttributeValue,
				"Value (%s) for parameter instanceInitiatedShutdownBehavior is invalid. "+
					"Valid values are stop and terminate.", v)
		}
		return unlessGone(func(i *cloud.Instance) { i.ShutdownBehavior = v }), nil
	}
	return nil, cloud.Errorf(cloud.ErrCodeUnsupported,
		"The attribute %s cannot be modified on minicloud's ESXi instances.", set[0])
}

// ErrCodeInvalidInstanceAttributeValue is EC2's code for an attribute
// value it cannot take.
const ErrCodeInvalidInstanceAttributeValue = "InvalidInstanceAttributeValue"

// setAttributes names the attributes a ModifyInstanceAttribute request
// sets.
func setAttributes(in *cloud.ModifyInstanceAttributeInput) []string {
	var out []string
	add := func(set bool, name string) {
		if set {
			out = append(out, name)
		}
	}
	add(in.InstanceType != nil, cloud.AttrInstanceType)
	add(in.UserData != nil, cloud.AttrUserData)
	add(in.DisableAPITermination != nil, cloud.AttrDisableAPITermination)
	add(in.DisableAPIStop != nil, cloud.AttrDisableAPIStop)
	add(in.ShutdownBehavior != nil, cloud.AttrShutdownBehavior)
	add(in.SourceDestCheck != nil, cloud.AttrSourceDestCheck)
	add(in.EBSOptimized != nil, cloud.AttrEBSOptimized)
	add(in.ENASupport != nil, cloud.AttrENASupport)
	add(in.SriovNetSupport != nil, cloud.AttrSriovNetSupport)
	add(in.Kernel != nil, cloud.AttrKernel)
	add(in.Ramdisk != nil, cloud.AttrRamdisk)
	add(in.Groups != nil, cloud.AttrGroupSet)
	add(in.Unsupported != "", in.Unsupported)
	return out
}

// whileStopped returns a change that applies only to a stopped instance,
// and is IncorrectInstanceState otherwise, worded as EC2 words it.
func whileStopped(apply func(*cloud.Instance)) func(*cloud.Instance) error {
	return func(i *cloud.Instance) error {
		if i.State != cloud.StateStopped {
			return cloud.Errorf(cloud.ErrCodeIncorrectInstanceState,
				"The instance '%s' is not in the 'stopped' state.", i.ID)
		}
		apply(i)
		return nil
	}
}

// unlessGone returns a change that applies to an instance in any state
// but shutting-down and terminated.
func unlessGone(apply func(*cloud.Instance)) func(*cloud.Instance) error {
	return func(i *cloud.Instance) error {
		if i.State == cloud.StateShuttingDown || i.State == cloud.StateTerminated {
			return cloud.IncorrectState(i.ID)
		}
		apply(i)
		return nil
	}
}

// userDataTooLarge is EC2's answer to more than 16 KB of user data.
func userDataTooLarge() error {
	return cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
		"User data is limited to %d bytes", cloud.MaxUserData)
}
