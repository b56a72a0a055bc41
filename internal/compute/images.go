package compute

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/hypervisor"
	"github.com/minicloud/minicloud/internal/store"
)

// ImageStore is the part of Store for the images users make. *store.DB
// implements it.
type ImageStore interface {
	CreateImage(img *cloud.Image) error
	CreateImageFrom(img *cloud.Image, instanceID string,
		change func(*cloud.Instance) error) (*cloud.Instance, error)
}

// imageFolder is the folder, on a host's datastore, that holds the
// templates minicloud makes: one folder per image, named after it.
const imageFolder = "minicloud-images"

// Limits EC2 sets on images.
const (
	minImageNameLen = 3
	maxImageNameLen = 128
	maxImageDescLen = 255
)

// imageTypes are the resource types the tag specifications of
// RegisterImage, CreateImage and CopyImage may name. Snapshot tags are
// accepted and dropped: minicloud's images have no snapshot apart from
// their template disk.
var imageTypes = map[string]bool{"image": true, "snapshot": true}

// architectures are the values EC2 takes for an image's architecture.
var architectures = map[string]bool{
	"i386": true, "x86_64": true, "arm64": true, "x86_64_mac": true, "arm64_mac": true,
}

// RegisterImage offers a template disk already on the hosts' datastores as
// an AMI owned by the caller. The image is pending until the controller
// has looked for the disk: available once a host has it, failed when no
// host that answers has it. Instances of it run only on hosts that have
// the disk.
func (s *Service) RegisterImage(ctx context.Context, in *cloud.RegisterImageInput) (string, error) {
	if err := checkImageText(in.Name, in.Description); err != nil {
		return "", err
	}
	if in.ImageLocation == "" {
		if in.HasSnapshot {
			return "", cloud.Errorf(cloud.ErrCodeUnsupported,
				"minicloud has no EBS snapshots: register a template disk by its ImageLocation, "+
					"as [datastore1] templates/x/x.vmdk.")
		}
		return "", cloud.MissingParameter("ImageLocation")
	}
	if err := checkTemplatePath(in.ImageLocation); err != nil {
		return "", err
	}
	arch := in.Architecture
	if arch == "" {
		arch = "x86_64"
	}
	if !architectures[arch] {
		return "", cloud.InvalidValue("Architecture", arch, "Expected x86_64 or arm64.")
	}
	if t := in.VirtualizationType; t != "" && t != "hvm" {
		return "", cloud.InvalidValue("VirtualizationType", t, "minicloud's VMs are hvm.")
	}
	tags, err := specTagsFor(in.TagSpecifications, imageTypes, "image")
	if err != nil {
		return "", err
	}
	if in.DryRun {
		return "", cloud.ErrDryRun
	}

	root := in.RootDeviceName
	if root == "" {
		root = "/dev/xvda"
	}
	img := &cloud.Image{
		ID: cloud.NewID(cloud.PrefixImage), Name: in.Name, Description: in.Description,
		OwnerID: caller(ctx).AccountID, State: cloud.ImagePending,
		CreationDate: s.now().UTC().Truncate(time.Millisecond), Tags: tags,
		Architecture: arch, RootDeviceName: root, RootDeviceType: "ebs",
		Location: in.ImageLocation,
	}
	if err := s.createImage(img, "", nil); err != nil {
		return "", err
	}
	s.log.Info("image registered", "image", img.ID, "location", img.Location)
	return img.ID, nil
}

// checkImageText applies EC2's rules for an image's name and description.
func checkImageText(name, desc string) error {
	if name == "" {
		return cloud.MissingParameter("Name")
	}
	ok := len(name) >= minImageNameLen && len(name) <= maxImageNameLen
	for _, r := range name {
		letter := 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
		if !letter && !strings.ContainsRune("()[] ./-'@_", r) {
			ok = false
		}
	}
	if !ok {
		return cloud.Errorf(cloud.ErrCodeInvalidAMINameMalformed,
			"AMI names must be between 3 and 128 characters long, and may contain letters, "+
				"numbers, '(', ')', '[', ']', ' ', '.', '/', '-', ''', '@' and '_'")
	}
	if len(desc) > maxImageDescLen {
		return cloud.InvalidValue("Description", desc, "Length must be at most 255 characters.")
	}
	return nil
}

// checkTemplatePath checks that p names a disk on a datastore.
func checkTemplatePath(p string) error {
	_, rel, err := hypervisor.SplitDatastorePath(p)
	bad := err != nil || !strings.HasSuffix(rel, ".vmdk") || strings.HasSuffix(rel, "-flat.vmdk")
	for _, elem := range strings.Split(rel, "/") {
		bad = bad || elem == ".." || elem == "."
	}
	if bad {
		return cloud.InvalidValue("ImageLocation", p,
			"Expected a template disk on a datastore, as [datastore1] templates/x/x.vmdk.")
	}
	return nil
}

