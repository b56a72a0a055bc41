package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/minicloud/minicloud/internal/hypervisor"
)

// hostileFolder is a template folder's name that breaks careless quoting
// of a datastore path: it holds no slash, since it is one path element,
// so its commands touch markerName in the folder the shell runs in.
const hostileFolder = "it's $(touch " + markerName + ") `touch " + markerName + "` \"q\" " +
	"[a-z] * ? |22 \\ # new\nline"

// templatePath copies the template into a folder with a hostile name,
// registers it as an image and waits until minicloud has found it on the
// host, through the host's shell.
func (in *injection) templatePath(t *testing.T) {
	ctx := context.Background()
	src := "/vmfs/volumes/datastore1/templates/debian-12/debian-12.vmdk"
	dir := "/vmfs/volumes/datastore1/templates/" + hostileFolder
	var out, errOut strings.Builder
	cmd := "mkdir -p " + hypervisor.Quote(dir) + " && vmkfstools -i " + hypervisor.Quote(src) +
		" " + hypervisor.Quote(dir+"/debian-12.vmdk") + " -d thin"
	if st := in.host.Sim.Exec(ctx, cmd, nil, &out, &errOut); st != 0 {
		t.Fatalf("copy the template: exit %d: %s%s", st, out.String(), errOut.String())
	}

	location := "[datastore1] templates/" + hostileFolder + "/debian-12.vmdk"
	name := "it's [a-z] (template) @ ./_-"
	reg, err := in.c.RegisterImage(ctx, &ec2.RegisterImageInput{
		Name: aws.String(name), ImageLocation: aws.String(location),
		Description: aws.String(hostile(in.mark)[0]),
	})
	if err != nil {
		t.Fatal(err)
	}
	img := in.waitImage(t, *reg.ImageId, types.ImageStateAvailable)
	if *img.Name != name || *img.ImageLocation != location ||
		*img.Description != hostile(in.mark)[0] {
		t.Errorf("image reads back as %q at %q (%q), want %q at %q", *img.Name,
			*img.ImageLocation, *img.Description, name, location)
	}
	in.ami = *reg.ImageId
}

// waitImage waits until the image is in state, failing t if it settles in
// another or takes too long, and returns it.
func (in *injection) waitImage(t *testing.T, id string, state types.ImageState) types.Image {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := in.c.DescribeImages(context.Background(), &ec2.DescribeImagesInput{
			ImageIds: []string{id},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Images) != 1 {
			var got []string
			for _, img := range out.Images {
				got = append(got, fmt.Sprintf("%s %q at %q (%s)", *img.ImageId,
					aws.ToString(img.Name), aws.ToString(img.ImageLocation), img.State))
			}
			t.Fatalf("DescribeImages %s lists %d images: %s", id, len(out.Images),
				strings.Join(got, "; "))
		}
		img := out.Images[0]
		switch {
		case img.State == state:
			return img
		case img.State != types.ImageStatePending || time.Now().After(deadline):
			t.Fatalf("image %s is %s, want %s (%v)", id, img.State, state, img.StateReason)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// launch runs an instance of the hostile template carrying every hostile
// value, waits until it runs, and reads each value back.
func (in *injection) launch(t *testing.T) {
	ctx := context.Background()
	values := hostile(in.mark)
	for i, v := range values {
		in.tags = append(in.tags, types.Tag{Key: aws.String(v),
			Value: aws.String(values[(i+1)%len(values)])})
	}
	in.userData = []byte(strings.Join(values, "\n") + "\x00\xff\xfe binary")
	token := "$(touch " + in.mark + "/t)`touch " + in.mark + "/u`'\"\\\n*?|"
	if len(token) > 64 {
		t.Fatalf("the client token %q is longer than EC2's 64 characters", token)
	}
	run := &ec2.RunInstancesInput{
		ImageId: aws.String(in.ami), InstanceType: types.InstanceTypeT3Nano,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		KeyName: aws.String(in.keyName), SecurityGroupIds: []string{in.group},
		UserData:    aws.String(base64.StdEncoding.EncodeToString(in.userData)),
		ClientToken: aws.String(token),
		TagSpecifications: []types.TagSpecification{
			{ResourceType: types.ResourceTypeInstance, Tags: in.tags},
		},
	}
	out, err := in.c.RunInstances(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	in.instance = *out.Instances[0].InstanceId
	w := ec2.NewInstanceRunningWaiter(in.c, func(o *ec2.InstanceRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 500*time.Millisecond
	})
	if err := w.Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{in.instance}},
		time.Minute); err != nil {
		t.Fatalf("waiting for %s: %v", in.instance, err)
	}

	// The same call again is the same launch.
	again, err := in.c.RunInstances(ctx, run)
	if err != nil || *again.Instances[0].InstanceId != in.instance {
		t.Errorf("RunInstances again with client token %q: %v, %v", token, again, err)
	}
	in.readBack(t, token)
}

// readBack checks that the instance's tags, key name, group, client token
// and user data read back exactly.
func (in *injection) readBack(t *testing.T, token string) {
	ctx := context.Background()
	out, err := in.c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
		InstanceIds: []string{in.instance},
	})
	if err != nil {
		t.Fatal(err)
	}
	inst := out.Reservations[0].Instances[0]
	if got, want := tagMap(inst.Tags), tagMap(in.tags); !equalMaps(got, want) {
		t.Errorf("tags read back as %q, want %q", got, want)
	}
	if *inst.KeyName != in.keyName {
		t.Errorf("key name reads back as %q, want %q", *inst.KeyName, in.keyName)
	}
	if len(inst.SecurityGroups) != 1 || *inst.SecurityGroups[0].GroupId != in.group {
		t.Errorf("groups read back as %+v, want %s", inst.SecurityGroups, in.group)
	}
	if aws.ToString(inst.ClientToken) != token {
		t.Errorf("client token reads back as %q, want %q", aws.ToString(inst.ClientToken), token)
	}
	if got := in.userDataAttr(t); !bytes.Equal(got, in.userData) {
		t.Errorf("user data reads back as %q, want %q", got, in.userData)
	}
}

