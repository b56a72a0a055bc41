package ec2

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/minicloud/minicloud/internal/cloud"
)

// requirePython skips the test unless python3 can import module.
func requirePython(t *testing.T, module string) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not on PATH; botocore's signing is not checked")
	}
	if err := exec.Command("python3", "-c", "import "+module).Run(); err != nil {
		t.Skipf("python3 cannot import %s; botocore's signing is not checked", module)
	}
}

// botocoreRequests is what testdata/botocore_sign.py prints.
type botocoreRequests struct {
	Post struct {
		Method  string            `json:"method"`
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	} `json:"post"`
	Presigned string `json:"presigned"`
}

// TestBotocore_Signed replays requests signed by botocore, which signs
// more headers than the Go SDK (Content-Type) and encodes its form and
// presigned URLs its own way.
func TestBotocore_Signed(t *testing.T) {
	requirePython(t, "botocore")
	fake := newFake()
	srv := httptest.NewServer(newTestHandler(t, fake))
	defer srv.Close()

	cmd := exec.Command("python3", "testdata/botocore_sign.py", srv.URL, testKey, testSecret, testRegion)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("botocore_sign.py: %v", err)
	}
	var reqs botocoreRequests
	if err := json.Unmarshal(out, &reqs); err != nil {
		t.Fatalf("botocore_sign.py printed %s: %v", out, err)
	}

	t.Run("Header", func(t *testing.T) {
		p := reqs.Post
		if !strings.Contains(p.Headers["Authorization"], "content-type") {
			t.Fatalf("botocore no longer signs Content-Type; this test checks nothing new: %s",
				p.Headers["Authorization"])
		}
		req, err := http.NewRequest(p.Method, p.URL, strings.NewReader(p.Body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range p.Headers {
			req.Header.Set(k, v)
		}
		send(t, req, http.StatusOK)
		in, _ := fake.input("DescribeInstances").(*cloud.DescribeInstancesInput)
		want := &cloud.DescribeInstancesInput{
			InstanceIDs: []string{"i-0123456789abc0001"},
			Filters:     []cloud.Filter{{Name: "tag:Name", Values: []string{"web *", "db/1"}}},
		}
		if !reflect.DeepEqual(in, want) {
			t.Errorf("service got %+v, want %+v", in, want)
		}
	})

	// botocore presigns EC2 URLs for the operation's method, POST, with
	// an empty body: the signature covers the method, so it is POSTed.
	t.Run("Presigned", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, reqs.Presigned, nil)
		if err != nil {
			t.Fatal(err)
		}
		send(t, req, http.StatusOK)
		in, _ := fake.input("DescribeRegions").(*cloud.DescribeRegionsInput)
		if in == nil || !reflect.DeepEqual(in.RegionNames, []string{"us-east-1"}) {
			t.Errorf("service got %+v", in)
		}
	})

	t.Run("PresignedTampered", func(t *testing.T) {
		u := strings.Replace(reqs.Presigned, "RegionName.1=us-east-1", "RegionName.1=eu-west-1", 1)
		req, err := http.NewRequest(http.MethodPost, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		send(t, req, http.StatusForbidden)
	})
}

// send makes req and checks its status.
func send(t *testing.T, req *http.Request, status int) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
}
