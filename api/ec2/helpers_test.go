package ec2

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/minicloud/minicloud/internal/cloud"
)

// The credentials every test signs with.
const (
	testKey     = "AKIDMINICLOUDTEST001"
	testSecret  = "mini/cloud+secret+for+tests0000000000000"
	testAccount = "210987654321"
	testRegion  = "us-east-1"
)

// testCreds is a fixed table of access keys.
type testCreds map[string][2]string // access key id: secret, account

func (c testCreds) Lookup(id string) (string, string, bool) {
	v, ok := c[id]
	return v[0], v[1], ok
}

var defaultCreds = testCreds{testKey: {testSecret, testAccount}}

// newTestHandler returns a handler over svc with the test credentials,
// logging to the test's output.
func newTestHandler(t testing.TB, svc cloud.Service, opts ...func(*Options)) http.Handler {
	t.Helper()
	o := Options{
		Region:      testRegion,
		Credentials: defaultCreds,
		Logger:      slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, f := range opts {
		f(&o)
	}
	return NewHandler(svc, o)
}

// testWriter sends log output to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// signer describes how a test request is signed.
type signer struct {
	key, secret, region, service string
	at                           time.Time
}

var goodSigner = signer{key: testKey, secret: testSecret, region: testRegion, service: "ec2"}

// post returns a POST of form to target, signed in the Authorization
// header with the AWS SDK's signer as s describes.
func (s signer) post(t testing.TB, target string, form url.Values) *http.Request {
	t.Helper()
	body := form.Encode()
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	s.sign(t, req, body)
	return req
}

// sign signs req, whose body is body, in its Authorization header.
func (s signer) sign(t testing.TB, req *http.Request, body string) {
	t.Helper()
	at := s.at
	if at.IsZero() {
		at = time.Now()
	}
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: s.key, SecretAccessKey: s.secret}
	err := v4.NewSigner().SignHTTP(context.Background(), creds, req,
		hex.EncodeToString(sum[:]), s.service, s.region, at)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
}

// presign returns a presigned GET URL for form, valid for expires.
func (s signer) presign(t testing.TB, target string, form url.Values, expires time.Duration) string {
	t.Helper()
	at := s.at
	if at.IsZero() {
		at = time.Now()
	}
	q := url.Values{}
	for k, v := range form {
		q[k] = v
	}
	q.Set("X-Amz-Expires", fmt.Sprint(int(expires.Seconds())))
	req := httptest.NewRequest(http.MethodGet, target+"?"+q.Encode(), nil)
	sum := sha256.Sum256(nil)
	creds := aws.Credentials{AccessKeyID: s.key, SecretAccessKey: s.secret}
	signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req,
		hex.EncodeToString(sum[:]), s.service, s.region, at)
	if err != nil {
		t.Fatalf("presign: %v", err)
	}
	return signed
}

// serve runs req through h and returns the recorded response.
func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// call signs an action with the good signer and serves it.
func call(t testing.TB, h http.Handler, action string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	f := url.Values{"Action": {action}, "Version": {"2016-11-15"}}
	for k, v := range form {
		f[k] = v
	}
	return serve(h, goodSigner.post(t, "http://ec2.test/", f))
}

// errorDoc is EC2's error document.
type errorDoc struct {
	XMLName   xml.Name `xml:"Response"`
	Code      string   `xml:"Errors>Error>Code"`
	Message   string   `xml:"Errors>Error>Message"`
	RequestID string   `xml:"RequestID"`
}

// wantError checks that rec is EC2's error document with code and status,
// and returns it.
func wantError(t testing.TB, rec *httptest.ResponseRecorder, status int, code string) errorDoc {
	t.Helper()
	var doc errorDoc
	if err := xml.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("error body does not parse: %v\n%s", err, rec.Body)
	}
	if rec.Code != status || doc.Code != code {
		t.Fatalf("got %d %s (%s), want %d %s", rec.Code, doc.Code, doc.Message, status, code)
	}
	if doc.Message == "" {
		t.Errorf("error %s has no message", code)
	}
	if doc.RequestID == "" || doc.RequestID != rec.Header().Get("X-Amzn-Requestid") {
		t.Errorf("RequestID %q, header %q: want the same, non-empty",
			doc.RequestID, rec.Header().Get("X-Amzn-Requestid"))
	}
	return doc
}

