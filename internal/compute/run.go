package compute

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/scheduler"
	"github.com/minicloud/minicloud/internal/store"
)

// Tag limits, as EC2 sets them.
const (
	maxTags        = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
	maxTokenLen    = 64
)

// RunInstances places between MinCount and MaxCount new instances on hosts
// with room for them and records them as pending. The controllers of
// their hosts create the VMs afterwards. When fewer than MinCount fit, it
// returns InsufficientInstanceCapacity and records nothing.
func (s *Service) RunInstances(ctx context.Context, in *cloud.RunInstancesInput) (*cloud.Reservation, error) {
	img, itype, tags, err := s.checkRun(in)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, cloud.ErrDryRun
	}
	who := caller(ctx)

	// A client token seen before answers with the original reservation.
	var token *store.ClientToken
	if in.ClientToken != "" {
		token = &store.ClientToken{
			Key:         who.AccountID + "/" + in.ClientToken,
			Fingerprint: runFingerprint(in),
		}
	}

	// Place the instances, reserving their room on the chosen hosts.
	ids := make([]string, in.MaxCount)
	for i := range ids {
		ids[i] = cloud.NewID(cloud.PrefixInstance)
	}
	hosts, err := s.fleet.place(scheduler.Request{
		Min: in.MinCount, Max: in.MaxCount,
		VCPUs: itype.VCPUs, MemoryMiB: itype.MemoryMiB,
		Zone: in.AvailabilityZone, ImageID: img.ID,
	}, s.sched, ids)
	var capErr *scheduler.CapacityError
	if errors.As(err, &capErr) {
		s.log.Info("no capacity", "image", img.ID, "type", itype.Name, "reason", capErr.Error())
		return nil, cloud.InsufficientCapacity(capacityHint(capErr))
	}
	if err != nil {
		return nil, err
	}
	ids = ids[:len(hosts)]

	// Record them, with the token, in one commit.
	res := s.newReservation(who, in, img, itype, tags, ids, hosts)
	if token != nil {
		token.ReservationID = res.ID
		token.InstanceIDs = ids
	}
	existing, err := s.store.CreateInstances(res.Instances, token)
	if err != nil || existing != nil {
		s.fleet.release(ids)
	}
	if err != nil {
		return nil, fmt.Errorf("compute: record reservation: %w", err)
	}
	if existing != nil {
		return s.repeatReservation(existing, token.Fingerprint)
	}
	s.log.Info("instances recorded", "reservation", res.ID, "count", len(ids))

	for _, h := range hosts {
		s.ctrl.kick(h)
	}
	return res, nil
}

// checkRun validates a RunInstances request as EC2 does and returns the
// image, the instance type and the instance tags it names.
func (s *Service) checkRun(in *cloud.RunInstancesInput) (*cloud.Image, cloud.InstanceType, cloud.Tags, error) {
	var none cloud.InstanceType
	if in.ImageID == "" {
		return nil, none, nil, cloud.MissingParameter("ImageId")
	}
	if in.MinCount < 1 {
		return nil, none, nil, cloud.InvalidValue("MinCount", fmt.Sprint(in.MinCount),
			"Expected a positive integer.")
	}
	if in.MaxCount < in.MinCount {
		return nil, none, nil, cloud.InvalidValue("MaxCount", fmt.Sprint(in.MaxCount),
			"MaxCount must be greater than or equal to MinCount.")
	}
	if len(in.ClientToken) > maxTokenLen {
		return nil, none, nil, cloud.InvalidValue("ClientToken", in.ClientToken,
			"It must be at most 64 characters.")
	}

	typeName := in.InstanceType
	if typeName == "" {
		typeName = cloud.DefaultInstanceType
	}
	itype, ok := cloud.LookupInstanceType(typeName)
	if !ok {
		return nil, none, nil, cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
			"Invalid value '%s' for InstanceType.", typeName)
	}
	if in.AvailabilityZone != "" && !s.hasZone(in.AvailabilityZone) {
		return nil, none, nil, cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
			"Invalid availability zone: [%s]", in.AvailabilityZone)
	}
	if in.KeyName != "" {
		return nil, none, nil, cloud.Errorf("InvalidKeyPair.NotFound",
			"The key pair '%s' does not exist", in.KeyName)
	}

	tags, err := specTags(in.TagSpecifications, "instance")
	if err != nil {
		return nil, none, nil, err
	}
	img, err := s.image(in.ImageID)
	if err != nil {
		return nil, none, nil, err
	}
	if img.State != cloud.ImageAvailable {
		return nil, none, nil, cloud.Errorf("InvalidAMIID.Unavailable",
			"Image %s is not available (state %s)", img.ID, img.State)
	}
	return img, itype, tags, nil
}

