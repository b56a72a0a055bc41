package ec2

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"github.com/minicloud/minicloud/internal/cloud"
)

// numbered returns prefix.1 … prefix.n, each set to value(i).
func numbered(prefix string, n int, value func(i int) string) url.Values {
	v := url.Values{}
	for i := 1; i <= n; i++ {
		v.Set(fmt.Sprintf("%s.%d", prefix, i), value(i))
	}
	return v
}

// instanceID returns the i-th made-up instance id.
func instanceID(i int) string { return fmt.Sprintf("i-%017x", i) }

func TestParams_Indexes(t *testing.T) {
	t.Run("HugeIndexCostsNothing", func(t *testing.T) {
		decode := func(name string) func() {
			return func() {
				p := &params{values: url.Values{name: {"i-0123456789abcdef0"}}}
				if ids := p.list("InstanceId"); len(ids) != 1 || p.err != nil {
					t.Fatalf("%s: got %q, %v", name, ids, p.err)
				}
			}
		}
		small := testing.AllocsPerRun(100, decode("InstanceId.123"))
		huge := testing.AllocsPerRun(100, decode("InstanceId.999999999"))
		if huge > small {
			t.Errorf("InstanceId.999999999 takes %v allocations, InstanceId.123 %v", huge, small)
		}
	})

	t.Run("TooLongIsNoMember", func(t *testing.T) {
		p := &params{values: url.Values{"InstanceId.9999999999": {"i-1"}, "InstanceId.2": {"i-2"}}}
		if got := p.list("InstanceId"); len(got) != 1 || got[0] != "i-2" {
			t.Errorf("got %q, want only InstanceId.2", got)
		}
	})

	t.Run("NestedLists", func(t *testing.T) {
		p := &params{values: url.Values{
			"Filter.2.Name": {"b"}, "Filter.2.Value.7": {"y"}, "Filter.2.Value.3": {"x"},
			"Filter.10.Name": {"c"}, "Filter.1.Name": {"a"}, "Filter.x.Name": {"ignored"},
		}}
		got := p.filters()
		want := []cloud.Filter{{Name: "a"}, {Name: "b", Values: []string{"x", "y"}}, {Name: "c"}}
		if fmt.Sprint(got) != fmt.Sprint(want) || p.err != nil {
			t.Errorf("got %v, %v; want %v", got, p.err, want)
		}
	})
}

// BenchmarkParams_ManyMembers decodes a RunInstances of 20,000 members in
// 1,000 tag specifications: each list is found in one pass over the
// names, not in one pass for each list.
func BenchmarkParams_ManyMembers(b *testing.B) {
	values := url.Values{"ImageId": {"ami-0abcdef1234567890"}, "MinCount": {"1"},
		"MaxCount": {"1"}}
	for s := 1; s <= 1000; s++ {
		values.Set(fmt.Sprintf("TagSpecification.%d.ResourceType", s), "instance")
		for t := 1; t <= 19; t++ {
			values.Set(fmt.Sprintf("TagSpecification.%d.Tag.%d.Key", s, t), "k")
		}
	}
	for b.Loop() {
		in, err := decodeRunInstances(&params{values: values})
		if err != nil || len(in.TagSpecifications) != 1000 {
			b.Fatalf("%d specifications, %v", len(in.TagSpecifications), err)
		}
	}
}

func TestHandler_ListLimits(t *testing.T) {
	tests := []struct {
		name   string
		action string
		form   url.Values
		code   string // "" for success
	}{
		{"1000InstanceIds", "DescribeInstances",
			numbered("InstanceId", 1000, instanceID), ""},
		{"1001InstanceIds", "DescribeInstances",
			numbered("InstanceId", 1001, instanceID), cloud.ErrCodeInvalidParameterValue},
		{"1001ResourceIds", "CreateTags", merge(
			numbered("ResourceId", 1001, instanceID), url.Values{"Tag.1.Key": {"k"}}),
			cloud.ErrCodeInvalidParameterValue},
		{"200FilterValues", "DescribeInstances", merge(
			url.Values{"Filter.1.Name": {"tag:a"}, "Filter.2.Name": {"tag:b"}},
			numbered("Filter.1.Value", 100, instanceID),
			numbered("Filter.2.Value", 100, instanceID)), ""},
		{"201FilterValues", "DescribeTags", merge(
			url.Values{"Filter.1.Name": {"key"}, "Filter.2.Name": {"value"}},
			numbered("Filter.1.Value", 100, instanceID),
			numbered("Filter.2.Value", 101, instanceID)), codeFilterLimitExceeded},
		{"FilterValue255", "DescribeImages", url.Values{"Filter.1.Name": {"name"},
			"Filter.1.Value.1": {strings.Repeat("é", 255)}}, ""},
		{"FilterValue256", "DescribeImages", url.Values{"Filter.1.Name": {"name"},
			"Filter.1.Value.1": {strings.Repeat("a", 256)}}, codeFilterLimitExceeded},
		{"1001Filters", "DescribeInstances",
			numbered("Filter", 1001, func(int) string { return "" }),
			cloud.ErrCodeInvalidParameterValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake()
			rec := call(t, newTestHandler(t, fake), tt.action, tt.form)
			if tt.code == "" {
				wantOK(t, rec)
				return
			}
			doc := wantError(t, rec, http.StatusBadRequest, tt.code)
			if fake.input(tt.action) != nil {
				t.Errorf("the service was called with a request over the limits: %s", doc.Message)
			}
		})
	}
}