// wantOK checks that rec is a 200 answer and returns its body.
func wantOK(t testing.TB, rec *httptest.ResponseRecorder) []byte {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

// fakeService is a cloud.Service that answers with fixed, fully
// populated resources and records what it was asked.
type fakeService struct {
	mu     sync.Mutex
	inputs map[string]any // guarded by mu: the last input of each method
	caller cloud.Caller   // guarded by mu: who made the last call

	// err, when set, is every method's answer; panicMsg makes every
	// method panic. Set them before serving.
	err      error
	panicMsg string

	// instances is what DescribeInstances lists, one reservation per
	// instance, in pages when MaxResults is given.
	instances []*cloud.Instance
}

func newFake() *fakeService {
	return &fakeService{
		inputs:    map[string]any{},
		instances: []*cloud.Instance{runningInstance(1), stoppedInstance(2)},
	}
}

// record notes a call and returns the configured error.
func (f *fakeService) record(ctx context.Context, method string, in any) error {
	f.mu.Lock()
	f.inputs[method] = in
	f.caller = cloud.CallerFrom(ctx)
	f.mu.Unlock()
	if f.panicMsg != "" {
		panic(f.panicMsg)
	}
	return f.err
}

// input returns the last input method received.
func (f *fakeService) input(method string) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inputs[method]
}

// lastCaller returns who made the last call.
func (f *fakeService) lastCaller() cloud.Caller {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.caller
}

func (f *fakeService) RunInstances(ctx context.Context, in *cloud.RunInstancesInput) (*cloud.Reservation, error) {
	if err := f.record(ctx, "RunInstances", in); err != nil {
		return nil, err
	}
	i := runningInstance(7)
	i.State, i.Desired, i.StateReason = cloud.StatePending, cloud.StateRunning, &cloud.ReasonPending
	i.PrivateIPAddress = ""
	return &cloud.Reservation{ID: i.ReservationID, OwnerID: testAccount,
		RequesterID: "940372691376", Instances: []*cloud.Instance{i}}, nil
}

func (f *fakeService) DescribeInstances(
	ctx context.Context, in *cloud.DescribeInstancesInput,
) (*cloud.DescribeInstancesOutput, error) {
	if err := f.record(ctx, "DescribeInstances", in); err != nil {
		return nil, err
	}
	out := &cloud.DescribeInstancesOutput{}
	list := f.instances
	if in.NextToken != "" {
		start, err := strconv.Atoi(in.NextToken)
		if err != nil || start < 0 || start > len(list) {
			return nil, cloud.Errorf(cloud.ErrCodeInvalidNextToken,
				"The specified NextToken is not valid.")
		}
		list = list[start:]
	}
	if in.MaxResults > 0 && len(list) > in.MaxResults {
		start := len(f.instances) - len(list)
		out.NextToken = fmt.Sprint(start + in.MaxResults)
		list = list[:in.MaxResults]
	}
	for _, i := range list {
		out.Reservations = append(out.Reservations, &cloud.Reservation{
			ID: i.ReservationID, OwnerID: i.OwnerID, Instances: []*cloud.Instance{i}})
	}
	return out, nil
}

func (f *fakeService) StartInstances(ctx context.Context, in *cloud.InstanceIDsInput) ([]cloud.StateChange, error) {
	if err := f.record(ctx, "StartInstances", in); err != nil {
		return nil, err
	}
	return changes(in.InstanceIDs, cloud.StateStopped, cloud.StatePending), nil
}

func (f *fakeService) StopInstances(ctx context.Context, in *cloud.StopInstancesInput) ([]cloud.StateChange, error) {
	if err := f.record(ctx, "StopInstances", in); err != nil {
		return nil, err
	}
	return changes(in.InstanceIDs, cloud.StateRunning, cloud.StateStopping), nil
}