// createImage stores a new image, changing the instance it is made from
// in the same transaction when change is given, and wakes the controller.
func (s *Service) createImage(img *cloud.Image, instanceID string, change func(*cloud.Instance) error) error {
	inst, err := s.store.CreateImageFrom(img, instanceID, change)
	var taken *store.NameTakenError
	switch {
	case errors.As(err, &taken):
		return cloud.Errorf(cloud.ErrCodeInvalidAMINameDuplicate,
			"AMI name %s is already in use by AMI %s", img.Name, taken.ImageID)
	case isNotFound(err):
		return cloud.InstancesNotFound([]string{instanceID})
	case err != nil:
		return storeError(err)
	}
	if inst != nil {
		s.fleet.track(inst)
		s.ctrl.kick(inst.Host)
	}
	s.imgs.kick()
	return nil
}

// CreateImage makes an AMI from an instance's boot disk. The answer comes
// at once with the image pending; the controller clones the disk into
// minicloud-images/IMAGE-ID on the instance's datastore, and the image is
// available on that host only. Without NoReboot a running instance is
// stopped first and started again afterwards; with NoReboot its disk is
// cloned while it runs, through a snapshot, so the copy is what a power
// cut would leave.
func (s *Service) CreateImage(ctx context.Context, in *cloud.CreateImageInput) (string, error) {
	if in.InstanceID == "" {
		return "", cloud.MissingParameter("InstanceId")
	}
	if err := checkInstanceIDs([]string{in.InstanceID}); err != nil {
		return "", err
	}
	if err := checkImageText(in.Name, in.Description); err != nil {
		return "", err
	}
	tags, err := specTagsFor(in.TagSpecifications, imageTypes, "image")
	if err != nil {
		return "", err
	}
	who := caller(ctx)
	inst, err := s.store.Instance(in.InstanceID)
	if isNotFound(err) || err == nil && (inst.OwnerID != who.AccountID || !s.visible(inst)) {
		return "", cloud.InstancesNotFound([]string{in.InstanceID})
	}
	if err != nil {
		return "", err
	}
	if err := s.checkImageSource(inst); err != nil {
		return "", err
	}
	if in.DryRun {
		return "", cloud.ErrDryRun
	}

	img := s.imageOf(inst, who.AccountID, in.Name, in.Description, tags)
	img.Job.NoReboot = in.NoReboot
	var change func(*cloud.Instance) error
	if inst.State == cloud.StateRunning && !in.NoReboot {
		img.Job.Stopped = true
		stop := stopTransition(false)
		now := cloud.UserInitiated(s.now())
		change = func(i *cloud.Instance) error {
			if i.State != cloud.StateRunning {
				return cloud.IncorrectState(i.ID)
			}
			i.StateChanged = s.now()
			return stop(i, now)
		}
	}
	if err := s.createImage(img, inst.ID, change); err != nil {
		return "", err
	}
	s.log.Info("image creation started", "image", img.ID, "instance", inst.ID,
		"no_reboot", in.NoReboot)
	return img.ID, nil
}

// checkImageSource refuses an instance an image cannot be made from now:
// one that is neither running nor stopped, or one another image is being
// made from.
func (s *Service) checkImageSource(inst *cloud.Instance) error {
	if inst.State != cloud.StateRunning && inst.State != cloud.StateStopped ||
		inst.Step != cloud.StepRegistered {
		return cloud.IncorrectState(inst.ID)
	}
	imgs, err := s.store.Images()
	if err != nil {
		return err
	}
	for _, img := range imgs {
		if img.SourceInstanceID == inst.ID && img.Job != nil && !img.Job.Cloned &&
			img.State == cloud.ImagePending {
			return cloud.IncorrectState(inst.ID)
		}
	}
	return nil
}

// imageOf returns the pending image CreateImage makes from inst, with the
// job that clones its boot disk.
func (s *Service) imageOf(inst *cloud.Instance, owner, name, desc string, tags cloud.Tags) *cloud.Image {
	id := cloud.NewID(cloud.PrefixImage)
	img := &cloud.Image{
		ID: id, Name: name, Description: desc, OwnerID: owner,
		State: cloud.ImagePending, CreationDate: s.now().UTC().Truncate(time.Millisecond),
		Tags: tags, Architecture: inst.Architecture, RootDeviceName: inst.RootDeviceName,
		RootDeviceType: "ebs", SourceInstanceID: inst.ID, Host: inst.Host, Managed: true,
		Location: imageTemplate(inst.Datastore, id),
		Job: &cloud.ImageJob{
			Host:   inst.Host,
			Source: "[" + inst.Datastore + "] " + inst.ID + "/" + inst.ID + ".vmdk",
		},
	}
	if src, err := s.store.Image(inst.ImageID); err == nil {
		img.GuestOS, img.Platform, img.VolumeSizeGiB = src.GuestOS, src.Platform, src.VolumeSizeGiB
		img.SourceImageID = src.ID
	}
	if img.RootDeviceName == "" {
		img.RootDeviceName = "/dev/xvda"
	}
	return img
}

// imageTemplate is where minicloud keeps the template of image id on a
// datastore: "[ds] minicloud-images/ami-0abc/ami-0abc.vmdk".
func imageTemplate(datastore, id string) string {
	return "[" + datastore + "] " + path.Join(imageFolder, id, id+".vmdk")
}

