package compute

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
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
	l, err := s.checkRun(ctx, in)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, cloud.ErrDryRun
	}
	who := caller(ctx)
	img, itype := l.image, l.itype

	// A client token seen before answers with the original reservation.
	var token *store.ClientToken
	if in.ClientToken != "" {
		fp, err := runFingerprint(in)
		if err != nil {
			return nil, err
		}
		token = &store.ClientToken{Key: who.AccountID + "/" + in.ClientToken, Fingerprint: fp}
	}

	// Place the instances, reserving their room on the chosen hosts.
	ids := make([]string, in.MaxCount)
	for i := range ids {
		ids[i] = cloud.NewID(cloud.PrefixInstance)
	}
	hosts, err := s.fleet.place(scheduler.Request{
		Min: in.MinCount, Max: in.MaxCount,
		VCPUs: itype.VCPUs, MemoryMiB: itype.MemoryMiB,
		Zone: l.net.zone, ImageID: img.ID,
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
	res := s.newReservation(who, in, l, ids, hosts)
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

// launch is what a valid RunInstances request launches.
type launch struct {
	image     *cloud.Image
	itype     cloud.InstanceType
	tags      cloud.Tags
	publicKey string // of the key pair KeyName names
	userData  []byte // decoded
	net       *runNetwork
}

// checkRun validates a RunInstances request as EC2 does and returns what
// it names: the image, the instance type, the instance tags, the key
// pair's public key and the user data.
func (s *Service) checkRun(ctx context.Context, in *cloud.RunInstancesInput) (*launch, error) {
	if in.ImageID == "" {
		return nil, cloud.MissingParameter("ImageId")
	}
	if in.MinCount < 1 {
		return nil, cloud.InvalidValue("MinCount", fmt.Sprint(in.MinCount),
			"Expected a positive integer.")
	}
	if in.MaxCount < in.MinCount {
		return nil, cloud.InvalidValue("MaxCount", fmt.Sprint(in.MaxCount),
			"MaxCount must be greater than or equal to MinCount.")
	}
	if len(in.ClientToken) > maxTokenLen {
		return nil, cloud.InvalidValue("ClientToken", in.ClientToken,
			"It must be at most 64 characters.")
	}
	if b := in.ShutdownBehavior; b != "" && b != cloud.ShutdownStop && b != cloud.ShutdownTerminate {
		return nil, cloud.InvalidValue("InstanceInitiatedShutdownBehavior", b,
			"Valid values are stop and terminate.")
	}

	l := &launch{}
	typeName := in.InstanceType
	if typeName == "" {
		typeName = cloud.DefaultInstanceType
	}
	var ok bool
	if l.itype, ok = cloud.LookupInstanceType(typeName); !ok {
		return nil, cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
			"Invalid value '%s' for InstanceType.", typeName)
	}
	if in.AvailabilityZone != "" && !s.hasZone(in.AvailabilityZone) {
		return nil, cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
			"Invalid availability zone: [%s]", in.AvailabilityZone)
	}
	var err error
	if l.userData, err = decodeUserData(in.UserData); err != nil {
		return nil, err
	}
	if in.KeyName != "" {
		if l.publicKey, err = s.launchKey(ctx, in.KeyName); err != nil {
			return nil, err
		}
	}

	if l.tags, err = specTags(in.TagSpecifications, "instance"); err != nil {
		return nil, err
	}
	if l.image, err = s.image(in.ImageID); err != nil {
		return nil, err
	}
	if l.image.State != cloud.ImageAvailable {
		return nil, cloud.Errorf("InvalidAMIID.Unavailable",
			"Image %s is not available (state %s)", l.image.ID, l.image.State)
	}
	l.net, err = s.checkRunNetwork(ctx, in)
	return l, err
}

// decodeUserData decodes RunInstances' base64 user data, which may be
// wrapped in lines and may lack its padding, and enforces EC2's 16 KB
// limit on the decoded bytes.
func decodeUserData(b64 string) ([]byte, error) {
	if b64 == "" {
		return nil, nil
	}
	clean := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' {
			return -1
		}
		return r
	}, b64)
	data, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		if data, err = base64.RawStdEncoding.DecodeString(clean); err != nil {
			return nil, cloud.Errorf(ErrCodeInvalidUserDataMalformed,
				"Invalid BASE64 encoding of user data.")
		}
	}
	if len(data) > cloud.MaxUserData {
		return nil, userDataTooLarge()
	}
	return data, nil
}

// ErrCodeInvalidUserDataMalformed is EC2's code for user data that is
// not base64.
const ErrCodeInvalidUserDataMalformed = "InvalidUserData.Malformed"

// newReservation builds the pending instances of one RunInstances call.
func (s *Service) newReservation(who cloud.Caller, in *cloud.RunInstancesInput,
	l *launch, ids, hosts []string,
) *cloud.Reservation {
	img, itype := l.image, l.itype
	now := s.now().UTC().Truncate(time.Second)
	res := &cloud.Reservation{ID: cloud.NewID(cloud.PrefixReservation), OwnerID: who.AccountID}
	for i, id := range ids {
		cfg := s.fleet.hosts[hosts[i]].cfg
		reason := cloud.ReasonPending
		res.Instances = append(res.Instances, &cloud.Instance{
			ID: id, ReservationID: res.ID, OwnerID: who.AccountID,
			ImageID: img.ID, InstanceType: itype.Name, LaunchIndex: i,
			LaunchTime: now, ClientToken: in.ClientToken, Tags: l.tags.Clone(),
			KeyName: in.KeyName, PublicKey: l.publicKey, UserData: l.userData,
			DisableAPITermination: in.DisableAPITermination,
			DisableAPIStop:        in.DisableAPIStop, ShutdownBehavior: in.ShutdownBehavior,
			Architecture: img.Architecture, RootDeviceName: img.RootDeviceName,
			RootDeviceType: img.RootDeviceType,
			VCPUs:          itype.VCPUs, MemoryMiB: itype.MemoryMiB,
			State: cloud.StatePending, Desired: cloud.StateRunning,
			StateReason: &reason, StateChanged: now,
			Host: cfg.Name, AvailabilityZone: cfg.Zone,
			Datastore: cfg.Datastore, Network: cfg.Network,
		})
	}
	s.attach(l.net, res.Instances)
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
// comparing repeats of a client token. It covers every field of the
// request but the token itself and DryRun, so a parameter added to
// RunInstancesInput is covered without further work.
func runFingerprint(in *cloud.RunInstancesInput) (string, error) {
	params := *in
	params.ClientToken, params.DryRun = "", false
	b, err := json.Marshal(&params)
	if err != nil {
		return "", fmt.Errorf("compute: fingerprint run request: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
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
	if errors.Is(err, store.ErrNotFound) || err == nil && img.State == cloud.ImageDeregistered {
		return nil, cloud.Errorf(cloud.ErrCodeInvalidAMIIDNotFound,
			"The image id '[%s]' does not exist", id)
	}
	return img, err
}