func (f *fakeService) RebootInstances(ctx context.Context, in *cloud.InstanceIDsInput) error {
	return f.record(ctx, "RebootInstances", in)
}

func (f *fakeService) TerminateInstances(ctx context.Context, in *cloud.InstanceIDsInput) ([]cloud.StateChange, error) {
	if err := f.record(ctx, "TerminateInstances", in); err != nil {
		return nil, err
	}
	return changes(in.InstanceIDs, cloud.StateRunning, cloud.StateShuttingDown), nil
}

func (f *fakeService) DescribeInstanceStatus(
	ctx context.Context, in *cloud.DescribeInstanceStatusInput,
) (*cloud.DescribeInstanceStatusOutput, error) {
	if err := f.record(ctx, "DescribeInstanceStatus", in); err != nil {
		return nil, err
	}
	return &cloud.DescribeInstanceStatusOutput{
		Statuses: []cloud.InstanceStatus{
			{InstanceID: "i-0123456789abc0001", AvailabilityZone: "us-east-1a",
				State: cloud.StateRunning, System: cloud.StatusOK, Instance: cloud.StatusInitializing},
			{InstanceID: "i-0123456789abc0002", AvailabilityZone: "us-east-1b",
				State: cloud.StateRunning, System: cloud.StatusImpaired, Instance: cloud.StatusInsufficientData},
			{InstanceID: "i-0123456789abc0003", AvailabilityZone: "us-east-1a",
				State: cloud.StateStopped, System: cloud.StatusNotApplicable, Instance: cloud.StatusNotApplicable},
		},
		NextToken: "status-page-2",
	}, nil
}

func (f *fakeService) CreateTags(ctx context.Context, in *cloud.CreateTagsInput) error {
	return f.record(ctx, "CreateTags", in)
}

func (f *fakeService) DeleteTags(ctx context.Context, in *cloud.DeleteTagsInput) error {
	return f.record(ctx, "DeleteTags", in)
}

func (f *fakeService) DescribeTags(
	ctx context.Context, in *cloud.DescribeTagsInput,
) (*cloud.DescribeTagsOutput, error) {
	if err := f.record(ctx, "DescribeTags", in); err != nil {
		return nil, err
	}
	return &cloud.DescribeTagsOutput{
		Tags: []cloud.TagDescription{
			{ResourceID: "i-0123456789abc0001", ResourceType: "instance", Key: "Name", Value: "web-1"},
			{ResourceID: "ami-0abcdef1234567890", ResourceType: "image", Key: "empty", Value: ""},
		},
		NextToken: "tags-page-2",
	}, nil
}

func (f *fakeService) DescribeImages(
	ctx context.Context, in *cloud.DescribeImagesInput,
) (*cloud.DescribeImagesOutput, error) {
	if err := f.record(ctx, "DescribeImages", in); err != nil {
		return nil, err
	}
	return &cloud.DescribeImagesOutput{Images: []*cloud.Image{testImage(), {
		ID: "ami-0000000000000000b", Name: "bare", OwnerID: testAccount,
		State: cloud.ImagePending, Architecture: "arm64",
	}}, NextToken: "images-page-2"}, nil
}

func (f *fakeService) DescribeInstanceTypes(
	ctx context.Context, in *cloud.DescribeInstanceTypesInput,
) (*cloud.DescribeInstanceTypesOutput, error) {
	if err := f.record(ctx, "DescribeInstanceTypes", in); err != nil {
		return nil, err
	}
	out := &cloud.DescribeInstanceTypesOutput{NextToken: "types-page-2"}
	for _, name := range []string{"t3.micro", "t2.medium", "m1.small", "t3a.large"} {
		it, _ := cloud.LookupInstanceType(name)
		out.InstanceTypes = append(out.InstanceTypes, it)
	}
	return out, nil
}

