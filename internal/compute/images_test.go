package compute_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/compute"
	"github.com/minicloud/minicloud/internal/store"
)

// image returns the stored image.
func (e *env) image(id string) *cloud.Image {
	e.t.Helper()
	img, err := e.db.Image(id)
	if err != nil {
		e.t.Fatal(err)
	}
	return img
}

// waitImage polls until the image is in state.
func (e *env) waitImage(id string, state cloud.ImageState) *cloud.Image {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		img := e.image(id)
		if img.State == state {
			return img
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for image %s to be %s; it is %s (%+v)", id, state, img.State, img.StateReason)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hasFile reports whether path exists on the i-th host.
func (e *env) hasFile(i int, path string) bool {
	e.t.Helper()
	return strings.TrimSpace(e.sh(i, "if [ -e '"+path+"' ]; then echo yes; else echo no; fi")) == "yes"
}

// TestService_RegisterImage registers a template that only the second
// host has: the image becomes available, and every instance of it runs on
// that host. A template no host has fails.
func TestService_RegisterImage(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.sh(1, "mkdir -p /vmfs/volumes/datastore1/templates/only2 && vmkfstools -i "+
		"/vmfs/volumes/datastore1/templates/debian-12/debian-12.vmdk "+
		"/vmfs/volumes/datastore1/templates/only2/only2.vmdk -d thin")
	const location = "[datastore1] templates/only2/only2.vmdk"

	id, err := e.svc.RegisterImage(ctx, &cloud.RegisterImageInput{Name: "only-two", ImageLocation: location,
		Description: "on esxi-2 alone"})
	if err != nil {
		t.Fatal(err)
	}
	img := e.waitImage(id, cloud.ImageAvailable)
	if img.OwnerID != cloud.DefaultAccountID || img.Public || img.Managed || img.Architecture != "x86_64" {
		t.Errorf("registered image = %+v", img)
	}
	ids := e.runInstances(4, func(in *cloud.RunInstancesInput) { in.ImageID = id })
	for _, inst := range ids {
		if h := e.instance(inst).Host; h != "esxi-2" {
			t.Errorf("instance %s of a template only esxi-2 has is on %s", inst, h)
		}
	}
	e.waitState(cloud.StateRunning, ids...)
	_, err = e.svc.RunInstances(ctx, &cloud.RunInstancesInput{ImageID: id, InstanceType: "t3.micro",
		MinCount: 1, MaxCount: 1, AvailabilityZone: "us-east-1a"})
	wantCode(t, err, cloud.ErrCodeInsufficientCapacity)

	t.Run("Nowhere", func(t *testing.T) {
		id, err := e.svc.RegisterImage(ctx, &cloud.RegisterImageInput{Name: "ghost",
			ImageLocation: "[datastore1] templates/ghost/ghost.vmdk"})
		if err != nil {
			t.Fatal(err)
		}
		img := e.waitImage(id, cloud.ImageFailed)
		if img.StateReason == nil || !strings.Contains(img.StateReason.Message, "no host has") {
			t.Errorf("state reason = %+v", img.StateReason)
		}
		_, err = e.svc.RunInstances(ctx, &cloud.RunInstancesInput{ImageID: id, MinCount: 1, MaxCount: 1})
		wantCode(t, err, cloud.ErrCodeInvalidAMIIDUnavailable)
	})

	t.Run("Errors", func(t *testing.T) {
		tests := []struct {
			name string
			in   cloud.RegisterImageInput
			code string
		}{
			{"Duplicate", cloud.RegisterImageInput{Name: "only-two", ImageLocation: location},
				cloud.ErrCodeInvalidAMINameDuplicate},
			{"NoName", cloud.RegisterImageInput{ImageLocation: location}, cloud.ErrCodeMissingParameter},
			{"ShortName", cloud.RegisterImageInput{Name: "ab", ImageLocation: location}, cloud.ErrCodeInvalidAMINameMalformed},
			{"BadName", cloud.RegisterImageInput{Name: "a*b", ImageLocation: location}, cloud.ErrCodeInvalidAMINameMalformed},
			{"NoLocation", cloud.RegisterImageInput{Name: "abc"}, cloud.ErrCodeMissingParameter},
			{"Snapshot", cloud.RegisterImageInput{Name: "abc", HasSnapshot: true}, cloud.ErrCodeUnsupported},
			{"NotADatastorePath", cloud.RegisterImageInput{Name: "abc", ImageLocation: "/tmp/x.vmdk"},
				cloud.ErrCodeInvalidParameterValue},
			{"LeavesDatastore", cloud.RegisterImageInput{Name: "abc", ImageLocation: "[ds] ../x.vmdk"},
				cloud.ErrCodeInvalidParameterValue},
			{"NotADisk", cloud.RegisterImageInput{Name: "abc", ImageLocation: "[ds] x/x.vmx"},
				cloud.ErrCodeInvalidParameterValue},
			{"Architecture", cloud.RegisterImageInput{Name: "abc", ImageLocation: location, Architecture: "sparc"},
				cloud.ErrCodeInvalidParameterValue},
			{"DryRun", cloud.RegisterImageInput{Name: "abc", ImageLocation: location, DryRun: true},
				cloud.ErrCodeDryRunOperation},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := e.svc.RegisterImage(ctx, &tt.in)
				wantCode(t, err, tt.code)
			})
		}
	})

	t.Run("Deregister", func(t *testing.T) {
		if err := e.svc.DeregisterImage(ctx, &cloud.DeregisterImageInput{ImageID: id}); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.RunInstances(ctx, &cloud.RunInstancesInput{ImageID: id, MinCount: 1, MaxCount: 1})
		wantCode(t, err, cloud.ErrCodeInvalidAMIIDNotFound)
		err = e.svc.DeregisterImage(ctx, &cloud.DeregisterImageInput{ImageID: id})
		wantCode(t, err, cloud.ErrCodeInvalidAMIIDNotFound)

		// The instances keep running, and the operator's template stays.
		time.Sleep(300 * time.Millisecond)
		if !e.hasFile(1, "/vmfs/volumes/datastore1/templates/only2/only2.vmdk") {
			t.Error("deregistering a registered image deleted its template")
		}
		if st := e.instance(ids[0]).State; st != cloud.StateRunning {
			t.Errorf("an instance of the deregistered image is %s", st)
		}

		// The name is free again.
		if _, err := e.svc.RegisterImage(ctx, &cloud.RegisterImageInput{Name: "only-two",
			ImageLocation: location}); err != nil {
			t.Errorf("register the name again: %v", err)
		}

		// minicloud's configured images are the operator's.
		err = e.svc.DeregisterImage(ctx, &cloud.DeregisterImageInput{ImageID: e.imageID()})
		wantCode(t, err, cloud.ErrCodeAuthFailure)
	})
}