// newReservation builds the pending instances of one RunInstances call.
func (s *Service) newReservation(who cloud.Caller, in *cloud.RunInstancesInput,
	img *cloud.Image, itype cloud.InstanceType, tags cloud.Tags, ids, hosts []string,
) *cloud.Reservation {
	now := s.now().UTC().Truncate(time.Second)
	res := &cloud.Reservation{ID: cloud.NewID(cloud.PrefixReservation), OwnerID: who.AccountID}
	for i, id := range ids {
		cfg := s.fleet.hosts[hosts[i]].cfg
		reason := cloud.ReasonPending
		res.Instances = append(res.Instances, &cloud.Instance{
			ID: id, ReservationID: res.ID, OwnerID: who.AccountID,
			ImageID: img.ID, InstanceType: itype.Name, LaunchIndex: i,
			LaunchTime: now, ClientToken: in.ClientToken, Tags: tags.Clone(),
			Architecture: img.Architecture, RootDeviceName: img.RootDeviceName,
			RootDeviceType: img.RootDeviceType,
			VCPUs:          itype.VCPUs, MemoryMiB: itype.MemoryMiB,
			State: cloud.StatePending, Desired: cloud.StateRunning,
			StateReason: &reason, StateChanged: now,
			Host: cfg.Name, AvailabilityZone: cfg.Zone,
			Datastore: cfg.Datastore, Network: cfg.Network,
		})
	}
	return res
}

// repeatReservation answers a RunInstances whose client token was used
// before: the original reservation when the parameters are the same,
// IdempotentParameterMismatch when they differ.
func (s *Service) repeatReservation(tok *store.ClientToken, fingerprint string) (*cloud.Reservation, error) {
	if tok.Fingerprint != fingerprint {
		return nil, cloud.Errorf(cloud.ErrCodeIdempotentParameterMismatch,
			"Arguments on this idempotent request are inconsistent with arguments used in previous request(s).")
	}
	insts, _, err := s.store.InstancesByID(tok.InstanceIDs)
	if err != nil {
		return nil, err
	}
	res := &cloud.Reservation{ID: tok.ReservationID, Instances: insts}
	if len(insts) > 0 {
		res.OwnerID = insts[0].OwnerID
	}
	return res, nil
}

// runFingerprint identifies the parameters of a RunInstances call, for
// comparing repeats of a client token.
func runFingerprint(in *cloud.RunInstancesInput) string {
	h := sha256.New()
	fmt.Fprintf(h, "%q %q %d %d %q %q %q\n", in.ImageID, in.InstanceType,
		in.MinCount, in.MaxCount, in.AvailabilityZone, in.KeyName, in.UserData)
	for _, spec := range in.TagSpecifications {
		fmt.Fprintf(h, "%q", spec.ResourceType)
		for _, t := range spec.Tags {
			fmt.Fprintf(h, " %q=%q", t.Key, t.Value)
		}
		fmt.Fprintln(h)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// capacityHint summarises why hosts were passed over, without naming them.
func capacityHint(err *scheduler.CapacityError) string {
	counts := map[scheduler.Reason]int{}
	var order []scheduler.Reason
	for _, r := range err.Rejected {
		if counts[r.Reason] == 0 {
			order = append(order, r.Reason)
		}
		counts[r.Reason]++
	}
	var parts []string
	for _, r := range order {
		parts = append(parts, fmt.Sprintf("%d host(s): %s", counts[r], r))
	}
	if len(parts) == 0 {
		return "No hosts are configured."
	}
	return fmt.Sprintf("%d of %d instances fit; %s.", err.Placed, err.Wanted,
		strings.Join(parts, "; "))
}

// hasZone reports whether any configured host is in zone.
func (s *Service) hasZone(zone string) bool {
	for _, z := range s.fleet.zones() {
		if z == zone {
			return true
		}
	}
	return false
}

// image returns the image with id, or the EC2 error for a malformed or
// unknown id.
func (s *Service) image(id string) (*cloud.Image, error) {
	if !cloud.ValidID(cloud.PrefixImage, id) {
		return nil, cloud.Errorf(cloud.ErrCodeInvalidAMIIDMalformed,
			"Invalid id: \"%s\" (expecting \"ami-...\")", id)
	}
	img, err := s.store.Image(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, cloud.Errorf(cloud.ErrCodeInvalidAMIIDNotFound,
			"The image id '[%s]' does not exist", id)
	}
	return img, err
}