// CopyImage copies an image the caller can see into a new image it owns,
// in this region. The controller clones the template onto one host that
// holds the source, and the copy is available on that host.
func (s *Service) CopyImage(ctx context.Context, in *cloud.CopyImageInput) (string, error) {
	switch {
	case in.SourceImageID == "":
		return "", cloud.MissingParameter("SourceImageId")
	case in.SourceRegion == "":
		return "", cloud.MissingParameter("SourceRegion")
	case in.SourceRegion != s.opts.Region:
		return "", cloud.Errorf(cloud.ErrCodeInvalidParameterValue,
			"Invalid region: %s. minicloud serves %s only.", in.SourceRegion, s.opts.Region)
	case in.Encrypted:
		return "", cloud.Errorf(cloud.ErrCodeUnsupported,
			"minicloud's template disks are not encrypted.")
	}
	if err := checkImageText(in.Name, in.Description); err != nil {
		return "", err
	}
	tags, err := specTagsFor(in.TagSpecifications, imageTypes, "image")
	if err != nil {
		return "", err
	}
	who := caller(ctx)
	src, err := s.visibleImage(who.AccountID, in.SourceImageID)
	if err != nil {
		return "", err
	}
	if src.State != cloud.ImageAvailable {
		return "", cloud.Errorf(cloud.ErrCodeInvalidAMIIDUnavailable,
			"Image %s is not available (state %s)", src.ID, src.State)
	}
	if id, ok, err := s.copiedBefore(who.AccountID, in.ClientToken); ok || err != nil {
		return id, err
	}
	if in.DryRun {
		return "", cloud.ErrDryRun
	}

	img := src.Clone()
	img.ID, img.Name, img.Description = cloud.NewID(cloud.PrefixImage), in.Name, in.Description
	img.OwnerID, img.OwnerAlias, img.Public = who.AccountID, "", false
	img.State, img.CreationDate = cloud.ImagePending, s.now().UTC().Truncate(time.Millisecond)
	img.SourceImageID, img.SourceInstanceID, img.ClientToken = src.ID, "", in.ClientToken
	img.Location, img.Host, img.Managed, img.StateReason = "", "", true, nil
	img.Job = &cloud.ImageJob{Source: src.Location, Host: src.Host}
	img.Tags = nil
	img.AccountTags = nil
	if in.CopyImageTags {
		img.Tags = src.TagsFor(who.AccountID).Clone()
	}
	for k, v := range tags {
		if img.Tags == nil {
			img.Tags = cloud.Tags{}
		}
		img.Tags[k] = v
	}
	if err := s.createImage(img, "", nil); err != nil {
		return "", err
	}
	return img.ID, nil
}

// copiedBefore returns the image a CopyImage with the same client token
// made, if any.
func (s *Service) copiedBefore(account, token string) (string, bool, error) {
	if token == "" {
		return "", false, nil
	}
	imgs, err := s.store.Images()
	if err != nil {
		return "", false, err
	}
	for _, img := range imgs {
		if img.ClientToken == token && img.OwnerID == account {
			return img.ID, true, nil
		}
	}
	return "", false, nil
}

// visibleImage returns an image the account may see and launch: a public
// one or its own, not deregistered. Anything else is InvalidAMIID.NotFound.
func (s *Service) visibleImage(account, id string) (*cloud.Image, error) {
	img, err := s.image(id)
	if err != nil {
		return nil, err
	}
	if img.State == cloud.ImageDeregistered || !img.Public && img.OwnerID != account {
		return nil, cloud.Errorf(cloud.ErrCodeInvalidAMIIDNotFound,
			"The image id '[%s]' does not exist", id)
	}
	return img, nil
}

// DeregisterImage removes one of the caller's images. Instances launched
// from it keep running. The template of an image minicloud made
// (CreateImage, CopyImage) is deleted by the controller; a registered
// template is the operator's and stays where it is.
func (s *Service) DeregisterImage(ctx context.Context, in *cloud.DeregisterImageInput) error {
	if in.ImageID == "" {
		return cloud.MissingParameter("ImageId")
	}
	who := caller(ctx)
	img, err := s.visibleImage(who.AccountID, in.ImageID)
	if err != nil {
		return err
	}
	if !img.OwnedBy(who.AccountID) {
		return cloud.Errorf(cloud.ErrCodeAuthFailure, "Not authorized for image:%s", img.ID)
	}
	if in.DryRun {
		return cloud.ErrDryRun
	}

	_, err = s.store.UpdateImage(img.ID, func(i *cloud.Image) error {
		if i.State == cloud.ImageDeregistered {
			return cloud.Errorf(cloud.ErrCodeInvalidAMIIDNotFound,
				"The image id '[%s]' does not exist", i.ID)
		}
		i.State, i.Deregistered = cloud.ImageDeregistered, s.now().UTC()
		return nil
	})
	if err != nil {
		return fmt.Errorf("compute: deregister %s: %w", img.ID, err)
	}
	s.fleet.dropImage(img.ID)
	s.imgs.kick()
	s.log.Info("image deregistered", "image", img.ID, "managed", img.Managed)
	return nil
}
