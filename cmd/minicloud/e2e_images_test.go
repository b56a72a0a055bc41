package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// waitImage waits for images to be available with the SDK's own waiter,
// polling quickly.
func (ts *testServer) waitImage(ids ...string) {
	ts.t.Helper()
	w := ec2.NewImageAvailableWaiter(ts.client, func(o *ec2.ImageAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(context.Background(), &ec2.DescribeImagesInput{ImageIds: ids}, 30*time.Second); err != nil {
		ts.t.Fatalf("waiting for image: %v", err)
	}
}

// TestE2E_SDK_Images registers a template only one host has and launches
// it, makes an image of a running instance and launches that, and
// deregisters what it made, through the Go SDK.
func TestE2E_SDK_Images(t *testing.T) {
	ts := openServer(t, serverOptions{})
	ctx := context.Background()
	c := ts.client

	// A template copied by hand onto the host of us-east-1b only.
	hostB := ts.sim("us-east-1b")
	hostB.sh("mkdir -p /vmfs/volumes/datastore1/templates/lab && vmkfstools -i " +
		"/vmfs/volumes/datastore1/templates/debian-12/debian-12.vmdk " +
		"/vmfs/volumes/datastore1/templates/lab/lab.vmdk -d thin")
	reg, err := c.RegisterImage(ctx, &ec2.RegisterImageInput{
		Name: aws.String("lab"), ImageLocation: aws.String("[datastore1] templates/lab/lab.vmdk"),
		Architecture: types.ArchitectureValuesX8664, Description: aws.String("the lab's template"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeImage,
			Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("lab")}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	lab := aws.ToString(reg.ImageId)
	ts.waitImage(lab)

	// Every instance of it lands on that host.
	ids := ts.run(3, func(in *ec2.RunInstancesInput) { in.ImageId = aws.String(lab) })
	ts.waitRunning(ids...)
	for _, i := range ts.describe(ids...) {
		if z := aws.ToString(i.Placement.AvailabilityZone); z != "us-east-1b" {
			t.Errorf("instance %s of a template only us-east-1b has is in %s", aws.ToString(i.InstanceId), z)
		}
	}

	// An image of a running instance: it stops, is copied, and runs again.
	made, err := c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(ids[0]),
		Name: aws.String("lab-v2"), Description: aws.String("after the upgrade")})
	if err != nil {
		t.Fatal(err)
	}
	v2 := aws.ToString(made.ImageId)
	ts.waitImage(v2)
	ts.waitRunning(ids[0])
	imgs, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{v2}})
	if err != nil {
		t.Fatal(err)
	}
	img := imgs.Images[0]
	if aws.ToString(img.SourceInstanceId) != ids[0] || aws.ToString(img.Description) != "after the upgrade" ||
		!strings.Contains(aws.ToString(img.ImageLocation), "minicloud-images/"+v2+"/") || aws.ToBool(img.Public) {
		t.Errorf("image made = %+v", img)
	}
	if !strings.Contains(hostB.sh("ls /vmfs/volumes/datastore1/minicloud-images/"+v2), v2+".vmdk") {
		t.Error("the new template is not on the instance's host")
	}

	// The new image launches, on the host that holds it.
	more := ts.run(1, func(in *ec2.RunInstancesInput) { in.ImageId = aws.String(v2) })
	ts.waitRunning(more...)
	if z := aws.ToString(ts.describe(more...)[0].Placement.AvailabilityZone); z != "us-east-1b" {
		t.Errorf("instance of %s is in %s", v2, z)
	}

	// Owners: self is what this account registered and made; amazon
	// answers for minicloud's own templates.
	for owner, want := range map[string]int{"self": 2, "amazon": 3, "minicloud": 3} {
		out, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{owner}})
		if err != nil || len(out.Images) != want {
			t.Errorf("owner %s: %d images, %v; want %d", owner, len(out.Images), err, want)
		}
	}

	// Deregistering what CreateImage made deletes its template.
	if _, err := c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(v2)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(hostB.sh("ls /vmfs/volumes/datastore1/minicloud-images"), v2) {
		if time.Now().After(deadline) {
			t.Fatal("the template of the deregistered image is still there")
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, err = c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{v2}})
	wantAPIError(t, err, "InvalidAMIID.NotFound", 400)
	if st := ts.describe(more...)[0].State.Name; st != types.InstanceStateNameRunning {
		t.Errorf("an instance of the deregistered image is %s", st)
	}

	t.Run("Errors", func(t *testing.T) {
		_, err := c.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("lab"),
			ImageLocation: aws.String("[datastore1] templates/lab/lab.vmdk")})
		wantAPIError(t, err, "InvalidAMIName.Duplicate", 400)
		_, err = c.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("elsewhere"),
			ImageLocation: aws.String("/tmp/lab.vmdk")})
		wantAPIError(t, err, "InvalidParameterValue", 400)
		_, err = c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String("i-0123456789abcdef0"),
			Name: aws.String("ghost")})
		wantAPIError(t, err, "InvalidInstanceID.NotFound", 400)
		_, err = c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(ids[1]), Name: aws.String("?")})
		wantAPIError(t, err, "InvalidAMIName.Malformed", 400)
		_, err = c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(ts.imageID("debian-12"))})
		wantAPIError(t, err, "AuthFailure", 401)
		_, err = c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String("ami-nothex")})
		wantAPIError(t, err, "InvalidAMIID.Malformed", 400)
		_, err = c.CopyImage(ctx, &ec2.CopyImageInput{SourceImageId: aws.String(lab),
			SourceRegion: aws.String("eu-west-1"), Name: aws.String("copy")})
		wantAPIError(t, err, "InvalidParameterValue", 400)
		_, err = c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(v2),
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
		wantAPIError(t, err, "InvalidAMIID.NotFound", 400)

		// What the SDK would refuse to send, sent by hand.
		for action, form := range map[string]url.Values{
			"RegisterImage":   {"ImageLocation": {"[datastore1] templates/lab/lab.vmdk"}},
			"CreateImage":     {"Name": {"nameless"}},
			"DeregisterImage": {},
			"CopyImage":       {"SourceImageId": {lab}, "Name": {"copy"}},
		} {
			if status, code := ts.post(t, action, form); status != 400 || code != "MissingParameter" {
				t.Errorf("%s without a required parameter: %d %s", action, status, code)
			}
		}
	})
}

