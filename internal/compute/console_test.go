package compute_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
)

func TestService_GetConsoleOutput(t *testing.T) {
	e := newEnv(t, envOptions{hosts: 1})
	ctx := context.Background()
	id := e.runInstances(1, nil)[0]
	e.waitFor("a guest that booted", []string{id}, func(i *cloud.Instance) bool {
		return i.State == cloud.StateRunning && i.GuestReady
	})
	get := func(ctx context.Context, id string) (*cloud.ConsoleOutput, error) {
		return e.svc.GetConsoleOutput(ctx, &cloud.GetConsoleOutputInput{InstanceID: id, Latest: true})
	}

	t.Run("OK", func(t *testing.T) {
		out, err := get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		text := string(out.Output)
		for _, want := range []string{"Linux version", "cloud-init", "login: "} {
			if !strings.Contains(text, want) {
				t.Errorf("console lacks %q:\n%s", want, text)
			}
		}
		if out.InstanceID != id {
			t.Errorf("instance id = %q", out.InstanceID)
		}
		if since := time.Since(out.Timestamp); since < -time.Minute || since > time.Minute {
			t.Errorf("timestamp %v is %s ago", out.Timestamp, since)
		}
	})

	t.Run("Stopped", func(t *testing.T) {
		// The log outlives the guest, as on EC2.
		stop := &cloud.StopInstancesInput{InstanceIDs: []string{id}}
		if _, err := e.svc.StopInstances(ctx, stop); err != nil {
			t.Fatal(err)
		}
		e.waitState(cloud.StateStopped, id)
		out, err := get(ctx, id)
		if err != nil || !strings.Contains(string(out.Output), "Linux version") {
			t.Errorf("stopped: %q, %v", out.Output, err)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		_, err := get(ctx, "")
		wantCode(t, err, cloud.ErrCodeMissingParameter)
		_, err = get(ctx, "i-xyz")
		wantCode(t, err, cloud.ErrCodeInvalidInstanceIDMalformed)
		_, err = get(ctx, "i-0123456789abcdef0")
		wantCode(t, err, cloud.ErrCodeInvalidInstanceIDNotFound)
		other := cloud.WithCaller(ctx, cloud.Caller{AccessKeyID: "AKIDOTHER", AccountID: "210987654321"})
		_, err = get(other, id)
		wantCode(t, err, cloud.ErrCodeInvalidInstanceIDNotFound)
		_, err = e.svc.GetConsoleOutput(ctx, &cloud.GetConsoleOutputInput{InstanceID: id, DryRun: true})
		wantCode(t, err, cloud.ErrCodeDryRunOperation)
	})

	t.Run("Terminated", func(t *testing.T) {
		term := &cloud.InstanceIDsInput{InstanceIDs: []string{id}}
		if _, err := e.svc.TerminateInstances(ctx, term); err != nil {
			t.Fatal(err)
		}
		e.waitState(cloud.StateTerminated, id)
		out, err := get(ctx, id)
		if err != nil || len(out.Output) != 0 || out.Timestamp.IsZero() {
			t.Errorf("terminated: %+v, %v", out, err)
		}
	})
}
