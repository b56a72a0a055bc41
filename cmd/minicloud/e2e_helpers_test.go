package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/minicloud/minicloud/internal/config"
)

// testServer is a minicloud opened in the test's process on 127.0.0.1:0,
// with a temporary data folder and fast simulated hosts.
type testServer struct {
	*Server
	t      testing.TB
	client *ec2.Client
}

// serverOptions adjust a test server before it opens.
type serverOptions struct {
	data   string // data folder; a new temporary one when empty
	config func(*config.Config)
	sim    func(i int, cfg *simConfig)
}

// openServer opens a minicloud for the test and closes it at the end.
func openServer(t testing.TB, o serverOptions) *testServer {
	t.Helper()
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = "127.0.0.1:0"
	cfg.Data = o.data
	if cfg.Data == "" {
		cfg.Data = t.TempDir()
	}
	cfg.ObserveInterval.Duration = 100 * time.Millisecond
	if o.config != nil {
		o.config(cfg)
	}

	s := &Server{
		Config: cfg,
		Logger: testLogger(),
		SimOptions: func(i int, sc *simConfig) {
			sc.BootDelay = 100 * time.Millisecond
			if o.sim != nil {
				o.sim(i, sc)
			}
		},
	}
	if err := s.Open(context.Background()); err != nil {
		s.Close()
		t.Fatal(err)
	}
	ts := &testServer{Server: s, t: t, client: newClient(s.Endpoint(), "test", "test")}
	t.Cleanup(func() { s.Close() })
	return ts
}

// testLogger logs to stderr under -v and nowhere otherwise.
func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newClient returns an aws-sdk-go-v2 EC2 client for endpoint.
func newClient(endpoint, key, secret string) *ec2.Client {
	return ec2.New(ec2.Options{
		HTTPClient:   loopbackClient,
		BaseEndpoint: aws.String(endpoint),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
		Retryer:      aws.NopRetryer{},
	})
}

// imageID returns the id of the image with name.
func (ts *testServer) imageID(name string) string {
	ts.t.Helper()
	out, err := ts.client.DescribeImages(context.Background(), &ec2.DescribeImagesInput{
		Filters: []types.Filter{{Name: aws.String("name"), Values: []string{name}}},
	})
	if err != nil {
		ts.t.Fatal(err)
	}
	if len(out.Images) != 1 {
		ts.t.Fatalf("%d images named %s", len(out.Images), name)
	}
	return *out.Images[0].ImageId
}

// run launches count t3.micro instances of debian-12 with extra settings.
func (ts *testServer) run(count int32, mod func(*ec2.RunInstancesInput)) []string {
	ts.t.Helper()
	in := &ec2.RunInstancesInput{
		ImageId: aws.String(ts.imageID("debian-12")), InstanceType: types.InstanceTypeT3Micro,
		MinCount: aws.Int32(count), MaxCount: aws.Int32(count),
	}
	if mod != nil {
		mod(in)
	}
	out, err := ts.client.RunInstances(context.Background(), in)
	if err != nil {
		ts.t.Fatal(err)
	}
	var ids []string
	for _, inst := range out.Instances {
		ids = append(ids, *inst.InstanceId)
	}
	return ids
}

// describe returns the instances with ids.
func (ts *testServer) describe(ids ...string) []types.Instance {
	ts.t.Helper()
	out, err := ts.client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: ids})
	if err != nil {
		ts.t.Fatal(err)
	}
	var insts []types.Instance
	for _, r := range out.Reservations {
		insts = append(insts, r.Instances...)
	}
	return insts
}

// waitRunning waits with the SDK's own waiter, polling quickly.
func (ts *testServer) waitRunning(ids ...string) {
	ts.t.Helper()
	w := ec2.NewInstanceRunningWaiter(ts.client, func(o *ec2.InstanceRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: ids}, 30*time.Second); err != nil {
		ts.t.Fatalf("waiting for running: %v", err)
	}
}

// apiError returns the EC2 code and HTTP status of err, failing the test
// when err is not an EC2 error answer.
func apiError(t testing.TB, err error) (string, int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an EC2 error", err)
	}
	var re *awshttp.ResponseError
	status := 0
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return ae.ErrorCode(), status
}

// wantAPIError fails unless err is the EC2 error code with status.
func wantAPIError(t testing.TB, err error, code string, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s (%d)", code, status)
	}
	gotCode, gotStatus := apiError(t, err)
	if gotCode != code || gotStatus != status {
		t.Errorf("error = %s (%d), want %s (%d): %v", gotCode, gotStatus, code, status, err)
	}
}

// simHandle is a simulated host of a test server.
type simHandle struct {
	t    testing.TB
	name string
	sim  *embeddedSim
}

// sim returns the simulated host of the zone.
func (ts *testServer) sim(zone string) simHandle {
	ts.t.Helper()
	for _, s := range ts.Server.sims {
		if s.zone == zone {
			return simHandle{ts.t, s.name, s}
		}
	}
	ts.t.Fatalf("no simulated host in %s", zone)
	return simHandle{}
}

// sh runs a command line on the host as a person logged in would.
func (h simHandle) sh(cmd string) string {
	h.t.Helper()
	var out, errOut strings.Builder
	if status := h.sim.host.Exec(context.Background(), cmd, nil, &out, &errOut); status != 0 {
		h.t.Fatalf("%s on %s: exit %d: %s%s", cmd, h.name, status, out.String(), errOut.String())
	}
	return out.String()
}