// TestE2E_ImagesPaginator pages through images with the SDK's paginator:
// every image once, in pages of at most MaxResults.
func TestE2E_ImagesPaginator(t *testing.T) {
	ts := openServer(t, serverOptions{})
	ctx := context.Background()
	for i := 1; i <= 4; i++ {
		_, err := ts.client.RegisterImage(ctx, &ec2.RegisterImageInput{
			Name:          aws.String(fmt.Sprintf("copy-%d", i)),
			ImageLocation: aws.String("[datastore1] templates/debian-12/debian-12.vmdk"),
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	seen := map[string]int{}
	pages := 0
	p := ec2.NewDescribeImagesPaginator(ts.client, &ec2.DescribeImagesInput{MaxResults: aws.Int32(5)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.Images) > 5 {
			t.Errorf("page %d has %d images", pages, len(page.Images))
		}
		for _, img := range page.Images {
			seen[*img.ImageId]++
		}
	}
	if want := len(simTemplates) + 4; pages != 2 || len(seen) != want {
		t.Errorf("%d pages, %d images, want 2 pages and %d images", pages, len(seen), want)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s listed %d times", id, n)
		}
	}

	_, err := ts.client.DescribeImages(ctx, &ec2.DescribeImagesInput{
		MaxResults: aws.Int32(5), ImageIds: []string{ts.imageID("debian-12")},
	})
	wantAPIError(t, err, "InvalidParameterCombination", 400)
}