// merge returns the union of several forms.
func merge(forms ...url.Values) url.Values {
	out := url.Values{}
	for _, f := range forms {
		for k, v := range f {
			out[k] = v
		}
	}
	return out
}

// TestHandler_BodyTooLarge_SDK checks that the Go SDK reads the answer to
// a body over the limit as an EC2 error with its code, as it reads any
// other, rather than as a broken connection.
func TestHandler_BodyTooLarge_SDK(t *testing.T) {
	srv := httptest.NewServer(newTestHandler(t, newFake(), func(o *Options) {
		o.MaxBodyBytes = 4 << 10
	}))
	defer srv.Close()
	client := ec2.New(ec2.Options{
		HTTPClient: loopbackClient,
		Region:     testRegion, BaseEndpoint: aws.String(srv.URL), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider(testKey, testSecret, ""),
	})

	_, err := client.RunInstances(context.Background(), &ec2.RunInstancesInput{
		ImageId: aws.String("ami-0abcdef1234567890"), MinCount: aws.Int32(1),
		MaxCount: aws.Int32(1), UserData: aws.String(strings.Repeat("QUJD", 2<<10)),
	})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != codeRequestTooLarge {
		t.Fatalf("got %v, want the API error %s", err, codeRequestTooLarge)
	}
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusRequestEntityTooLarge {
		t.Errorf("got %v, want status 413", err)
	}
	if !strings.Contains(api.ErrorMessage(), "4096 bytes") {
		t.Errorf("message %q does not give the limit", api.ErrorMessage())
	}
}

// testClock is a clock tests move by hand.
type testClock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestHandler_Throttle(t *testing.T) {
	const otherKey, otherSecret = "AKIDMINICLOUDOTHER02", "another-secret"
	clock := &testClock{t: fixedNow}
	creds := testCreds{testKey: {testSecret, testAccount}, otherKey: {otherSecret, testAccount}}
	fake := newFake()
	h := newTestHandler(t, fake, func(o *Options) {
		o.Now = clock.now
		o.Credentials = creds
		o.RequestsPerSecond = 2
		o.Burst = 3
	})
	send := func(s signer) *httptest.ResponseRecorder {
		s.at = clock.now()
		return serve(h, s.post(t, "http://ec2.test/", describe))
	}
	other := signer{key: otherKey, secret: otherSecret, region: testRegion, service: "ec2"}

	// A burst of three goes through, the fourth is refused as EC2
	// refuses it.
	for i := 0; i < 3; i++ {
		wantOK(t, send(goodSigner))
	}
	fake.mu.Lock()
	fake.inputs = map[string]any{}
	fake.mu.Unlock()
	doc := wantError(t, send(goodSigner), http.StatusServiceUnavailable,
		cloud.ErrCodeRequestLimitExceeded)
	if doc.Message != "Request limit exceeded." {
		t.Errorf("message %q", doc.Message)
	}
	if fake.input("DescribeRegions") != nil {
		t.Error("a throttled request reached the service")
	}

	// Another key has a bucket of its own; requests that fail to
	// authenticate take no token.
	wantOK(t, send(other))
	bad := other
	bad.secret = "wrong"
	for i := 0; i < 5; i++ {
		wantError(t, send(bad), http.StatusForbidden, cloud.ErrCodeSignatureDoesNotMatch)
	}
	wantOK(t, send(other))

	// Tokens come back at the configured rate.
	clock.add(500 * time.Millisecond)
	wantOK(t, send(goodSigner))
	wantError(t, send(goodSigner), http.StatusServiceUnavailable, cloud.ErrCodeRequestLimitExceeded)
	clock.add(time.Hour)
	for i := 0; i < 3; i++ {
		wantOK(t, send(goodSigner))
	}
	wantError(t, send(goodSigner), http.StatusServiceUnavailable, cloud.ErrCodeRequestLimitExceeded)
}

// TestHandler_Throttle_SDK checks that the Go SDK sees a throttled
// request as EC2's throttling error, which its retryer backs off from.
func TestHandler_Throttle_SDK(t *testing.T) {
	srv := httptest.NewServer(newTestHandler(t, newFake(), func(o *Options) {
		o.RequestsPerSecond = 0.001
		o.Burst = 1
	}))
	defer srv.Close()
	client := ec2.New(ec2.Options{
		HTTPClient: loopbackClient,
		Region:     testRegion, BaseEndpoint: aws.String(srv.URL), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider(testKey, testSecret, ""),
	})
	ctx := context.Background()
	if _, err := client.DescribeRegions(ctx, &ec2.DescribeRegionsInput{}); err != nil {
		t.Fatal(err)
	}
	_, err := client.DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != cloud.ErrCodeRequestLimitExceeded {
		t.Fatalf("got %v, want RequestLimitExceeded", err)
	}
}

func TestThrottle_Off(t *testing.T) {
	th := newThrottle(0, 10, time.Now)
	for i := 0; i < 10000; i++ {
		if !th.allow(testKey) {
			t.Fatalf("request %d refused with no limit set", i)
		}
	}
}