// userDataAttr returns the instance's user data, decoded, as
// DescribeInstanceAttribute gives it.
func (in *injection) userDataAttr(t *testing.T) []byte {
	t.Helper()
	attr, err := in.c.DescribeInstanceAttribute(context.Background(),
		&ec2.DescribeInstanceAttributeInput{
			InstanceId: aws.String(in.instance), Attribute: types.InstanceAttributeNameUserData,
		})
	if err != nil {
		t.Fatal(err)
	}
	if attr.UserData == nil || attr.UserData.Value == nil {
		return nil
	}
	data, err := base64.StdEncoding.DecodeString(*attr.UserData.Value)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// tagMap returns tags as a map.
func tagMap(tags []types.Tag) map[string]string {
	m := map[string]string{}
	for _, tag := range tags {
		m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return m
}

// equalMaps reports whether a and b hold the same pairs.
func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// filters finds the instance by each of its hostile tags, as keys and as
// values, and finds nothing by a hostile value it does not carry. Filter
// values are patterns, so the values are escaped as EC2 asks: a
// backslash before each '*', '?' and '\'.
func (in *injection) filters(t *testing.T) {
	ctx := context.Background()
	literal := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`).Replace
	for _, tag := range in.tags {
		key, value := *tag.Key, *tag.Value
		for _, f := range []types.Filter{
			{Name: aws.String("tag:" + key), Values: []string{literal(value)}},
			{Name: aws.String("tag-key"), Values: []string{literal(key)}},
			{Name: aws.String("tag-value"), Values: []string{literal(value)}},
		} {
			out, err := in.c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
				Filters: []types.Filter{f},
			})
			if err != nil {
				t.Fatalf("filter %q = %q: %v", *f.Name, f.Values[0], err)
			}
			if ids := instanceIDs(out); len(ids) != 1 || ids[0] != in.instance {
				t.Errorf("filter %q = %q finds %v, want %s", *f.Name, f.Values[0], ids, in.instance)
			}
		}
		tags, err := in.c.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{
			{Name: aws.String("key"), Values: []string{literal(key)}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if len(tags.Tags) != 1 || *tags.Tags[0].Value != value {
			t.Errorf("DescribeTags key = %q: %+v, want value %q", key, tags.Tags, value)
		}
	}

	// A hostile value nothing carries finds nothing.
	out, err := in.c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
		Filters: []types.Filter{{Name: aws.String("tag-value"),
			Values: []string{"$(touch " + in.mark + "/filter)", "`touch " + in.mark + "/f2`"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ids := instanceIDs(out); len(ids) != 0 {
		t.Errorf("a value no instance carries finds %v", ids)
	}
}

// instanceIDs returns the ids of the instances out lists.
func instanceIDs(out *ec2.DescribeInstancesOutput) []string {
	var ids []string
	for _, r := range out.Reservations {
		for _, inst := range r.Instances {
			ids = append(ids, *inst.InstanceId)
		}
	}
	return ids
}

// userDataChange stops the instance and gives it new user data, large
// enough to be gzipped in the .vmx, which minicloud rewrites on the host
// through stdin; the new data must decode back from the .vmx and read
// back through the API.
func (in *injection) userDataChange(t *testing.T) {
	ctx := context.Background()
	if _, err := in.c.StopInstances(ctx, &ec2.StopInstancesInput{
		InstanceIds: []string{in.instance},
	}); err != nil {
		t.Fatal(err)
	}
	w := ec2.NewInstanceStoppedWaiter(in.c, func(o *ec2.InstanceStoppedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 500*time.Millisecond
	})
	if err := w.Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{in.instance}},
		time.Minute); err != nil {
		t.Fatal(err)
	}

	var big strings.Builder
	for i := 0; big.Len() < 6<<10; i++ {
		fmt.Fprintf(&big, "%d %s\n", i, hostile(in.mark)[i%len(hostile(in.mark))])
	}
	in.userData = []byte(big.String())
	if _, err := in.c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{
		InstanceId: aws.String(in.instance),
		UserData:   &types.SecureBlobAttributeValue{Value: in.userData},
	}); err != nil {
		t.Fatal(err)
	}
	if got := in.userDataAttr(t); !bytes.Equal(got, in.userData) {
		t.Errorf("new user data reads back as %q, want %q", got, in.userData)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, _, err := in.vmxGuestinfo("guestinfo.userdata")
		if err == nil && bytes.Equal(data, in.userData) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the .vmx on the host holds user data %q (%v), want %q", data, err,
				in.userData)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// createImage makes an image of the stopped instance, with a hostile name
// and description, which minicloud copies on the host through its shell.
func (in *injection) createImage(t *testing.T) {
	ctx := context.Background()
	name := "it's (copy) [a-z] @ " + in.mark + "/._-"
	desc := strings.Join(hostile(in.mark)[:4], " ")
	out, err := in.c.CreateImage(ctx, &ec2.CreateImageInput{
		InstanceId: aws.String(in.instance), Name: aws.String(name), Description: aws.String(desc),
	})
	if err != nil {
		t.Fatal(err)
	}
	img := in.waitImage(t, *out.ImageId, types.ImageStateAvailable)
	if *img.Name != name || *img.Description != desc {
		t.Errorf("image reads back as %q (%q), want %q (%q)", *img.Name, *img.Description, name,
			desc)
	}
}

// missingTemplate registers an image whose template path breaks careless
// quoting and names no file: minicloud looks for it on the host, through
// the shell, and marks the image failed.
func (in *injection) missingTemplate(t *testing.T) {
	location := "[datastore1] templates/$(touch " + markerName + ")`touch " + markerName +
		"`'\"\\ *?[a-z]|22/x.vmdk"
	out, err := in.c.RegisterImage(context.Background(), &ec2.RegisterImageInput{
		Name: aws.String("it's [gone]"), ImageLocation: aws.String(location),
	})
	if err != nil {
		t.Fatal(err)
	}
	img := in.waitImage(t, *out.ImageId, types.ImageStateFailed)
	if *img.ImageLocation != location {
		t.Errorf("image location reads back as %q, want %q", *img.ImageLocation, location)
	}
	if _, err := os.Stat(filepath.Join(in.host.VolumesRoot(), "datastore1", "templates",
		"$(touch "+markerName+")`touch "+markerName+"`'\"\\ *?[a-z]|22")); err == nil {
		t.Error("looking for the template made its folder")
	}
}
