package admin_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"

	"github.com/minicloud/minicloud/api/admin"
	"github.com/minicloud/minicloud/internal/cloud"
)

// keys is the one access key the test server accepts.
type keys struct{}

func (keys) Lookup(id string) (string, string, bool) {
	if id != "AKIDADMIN" {
		return "", "", false
	}
	return "s3cret", "123456789012", true
}

// fakeService has one ready host and one held host, and records retries.
type fakeService struct {
	mu      sync.Mutex // guards retried
	retried []string
}

func (f *fakeService) Hosts() []cloud.Host {
	return []cloud.Host{
		{Name: "esxi-1", Address: "10.0.0.1:22", AvailabilityZone: "us-east-1a",
			State: cloud.HostReady, CPUThreads: 16, MemoryMiB: 65536, UsedVCPUs: 2,
			UsedMemoryMiB: 1024, Instances: 1, UnclaimedVMs: []string{"i-0123456789abcdef0"}},
		{Name: "esxi-2", Address: "10.0.0.2:22", AvailabilityZone: "us-east-1b",
			State: cloud.HostAuthFailed, Message: "authentication failed"},
	}
}

func (f *fakeService) RetryHost(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retried = append(f.retried, name)
	return nil
}

// newServer serves the admin API under its prefix, as minicloud does.
func newServer(t *testing.T, svc admin.Service) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(admin.Prefix, admin.NewHandler(svc, admin.Options{Credentials: keys{}}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request for %s reached the EC2 side", r.URL.Path)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// wantAdminError fails unless err is an admin error with status and code.
func wantAdminError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var e *admin.Error
	if !errors.As(err, &e) || e.Status != status || e.Code != code {
		t.Fatalf("err = %v, want HTTP %d %s", err, status, code)
	}
}

func TestHandler_Hosts(t *testing.T) {
	fake := &fakeService{}
	srv := newServer(t, fake)
	c := &admin.Client{Endpoint: srv.URL, AccessKeyID: "AKIDADMIN", SecretAccessKey: "s3cret"}
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		got, err := c.Hosts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := fake.Hosts(); !reflect.DeepEqual(got, want) {
			t.Errorf("hosts:\n got %+v\nwant %+v", got, want)
		}
	})

	t.Run("Retry", func(t *testing.T) {
		got, err := c.RetryHost(ctx, "esxi-2")
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "esxi-2" || got.State != cloud.HostAuthFailed {
			t.Errorf("retry answered %+v", got)
		}
		fake.mu.Lock()
		defer fake.mu.Unlock()
		if want := []string{"esxi-2"}; !reflect.DeepEqual(fake.retried, want) {
			t.Errorf("retried %v, want %v", fake.retried, want)
		}
	})

	t.Run("ErrHostNotFound", func(t *testing.T) {
		_, err := c.RetryHost(ctx, "esxi-9")
		wantAdminError(t, err, http.StatusNotFound, admin.CodeHostNotFound)
	})

	t.Run("ErrWrongSecret", func(t *testing.T) {
		bad := *c
		bad.SecretAccessKey = "guess"
		_, err := bad.Hosts(ctx)
		wantAdminError(t, err, http.StatusForbidden, cloud.ErrCodeSignatureDoesNotMatch)
		_, err = bad.RetryHost(ctx, "esxi-2")
		wantAdminError(t, err, http.StatusForbidden, cloud.ErrCodeSignatureDoesNotMatch)
	})

	t.Run("ErrUnknownKey", func(t *testing.T) {
		bad := *c
		bad.AccessKeyID = "AKIDNOBODY"
		_, err := bad.Hosts(ctx)
		wantAdminError(t, err, http.StatusUnauthorized, cloud.ErrCodeAuthFailure)
	})

	t.Run("ErrUnsigned", func(t *testing.T) {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			req, _ := http.NewRequest(method, srv.URL+admin.Prefix+"hosts/esxi-2/retry", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("unsigned %s: status %d, want 400", method, resp.StatusCode)
			}
		}
		fake.mu.Lock()
		defer fake.mu.Unlock()
		if len(fake.retried) != 1 {
			t.Errorf("an unsigned request retried a host: %v", fake.retried)
		}
	})
}

func TestHandler_Routes(t *testing.T) {
	srv := newServer(t, &fakeService{})
	c := &admin.Client{Endpoint: srv.URL, AccessKeyID: "AKIDADMIN", SecretAccessKey: "s3cret"}
	ctx := context.Background()

	t.Run("ErrMethod", func(t *testing.T) {
		// A retry asked with GET would let a crawler or a preview retry a
		// host; only POST does.
		var out struct{}
		err := admin.Do(ctx, c, http.MethodGet, "hosts/esxi-2/retry", &out)
		wantAdminError(t, err, http.StatusMethodNotAllowed, admin.CodeMethodNotAllowed)
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		var out struct{}
		err := admin.Do(ctx, c, http.MethodGet, "volumes", &out)
		wantAdminError(t, err, http.StatusNotFound, admin.CodeNotFound)
	})
}
