package ec2

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/minicloud/minicloud/internal/cloud"
)

// The request TestEncode_MatchesModel sends for GetConsoleOutput.
func init() {
	actionForms["GetConsoleOutput"] = url.Values{"InstanceId": {"i-0123456789abc0001"}}
}

// testConsole is a boot log with bytes that need escaping in XML and a
// last line without a newline, as a login prompt has.
const testConsole = "[    0.000000] Linux version 6.1.0 <&>\n" +
	"\x1b[32m  OK  \x1b[0m\nip-172-31-1-2 login: "

// testConsoleTime is when testConsole was last written.
var testConsoleTime = time.Date(2024, 5, 20, 19, 43, 7, 0, time.UTC)

func (f *fakeService) GetConsoleOutput(
	ctx context.Context, in *cloud.GetConsoleOutputInput,
) (*cloud.ConsoleOutput, error) {
	if err := f.record(ctx, "GetConsoleOutput", in); err != nil {
		return nil, err
	}
	out := &cloud.ConsoleOutput{InstanceID: in.InstanceID, Timestamp: testConsoleTime}
	if in.InstanceID != "i-0000000000000e0e0" {
		out.Output = []byte(testConsole)
	}
	return out, nil
}

func TestGetConsoleOutput(t *testing.T) {
	fake := newFake()
	h := newTestHandler(t, fake)

	t.Run("OK", func(t *testing.T) {
		body := wantOK(t, call(t, h, "GetConsoleOutput", url.Values{
			"InstanceId": {"i-0123456789abc0001"}, "Latest": {"true"},
		}))
		in, _ := fake.input("GetConsoleOutput").(*cloud.GetConsoleOutputInput)
		if in == nil || in.InstanceID != "i-0123456789abc0001" || !in.Latest || in.DryRun {
			t.Errorf("service got %+v", in)
		}
		out, _ := element(t, body, "output")
		if got, err := base64.StdEncoding.DecodeString(out); err != nil || string(got) != testConsole {
			t.Errorf("output %q decodes to %q, %v", out, got, err)
		}
		if got, _ := element(t, body, "timestamp"); got != "2024-05-20T19:43:07.000Z" {
			t.Errorf("timestamp %q", got)
		}
		if got, _ := element(t, body, "instanceId"); got != "i-0123456789abc0001" {
			t.Errorf("instanceId %q", got)
		}
	})

	t.Run("NoOutput", func(t *testing.T) {
		form := url.Values{"InstanceId": {"i-0000000000000e0e0"}}
		body := wantOK(t, call(t, h, "GetConsoleOutput", form))
		if _, ok := element(t, body, "output"); ok {
			t.Errorf("an empty console has an output element:\n%s", body)
		}
	})

	t.Run("ErrMissingInstanceId", func(t *testing.T) {
		wantError(t, call(t, h, "GetConsoleOutput", url.Values{}), http.StatusBadRequest,
			cloud.ErrCodeMissingParameter)
	})
}

// TestSDK_GetConsoleOutput reads the console with aws-sdk-go-v2, which
// leaves the output in base64 for the caller to decode.
func TestSDK_GetConsoleOutput(t *testing.T) {
	c := newSDKClient(t, newFake())
	out, err := c.GetConsoleOutput(context.Background(), &ec2.GetConsoleOutputInput{
		InstanceId: aws.String("i-0123456789abc0001"), Latest: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	text, err := base64.StdEncoding.DecodeString(aws.ToString(out.Output))
	if err != nil || string(text) != testConsole {
		t.Errorf("output decodes to %q, %v", text, err)
	}
	if !aws.ToTime(out.Timestamp).Equal(testConsoleTime) ||
		aws.ToString(out.InstanceId) != "i-0123456789abc0001" {
		t.Errorf("timestamp %v, instance %v", out.Timestamp, aws.ToString(out.InstanceId))
	}
}

// TestCLI_GetConsoleOutput runs `aws ec2 get-console-output`, which
// decodes the output itself and prints it as text.
func TestCLI_GetConsoleOutput(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the aws CLI is not on PATH")
	}
	srv := httptest.NewServer(newTestHandler(t, newFake()))
	t.Cleanup(srv.Close)
	stdout, stderr, err := runCLI(t, srv.URL, "ec2", "get-console-output",
		"--instance-id", "i-0123456789abc0001", "--latest", "--output", "text")
	if err != nil {
		t.Fatalf("aws: %v\n%s", err, stderr)
	}
	for _, want := range []string{"i-0123456789abc0001", "Linux version 6.1.0 <&>",
		"ip-172-31-1-2 login: ", "2024-05-20T19:43:07"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("aws printed %q, want it to hold %q", stdout, want)
		}
	}
}
