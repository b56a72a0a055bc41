package compute

import (
	"context"
	"strconv"

	"github.com/minicloud/minicloud/internal/cloud"
)

// instanceFilters are the DescribeInstances filter names, besides the tag
// filters.
var instanceFilters = map[string]func(*cloud.Instance) []string{
	"instance-id":         func(i *cloud.Instance) []string { return one(i.ID) },
	"instance-state-name": func(i *cloud.Instance) []string { return one(string(i.State)) },
	"instance-state-code": func(i *cloud.Instance) []string { return one(strconv.Itoa(i.State.Code())) },
	"instance-type":       func(i *cloud.Instance) []string { return one(i.InstanceType) },
	"image-id":            func(i *cloud.Instance) []string { return one(i.ImageID) },
	"availability-zone":   func(i *cloud.Instance) []string { return one(i.AvailabilityZone) },
	"reservation-id":      func(i *cloud.Instance) []string { return one(i.ReservationID) },
	"private-ip-address":  func(i *cloud.Instance) []string { return one(i.PrivateIPAddress) },
	"owner-id":            func(i *cloud.Instance) []string { return one(i.OwnerID) },
	"architecture":        func(i *cloud.Instance) []string { return one(i.Architecture) },
	"root-device-type":    func(i *cloud.Instance) []string { return one(i.RootDeviceType) },
	"root-device-name":    func(i *cloud.Instance) []string { return one(i.RootDeviceName) },
	"key-name":            func(i *cloud.Instance) []string { return one(i.KeyName) },
	"client-token":        func(i *cloud.Instance) []string { return one(i.ClientToken) },
	"ami-launch-index":    func(i *cloud.Instance) []string { return one(strconv.Itoa(i.LaunchIndex)) },
	"launch-index":        func(i *cloud.Instance) []string { return one(strconv.Itoa(i.LaunchIndex)) },
}

func instanceTags(i *cloud.Instance) cloud.Tags { return i.Tags }

// DescribeInstances returns the caller's instances that match the filters,
// grouped by reservation, one page at a time in instance id order.
func (s *Service) DescribeInstances(
	ctx context.Context, in *cloud.DescribeInstancesInput,
) (*cloud.DescribeInstancesOutput, error) {
	insts, next, err := s.findInstances(ctx, in.InstanceIDs, in.Filters,
		in.MaxResults, in.NextToken, instanceFilters, in.DryRun)
	if err != nil {
		return nil, err
	}
	return &cloud.DescribeInstancesOutput{
		Reservations: groupReservations(insts),
		NextToken:    next,
	}, nil
}

// findInstances is the lookup behind DescribeInstances and
// DescribeInstanceStatus: the caller's visible instances, by id or by
// scan, that pass the filters.
func (s *Service) findInstances(ctx context.Context, ids []string, filters []cloud.Filter,
	max int, token string, fields map[string]func(*cloud.Instance) []string, dryRun bool,
) ([]*cloud.Instance, string, error) {
	if err := checkInstanceIDs(ids); err != nil {
		return nil, "", err
	}
	if max != 0 && len(ids) > 0 {
		return nil, "", cloud.Errorf(cloud.ErrCodeInvalidParameterCombination,
			"The parameter instancesSet cannot be used with the parameter maxResults")
	}
	if err := checkMaxResults(max, 5, 1000); err != nil {
		return nil, "", err
	}
	match, err := compileFilters(filters, fields, instanceTags)
	if err != nil {
		return nil, "", err
	}
	after, err := decodeToken(token)
	if err != nil {
		return nil, "", err
	}
	if dryRun {
		return nil, "", cloud.ErrDryRun
	}
	who := caller(ctx)
	visible := func(i *cloud.Instance) bool { return i.OwnerID == who.AccountID && s.visible(i) }

	// By id: every id must name a visible instance.
	if len(ids) > 0 {
		found, missing, err := s.store.InstancesByID(dedupe(ids))
		if err != nil {
			return nil, "", err
		}
		var out []*cloud.Instance
		for _, inst := range found {
			switch {
			case !visible(inst):
				missing = append(missing, inst.ID)
			case match(inst):
				out = append(out, inst)
			}
		}
		if len(missing) > 0 {
			return nil, "", cloud.InstancesNotFound(missing)
		}
		return out, "", nil
	}

	// By scan: collect one more than a page to learn whether more follow.
	var out []*cloud.Instance
	err = s.store.ScanInstances(after, func(inst *cloud.Instance) bool {
		if visible(inst) && match(inst) {
			out = append(out, inst)
		}
		return max == 0 || len(out) <= max
	})
	if err != nil {
		return nil, "", err
	}
	if max != 0 && len(out) > max {
		return out[:max], encodeToken(out[max-1].ID), nil
	}
	return out, "", nil
}