func (f *fakeService) DescribeRegions(ctx context.Context, in *cloud.DescribeRegionsInput) ([]cloud.Region, error) {
	if err := f.record(ctx, "DescribeRegions", in); err != nil {
		return nil, err
	}
	return []cloud.Region{{Name: "us-east-1", Endpoint: "ec2.us-east-1.minicloud.internal"}}, nil
}

func (f *fakeService) DescribeAvailabilityZones(
	ctx context.Context, in *cloud.DescribeAvailabilityZonesInput,
) ([]cloud.AvailabilityZone, error) {
	if err := f.record(ctx, "DescribeAvailabilityZones", in); err != nil {
		return nil, err
	}
	return []cloud.AvailabilityZone{
		{Name: "us-east-1a", ID: "use1-az1", Region: "us-east-1", State: cloud.ZoneAvailable},
		{Name: "us-east-1b", ID: "use1-az2", Region: "us-east-1", State: cloud.ZoneImpaired,
			Messages: []string{"host esxi-2 is unreachable", "host esxi-3 is unreachable"}},
	}, nil
}

// changes returns one state change per id.
func changes(ids []string, from, to cloud.InstanceState) []cloud.StateChange {
	var out []cloud.StateChange
	for _, id := range ids {
		out = append(out, cloud.StateChange{InstanceID: id, Previous: from, Current: to})
	}
	return out
}

// testLaunch is when every test instance was launched.
var testLaunch = time.Date(2024, 5, 20, 19, 42, 41, 250e6, time.UTC)

// runningInstance returns a running instance with every field set.
func runningInstance(n int) *cloud.Instance {
	return &cloud.Instance{
		ID:               fmt.Sprintf("i-0123456789abc%04x", n),
		ReservationID:    fmt.Sprintf("r-0fedcba98765%05x", n),
		OwnerID:          testAccount,
		ImageID:          "ami-0abcdef1234567890",
		InstanceType:     "t3.micro",
		KeyName:          "lab-key",
		LaunchIndex:      0,
		LaunchTime:       testLaunch,
		ClientToken:      "run-token-1",
		Tags:             cloud.Tags{"Name": fmt.Sprintf("web-%d", n), "note": `a & b < c > "d"`},
		Architecture:     "x86_64",
		RootDeviceName:   "/dev/xvda",
		RootDeviceType:   "ebs",
		VCPUs:            2,
		MemoryMiB:        1024,
		State:            cloud.StateRunning,
		Desired:          cloud.StateRunning,
		Host:             "esxi-1",
		AvailabilityZone: "us-east-1a",
		PrivateIPAddress: fmt.Sprintf("172.31.1.%d", 1+n%250),
	}
}

// stoppedInstance returns an instance a user stopped.
func stoppedInstance(n int) *cloud.Instance {
	i := runningInstance(n)
	i.InstanceType = "t2.medium"
	i.VCPUs = 2
	i.State, i.Desired = cloud.StateStopped, cloud.StateStopped
	i.StateTransitionReason = cloud.UserInitiated(testLaunch.Add(time.Hour))
	i.StateReason = &cloud.ReasonUserShutdown
	i.KeyName, i.ClientToken, i.Tags = "", "", nil
	return i
}

// testImage returns an image with every field set.
func testImage() *cloud.Image {
	return &cloud.Image{
		ID:             "ami-0abcdef1234567890",
		Name:           "debian-12-amd64",
		Description:    "Debian 12 (bookworm) cloud image",
		OwnerID:        "136693071363",
		OwnerAlias:     "amazon",
		State:          cloud.ImageAvailable,
		CreationDate:   time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		Public:         true,
		Tags:           cloud.Tags{"os": "debian"},
		Architecture:   "x86_64",
		RootDeviceName: "/dev/xvda",
		RootDeviceType: "ebs",
		VolumeSizeGiB:  8,
		Location:       "[datastore1] templates/debian-12/debian-12.vmdk",
		GuestOS:        "debian12-64",
	}
}

// discard is an io.Writer benchmarks encode into.
var discard io.Writer = io.Discard