// TestService_CreateImage makes an image of a running instance, which is
// stopped for the copy and started again; then one with NoReboot, which
// keeps running; then launches the image, which runs on the host that
// holds it, and deregisters it, which deletes the template.
func TestService_CreateImage(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	src := e.runInstances(1, nil)[0]
	e.waitState(cloud.StateRunning, src)
	h := e.simIndex(src)
	vmid := e.instance(src).VMID

	// Without NoReboot the instance stops at once, and starts again.
	id, err := e.svc.CreateImage(ctx, &cloud.CreateImageInput{InstanceID: src, Name: "web-v1",
		Description: "web server", TagSpecifications: []cloud.TagSpecification{
			{ResourceType: "image", Tags: []cloud.Tag{{Key: "v", Value: "1"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if st := e.instance(src).State; st != cloud.StateStopping {
		t.Errorf("instance is %s right after CreateImage, want stopping", st)
	}
	if img := e.image(id); img.State != cloud.ImagePending || img.Tags["v"] != "1" {
		t.Errorf("image right after CreateImage: %+v", img)
	}
	img := e.waitImage(id, cloud.ImageAvailable)
	e.waitState(cloud.StateRunning, src)
	template := "/vmfs/volumes/datastore1/minicloud-images/" + id + "/" + id + ".vmdk"
	if !e.hasFile(h, template) || img.Host != e.hosts[h].Name || img.SourceInstanceID != src ||
		img.VolumeSizeGiB != 8 || img.GuestOS != "debian12_64Guest" {
		t.Errorf("image %+v, template on host: %v", img, e.hasFile(h, template))
	}

	// An instance of the image runs on the host that holds its template.
	ids := e.runInstances(2, func(in *cloud.RunInstancesInput) { in.ImageID = id })
	e.waitState(cloud.StateRunning, ids...)
	for _, i := range ids {
		if e.simIndex(i) != h {
			t.Errorf("instance %s of %s is not on %s", i, id, e.hosts[h].Name)
		}
	}

	t.Run("NoReboot", func(t *testing.T) {
		id2, err := e.svc.CreateImage(ctx, &cloud.CreateImageInput{InstanceID: src, Name: "web-v2", NoReboot: true})
		if err != nil {
			t.Fatal(err)
		}
		changed := e.instance(src).StateChanged
		e.waitImage(id2, cloud.ImageAvailable)
		if inst := e.instance(src); inst.State != cloud.StateRunning || !inst.StateChanged.Equal(changed) {
			t.Errorf("with NoReboot the instance went %s at %v", inst.State, inst.StateChanged)
		}
		if snaps := e.sh(h, "vim-cmd vmsvc/snapshot.get "+vmid); strings.TrimSpace(snaps) != "Get Snapshot:" {
			t.Errorf("the snapshot of the copy is still there:\n%s", snaps)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		tests := []struct {
			name string
			in   cloud.CreateImageInput
			code string
		}{
			{"Duplicate", cloud.CreateImageInput{InstanceID: src, Name: "web-v1"}, cloud.ErrCodeInvalidAMINameDuplicate},
			{"NoInstance", cloud.CreateImageInput{Name: "x-1"}, cloud.ErrCodeMissingParameter},
			{"Malformed", cloud.CreateImageInput{InstanceID: "i-x", Name: "x-1"}, cloud.ErrCodeInvalidInstanceIDMalformed},
			{"Unknown", cloud.CreateImageInput{InstanceID: "i-0123456789abcdef0", Name: "x-1"},
				cloud.ErrCodeInvalidInstanceIDNotFound},
			{"OtherAccount", cloud.CreateImageInput{InstanceID: src, Name: "x-1"}, cloud.ErrCodeInvalidInstanceIDNotFound},
			{"BadName", cloud.CreateImageInput{InstanceID: src, Name: "x"}, cloud.ErrCodeInvalidAMINameMalformed},
			{"DryRun", cloud.CreateImageInput{InstanceID: src, Name: "x-1", DryRun: true}, cloud.ErrCodeDryRunOperation},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := ctx
				if tt.name == "OtherAccount" {
					c = asAccount("210987654321")
				}
				_, err := e.svc.CreateImage(c, &tt.in)
				wantCode(t, err, tt.code)
			})
		}

		// A terminated instance has no disk to copy.
		if _, err := e.svc.TerminateInstances(ctx, &cloud.InstanceIDsInput{InstanceIDs: ids[1:]}); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.CreateImage(ctx, &cloud.CreateImageInput{InstanceID: ids[1], Name: "x-1"})
		wantCode(t, err, cloud.ErrCodeIncorrectInstanceState)
	})

	t.Run("Stopped", func(t *testing.T) {
		if _, err := e.svc.StopInstances(ctx, &cloud.StopInstancesInput{InstanceIDs: ids[:1]}); err != nil {
			t.Fatal(err)
		}
		e.waitState(cloud.StateStopped, ids[0])
		id3, err := e.svc.CreateImage(ctx, &cloud.CreateImageInput{InstanceID: ids[0], Name: "web-v3"})
		if err != nil {
			t.Fatal(err)
		}
		e.waitImage(id3, cloud.ImageAvailable)
		time.Sleep(200 * time.Millisecond)
		if st := e.instance(ids[0]).State; st != cloud.StateStopped {
			t.Errorf("a stopped instance is %s after CreateImage", st)
		}
	})

	t.Run("Deregister", func(t *testing.T) {
		if err := e.svc.DeregisterImage(ctx, &cloud.DeregisterImageInput{ImageID: id}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for e.hasFile(h, "/vmfs/volumes/datastore1/minicloud-images/"+id) {
			if time.Now().After(deadline) {
				t.Fatal("the template of a deregistered image is still there")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if st := e.instance(ids[0]).State; st != cloud.StateStopped {
			t.Errorf("an instance of the deregistered image is %s", st)
		}
		page, err := e.svc.DescribeImages(ctx, &cloud.DescribeImagesInput{Owners: []string{"self"}})
		imgs := imagesOf(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, img := range imgs {
			if img.ID == id {
				t.Error("DescribeImages lists the deregistered image")
			}
		}
		if len(imgs) != 2 {
			t.Errorf("the caller owns %d images, want the two left", len(imgs))
		}
	})
}

// TestService_CopyImage copies minicloud's image into one the caller
// owns, on one host, and removes the copy's template on deregistration.
func TestService_CopyImage(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	id, err := e.svc.CopyImage(ctx, &cloud.CopyImageInput{SourceImageID: e.imageID(),
		SourceRegion: "us-east-1", Name: "my-debian", ClientToken: "copy-1"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.svc.CopyImage(ctx, &cloud.CopyImageInput{SourceImageID: e.imageID(),
		SourceRegion: "us-east-1", Name: "my-debian", ClientToken: "copy-1"})
	if err != nil || again != id {
		t.Errorf("a repeat with the same client token = %s, %v; want %s", again, err, id)
	}
	img := e.waitImage(id, cloud.ImageAvailable)
	if img.SourceImageID != e.imageID() || img.OwnerAlias != "" || img.Public || img.Host == "" {
		t.Errorf("copy = %+v", img)
	}
	h := 0
	if img.Host == "esxi-2" {
		h = 1
	}
	if !e.hasFile(h, "/vmfs/volumes/datastore1/minicloud-images/"+id+"/"+id+".vmdk") {
		t.Error("the copy's template is not on its host")
	}

	for _, tt := range []struct {
		name string
		in   cloud.CopyImageInput
		code string
	}{
		{"Region", cloud.CopyImageInput{SourceImageID: e.imageID(), SourceRegion: "eu-west-1", Name: "x-1"},
			cloud.ErrCodeInvalidParameterValue},
		{"NoRegion", cloud.CopyImageInput{SourceImageID: e.imageID(), Name: "x-1"}, cloud.ErrCodeMissingParameter},
		{"Unknown", cloud.CopyImageInput{SourceImageID: "ami-0123456789abcdef0", SourceRegion: "us-east-1", Name: "x-1"},
			cloud.ErrCodeInvalidAMIIDNotFound},
		{"Encrypted", cloud.CopyImageInput{SourceImageID: e.imageID(), SourceRegion: "us-east-1", Name: "x-1",
			Encrypted: true},
			cloud.ErrCodeUnsupported},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.CopyImage(ctx, &tt.in)
			wantCode(t, err, tt.code)
		})
	}

	if err := e.svc.DeregisterImage(ctx, &cloud.DeregisterImageInput{ImageID: id}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.hasFile(h, "/vmfs/volumes/datastore1/minicloud-images/"+id) {
		if time.Now().After(deadline) {
			t.Fatal("the copy's template is still there")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !e.hasFile(h, "/vmfs/volumes/datastore1/templates/debian-12/debian-12.vmdk") {
		t.Error("deregistering the copy removed the source's template")
	}
}

// TestService_DescribeImagesOwners checks the owners and executable users
// minicloud's configured images and a user's images answer to.
func TestService_DescribeImagesOwners(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	mine, err := e.svc.RegisterImage(ctx, &cloud.RegisterImageInput{Name: "mine",
		ImageLocation: "[datastore1] templates/debian-12/debian-12.vmdk"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		owners, users []string
		want          []string
	}{
		{nil, nil, []string{e.imageID(), mine}},
		{[]string{"self"}, nil, []string{mine}},
		{[]string{"amazon"}, nil, []string{e.imageID()}},
		{[]string{"minicloud"}, nil, []string{e.imageID()}},
		{[]string{cloud.DefaultAccountID}, nil, []string{mine}},
		{nil, []string{"all"}, []string{e.imageID()}},
		{nil, []string{"self"}, []string{e.imageID(), mine}},
	}
	for _, tt := range tests {
		page, err := e.svc.DescribeImages(ctx, &cloud.DescribeImagesInput{Owners: tt.owners, ExecutableUsers: tt.users})
		imgs := imagesOf(page)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, img := range imgs {
			got = append(got, img.ID)
		}
		if !sameSet(got, tt.want) {
			t.Errorf("owners %v users %v: %v, want %v", tt.owners, tt.users, got, tt.want)
		}
	}
	page, err := e.svc.DescribeImages(asAccount("210987654321"), &cloud.DescribeImagesInput{})
	other := imagesOf(page)
	if err != nil || len(other) != 1 || other[0].ID != e.imageID() {
		t.Errorf("another account sees %+v, %v", other, err)
	}
}

// TestService_DescribeImagesByID names each image by its id: only that
// image is listed, whichever order the store keeps the images in.
func TestService_DescribeImagesByID(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	ids := []string{e.imageID()}
	for _, name := range []string{"first", "second"} {
		id, err := e.svc.RegisterImage(ctx, &cloud.RegisterImageInput{Name: name,
			ImageLocation: "[datastore1] templates/debian-12/debian-12.vmdk"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		page, err := e.svc.DescribeImages(ctx, &cloud.DescribeImagesInput{ImageIDs: []string{id}})
		imgs := imagesOf(page)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, img := range imgs {
			got = append(got, img.ID)
		}
		if want := []string{id}; !sameSet(got, want) {
			t.Errorf("DescribeImages %s: got %v, want %v", id, got, want)
		}
	}
}

// sameSet reports whether a and b hold the same strings.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

// TestService_EnsureImagesBesideRegistered configures a template a user
// registered first: minicloud still offers its own image of it.
func TestService_EnsureImagesBesideRegistered(t *testing.T) {
	e := newEnv(t, envOptions{})
	const location = "[datastore1] templates/debian-12/debian-12.vmdk"
	if _, err := e.svc.RegisterImage(context.Background(), &cloud.RegisterImageInput{
		Name: "users-debian", ImageLocation: "[datastore1] templates/tmpl2/tmpl2.vmdk"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RegisterImage(context.Background(), &cloud.RegisterImageInput{
		Name: "also-debian", ImageLocation: location}); err != nil {
		t.Fatal(err)
	}
	err := e.svc.EnsureImages([]compute.ImageConfig{
		{Name: "debian-12", Location: location},
		{Name: "tmpl2", Location: "[datastore1] templates/tmpl2/tmpl2.vmdk"},
	})
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := e.db.Images()
	if err != nil {
		t.Fatal(err)
	}
	offered := map[string]int{}
	for _, img := range imgs {
		if img.OwnerAlias == cloud.OwnerAliasMinicloud {
			offered[img.Location]++
		}
	}
	if offered[location] != 1 || offered["[datastore1] templates/tmpl2/tmpl2.vmdk"] != 1 {
		t.Errorf("minicloud's images by location: %v", offered)
	}
}

// imagesOf returns the images of a DescribeImages page, none for nil.
func imagesOf(page *cloud.DescribeImagesOutput) []*cloud.Image {
	if page == nil {
		return nil
	}
	return page.Images
}

// TestService_DeregisteredLeaveTheStore checks that a deregistered image
// leaves the state file once TerminatedTTL has passed and no stored
// instance names it, and not before.
func TestService_DeregisteredLeaveTheStore(t *testing.T) {
	const ttl = 400 * time.Millisecond
	e := newEnv(t, envOptions{hosts: 1, opts: func(o *compute.Options) { o.TerminatedTTL = ttl }})
	ctx := context.Background()
	const location = "[datastore1] templates/debian-12/debian-12.vmdk"
	var imgs []string
	for _, name := range []string{"in-use", "unused"} {
		id, err := e.svc.RegisterImage(ctx, &cloud.RegisterImageInput{Name: name, ImageLocation: location})
		if err != nil {
			t.Fatal(err)
		}
		e.waitImage(id, cloud.ImageAvailable)
		imgs = append(imgs, id)
	}
	inst := e.runInstances(1, func(in *cloud.RunInstancesInput) { in.ImageID = imgs[0] })
	e.waitState(cloud.StateRunning, inst...)
	for _, id := range imgs {
		if err := e.svc.DeregisterImage(ctx, &cloud.DeregisterImageInput{ImageID: id}); err != nil {
			t.Fatal(err)
		}
	}

	// gone waits until the image has left the store.
	gone := func(id string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := e.db.Image(id)
			if errors.Is(err, store.ErrNotFound) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("deregistered image %s still stored 10s after its TTL: %v", id, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	gone(imgs[1])
	time.Sleep(2 * ttl) // more sweeps, none of which may take the image in use
	if _, err := e.db.Image(imgs[0]); err != nil {
		t.Fatalf("the image of a stored instance: %v", err)
	}
	if got := e.instance(inst[0]).ImageID; got != imgs[0] {
		t.Errorf("instance image = %s", got)
	}

	// Once its instance has gone too, so does the image.
	if _, err := e.svc.TerminateInstances(ctx, &cloud.InstanceIDsInput{InstanceIDs: inst}); err != nil {
		t.Fatal(err)
	}
	gone(imgs[0])
}
