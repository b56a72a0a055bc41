package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/crypto/ssh"

	"github.com/minicloud/minicloud/internal/hypervisor"
)

// vmx reads the .vmx of an instance's VM on its simulated host.
func (ts *testServer) vmx(id string) *hypervisor.VMX {
	ts.t.Helper()
	inst := ts.describe(id)[0]
	text := ts.sim(*inst.Placement.AvailabilityZone).sh(
		"cat /vmfs/volumes/datastore1/" + id + "/" + id + ".vmx")
	v, err := hypervisor.ParseVMX(text)
	if err != nil {
		ts.t.Fatalf("parse .vmx of %s: %v", id, err)
	}
	return v
}

// guestinfo decodes the guestinfo key of a .vmx by its .encoding key, as
// cloud-init's VMware datasource does, and returns the encoding too.
func guestinfo(t *testing.T, v *hypervisor.VMX, key string) (string, string) {
	t.Helper()
	value, ok := v.Get(key)
	if !ok {
		t.Fatalf(".vmx has no %s", key)
	}
	encoding, _ := v.Get(key + ".encoding")
	data, err := base64.StdEncoding.DecodeString(value)
	if err != nil {
		t.Fatalf("%s is not base64: %v", key, err)
	}
	switch encoding {
	case "base64":
	case "gzip+base64":
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s is not gzip: %v", key, err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("%s.encoding = %q", key, encoding)
	}
	return string(data), encoding
}

