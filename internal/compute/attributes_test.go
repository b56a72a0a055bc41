package compute_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/minicloud/minicloud/internal/cloud"
)

func TestService_ModifyInstanceAttribute(t *testing.T) {
	e := newEnv(t, envOptions{hosts: 1})
	ctx := context.Background()
	id := e.runInstances(1, nil)[0]
	e.waitState(cloud.StateRunning, id)
	str := func(s string) *string { return &s }
	yes, no := true, false

	modify := func(in cloud.ModifyInstanceAttributeInput) error {
		in.InstanceID = id
		return e.svc.ModifyInstanceAttribute(ctx, &in)
	}
	wantMessage := func(t *testing.T, err error, code, msg string) {
		t.Helper()
		wantCode(t, err, code)
		if got := err.(*cloud.Error).Message; got != msg {
			t.Errorf("message %q, want %q", got, msg)
		}
	}

	t.Run("ErrRunning", func(t *testing.T) {
		wantMessage(t, modify(cloud.ModifyInstanceAttributeInput{InstanceType: str("t3.large")}),
			cloud.ErrCodeIncorrectInstanceState, "The instance '"+id+"' is not in the 'stopped' state.")
		wantCode(t, modify(cloud.ModifyInstanceAttributeInput{UserData: []byte("x")}),
			cloud.ErrCodeIncorrectInstanceState)
	})
	for _, tt := range []struct {
		name string
		in   cloud.ModifyInstanceAttributeInput
		code string
	}{
		{"ErrNothing", cloud.ModifyInstanceAttributeInput{}, cloud.ErrCodeMissingParameter},
		{"ErrTwo", cloud.ModifyInstanceAttributeInput{DisableAPIStop: &yes, DisableAPITermination: &yes},
			cloud.ErrCodeInvalidParameterCombination},
		{"ErrType", cloud.ModifyInstanceAttributeInput{InstanceType: str("t9.huge")},
			"InvalidInstanceAttributeValue"},
		{"ErrBehaviour", cloud.ModifyInstanceAttributeInput{ShutdownBehavior: str("hibernate")},
			"InvalidInstanceAttributeValue"},
		{"ErrUserDataSize", cloud.ModifyInstanceAttributeInput{UserData: make([]byte, 16<<10+1)},
			cloud.ErrCodeInvalidParameterValue},
		{"ErrEBSOptimized", cloud.ModifyInstanceAttributeInput{EBSOptimized: &yes}, cloud.ErrCodeUnsupported},
		{"ErrGroups", cloud.ModifyInstanceAttributeInput{Unsupported: cloud.AttrGroupSet}, cloud.ErrCodeUnsupported},
		{"DryRun", cloud.ModifyInstanceAttributeInput{DisableAPITermination: &yes, DryRun: true},
			cloud.ErrCodeDryRunOperation},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, modify(tt.in), tt.code)
		})
	}
	if inst := e.instance(id); inst.DisableAPITermination {
		t.Fatal("a dry run set disableApiTermination")
	}

	// Stop protection refuses stop and terminate; termination protection
	// refuses terminate. Both can change while the instance runs.
	one := []string{id}
	if err := modify(cloud.ModifyInstanceAttributeInput{DisableAPIStop: &yes}); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.StopInstances(ctx, &cloud.StopInstancesInput{InstanceIDs: one})
	wantMessage(t, err, cloud.ErrCodeOperationNotPermitted, "The instance '"+id+
		"' may not be stopped. Modify its 'disableApiStop' instance attribute and try again.")
	_, err = e.svc.TerminateInstances(ctx, &cloud.InstanceIDsInput{InstanceIDs: one})
	wantMessage(t, err, cloud.ErrCodeOperationNotPermitted, "The instance '"+id+
		"' may not be terminated. Modify its 'disableApiStop' instance attribute and try again.")
	for _, in := range []cloud.ModifyInstanceAttributeInput{
		{DisableAPIStop: &no}, {DisableAPITermination: &yes},
	} {
		if err := modify(in); err != nil {
			t.Fatal(err)
		}
	}
	_, err = e.svc.TerminateInstances(ctx, &cloud.InstanceIDsInput{InstanceIDs: one})
	wantMessage(t, err, cloud.ErrCodeOperationNotPermitted, "The instance '"+id+
		"' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.")
	if got := e.instance(id).State; got != cloud.StateRunning {
		t.Errorf("refused calls left the instance %s", got)
	}

	// Stopped, its type and user data change and reach the .vmx.
	if _, err := e.svc.StopInstances(ctx, &cloud.StopInstancesInput{InstanceIDs: one}); err != nil {
		t.Fatal(err)
	}
	e.waitState(cloud.StateStopped, id)
	if err := modify(cloud.ModifyInstanceAttributeInput{InstanceType: str("c5.xlarge")}); err != nil {
		t.Fatal(err)
	}
	if err := modify(cloud.ModifyInstanceAttributeInput{UserData: []byte("#!/bin/sh\n")}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("reconfigured", one, func(i *cloud.Instance) bool { return !i.ConfigPending })
	vmx := e.sh(e.simIndex(id), "cat /vmfs/volumes/datastore1/"+id+"/"+id+".vmx")
	for _, want := range []string{`numvcpus = "4"`, `memSize = "8192"`,
		`guestinfo.userdata = "` + base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\n")) + `"`} {
		if !strings.Contains(vmx, want) {
			t.Errorf(".vmx lacks %s:\n%s", want, vmx)
		}
	}
	attr, err := e.svc.DescribeInstanceAttribute(ctx, &cloud.DescribeInstanceAttributeInput{
		InstanceID: id, Attribute: cloud.AttrInstanceType})
	if err != nil || attr.Value != "c5.xlarge" {
		t.Errorf("instanceType attribute %+v, %v", attr, err)
	}

	// Emptied user data leaves the .vmx.
	if err := modify(cloud.ModifyInstanceAttributeInput{UserData: []byte{}}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("reconfigured", one, func(i *cloud.Instance) bool { return !i.ConfigPending })
	vmx = e.sh(e.simIndex(id), "cat /vmfs/volumes/datastore1/"+id+"/"+id+".vmx")
	if strings.Contains(vmx, "guestinfo.userdata") {
		t.Errorf("emptied user data is still in the .vmx:\n%s", vmx)
	}
}

func TestService_ModifyInstanceAttribute_Groups(t *testing.T) {
	e := newEnv(t, envOptions{hosts: 1})
	ctx := context.Background()
	id := e.runInstances(1, nil)[0]
	web, err := e.svc.CreateSecurityGroup(ctx, &cloud.CreateSecurityGroupInput{
		GroupName: "web", Description: "web servers"})
	if err != nil {
		t.Fatal(err)
	}

	err = e.svc.ModifyInstanceAttribute(ctx, &cloud.ModifyInstanceAttributeInput{
		InstanceID: id, Groups: []string{web.ID}})
	if err != nil {
		t.Fatal(err)
	}
	attr, err := e.svc.DescribeInstanceAttribute(ctx, &cloud.DescribeInstanceAttributeInput{
		InstanceID: id, Attribute: cloud.AttrGroupSet})
	if err != nil {
		t.Fatal(err)
	}
	if g := attr.Instance.SecurityGroups; len(g) != 1 || g[0].ID != web.ID || g[0].Name != "web" {
		t.Errorf("groups %+v, want only web", g)
	}
	for _, tt := range []struct {
		name   string
		groups []string
		code   string
	}{
		{"ErrNotFound", []string{"sg-0000000000000dead"}, cloud.ErrCodeInvalidGroupNotFound},
		{"ErrMalformed", []string{"sg-x"}, cloud.ErrCodeInvalidGroupIDMalformed},
		{"ErrNone", []string{}, cloud.ErrCodeMissingParameter},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := e.svc.ModifyInstanceAttribute(ctx, &cloud.ModifyInstanceAttributeInput{
				InstanceID: id, Groups: tt.groups})
			wantCode(t, err, tt.code)
		})
	}
}

func TestService_DescribeInstanceAttribute(t *testing.T) {
	e := newEnv(t, envOptions{hosts: 1})
	ctx := context.Background()
	id := e.runInstances(1, func(in *cloud.RunInstancesInput) {
		in.UserData = base64.StdEncoding.EncodeToString([]byte("hello"))
		in.DisableAPIStop, in.ShutdownBehavior = true, "terminate"
	})[0]

	for _, tt := range []struct {
		attr  string
		value string
		bool  bool
	}{
		{cloud.AttrInstanceType, "t3.micro", false},
		{cloud.AttrUserData, base64.StdEncoding.EncodeToString([]byte("hello")), false},
		{cloud.AttrDisableAPIStop, "", true},
		{cloud.AttrDisableAPITermination, "", false},
		{cloud.AttrShutdownBehavior, "terminate", false},
		{cloud.AttrKernel, "", false},
		{cloud.AttrSourceDestCheck, "", true},
	} {
		t.Run(tt.attr, func(t *testing.T) {
			got, err := e.svc.DescribeInstanceAttribute(ctx, &cloud.DescribeInstanceAttributeInput{
				InstanceID: id, Attribute: tt.attr})
			if err != nil {
				t.Fatal(err)
			}
			if got.Value != tt.value || got.Bool != tt.bool || got.InstanceID != id {
				t.Errorf("got %+v, want value %q bool %v", got, tt.value, tt.bool)
			}
		})
	}
	for _, tt := range []struct {
		name string
		in   cloud.DescribeInstanceAttributeInput
		code string
	}{
		{"ErrAttribute", cloud.DescribeInstanceAttributeInput{InstanceID: id, Attribute: "colour"},
			cloud.ErrCodeInvalidParameterValue},
		{"ErrNotFound", cloud.DescribeInstanceAttributeInput{InstanceID: "i-0000000000000dead",
			Attribute: "kernel"}, cloud.ErrCodeInvalidInstanceIDNotFound},
		{"ErrMalformed", cloud.DescribeInstanceAttributeInput{InstanceID: "i-x", Attribute: "kernel"},
			cloud.ErrCodeInvalidInstanceIDMalformed},
		{"DryRun", cloud.DescribeInstanceAttributeInput{InstanceID: id, Attribute: "kernel", DryRun: true},
			cloud.ErrCodeDryRunOperation},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.DescribeInstanceAttribute(ctx, &tt.in)
			wantCode(t, err, tt.code)
		})
	}
	other := cloud.WithCaller(ctx, cloud.Caller{AccountID: "999999999999"})
	_, err := e.svc.DescribeInstanceAttribute(other, &cloud.DescribeInstanceAttributeInput{
		InstanceID: id, Attribute: "kernel"})
	wantCode(t, err, cloud.ErrCodeInvalidInstanceIDNotFound)
}

// TestService_ShutdownBehavior powers VMs off on their host, as a guest
// that shuts itself down does: the instance stops, or terminates when
// its shutdown behaviour says so, whatever its termination protection.
func TestService_ShutdownBehavior(t *testing.T) {
	e := newEnv(t, envOptions{hosts: 1})
	stops := e.runInstances(1, nil)[0]
	terminates := e.runInstances(1, func(in *cloud.RunInstancesInput) {
		in.ShutdownBehavior, in.DisableAPITermination = "terminate", true
	})[0]
	e.waitState(cloud.StateRunning, stops, terminates)
	for _, id := range []string{stops, terminates} {
		e.sh(0, "vim-cmd vmsvc/power.off "+e.instance(id).VMID)
	}

	e.waitState(cloud.StateTerminated, terminates)
	if r := e.instance(terminates).StateReason; r == nil || r.Code != "Client.InstanceInitiatedShutdown" {
		t.Errorf("terminated instance's reason %+v", r)
	}
	if vms := e.sh(0, "vim-cmd vmsvc/getallvms"); strings.Contains(vms, terminates) {
		t.Errorf("the VM of the terminated instance is still registered:\n%s", vms)
	}
	e.waitState(cloud.StateStopped, stops)
	if r := e.instance(stops).StateReason; r == nil || r.Code != "Client.UserInitiatedShutdown" {
		t.Errorf("stopped instance's reason %+v", r)
	}
}

// TestService_Repeats asks each instance for what it already is or is
// becoming: EC2 answers with the state as it is, before and after.
func TestService_Repeats(t *testing.T) {
	e := newEnv(t, envOptions{hosts: 1})
	ctx := context.Background()
	ids := e.runInstances(2, nil)
	e.waitState(cloud.StateRunning, ids...)
	running, gone := ids[:1], ids[1:]

	want := func(t *testing.T, changes []cloud.StateChange, err error, prev, cur cloud.InstanceState) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if c := changes[0]; c.Previous != prev || c.Current != cur {
			t.Errorf("change %s -> %s, want %s -> %s", c.Previous, c.Current, prev, cur)
		}
	}
	changes, err := e.svc.StartInstances(ctx, &cloud.InstanceIDsInput{InstanceIDs: running})
	want(t, changes, err, cloud.StateRunning, cloud.StateRunning)

	if _, err := e.svc.StopInstances(ctx, &cloud.StopInstancesInput{InstanceIDs: running}); err != nil {
		t.Fatal(err)
	}
	changes, err = e.svc.StopInstances(ctx, &cloud.StopInstancesInput{InstanceIDs: running})
	if err == nil && changes[0].Previous == cloud.StateStopped {
		want(t, changes, err, cloud.StateStopped, cloud.StateStopped)
	} else {
		want(t, changes, err, cloud.StateStopping, cloud.StateStopping)
	}
	e.waitState(cloud.StateStopped, running...)
	changes, err = e.svc.StopInstances(ctx, &cloud.StopInstancesInput{InstanceIDs: running})
	want(t, changes, err, cloud.StateStopped, cloud.StateStopped)

	if _, err := e.svc.TerminateInstances(ctx, &cloud.InstanceIDsInput{InstanceIDs: gone}); err != nil {
		t.Fatal(err)
	}
	e.waitState(cloud.StateTerminated, gone...)
	changes, err = e.svc.TerminateInstances(ctx, &cloud.InstanceIDsInput{InstanceIDs: gone})
	want(t, changes, err, cloud.StateTerminated, cloud.StateTerminated)
	_, err = e.svc.StartInstances(ctx, &cloud.InstanceIDsInput{InstanceIDs: gone})
	wantCode(t, err, cloud.ErrCodeIncorrectInstanceState)
}

// TestService_RunInstances_ClientToken checks that the token's
// fingerprint covers the parameters added with key pairs and attributes.
func TestService_RunInstances_ClientToken(t *testing.T) {
	e := newEnv(t, envOptions{hosts: 1})
	ctx := context.Background()
	if _, err := e.svc.CreateKeyPair(ctx, &cloud.CreateKeyPairInput{KeyName: "k", KeyType: "ed25519"}); err != nil {
		t.Fatal(err)
	}
	base := func() *cloud.RunInstancesInput {
		return &cloud.RunInstancesInput{ImageID: e.imageID(), MinCount: 1, MaxCount: 1,
			ClientToken: "tok", KeyName: "k", UserData: base64.StdEncoding.EncodeToString([]byte("a"))}
	}
	first, err := e.svc.RunInstances(ctx, base())
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.svc.RunInstances(ctx, base())
	if err != nil || again.ID != first.ID {
		t.Fatalf("repeat: %v %v", again, err)
	}
	for name, change := range map[string]func(*cloud.RunInstancesInput){
		"UserData":              func(in *cloud.RunInstancesInput) { in.UserData = "Yg==" },
		"KeyName":               func(in *cloud.RunInstancesInput) { in.KeyName = "" },
		"DisableApiTermination": func(in *cloud.RunInstancesInput) { in.DisableAPITermination = true },
		"DisableApiStop":        func(in *cloud.RunInstancesInput) { in.DisableAPIStop = true },
		"ShutdownBehavior":      func(in *cloud.RunInstancesInput) { in.ShutdownBehavior = "terminate" },
	} {
		t.Run(name, func(t *testing.T) {
			in := base()
			change(in)
			_, err := e.svc.RunInstances(ctx, in)
			wantCode(t, err, cloud.ErrCodeIdempotentParameterMismatch)
		})
	}
	for _, tt := range []struct {
		name string
		mod  func(*cloud.RunInstancesInput)
		code string
	}{
		{"ErrKeyName", func(in *cloud.RunInstancesInput) { in.KeyName = "nope" }, cloud.ErrCodeInvalidKeyPairNotFound},
		{"ErrUserDataSize", func(in *cloud.RunInstancesInput) {
			in.UserData = base64.StdEncoding.EncodeToString(make([]byte, 16<<10+1))
		}, cloud.ErrCodeInvalidParameterValue},
		{"ErrUserDataBase64", func(in *cloud.RunInstancesInput) { in.UserData = "#!/bin/sh" },
			"InvalidUserData.Malformed"},
		{"ErrBehaviour", func(in *cloud.RunInstancesInput) { in.ShutdownBehavior = "pause" },
			cloud.ErrCodeInvalidParameterValue},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := base()
			in.ClientToken = ""
			tt.mod(in)
			_, err := e.svc.RunInstances(ctx, in)
			wantCode(t, err, tt.code)
		})
	}
}