// visible reports whether inst still shows in Describe calls: terminated
// instances do for TerminatedTTL.
func (s *Service) visible(inst *cloud.Instance) bool {
	return inst.State != cloud.StateTerminated ||
		s.now().Sub(inst.StateChanged) < s.opts.TerminatedTTL
}

// groupReservations groups instances by reservation, keeping the order in
// which each reservation first appears.
func groupReservations(insts []*cloud.Instance) []*cloud.Reservation {
	var out []*cloud.Reservation
	byID := map[string]*cloud.Reservation{}
	for _, inst := range insts {
		r := byID[inst.ReservationID]
		if r == nil {
			r = &cloud.Reservation{
				ID: inst.ReservationID, OwnerID: inst.OwnerID, RequesterID: inst.RequesterID,
			}
			byID[inst.ReservationID] = r
			out = append(out, r)
		}
		r.Instances = append(r.Instances, inst)
	}
	return out
}

// DescribeInstanceStatus reports the system and instance status checks of
// the caller's running instances, or of all of them with
// IncludeAllInstances. The system check follows the host: impaired while
// it cannot be reached. The instance check follows the guest: ok once it
// has booted and reported an address.
func (s *Service) DescribeInstanceStatus(
	ctx context.Context, in *cloud.DescribeInstanceStatusInput,
) (*cloud.DescribeInstanceStatusOutput, error) {
	fields := make(map[string]func(*cloud.Instance) []string, len(instanceFilters)+2)
	for _, name := range []string{"availability-zone", "instance-state-name", "instance-state-code"} {
		fields[name] = instanceFilters[name]
	}
	fields["system-status.status"] = func(i *cloud.Instance) []string {
		return one(string(s.status(i).System))
	}
	fields["instance-status.status"] = func(i *cloud.Instance) []string {
		return one(string(s.status(i).Instance))
	}

	// Without IncludeAllInstances only running instances count, before
	// pagination so that pages stay full.
	filters := in.Filters
	if !in.IncludeAllInstances {
		filters = append(filters[:len(filters):len(filters)],
			cloud.Filter{Name: "instance-state-name", Values: []string{"running"}})
	}
	insts, next, err := s.findInstances(ctx, in.InstanceIDs, filters,
		in.MaxResults, in.NextToken, fields, in.DryRun)
	if err != nil {
		return nil, err
	}
	out := &cloud.DescribeInstanceStatusOutput{NextToken: next}
	for _, inst := range insts {
		out.Statuses = append(out.Statuses, s.status(inst))
	}
	return out, nil
}

// status computes an instance's status checks.
func (s *Service) status(inst *cloud.Instance) cloud.InstanceStatus {
	st := cloud.InstanceStatus{
		InstanceID: inst.ID, AvailabilityZone: inst.AvailabilityZone, State: inst.State,
		System: cloud.StatusNotApplicable, Instance: cloud.StatusNotApplicable,
	}
	if inst.State != cloud.StateRunning {
		return st
	}
	switch {
	case !s.fleet.ready(inst.Host):
		st.System, st.Instance = cloud.StatusImpaired, cloud.StatusInsufficientData
	case inst.GuestReady:
		st.System, st.Instance = cloud.StatusOK, cloud.StatusOK
	default:
		st.System, st.Instance = cloud.StatusOK, cloud.StatusInitializing
	}
	return st
}