// TestE2E_Launch runs a realistic launch through aws-sdk-go-v2: a key
// pair, user data, a client token, tags and termination protection; the
// VM's .vmx carries what cloud-init needs; a repeat of the call, before
// and after a restart, answers with the same reservation.
func TestE2E_Launch(t *testing.T) {
	data := t.TempDir()
	ts := openServer(t, serverOptions{data: data})
	ctx := context.Background()

	// A key pair: the private key comes back once, and its fingerprint is
	// the SHA-256 of its public key, in padded base64, as EC2 writes it.
	key, err := ts.client.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{
		KeyName: aws.String("lab"), KeyType: types.KeyTypeEd25519,
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeKeyPair,
			Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("lab")}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey([]byte(aws.ToString(key.KeyMaterial)))
	if err != nil {
		t.Fatalf("the key material is not a private key ssh reads: %v", err)
	}
	sum := sha256.Sum256(signer.PublicKey().Marshal())
	if got, want := aws.ToString(key.KeyFingerprint), base64.StdEncoding.EncodeToString(sum[:]); got != want {
		t.Errorf("fingerprint %s, want %s", got, want)
	}
	publicKey := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))

	// Launch with everything a real workflow sends.
	userData := "#cloud-config\nruncmd:\n  - echo hello from minicloud\n"
	input := &ec2.RunInstancesInput{
		ImageId: aws.String(ts.imageID("debian-12")), InstanceType: types.InstanceTypeT3Micro,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), KeyName: aws.String("lab"),
		UserData:              aws.String(base64.StdEncoding.EncodeToString([]byte(userData))),
		ClientToken:           aws.String("launch-1"),
		DisableApiTermination: aws.Bool(true),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance,
			Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("web")}}}},
	}
	first, err := ts.client.RunInstances(ctx, input)
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(first.Instances[0].InstanceId)
	ts.waitRunning(id)
	if inst := ts.describe(id)[0]; aws.ToString(inst.KeyName) != "lab" {
		t.Errorf("KeyName %v, want lab", inst.KeyName)
	}

	// The VM's .vmx holds the metadata and user data for cloud-init.
	vmx := ts.vmx(id)
	metaText, _ := guestinfo(t, vmx, "guestinfo.metadata")
	var meta struct {
		InstanceID    string   `json:"instance-id"`
		LocalHostname string   `json:"local-hostname"`
		PublicKeys    []string `json:"public-keys"`
	}
	if err := json.Unmarshal([]byte(metaText), &meta); err != nil {
		t.Fatalf("guestinfo.metadata is not JSON: %v\n%s", err, metaText)
	}
	if meta.InstanceID != id || meta.LocalHostname == "" || len(meta.PublicKeys) != 1 ||
		!strings.HasPrefix(meta.PublicKeys[0], publicKey) {
		t.Errorf("metadata %+v, want the instance id and the key %s", meta, publicKey)
	}
	if got, enc := guestinfo(t, vmx, "guestinfo.userdata"); got != userData || enc != "base64" {
		t.Errorf("guestinfo.userdata = %q (%s), want %q", got, enc, userData)
	}

	// The same call again is the same reservation; another is a mismatch.
	again, err := ts.client.RunInstances(ctx, input)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(again.ReservationId) != aws.ToString(first.ReservationId) ||
		aws.ToString(again.Instances[0].InstanceId) != id {
		t.Errorf("repeat answered %s %s, want %s %s", aws.ToString(again.ReservationId),
			aws.ToString(again.Instances[0].InstanceId), aws.ToString(first.ReservationId), id)
	}
	changed := *input
	changed.UserData = aws.String(base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\n")))
	_, err = ts.client.RunInstances(ctx, &changed)
	wantAPIError(t, err, "IdempotentParameterMismatch", 400)
	if n := countInstances(t, ts); n != 1 {
		t.Errorf("%d instances after the repeats, want 1", n)
	}

	// Termination protection holds.
	_, err = ts.client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	wantAPIError(t, err, "OperationNotPermitted", 400)

	// After a restart the token still answers with the reservation.
	ts.Close()
	ts = openServer(t, serverOptions{data: data})
	again, err = ts.client.RunInstances(ctx, input)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(again.ReservationId) != aws.ToString(first.ReservationId) {
		t.Errorf("repeat after restart answered %s, want %s",
			aws.ToString(again.ReservationId), aws.ToString(first.ReservationId))
	}
	_, err = ts.client.RunInstances(ctx, &changed)
	wantAPIError(t, err, "IdempotentParameterMismatch", 400)

	testResize(t, ts, id)

	// Unprotected, it terminates.
	_, err = ts.client.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{
		InstanceId: aws.String(id), DisableApiTermination: &types.AttributeBooleanValue{Value: aws.Bool(false)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	waitState(t, ts, types.InstanceStateNameTerminated, id)
}

// testResize changes the type and user data of a running instance:
// refused until it is stopped, then written into its VM's .vmx.
func testResize(t *testing.T, ts *testServer, id string) {
	ctx := context.Background()
	resize := &ec2.ModifyInstanceAttributeInput{
		InstanceId: aws.String(id), InstanceType: &types.AttributeValue{Value: aws.String("t3.large")}}
	_, err := ts.client.ModifyInstanceAttribute(ctx, resize)
	wantAPIError(t, err, "IncorrectInstanceState", 400)

	if _, err := ts.client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	waitState(t, ts, types.InstanceStateNameStopped, id)
	if _, err := ts.client.ModifyInstanceAttribute(ctx, resize); err != nil {
		t.Fatal(err)
	}

	// Large user data goes in gzipped.
	big := "#!/bin/sh\n" + strings.Repeat("echo 'minicloud writes this line again'\n", 200)
	_, err = ts.client.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{
		InstanceId: aws.String(id), UserData: &types.SecureBlobAttributeValue{Value: []byte(big)}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ts.client.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{
		InstanceId: aws.String(id),
		UserData:   &types.SecureBlobAttributeValue{Value: bytes.Repeat([]byte("x"), 16<<10+1)}})
	wantAPIError(t, err, "InvalidParameterValue", 400)
	attr, err := ts.client.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{
		InstanceId: aws.String(id), Attribute: types.InstanceAttributeNameUserData})
	if err != nil || aws.ToString(attr.UserData.Value) != base64.StdEncoding.EncodeToString([]byte(big)) {
		t.Errorf("userData attribute: %v %v", err, attr)
	}

	// The controller rewrites the .vmx while the VM is off: once for each
	// change, or once for both.
	deadline := time.Now().Add(20 * time.Second)
	for {
		v := ts.vmx(id)
		cpus, _ := v.Get("numvcpus")
		mem, _ := v.Get("memSize")
		got, enc := guestinfo(t, v, "guestinfo.userdata")
		if cpus == "2" && mem == "8192" && got == big && enc == "gzip+base64" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf(".vmx has numvcpus %s, memSize %s, user data of %d bytes in %s; "+
				"want 2, 8192 and %d bytes in gzip+base64", cpus, mem, len(got), enc, len(big))
		}
		time.Sleep(50 * time.Millisecond)
	}

	// It starts as the new type.
	if _, err := ts.client.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	ts.waitRunning(id)
	if got := ts.describe(id)[0].InstanceType; got != types.InstanceTypeT3Large {
		t.Errorf("instance type %s after the change, want t3.large", got)
	}
}

// countInstances counts every instance DescribeInstances lists.
func countInstances(t *testing.T, ts *testServer) int {
	t.Helper()
	out, err := ts.client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range out.Reservations {
		n += len(r.Instances)
	}
	return n
}
